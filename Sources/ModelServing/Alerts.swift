import Codecs
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Something the operator of a served model should know at once: a client's detector fired, or the
/// inputs or predictions drifted from the reference. Written as one JSON object; it names a token
/// by its id only (never the secret) and carries no inputs.
public struct ServingAlert: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A client's detector flagged its queries as a query-based attack (the token is blocked).
        case queryAttack = "query-attack"
        /// The window's inputs drifted from the reference (KS, Bonferroni).
        case inputDrift = "input-drift"
        /// The window's predicted classes drifted from the reference's (χ²).
        case predictionDrift = "prediction-drift"
    }

    public var kind: Kind
    public var time: Date
    /// The token's id (query-attack).
    public var token: String?
    /// The detector that fired (query-attack).
    public var detector: String?
    /// The test's p-value, its level and the window's rows (drift).
    public var pValue: Double?
    public var alpha: Double?
    public var windowRows: Int?

    public init(kind: Kind, time: Date, token: String? = nil, detector: String? = nil, pValue: Double? = nil, alpha: Double? = nil,
                windowRows: Int? = nil) {
        self.kind = kind
        self.time = time
        self.token = token
        self.detector = detector
        self.pValue = pValue
        self.alpha = alpha
        self.windowRows = windowRows
    }

    /// One line of JSON, keys in a fixed order: `{"event":"alert","kind":…,"time":…,…}`.
    public var json: String {
        var fields = ["\"event\":\"alert\"", "\"kind\":\(JSONText.string(kind.rawValue))",
                      "\"time\":\(JSONText.string(Self.timeText(time)))"]
        if let token { fields.append("\"token_id\":\(JSONText.string(token))") }
        if let detector { fields.append("\"detector\":\(JSONText.string(detector))") }
        if let pValue { fields.append("\"p_value\":\(pValue)") }
        if let alpha { fields.append("\"alpha\":\(alpha)") }
        if let windowRows { fields.append("\"window_rows\":\(windowRows)") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func timeText(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}

/// Where alerts go: one JSON line each to a log (the server's standard error), and with a webhook,
/// an HTTP POST of the same JSON to it.
///
/// The webhook never holds up a prediction: `raise` only puts the alert on a bounded queue
/// (`capacity` alerts; when it is full the alert is dropped and counted) that one task drains,
/// posting each alert with a `timeout`. A failed post is counted; the first failure is logged,
/// later ones only counted (a dead receiver must not flood the log).
public final class AlertSink: Sendable {
    /// What became of the alerts sent to the webhook.
    public enum Delivery: String, Sendable, CaseIterable { case sent, failed, dropped }

    public let webhook: URL?
    private let write: @Sendable (String) -> Void
    private let deliveries: @Sendable (Delivery) -> Void
    private let queue: AsyncStream<String>.Continuation?
    private let worker: Task<Void, Never>?

    /// - Parameters:
    ///   - webhook: an http or https URL to POST alerts to, or nil.
    ///   - log: writes one line (default: standard error).
    ///   - deliveries: told what became of each webhook alert (the metrics count them).
    /// - Throws: `ServingError` for a webhook that is not an http(s) URL with a host.
    public init(webhook: URL? = nil, capacity: Int = 64, timeout: TimeInterval = 5,
                log: @escaping @Sendable (String) -> Void = AlertSink.standardError,
                deliveries: @escaping @Sendable (Delivery) -> Void = { _ in }) throws(ServingError) {
        self.webhook = webhook
        self.write = log
        self.deliveries = deliveries
        guard let webhook else {
            queue = nil
            worker = nil
            return
        }
        guard ["http", "https"].contains(webhook.scheme?.lowercased() ?? ""), !(webhook.host ?? "").isEmpty else {
            throw ServingError("the alert webhook must be an http or https URL with a host")
        }
        guard capacity >= 1, timeout > 0 else { throw ServingError("the alert queue needs a capacity ≥ 1 and a timeout > 0") }
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(capacity))
        queue = continuation
        worker = Task.detached(priority: .utility) {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = timeout
            configuration.timeoutIntervalForResource = timeout
            let session = URLSession(configuration: configuration)
            var failedBefore = false
            for await body in stream {
                let failure = await AlertSink.post(body, to: webhook, session: session, timeout: timeout)
                deliveries(failure == nil ? .sent : .failed)
                if let failure, !failedBefore {
                    failedBefore = true
                    log("{\"event\":\"alert-webhook-failed\",\"error\":\(JSONText.string(failure)),\"note\":\"later failures are only counted\"}")
                }
            }
            session.finishTasksAndInvalidate()
        }
    }

    deinit {
        queue?.finish()
    }

    /// Logs the alert and queues it for the webhook; returns at once.
    public func raise(_ alert: ServingAlert) {
        let line = alert.json
        write(line)
        guard let queue else { return }
        if case .dropped = queue.yield(line) { deliveries(.dropped) }
    }

    /// Stops taking alerts and waits until the queued ones have been posted (or failed).
    public func drain() async {
        queue?.finish()
        await worker?.value
    }

    /// Writes a line to standard error in one `write`.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// POSTs `body` as JSON; nil on a 2xx answer, else what went wrong (no URL credentials in it).
    private static func post(_ body: String, to url: URL, session: URLSession, timeout: TimeInterval) async -> String? {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        return await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            session.dataTask(with: request) { _, response, error in
                if let error {
                    continuation.resume(returning: "the webhook did not answer: \((error as NSError).localizedDescription)")
                } else if let status = (response as? HTTPURLResponse)?.statusCode, !(200..<300).contains(status) {
                    continuation.resume(returning: "the webhook answered HTTP \(status)")
                } else {
                    continuation.resume(returning: nil)
                }
            }.resume()
        }
    }
}
