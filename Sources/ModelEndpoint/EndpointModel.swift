import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import ModelAccess
public import Tensors

/// A model behind a prediction endpoint (`privacy-lab serve` or any server speaking its JSON
/// protocol), reached over HTTP as a `ProbabilityAccess`: the door through which every black-box
/// attack of the lab queries a live service instead of a model in memory.
///
/// Protocol: `GET /v1/model` gives `classes`, `input_shape` and the token's `output` policy;
/// `POST /v1/predict` with `{"inputs": [[…], …]}` answers `{"predictions": [{"label": L,
/// "classes": [...], "probabilities": [...]}, …]}` where the policy lets probabilities through.
/// Each answer row becomes a probability row: the probabilities shown at their classes and 0
/// elsewhere (the reading `HardenedModel` gives of a hardened answer), the one-hot vector of the
/// label when none are shown.
///
/// Laws:
/// - Rows go in requests of at most `rowsPerRequest`; answers come back in order, one per row.
/// - `429 Too Many Requests` waits the server's `Retry-After` (at most 60 s each time) and asks
///   again; a connection failure is retried twice after 1 and 2 s.
/// - Any other refusal (`401`, `403` blocked or budget spent, `400`, `5xx`), an answer that does
///   not parse, or one larger than its rows can need, ends the session: `refusal` names it and the
///   number of rows answered before; every later query is answered without the network by rows
///   of zeros (label 0), so an attack finishes its loop quickly and the caller reports the refusal
///   instead of results (`checkNotRefused`).
/// - The token is sent only in the `Authorization` header; it never appears in an error.
public final class EndpointModel: ProbabilityAccess, @unchecked Sendable {
    public let url: URL
    public let classCount: Int
    /// The shape of one input row as the endpoint describes it.
    public let inputShape: [Int]
    /// The endpoint's name for what this token sees (`full`, `top-3`, `label-only`, …).
    public let output: String
    public let rowsPerRequest: Int
    private let token: String
    private let timeout: TimeInterval
    private let lock = NSLock()
    private var answered = 0
    private var requests = 0
    private var refusedWith: EndpointError?

