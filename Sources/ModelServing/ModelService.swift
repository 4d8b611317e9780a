import Codecs
import Foundation
import ModelAccess
import QueryDetection
import Tensors

/// A model as the server answers it: its probabilities, and the shape of one input.
public struct ServedModel: Sendable {
    public let model: any ProbabilityAccess
    public let inputShape: [Int]
    public let name: String
    public var inputWidth: Int { inputShape.reduce(1, *) }

    public init(model: any ProbabilityAccess, inputShape: [Int], name: String) {
        self.model = model
        self.inputShape = inputShape
        self.name = name
    }
}

/// An HTTP request as the service sees it (the server has already bounded its size).
public struct ServiceRequest: Sendable {
    public var method: String
    public var path: String
    public var authorization: String?
    public var body: [UInt8]
    public var time: Date

    public init(method: String, path: String, authorization: String? = nil, body: [UInt8] = [], time: Date = Date()) {
        self.method = method
        self.path = path
        self.authorization = authorization
        self.body = body
        self.time = time
    }
}

/// What the service answers: a status, headers and a JSON body.
public struct ServiceResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }

    static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> ServiceResponse {
        ServiceResponse(status: status, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a }, body: Array(text.utf8))
    }

    static func error(_ status: Int, _ message: String, headers: [String: String] = [:]) -> ServiceResponse {
        json(status, "{\"error\":\(JSONText.string(message))}", headers: headers)
    }
}

