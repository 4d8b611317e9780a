import Codecs
import Foundation
import LabRandom
import ModelServing
import Tensors
import Testing
import TestSupport

/// Rows of 4 features uniform in [0, 1), feature 0 shifted by `shift` (TinyModel's class 0 then wins more often).
func uniformRows(_ n: Int, seed: UInt64, shift: Float = 0) -> [[Float]] {
    var r = LabRandom(seed: seed).stream("rows")
    return (0..<n).map { _ in (0..<4).map { r.nextFloat() + ($0 == 0 ? shift : 0) } }
}

/// The reference of the monitoring tests: 400 rows and TinyModel's classes for them.
func tinyReference(alpha: Double = 0.01) throws -> DriftReference {
    let rows = uniformRows(400, seed: 1)
    return try DriftReference(inputs: rows.flatMap { $0 }, width: 4, predictions: TinyModel().predictedLabels(for: .init(shape: [400, 4], scalars: rows.flatMap { $0 })),
                              classes: 3, alpha: alpha)
}

/// A sample's value in the Prometheus text format: the line `series value` (series with its labels as written).
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}

/// A one-thread HTTP receiver on 127.0.0.1 for alert webhooks: answers every request 204 and keeps
/// its body. Stops when `stop` is called (the listening socket is shut down).
final class WebhookReceiver: @unchecked Sendable {
    let port: Int
    let bodies = Locked<[String]>([])
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd, bodies = self.bodies
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                // Read the head, then Content-Length bytes of body.
                while received.count < 1 << 20 {
                    let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    received += buffer[0..<n]
                    let text = String(decoding: received, as: UTF8.self)
                    guard let end = text.range(of: "\r\n\r\n") else { continue }
                    let head = text[..<end.lowerBound].lowercased()
                    let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                    let bodyStart = text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound)
                    if received.count - bodyStart >= length {
                        bodies.withLock { $0.append(String(decoding: received[bodyStart..<bodyStart + length], as: UTF8.self)) }
                        break
                    }
                }
                let answer = Array("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite("Monitoring a served model: metrics, drift, alerts")
struct MonitoringTests {
    @Test("the drift reference: a window from the reference's distribution does not drift, a shifted one drifts in inputs and predictions")
    func driftReference() throws {
        let reference = try tinyReference()
        let same = uniformRows(200, seed: 2)
        let calm = reference.evaluate(rows: same.flatMap { $0 }, labels: TinyModel().predictedLabels(for: .init(shape: [200, 4], scalars: same.flatMap { $0 })))
        #expect(!calm.inputDrift && !calm.predictionDrift && calm.rows == 200, "\(calm)")
        let shifted = uniformRows(200, seed: 3, shift: 0.6)
        let drifted = reference.evaluate(rows: shifted.flatMap { $0 }, labels: TinyModel().predictedLabels(for: .init(shape: [200, 4], scalars: shifted.flatMap { $0 })))
        #expect(drifted.inputDrift && drifted.predictionDrift && drifted.driftedFeatures == 1, "\(drifted)")
        #expect(drifted.inputPValue < calm.inputPValue && drifted.inputStatistic > calm.inputStatistic)
        #expect(throws: ServingError.self) { try DriftReference(inputs: [1, 2, 3], width: 4, predictions: [0], classes: 3, alpha: 0.01) }
        #expect(throws: ServingError.self) { try DriftReference(inputs: [1, 2, 3, 4, 5, 6, 7, 8], width: 4, predictions: [0, 5], classes: 3, alpha: 0.01) }
        #expect(throws: ServingError.self) { try DriftReference(inputs: [1, 2, 3, 4, 5, 6, 7, 8], width: 4, predictions: [0, 1], classes: 3, alpha: 2) }
    }

    @Test("/metrics: absent without a monitor or with closed access, behind the scrape token when it has one; alert lines name token ids, never secrets")
    func access() async throws {
        let (registry, secrets) = try ModelServiceTests.registry()
        let scrape = "scrape-secret-0123456789"
        let get = ServiceRequest(method: "GET", path: "/metrics")
        #expect(await (try ModelService(served: served, registry: registry, log: nil)).respond(get).status == 404)
        let closed = try ServingMonitor(tokens: registry.tokens.map(\.id), log: { _ in }, access: .closed)
        #expect(await (try ModelService(served: served, registry: registry, log: nil, monitor: closed)).respond(get).status == 404)
        let lines = Locked<[String]>([])
        let monitor = try ServingMonitor(tokens: registry.tokens.map(\.id), log: { line in lines.withLock { $0.append(line) } },
                                         access: .token(sha256: SHA256.hash(utf8: scrape).bytes))
        let service = try ModelService(served: served, registry: registry, log: nil, monitor: monitor)
        #expect(await service.respond(get).status == 401)
        #expect(await service.respond(ServiceRequest(method: "GET", path: "/metrics", authorization: "Bearer " + secrets["full"]!)).status == 401)
        #expect(await service.respond(ServiceRequest(method: "POST", path: "/metrics", authorization: "Bearer " + scrape)).status == 405)
        #expect(await predict(service, secrets["watched"], [[0.1, 0.5, 0.9, 0.3]]).status == 200)
        #expect(await predict(service, secrets["watched"], [[0.1, 0.5, 0.9, 0.3]]).status == 403)
        let page = await service.respond(ServiceRequest(method: "GET", path: "/metrics", authorization: "Bearer " + scrape))
        #expect(page.status == 200 && page.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(sample(page.text, "privacylab_detector_flags_total{token=\"watched\",detector=\"blacklight\"}") == 1)
        #expect(sample(page.text, "privacylab_rows_answered_total{token=\"watched\"}") == 1)
        #expect(sample(page.text, "privacylab_tokens_blocked") == 1)
        let logged = lines.withLock { $0 }
        #expect(logged.count == 1 && logged[0].contains("\"kind\":\"query-attack\"") && logged[0].contains("\"token_id\":\"watched\""))
        for secret in secrets.values + [scrape] { #expect(!page.text.contains(secret) && !logged[0].contains(secret)) }
        #expect(!logged[0].contains("0.9"), "an alert carries no inputs")
    }

    @Test("over real HTTP: a calm stream, a drifted stream and a probing client; /metrics shows the requests, rows, latency, drift and flags, and the webhook receives each alert once")
    func monitoredOverHTTP() async throws {
        var tokens: [ServingToken] = [], secrets: [String: String] = [:]
        for (id, detector) in [("client", ServingToken.DetectorChoice.none), ("watched", .blacklight)] {
            let (secret, token) = try TokenRegistry.newToken(id: id, ratePerSecond: 1e6, burst: 1000, budget: 1_000_000, expires: nil,
                                                             output: .full, detector: detector)
            tokens.append(token)
            secrets[id] = secret
        }
        let registry = try TokenRegistry(tokens: tokens)
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let lines = Locked<[String]>([])
        let scrape = "scrape-secret-0123456789"
        let monitor = try ServingMonitor(tokens: registry.tokens.map(\.id), drift: try tinyReference(), schedule: .init(window: 200, every: 50),
                                         webhook: URL(string: "http://127.0.0.1:\(receiver.port)/alerts"),
                                         log: { line in lines.withLock { $0.append(line) } }, access: .token(sha256: SHA256.hash(utf8: scrape).bytes))
        let service = try ModelService(served: served, registry: registry, log: nil, monitor: monitor)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await ModelServer(service: service, host: "127.0.0.1", port: 0).run(stopOnSignals: false) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        defer { task.cancel() }

        func post(_ rows: [[Float]], token: String) async throws -> Int? {
            let body = String(decoding: predictBody(rows), as: UTF8.self)
            let request = "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            return try await onThread { try exchange(port: port, Array(request.utf8)) }.status
        }
        func scrapeMetrics() async throws -> String {
            let answer = try await onThread { try get(port: port, "/metrics", extra: "Authorization: Bearer \(scrape)\r\n") }
            #expect(answer.status == 200)
            return answer.body
        }
        #expect(try await onThread { try get(port: port, "/metrics") }.status == 401)

        // A calm stream (the reference's distribution), then a drifted one (feature 0 shifted, so
        // class 0 wins more often): 50-row requests, each followed by its drift test.
        var answered = 0
        for (batch, shift) in [(0, Float(0)), (1, 0), (2, 0), (3, 0), (4, 0.6), (5, 0.6), (6, 0.6), (7, 0.6)] {
            #expect(try await post(uniformRows(50, seed: 100 + UInt64(batch), shift: shift), token: secrets["client"]!) == 200)
            answered += 1
            #expect(await eventually { monitor.lastDrift.tests == batch + 1 }, "drift test \(batch + 1) did not run")
            if batch == 3 {
                let calm = try await scrapeMetrics()
                #expect(sample(calm, "privacylab_drift_active{test=\"input\"}") == 0)
                #expect(sample(calm, "privacylab_alerts_total{kind=\"input-drift\"}") == 0)
                #expect(try #require(sample(calm, "privacylab_drift_input_p_value")) >= 0.01)
            }
        }
        // A probing client: one input, then the same again; Blacklight flags it and it is blocked.
        #expect(try await post([[0.1, 0.5, 0.9, 0.3]], token: secrets["watched"]!) == 200)
        answered += 1
        #expect(try await post([[0.1, 0.5, 0.9, 0.3]], token: secrets["watched"]!) == 403)
        #expect(try await post([[0.7, 0.2, 0.0, 1.0]], token: secrets["watched"]!) == 403)

        let text = try await scrapeMetrics()
        #expect(sample(text, "privacylab_http_requests_total{endpoint=\"predict\",code=\"200\"}") == Double(answered))
        #expect(sample(text, "privacylab_http_requests_total{endpoint=\"predict\",code=\"403\"}") == 2)
        #expect(sample(text, "privacylab_http_requests_total{endpoint=\"metrics\",code=\"401\"}") == 1)
        #expect(sample(text, "privacylab_prediction_duration_seconds_count") == Double(answered))
        #expect(sample(text, "privacylab_rows_answered_total{token=\"client\"}") == 400)
        #expect(sample(text, "privacylab_rows_answered_total{token=\"watched\"}") == 1)
        #expect(sample(text, "privacylab_detector_flags_total{token=\"watched\",detector=\"blacklight\"}") == 1)
        #expect(sample(text, "privacylab_tokens_blocked") == 1)
        #expect(sample(text, "privacylab_drift_tests_total") == 8)
        #expect(sample(text, "privacylab_drift_window_rows") == 200)
        #expect(sample(text, "privacylab_drift_active{test=\"input\"}") == 1)
        #expect(sample(text, "privacylab_drift_active{test=\"prediction\"}") == 1)
        #expect(try #require(sample(text, "privacylab_drift_input_p_value")) < 0.01)
        #expect(try #require(sample(text, "privacylab_drift_prediction_p_value")) < 0.01)
        for kind in ["input-drift", "prediction-drift", "query-attack"] {
            #expect(sample(text, "privacylab_alerts_total{kind=\"\(kind)\"}") == 1, "\(kind)")
        }

        // The webhook got each alert once, as the log did; neither shows a secret.
        #expect(await eventually { receiver.bodies.withLock { $0.count } >= 3 })
        let bodies = receiver.bodies.withLock { $0 }.sorted()
        let logged = lines.withLock { $0 }.sorted()
        #expect(bodies == logged && bodies.count == 3)
        let kinds = try bodies.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["kind"] as? String }
        #expect(Set(kinds.compactMap { $0 }) == ["input-drift", "prediction-drift", "query-attack"])
        for secret in secrets.values + [scrape] { #expect(!bodies.joined().contains(secret)) }
        #expect(try await eventually { sample(try await scrapeMetrics(), "privacylab_alert_webhook_total{result=\"sent\"}") == 3 })
        task.cancel()
        _ = await task.result
    }

    @Test("a webhook that does not answer never holds up predictions: alerts are counted as failed, the first failure is logged once")
    func deadWebhook() async throws {
        let (secondSecret, second) = try TokenRegistry.newToken(id: "watched2", ratePerSecond: 1000, burst: 100, budget: 1000, expires: nil,
                                                                output: .full, detector: .blacklight)
        let (registry, secrets) = try ModelServiceTests.registry([second])
        // A port that refuses connections: bound to find it, then closed.
        let receiver = try WebhookReceiver()
        let deadPort = receiver.port
        receiver.stop()
        let lines = Locked<[String]>([])
        let monitor = try ServingMonitor(tokens: registry.tokens.map(\.id), webhook: URL(string: "http://127.0.0.1:\(deadPort)/"),
                                         log: { line in lines.withLock { $0.append(line) } })
        let service = try ModelService(served: served, registry: registry, log: nil, monitor: monitor)
        // Two flagged clients: two alerts; predictions go on.
        for secret in [secrets["watched"]!, secondSecret] {
            #expect(await predict(service, secret, [[0.1, 0.5, 0.9, 0.3]]).status == 200)
            #expect(await predict(service, secret, [[0.1, 0.5, 0.9, 0.3]]).status == 403)
            #expect(await predict(service, secrets["full"], [[0.1, 0.5, 0.9, 0.3]]).status == 200)
        }
        await monitor.drainAlerts()
        let page = await service.respond(ServiceRequest(method: "GET", path: "/metrics")).text
        #expect(sample(page, "privacylab_alert_webhook_total{result=\"failed\"}") == 2)
        #expect(sample(page, "privacylab_alerts_total{kind=\"query-attack\"}") == 2)
        let logged = lines.withLock { $0 }
        #expect(logged.filter { $0.contains("alert-webhook-failed") }.count == 1)
        #expect(logged.filter { $0.contains("\"event\":\"alert\"") }.count == 2)
    }
}