    /// Connects to `url` (the server's root) with a bearer `token` and reads the model's description.
    /// - Throws: `EndpointError` when the endpoint cannot be reached, refuses the token, or
    ///   describes a model this client cannot use.
    public init(url: URL, token: String, rowsPerRequest: Int = 256, timeout: TimeInterval = 60) throws(EndpointError) {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw EndpointError("endpoint '\(url.absoluteString.prefix(200))': use http://HOST:PORT or https://HOST:PORT")
        }
        guard (1...1024).contains(rowsPerRequest) else { throw EndpointError("rows per request must be 1…1024, got \(rowsPerRequest)") }
        guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw EndpointError("the endpoint token is empty or holds characters a bearer token cannot have")
        }
        self.url = url
        self.token = token
        self.timeout = timeout
        self.rowsPerRequest = rowsPerRequest
        let described = url.appendingPathComponent("v1/model")
        let (status, body, _) = try Self.exchange(described, method: "GET", token: token, body: nil, limit: 1 << 16, timeout: timeout)
        guard status == 200 else { throw EndpointError("\(described.absoluteString) answered \(status): \(Self.message(body))") }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let classes = object["classes"] as? Int, (2...100_000).contains(classes),
              let shape = object["input_shape"] as? [Int], !shape.isEmpty, shape.allSatisfy({ $0 >= 1 }),
              shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0.multipliedReportingOverflow(by: $1).partialValue }) <= 1 << 24,
              let output = object["output"] as? String else {
            throw EndpointError("\(described.absoluteString): not a model description (classes 2…100000, input_shape, output)")
        }
        classCount = classes
        inputShape = shape
        self.output = output
    }

    /// Rows answered so far (input rows sent and answered, not requests).
    public var queries: Int { lock.withLock { answered } }
    /// HTTP prediction requests made so far.
    public var requestCount: Int { lock.withLock { requests } }
    /// Why the endpoint stopped answering, if it did.
    public var refusal: EndpointError? { lock.withLock { refusedWith } }

    /// Throws the refusal that ended the session, if any, naming `what` was running.
    public func checkNotRefused(_ what: String) throws(EndpointError) {
        if let r = refusal { throw EndpointError("\(what): \(r.description)") }
    }

    public func probabilities(for inputs: Tensor) -> Tensor {
        let n = inputs.shape.first ?? 0
        let width = n == 0 ? 0 : inputs.scalars.count / n
        var out = [Float](repeating: 0, count: n * classCount)
        var start = 0
        let scalars = inputs.scalars
        while start < n {
            let end = min(n, start + rowsPerRequest)
            if let rows = answer(scalars[start * width..<end * width], rows: end - start, width: width) {
                out.replaceSubrange(start * classCount..<end * classCount, with: rows)
            }
            start = end
        }
        return Tensor(shape: [n, classCount], scalars: out)
    }

    public func predictedLabels(for inputs: Tensor) -> [Int] {
        let p = probabilities(for: inputs)
        let c = classCount
        return (0..<(inputs.shape.first ?? 0)).map { i in
            var best = 0
            for j in 1..<c where p.scalars[i * c + j] > p.scalars[i * c + best] { best = j }
            return best
        }
    }

    /// One request's rows of probabilities, or nil once the endpoint has refused.
    private func answer(_ values: ArraySlice<Float>, rows: Int, width: Int) -> [Float]? {
        if refusal != nil { return nil }
        var body = "{\"inputs\":["
        body.reserveCapacity(rows * width * 12 + 16)
        for i in 0..<rows {
            if i > 0 { body += "," }
            body += "["
            let base = values.startIndex + i * width
            for j in 0..<width {
                if j > 0 { body += "," }
                let v = values[base + j]
                body += v.isFinite ? "\(v)" : "0"
            }
            body += "]"
        }
        body += "]}"
        let limit = 4096 + rows * (64 + classCount * 48)
        var connectionFailures = 0
        while true {
            let status: Int, reply: Data, retryAfter: String?
            do {
                lock.withLock { requests += 1 }
                (status, reply, retryAfter) = try Self.exchange(url.appendingPathComponent("v1/predict"), method: "POST", token: token,
                                                                body: Data(body.utf8), limit: limit, timeout: timeout)
            } catch {
                connectionFailures += 1
                if connectionFailures <= 2, !error.description.contains("larger than") {
                    Thread.sleep(forTimeInterval: Double(connectionFailures))
                    continue
                }
                return refuse(error.description)
            }
            if status == 429 {
                let wait = min(60, max(0.05, Double(retryAfter ?? "1") ?? 1))
                Thread.sleep(forTimeInterval: wait)
                continue
            }
            guard status == 200 else { return refuse("the endpoint answered \(status): \(Self.message(reply))") }
            guard let parsed = parse(reply, rows: rows) else { return refuse("an answer of the endpoint is not \(rows) predictions of \(classCount) classes") }
            lock.withLock { answered += rows }
            return parsed
        }
    }

    private func refuse(_ reason: String) -> [Float]? {
        lock.withLock {
            if refusedWith == nil { refusedWith = EndpointError("\(url.absoluteString) stopped answering after \(answered) queries: \(reason)") }
        }
        return nil
    }

    private func parse(_ data: Data, rows: Int) -> [Float]? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let predictions = object["predictions"] as? [[String: Any]], predictions.count == rows else { return nil }
        var out = [Float](repeating: 0, count: rows * classCount)
        for (i, p) in predictions.enumerated() {
            guard let label = p["label"] as? Int, (0..<classCount).contains(label) else { return nil }
            if let classes = p["classes"] as? [Int], let probabilities = p["probabilities"] as? [Double] {
                guard classes.count == probabilities.count, classes.count <= classCount else { return nil }
                for (k, q) in zip(classes, probabilities) {
                    guard (0..<classCount).contains(k), q.isFinite, q >= 0, q <= 1 else { return nil }
                    out[i * classCount + k] = Float(q)
                }
            } else {
                out[i * classCount + label] = 1
            }
        }
        return out
    }

    /// The `error` field of a JSON refusal, or the start of the body.
    static func message(_ body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let e = object["error"] as? String {
            return String(e.prefix(300))
        }
        return String(decoding: body.prefix(200), as: UTF8.self)
    }

    /// One HTTP exchange, its body read up to `limit` bytes (a longer answer is an error, and is
    /// not read further).
    static func exchange(_ url: URL, method: String, token: String, body: Data?, limit: Int,
                         timeout: TimeInterval) throws(EndpointError) -> (Int, Data, String?) {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let reader = BoundedReader(limit: limit)
        let session = URLSession(configuration: .ephemeral, delegate: reader, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        reader.done.wait()
        if let failure = reader.failure { throw EndpointError("\(url.absoluteString): \(failure)") }
        guard let response = reader.response else { throw EndpointError("\(url.absoluteString): no HTTP answer") }
        return (response.statusCode, reader.data, response.value(forHTTPHeaderField: "Retry-After"))
    }
}

/// Collects one response body, cancelling the task once it passes `limit` bytes.
private final class BoundedReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let limit: Int
    let done = DispatchSemaphore(value: 0)
    var data = Data()
    var response: HTTPURLResponse?
    var failure: String?

    init(limit: Int) { self.limit = limit }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        self.response = response as? HTTPURLResponse
        if response.expectedContentLength > Int64(limit) {
            failure = "an answer of \(response.expectedContentLength) bytes is larger than the \(limit) its rows can need"
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        if self.data.count + data.count > limit {
            failure = "an answer larger than the \(limit) bytes its rows can need"
            dataTask.cancel()
            return
        }
        self.data.append(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error, failure == nil { failure = (error as NSError).localizedDescription }
        done.signal()
    }
}

/// An endpoint that cannot be used or stopped answering, named (never with the token).
public struct EndpointError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
