import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab serve MODEL --tokens FILE --log FILE`: a model behind an HTTP prediction
/// endpoint; `privacy-lab serve token` adds a client token to a tokens file.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP with per-client tokens, rate limits, query budgets, output policies, detectors and a query log.",
        subcommands: [ServeStart.self, ServeToken.self, ServeReplay.self],
        defaultSubcommand: ServeStart.self)
}

struct ServeStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Serve MODEL (a lab checkpoint, or a safetensors file with --layers) until Ctrl-C.",
        discussion: """
            Endpoints: GET /v1/health, GET /openapi.json, GET /v1/model and POST /v1/predict with {"inputs": [[…], …]} \
            (Authorization: Bearer TOKEN), and GET /metrics (Prometheus). Every prediction request is appended to the \
            query log; a restarted server reads the log back, so budgets and blocks carry over. Prints the address on \
            stdout once listening.

            Monitoring: /metrics is open on a loopback address; with --metrics-token-env it needs that token; on any \
            other address without one it is off. With --reference, drift of the last --drift-window admitted inputs \
            (per-feature KS, Bonferroni) and of their predicted classes (chi-squared) is tested every --drift-every \
            rows. A detector's flag and the start of drift write a JSON alert line to stderr and, with --alert-webhook, \
            POST it there.
            """)

    @Argument(help: "The model: a PrivacyLab checkpoint, or a PyTorch state dict in safetensors form with --layers.")
    var model: String
    @Option(help: "The layer list (JSON) of a safetensors model, as `model.layers` in specs.")
    var layers: String?
    @Option(help: "The tokens file (JSON), written by `privacy-lab serve token`.")
    var tokens: String
    @Option(help: "The append-only query log (JSON lines; created if missing, mode 0600).")
    var log: String
    @Flag(help: "Also keep every admitted input in LOG.inputs, so detectors can replay the streams offline.")
    var keepInputs = false
    @Option(help: "The address to listen on (127.0.0.1: this machine only).")
    var host: String = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8081
    @Option(help: "Reference inputs (.npy, rows of the model's input shape, e.g. training rows): monitors drift of the served inputs and predictions.")
    var reference: String?
    @Option(help: "The drift window: the last N admitted rows are tested.")
    var driftWindow: Int = 500
    @Option(help: "A drift test every N admitted rows (off the request path).")
    var driftEvery: Int = 100
    @Option(help: "The level below which a drift p-value raises an alert.")
    var driftAlpha: Double = 0.01
    @Option(help: "An http(s) URL to POST alerts to as JSON (asynchronously; failures are counted, the first one logged).")
    var alertWebhook: String?
    @Option(help: "The environment variable holding the token GET /metrics requires (Authorization: Bearer …).")
    var metricsTokenEnv: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must lie in 0…65535, got \(port)") }
        guard !host.isEmpty, host.count <= 255 else { throw ValidationError("--host must name an address") }
        guard (1...100_000).contains(driftWindow) else { throw ValidationError("--drift-window must lie in 1…100000, got \(driftWindow)") }
        guard (1...driftWindow).contains(driftEvery) else { throw ValidationError("--drift-every must lie in 1…--drift-window, got \(driftEvery)") }
        guard driftAlpha > 0, driftAlpha < 1 else { throw ValidationError("--drift-alpha must lie in (0, 1), got \(driftAlpha)") }
        if let alertWebhook {
            guard let url = URL(string: alertWebhook), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), !(url.host ?? "").isEmpty else {
                throw ValidationError("--alert-webhook must be an http or https URL")
            }
        }
    }

    /// Who may read /metrics: the scrape token's holder, anyone on a loopback address, else nobody.
    func metricsAccess() throws -> ServingMonitor.MetricsAccess {
        if let name = metricsTokenEnv {
            guard let secret = ProcessInfo.processInfo.environment[name], secret.utf8.count >= 16 else {
                throw CLIError("--metrics-token-env \(name.prefix(64)): the variable must hold a token of at least 16 characters")
            }
            return .token(sha256: SHA256.hash(utf8: secret).bytes)
        }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        return loopback ? .open : .closed
    }

    /// The reference rows of `--reference` and the served model's classes for them.
    static func driftReference(_ path: String, served: ServedModel, alpha: Double) throws -> DriftReference {
        let array: NumpyArray
        do { array = try NumpyArray(npy: try InputFile.read(URL(fileURLWithPath: path), maximumBytes: 1 << 30)) } catch {
            throw CLIError("--reference \(path): \(error)")
        }
        let width = served.inputWidth
        guard array.dataType.isFloatingPoint || array.dataType == .uint8, array.shape.count >= 2,
              array.shape.dropFirst().reduce(1, *) == width else {
            throw CLIError("--reference \(path): need rows of the model's input shape \(served.inputShape) (numbers), got shape \(array.shape) of \(array.dataType.numpyName)")
        }
        let rows = array.shape[0]
        let values = array.floats()
        guard values.allSatisfy(\.isFinite) else { throw CLIError("--reference \(path): a value is not a finite number") }
        var labels: [Int] = []
        let classes = served.model.classCount
        for start in stride(from: 0, to: rows, by: 256) {
            let n = min(256, rows - start)
            let p = served.model.probabilities(for: Tensor(shape: [n] + served.inputShape,
                                                           scalars: Array(values[start * width..<(start + n) * width]))).scalars
            for i in 0..<n {
                var best = 0
                for k in 1..<max(1, classes) where p[i * classes + k] > p[i * classes + best] { best = k }
                labels.append(best)
            }
        }
        do { return try DriftReference(inputs: values, width: width, predictions: labels, classes: classes, alpha: alpha) } catch {
            throw CLIError("--reference \(path): \(error.description)")
        }
    }

    func run() async throws {
        let served = try ServeStart.loadModel(model, layers: layers)
        let registry: TokenRegistry
        do { registry = try TokenRegistry(contentsOf: URL(fileURLWithPath: tokens)) } catch { throw CLIError(error.description) }
        let logURL = URL(fileURLWithPath: log)
        let history = FileManager.default.fileExists(atPath: logURL.path) ? try QueryLog.read(logURL) : []
        let drift = try reference.map { try Self.driftReference($0, served: served, alpha: driftAlpha) }
        let access = try metricsAccess()
        let monitor: ServingMonitor
        do {
            monitor = try ServingMonitor(tokens: registry.tokens.map(\.id), drift: drift,
                                         schedule: .init(window: driftWindow, every: driftEvery),
                                         webhook: alertWebhook.flatMap(URL.init(string:)), access: access)
        } catch { throw CLIError(error.description) }
        let service = try ModelService(served: served, registry: registry, log: try QueryLog(url: logURL, keepsInputs: keepInputs), history: history,
                                       monitor: monitor)
        let metricsNote = switch access {
        case .open: "metrics at /metrics"
        case .token: "metrics at /metrics (scrape token)"
        case .closed: "/metrics off (not a loopback address; give --metrics-token-env)"
        }
        let shown = host.contains(":") ? "[\(host)]" : host
        do {
            try await ModelServer(service: service, host: host, port: port).run { port in
                FileHandle.standardOutput.write(Data("privacy-lab serve: \(served.name) at http://\(shown):\(port)/v1/predict, \(registry.tokens.count) tokens, log \(logURL.path), \(metricsNote)\(drift == nil ? "" : ", drift monitored") (Ctrl-C stops)\n".utf8))
            }
        } catch {
            throw CLIError("cannot serve on \(host):\(port): \(error)")
        }
    }

    static func loadModel(_ path: String, layers: String?) throws -> ServedModel {
        let url = URL(fileURLWithPath: path)
        if let layers {
            do {
                let architecture = try PyTorchArchitecture(contentsOf: URL(fileURLWithPath: layers))
                let model = try ImportedModel(checkpoint: url, architecture: architecture, architectureSource: layers)
                return ServedModel(model: model, inputShape: model.inputShape, name: url.lastPathComponent)
            } catch { throw CLIError("\(error)") }
        }
        do {
            let model = try Sequential(checkpointAt: url)
            return ServedModel(model: model, inputShape: model.inputShape, name: url.lastPathComponent)
        } catch { throw CLIError("\(error) (a safetensors model needs --layers)") }
    }
}

struct ServeToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Add a client token to a tokens file and print the secret once (only its SHA-256 is stored).")

    @Option(help: "The tokens file (created if missing).")
    var tokens: String
    @Option(help: "The client's name in logs and metrics.")
    var id: String
    @Option(help: "Queries a second.") var rate: Double = 10
    @Option(help: "The most queries at once.") var burst: Int = 100
    @Option(help: "Queries in all.") var budget: Int = 10_000
    @Option(help: "Expiry, ISO 8601 (e.g. 2027-01-01T00:00:00Z).") var expires: String?
    @Option(help: "What the client sees: full, label-only, top-K (renormalised), top-K-raw or round-D.") var output: String = "full"
    @Option(help: "The detector watching the client: none or blacklight.") var detector: String = "none"

    func run() throws {
        let url = URL(fileURLWithPath: tokens)
        var existing: [ServingToken] = []
        if FileManager.default.fileExists(atPath: url.path) {
            do { existing = try TokenRegistry(contentsOf: url).tokens } catch { throw CLIError(error.description) }
        }
        var date: Date? = nil
        if let expires {
            guard let d = ISO8601DateFormatter().date(from: expires) else { throw CLIError("--expires '\(expires.prefix(40))' is not an ISO 8601 instant such as 2027-01-01T00:00:00Z") }
            date = d
        }
        guard let choice = ServingToken.DetectorChoice(rawValue: detector) else { throw CLIError("--detector must be none or blacklight, got '\(detector.prefix(40))'") }
        do {
            let policy = try OutputPolicy(serving: output)
            let (secret, token) = try TokenRegistry.newToken(id: id, ratePerSecond: rate, burst: burst, budget: budget, expires: date,
                                                            output: policy, detector: choice)
            let registry = try TokenRegistry(tokens: existing + [token])
            try OutputFile.write(Array(registry.fileText()), to: url, mode: 0o600)
            print(secret)
        } catch let error as ServingError {
            throw CLIError(error.description)
        }
    }
}

struct ServeReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a query log (kept with --keep-inputs) through the stateful detectors, offline, one stream per client.",
        discussion: """
            Every client's admitted queries, in the order they were answered, go through each detector as if it had \
            watched that client from its first query (Blacklight as `serve --detector blacklight` sets it; PRADA with δ = 0.95). \
            The model answers the queries again for PRADA, which groups them by label. Prints one line per client and \
            detector, or JSON with --json.
            """)

    @Option(help: "The query log written by `serve --keep-inputs` (its inputs are in LOG.inputs).") var log: String
    @Option(help: "The served model (a PrivacyLab checkpoint, or a safetensors file with --layers).") var model: String
    @Option(help: "The layer list (JSON) of a safetensors model.") var layers: String?
    @Option(help: "Detectors, comma-separated: blacklight, prada.") var detectors: String = "blacklight,prada"
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        var names: [QueryLogReplay.DetectorName] = []
        for part in detectors.split(separator: ",") {
            guard let name = QueryLogReplay.DetectorName(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                throw CLIError("--detectors: '\(part.prefix(40))' is not a detector; use blacklight and/or prada")
            }
            if !names.contains(name) { names.append(name) }
        }
        guard !names.isEmpty else { throw CLIError("--detectors: name at least one of blacklight, prada") }
        let served = try ServeStart.loadModel(model, layers: layers)
        let logURL = URL(fileURLWithPath: log)
        let reports: [QueryLogReplay.Report]
        do {
            reports = try QueryLogReplay.run(try QueryLog.read(logURL), inputs: URL(fileURLWithPath: log + ".inputs"), model: served, detectors: names)
        } catch let error as ServingError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("\(error)")
        }
        if json {
            let items = reports.map { r -> [String: Any] in
                var item: [String: Any] = ["token": r.token, "detector": r.detector.rawValue, "queries": r.outcome.queries, "detections": r.outcome.detections]
                item["first_detection"] = r.outcome.firstDetection ?? NSNull()
                return item
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for r in reports {
                let flagged = r.outcome.firstDetection.map { "flagged at query \($0), \(r.outcome.detections) queries flagged" } ?? "not flagged"
                print("\(r.token)\t\(r.detector.rawValue)\t\(r.outcome.queries) queries\t\(flagged)")
            }
        }
    }
}