/// The prediction service behind `privacy-lab serve`: authentication by bearer token (tokens kept
/// as SHA-256 digests), a rate limit and a query budget per token, an output policy per token, a
/// detector per token that blocks a client whose queries look like a query-based attack, and an
/// append-only log of every prediction request. A pure function of the request and the state it
/// keeps: the HTTP server (`ModelServer`) and the tests call the same `respond`.
///
/// Endpoints: `GET /v1/health` and `GET /openapi.json` (no token), `GET /v1/model` and
/// `POST /v1/predict` with `{"inputs": [[…], …]}` (a bearer token), and with a monitor
/// `GET /metrics` (Prometheus; the monitor's scrape token if it has one). Statuses: 400 malformed
/// body or inputs, 401 no token, an unknown or an expired one, 403 budget exhausted or client
/// blocked, 404 unknown path, 405 wrong method, 429 over the rate (with `Retry-After`), 500 a
/// model whose answer is not finite (NaN or ∞) for the inputs sent, 503 a query log that cannot
/// be written. The body is read in one pass (`PredictBody`): exactly `{"inputs": [[…], …]}`.
public actor ModelService {
    public let served: ServedModel
    public let registry: TokenRegistry
    public let log: QueryLog?
    /// Metrics, drift of the inputs and predictions, alerts (nil: none, and no `/metrics`).
    public let monitor: ServingMonitor?
    /// The most rows one request may carry.
    public static let maximumRows = 1024

    struct ClientState {
        var level: Double
        var refilled: Date
        var used: Int
        var blocked: Bool
        var detector: Blacklight?
    }
    private var clients: [String: ClientState] = [:]

    /// - Parameter history: the entries of an existing query log: each token's admitted queries
    ///   count against its budget again, and a token flagged before stays blocked.
    public init(served: ServedModel, registry: TokenRegistry, log: QueryLog?, history: [QueryLogEntry] = [],
                monitor: ServingMonitor? = nil) throws(ServingError) {
        self.served = served
        self.registry = registry
        self.log = log
        self.monitor = monitor
        if let drift = monitor?.drift, drift.width != served.inputWidth || drift.classes != served.model.classCount {
            throw ServingError("the drift reference has rows of \(drift.width) values and \(drift.classes) classes, the model \(served.inputWidth) and \(served.model.classCount)")
        }
        for token in registry.tokens where token.detector == .blacklight {
            guard served.inputWidth >= 1 else { throw ServingError("the model takes empty inputs") }
        }
        var used: [String: Int] = [:], blocked = Set<String>()
        for e in history {
            guard let id = e.token else { continue }
            if e.status == 200 || e.flagged { used[id, default: 0] += e.rows }
            if e.flagged { blocked.insert(id) }
        }
        for token in registry.tokens {
            clients[token.id] = ClientState(level: Double(token.burst), refilled: .distantPast, used: used[token.id] ?? 0,
                                            blocked: blocked.contains(token.id), detector: Self.detector(token, width: served.inputWidth))
        }
        monitor?.blocked(registry.tokens.map(\.id).filter(blocked.contains))
    }

    static func detector(_ token: ServingToken, width: Int) -> Blacklight? {
        guard token.detector == .blacklight else { return nil }
        // Blacklight's MNIST setting (windows of 50 values, the 50 largest window hashes, 25 in
        // common flag a query); inputs with fewer windows keep half of theirs in common.
        let window = min(50, width)
        let top = min(50, width - window + 1)
        return try? Blacklight(inputWidth: width, window: window, top: top, threshold: max(1, min(25, top / 2)))
    }

    /// Queries admitted so far for a token (its budget's use).
    public func used(_ id: String) -> Int? { clients[id]?.used }

    public func respond(_ r: ServiceRequest) async -> ServiceResponse {
        guard let monitor else { return await route(r) }
        let start = ContinuousClock.now
        let response = await route(r)
        monitor.answered(Endpoint(path: r.path), status: response.status, duration: start.duration(to: .now))
        return response
    }

    /// Whether `/metrics` exists: a monitor whose metrics are not closed.
    private var servesMetrics: Bool { monitor.map { $0.access != .closed } ?? false }

    private func route(_ r: ServiceRequest) async -> ServiceResponse {
        switch (r.method, r.path) {
        case ("GET", "/v1/health"), ("HEAD", "/v1/health"):
            return .json(200, "{\"status\":\"ok\"}")
        case ("GET", "/openapi.json"):
            return .json(200, OpenAPIDocument.text(served))
        case ("GET", "/v1/model"):
            switch authenticate(r) {
            case let .failure(response): return response
            case let .success(token):
                return .json(200, "{\"name\":\(JSONText.string(served.name)),\"input_shape\":\(served.inputShape),\"classes\":\(served.model.classCount),\"output\":\(JSONText.string(token.output.description))}")
            }
        case ("POST", "/v1/predict"):
            return await predict(r)
        case ("GET", "/metrics") where servesMetrics:
            guard monitor!.mayScrape(r.authorization) else {
                return .error(401, "/metrics needs the scrape token (Authorization: Bearer <token>)", headers: ["WWW-Authenticate": "Bearer realm=\"privacy-lab-metrics\""])
            }
            return ServiceResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: monitor!.exposition())
        case (_, "/v1/health"), (_, "/openapi.json"), (_, "/v1/model"), (_, "/v1/predict"), (_, "/metrics") where r.path != "/metrics" || servesMetrics:
            return .error(405, "method \(r.method.prefix(16)) is not allowed on \(r.path)", headers: ["Allow": r.path == "/v1/predict" ? "POST" : "GET"])
        default:
            return .error(404, "no such endpoint: \(r.path.prefix(200))")
        }
    }

    private enum Authentication { case success(ServingToken), failure(ServiceResponse) }

    private func authenticate(_ r: ServiceRequest) -> Authentication {
        let challenge = ["WWW-Authenticate": "Bearer realm=\"privacy-lab\""]
        guard let header = r.authorization, header.hasPrefix("Bearer "), header.count <= 512 else {
            return .failure(ServiceResponse.error(401, "a bearer token is required (Authorization: Bearer <token>)", headers: challenge))
        }
        guard let token = registry.authenticate(String(header.dropFirst(7))) else {
            return .failure(ServiceResponse.error(401, "the token is not valid", headers: challenge))
        }
        if let expires = token.expires, r.time >= expires {
            return .failure(ServiceResponse.error(401, "the token expired", headers: challenge))
        }
        return .success(token)
    }


    private func logged(_ r: ServiceRequest, token: String?, rows: Int, flagged: Bool = false, inputs: [Float]? = nil,
                        _ response: ServiceResponse) -> ServiceResponse {
        do {
            try log?.append(time: r.time, token: token, status: response.status, rows: rows, body: r.body, flagged: flagged, inputs: inputs)
        } catch {
            // A query that cannot be logged is not answered.
            return .error(503, "the query log cannot be written")
        }
        return response
    }

    private func predict(_ r: ServiceRequest) async -> ServiceResponse {
        let token: ServingToken
        switch authenticate(r) {
        case let .failure(response): return logged(r, token: nil, rows: 0, response)
        case let .success(t): token = t
        }
        guard var state = clients[token.id] else { return .error(500, "no state for the token") }
        if state.blocked {
            return logged(r, token: token.id, rows: 0, .error(403, "this client is blocked: its queries were flagged as a query-based attack"))
        }
        let width = served.inputWidth
        let rows: Int, flat: [Float]
        do throws(PredictBody.Failure) {
            (rows, flat) = try PredictBody.parse(r.body, width: width, maximumRows: Self.maximumRows)
        } catch {
            let message: String
            switch error {
            case let .syntax(what): message = "the body must be JSON {\"inputs\": [[numbers], …]}: \(what)"
            case let .rowCount(count, more): message = "inputs: send 1…\(Self.maximumRows) rows, got \(more ? "more" : "\(count)")"
            case let .rowWidth(index, count, more):
                message = "inputs[\(index)]: a row has \(width) values (input shape \(served.inputShape)), got \(more ? "more" : "\(count)")"
            }
            return logged(r, token: token.id, rows: 0, .error(400, message))
        }
        guard rows <= token.burst else {
            return logged(r, token: token.id, rows: 0, .error(400, "inputs: \(rows) rows exceed this token's burst of \(token.burst)"))
        }
        // Rate: a bucket of `burst` queries refilled at `rate_per_second`.
        let elapsed = max(0, r.time.timeIntervalSince(state.refilled))
        state.level = min(Double(token.burst), state.level + elapsed * token.ratePerSecond)
        state.refilled = r.time
        if state.level < Double(rows) {
            clients[token.id] = state
            let wait = Int(((Double(rows) - state.level) / token.ratePerSecond).rounded(.up))
            return logged(r, token: token.id, rows: 0, .error(429, "rate limit: \(token.ratePerSecond) queries a second", headers: ["Retry-After": "\(max(1, wait))"]))
        }
        guard state.used + rows <= token.budget else {
            clients[token.id] = state
            return logged(r, token: token.id, rows: 0, .error(403, "query budget exhausted: \(state.used) of \(token.budget) queries used"))
        }
        state.level -= Double(rows)
        state.used += rows
        clients[token.id] = state

        let probabilities = served.model.probabilities(for: Tensor(shape: [rows] + served.inputShape, scalars: flat))
        let classes = served.model.classCount
        var flagged = false
        if var detector = clients[token.id]?.detector {
            flat.withUnsafeBufferPointer { all in
                for i in 0..<rows where detector.observe(UnsafeBufferPointer(rebasing: all[i * width..<(i + 1) * width]), answer: 0) { flagged = true }
            }
            clients[token.id]?.detector = detector
        }
        if flagged {
            clients[token.id]?.blocked = true
            monitor?.flagged(token: token.id, detector: token.detector.rawValue, at: r.time)
            return logged(r, token: token.id, rows: rows, flagged: true, inputs: flat,
                          .error(403, "this client is blocked: its queries were flagged as a query-based attack"))
        }
        let p = probabilities.scalars
        // A model that overflows on an input (a probability of NaN or ∞) gets no JSON answer it
        // cannot write; the queries were admitted and count against the budget.
        if let bad = p.firstIndex(where: { !$0.isFinite }) {
            return logged(r, token: token.id, rows: rows, inputs: flat,
                          .error(500, "the model's answer for inputs[\(bad / max(1, classes))] is not a finite number"))
        }
        var out = "{\"predictions\":["
        for i in 0..<rows {
            let (label, shown) = token.output.answer(p[i * classes..<(i + 1) * classes])
            if i > 0 { out += "," }
            out += "{\"label\":\(label)"
            if !shown.isEmpty {
                out += ",\"classes\":[" + shown.map { "\($0.0)" }.joined(separator: ",") + "]"
                out += ",\"probabilities\":[" + shown.map { "\($0.1)" }.joined(separator: ",") + "]"
            }
            out += "}"
        }
        out += "],\"output\":\(JSONText.string(token.output.description))}"
        let response = logged(r, token: token.id, rows: rows, inputs: flat, .json(200, out))
        if response.status == 200, let monitor {
            let labels = (0..<rows).map { i in
                var best = 0
                for k in 1..<max(1, classes) where p[i * classes + k] > p[i * classes + best] { best = k }
                return best
            }
            monitor.admitted(token: token.id, rows: flat, labels: labels)
        }
        return response
    }
}
