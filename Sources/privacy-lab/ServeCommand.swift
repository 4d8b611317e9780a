import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab serve MODEL --tokens FILE --log FILE`: a model behind an HTTP prediction
/// endpoint; `privacy-lab serve token` adds a client token to a tokens file.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP with per-client tokens, rate limits, query budgets, output policies, detectors and a query log.",
        subcommands: [ServeStart.self, ServeToken.self],
        defaultSubcommand: ServeStart.self)
}

struct ServeStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Serve MODEL (a lab checkpoint, or a safetensors file with --layers) until Ctrl-C.",
        discussion: """
            Endpoints: GET /v1/health, GET /openapi.json, GET /v1/model and POST /v1/predict with {"inputs": [[…], …]} \
            (Authorization: Bearer TOKEN). Every prediction request is appended to the query log; a restarted server \
            reads the log back, so budgets and blocks carry over. Prints the address on stdout once listening.
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

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must lie in 0…65535, got \(port)") }
        guard !host.isEmpty, host.count <= 255 else { throw ValidationError("--host must name an address") }
    }

    func run() async throws {
        let served = try ServeStart.loadModel(model, layers: layers)
        let registry: TokenRegistry
        do { registry = try TokenRegistry(contentsOf: URL(fileURLWithPath: tokens)) } catch { throw CLIError(error.description) }
        let logURL = URL(fileURLWithPath: log)
        let history = FileManager.default.fileExists(atPath: logURL.path) ? try QueryLog.read(logURL) : []
        let service = try ModelService(served: served, registry: registry, log: try QueryLog(url: logURL, keepsInputs: keepInputs), history: history)
        let shown = host.contains(":") ? "[\(host)]" : host
        do {
            try await ModelServer(service: service, host: host, port: port).run { port in
                FileHandle.standardOutput.write(Data("privacy-lab serve: \(served.name) at http://\(shown):\(port)/v1/predict, \(registry.tokens.count) tokens, log \(logURL.path) (Ctrl-C stops)\n".utf8))
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
