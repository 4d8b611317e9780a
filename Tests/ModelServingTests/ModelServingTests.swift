import Codecs
import Foundation
import ModelAccess
import ModelEndpoint
import ModelServing
import Tensors
import Testing
import TestSupport

/// A fixed linear softmax over 4 features and 3 classes: class k scores feature k (k < 3).
struct TinyModel: ProbabilityAccess {
    var classCount: Int { 3 }
    func probabilities(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], x = inputs.scalars
        var out = [Float](repeating: 0, count: n * 3)
        for i in 0..<n {
            let z = (0..<3).map { 4 * x[i * 4 + $0] }
            let m = z.max()!, e = z.map { exp($0 - m) }, s = e.reduce(0, +)
            for k in 0..<3 { out[i * 3 + k] = e[k] / s }
        }
        return Tensor(shape: [n, 3], scalars: out)
    }
    func predictedLabels(for inputs: Tensor) -> [Int] {
        let p = probabilities(for: inputs).scalars
        return (0..<inputs.shape[0]).map { i in (0..<3).max { p[i * 3 + $0] < p[i * 3 + $1] }! }
    }
}

let served = ServedModel(model: TinyModel(), inputShape: [4], name: "tiny")
let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func predictBody(_ rows: [[Float]]) -> [UInt8] {
    Array("{\"inputs\":[\(rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ","))]}".utf8)
}

func predict(_ service: ModelService, _ secret: String?, _ rows: [[Float]], at time: Date = t0) async -> ServiceResponse {
    await service.respond(ServiceRequest(method: "POST", path: "/v1/predict", authorization: secret.map { "Bearer " + $0 },
                                         body: predictBody(rows), time: time))
}

func json(_ r: ServiceResponse) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
}

@Suite("Served model: tokens, policies, limits, detectors and the query log")
struct ModelServiceTests {
    /// Tokens for each policy, and their secrets.
    static func registry(_ extra: [ServingToken] = []) throws -> (TokenRegistry, [String: String]) {
        var secrets: [String: String] = [:], tokens: [ServingToken] = []
        for (id, policy, rate, burst, budget, detector) in [
            ("full", OutputPolicy.full, 1000.0, 100, 1000, ServingToken.DetectorChoice.none),
            ("label", .labelOnly, 1000, 100, 1000, .none), ("top2", .topK(2, renormalized: false), 1000, 100, 1000, .none),
            ("round1", .rounded(decimals: 1), 1000, 100, 1000, .none),
            ("slow", .full, 1, 2, 1000, .none), ("small", .full, 1000, 100, 3, .none),
            ("watched", .full, 1000, 100, 1000, .blacklight),
        ] {
            let (secret, token) = try TokenRegistry.newToken(id: id, ratePerSecond: rate, burst: burst, budget: budget, expires: nil,
                                                             output: policy, detector: detector)
            secrets[id] = secret
            tokens.append(token)
        }
        let (secret, expired) = try TokenRegistry.newToken(id: "expired", ratePerSecond: 10, burst: 10, budget: 10,
                                                           expires: t0.addingTimeInterval(-1), output: .full, detector: .none)
        secrets["expired"] = secret
        return (try TokenRegistry(tokens: tokens + [expired] + extra), secrets)
    }

    @Test("a token is found by its secret alone; the tokens file holds only digests; bad tokens files are refused by name")
    func tokens() throws {
        let (registry, secrets) = try Self.registry()
        #expect(registry.authenticate(secrets["label"]!)?.id == "label")
        #expect(registry.authenticate(secrets["label"]! + "x") == nil)
        #expect(registry.authenticate("") == nil)
        let text = String(decoding: registry.fileText(), as: UTF8.self)
        for secret in secrets.values { #expect(!text.contains(secret)) }
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("tokens.json")
        try registry.fileText().write(to: file)
        #expect(try TokenRegistry(contentsOf: file).tokens.map(\.id) == registry.tokens.map(\.id).sorted())
        for (content, expected) in [("{}", "not a tokens file"), ("[{\"id\":\"a\"}]", "missing 'sha256'"),
                                    ("[{\"id\":\"a b\",\"sha256\":\"\(String(repeating: "0", count: 64))\",\"rate_per_second\":1,\"burst\":1,\"budget\":1,\"output\":\"label-only\",\"detector\":\"none\"}]", "token id 'a b'"),
                                    ("[{\"id\":\"a\",\"sha256\":\"00\",\"rate_per_second\":1,\"burst\":1,\"budget\":1,\"output\":\"label-only\",\"detector\":\"none\"}]", "sha256 must be 64 hex digits"),
                                    ("[{\"id\":\"a\",\"sha256\":\"\(String(repeating: "0", count: 64))\",\"rate_per_second\":1,\"burst\":1,\"budget\":1,\"output\":\"top-0\",\"detector\":\"none\"}]", "output 'top-0'")] {
            try Data(content.utf8).write(to: file)
            #expect { _ = try TokenRegistry(contentsOf: file) } throws: { "\($0)".contains(expected) }
        }
        #expect(throws: ServingError.self) { try TokenRegistry(tokens: registry.tokens + [registry.tokens[0]]) }
    }

    @Test("each token sees what its output policy lets through, for every row")
    func policies() async throws {
        let (registry, secrets) = try Self.registry()
        let service = try ModelService(served: served, registry: registry, log: nil)
        let rows: [[Float]] = [[0.9, 0.1, 0.5, 0], [0, 0.2, 0.8, 0]]
        let full = try json(await predict(service, secrets["full"], rows))["predictions"] as! [[String: Any]]
        #expect(full.map { $0["label"] as! Int } == [0, 2])
        let p0 = full[0]["probabilities"] as! [Double]
        #expect(p0.count == 3 && abs(p0.reduce(0, +) - 1) < 1e-6)
        let label = try json(await predict(service, secrets["label"], rows))["predictions"] as! [[String: Any]]
        #expect(label.map { $0["label"] as! Int } == [0, 2] && label.allSatisfy { $0["probabilities"] == nil && $0["classes"] == nil })
        let top = try json(await predict(service, secrets["top2"], rows))["predictions"] as! [[String: Any]]
        #expect(top[0]["classes"] as! [Int] == [0, 2] && (top[0]["probabilities"] as! [Double]).count == 2)
        #expect((top[0]["probabilities"] as! [Double])[0] == p0[0])
        let rounded = try json(await predict(service, secrets["round1"], rows))["predictions"] as! [[String: Any]]
        for (r, f) in zip(rounded[0]["probabilities"] as! [Double], p0) {
            #expect(abs(r - f) <= 0.05 + 1e-9 && abs(r * 10 - (r * 10).rounded()) < 1e-9)
        }
    }

    @Test("the request body: every JSON number spelling is read as Swift reads it, and each malformed body gets one 400 naming what is wrong")
    func bodies() async throws {
        let (registry, secrets) = try Self.registry()
        let service = try ModelService(served: served, registry: registry, log: nil)
        func send(_ body: String) async -> ServiceResponse {
            await service.respond(ServiceRequest(method: "POST", path: "/v1/predict", authorization: "Bearer " + secrets["full"]!,
                                                 body: Array(body.utf8), time: t0))
        }
        let spellings = ["0", "-0", "0.25", "-1.5e-1", "2E-1", "1e+0", "0.30000001192092896", "12345.678", "-0.000001", "1.1754944e-38"]
        for (k, text) in spellings.enumerated() {
            let row = ["0.1", text, "0.2", spellings[(k + 3) % spellings.count]]
            let r = await send("{ \"inputs\" :\n [ [ \(row.joined(separator: " ,\t")) ] ] }")
            #expect(r.status == 200, "\(text): \(r.text)")
            let floats = row.map { Float($0)! }
            let expected = TinyModel().probabilities(for: Tensor(shape: [1, 4], scalars: floats)).scalars.map(Double.init)
            let got = try json(r)["predictions"] as! [[String: Any]]
            // The same 32-bit probabilities (the answer's JSON doubles read back to the Float they print).
            #expect((got[0]["probabilities"] as! [Double]).map { Float($0) } == expected.map { Float($0) }, "\(row)")
        }
        // An input the model overflows on: a 500 in JSON, never an answer with NaN in it.
        let overflow = await send("{\"inputs\":[[3.4028234e38,0,0,0]]}")
        #expect(overflow.status == 500 && (try? json(overflow)) != nil && overflow.text.contains("not a finite number"))
        for (body, expected) in [
            ("{\"inputs\":[[01,0,0,0]]}", "expected ',' or ']'"), ("{\"inputs\":[[1.,0,0,0]]}", "expected digits after '.'"),
            ("{\"inputs\":[[.5,0,0,0]]}", "expected a number"), ("{\"inputs\":[[+1,0,0,0]]}", "expected a number"),
            ("{\"inputs\":[[NaN,0,0,0]]}", "expected a number"), ("{\"inputs\":[[1e,0,0,0]]}", "expected an exponent"),
            ("{\"inputs\":[[1,0,0,0]]} x", "unexpected bytes after the object"), ("{\"inputs\":[[1,0,0,0]],\"x\":1}", "expected '}'"),
            ("{\"rows\":[[1,0,0,0]]}", "expected the key"), ("{\"inputs\":[[1,0,0,0]", "the body ends"),
            ("{\"inputs\":[[1,0,0,0,5]]}", "a row has 4 values (input shape [4]), got more"), ("{\"inputs\":[[]]}", "got 0"),
            ("{\"inputs\":[[" + String(repeating: "1", count: 65) + ",0,0,0]]}", "more than 64 characters"),
            ("{\"inputs\":[[1e39,0,0,0]]}", "does not fit a 32-bit float"), ("", "expected '{' at byte 0"),
            ("{\"inputs\":[" + Array(repeating: "[0,0,0,0]", count: 1025).joined(separator: ",") + "]}", "send 1…1024 rows, got more"),
        ] {
            let r = await send(body)
            #expect(r.status == 400 && r.text.contains(expected), "\(body.prefix(60)): \(r.text)")
        }
    }

    @Test("missing, unknown and expired tokens get 401; malformed bodies 400; a drained bucket 429 with Retry-After; a spent budget 403")
    func refusals() async throws {
        let (registry, secrets) = try Self.registry()
        let service = try ModelService(served: served, registry: registry, log: nil)
        let row: [[Float]] = [[0.1, 0.2, 0.3, 0.4]]
        let none = await predict(service, nil, row)
        #expect(none.status == 401 && none.headers["WWW-Authenticate"] != nil)
        #expect(await predict(service, "plt_wrong", row).status == 401)
        #expect(await predict(service, secrets["expired"], row).text.contains("expired"))
        for (body, expected) in [("not json", "the body must be JSON"), ("{\"inputs\": []}", "send 1…1024 rows"),
                                 ("{\"inputs\": [[1, 2, 3]]}", "a row has 4 values"), ("{\"inputs\": [[1, 2, 3, 1e39]]}", "the body must be JSON"),
                                 ("{\"inputs\": \"x\"}", "the body must be JSON")] {
            let r = await service.respond(ServiceRequest(method: "POST", path: "/v1/predict", authorization: "Bearer " + secrets["full"]!,
                                                         body: Array(body.utf8), time: t0))
            #expect(r.status == 400 && r.text.contains(expected), "\(body): \(r.text)")
        }
        let tooMany = await predict(service, secrets["full"], Array(repeating: row[0], count: 1025))
        #expect(tooMany.status == 400)
        // Rate 1/s, burst 2: two queries pass, the third waits a second.
        #expect(await predict(service, secrets["slow"], row + row).status == 200)
        let limited = await predict(service, secrets["slow"], row)
        #expect(limited.status == 429 && limited.headers["Retry-After"] == "1")
        #expect(await predict(service, secrets["slow"], row, at: t0.addingTimeInterval(1)).status == 200)
        #expect(await predict(service, secrets["slow"], row + row + row).text.contains("exceed this token's burst"))
        // Budget 3.
        #expect(await predict(service, secrets["small"], row + row).status == 200)
        let spent = await predict(service, secrets["small"], row + row)
        #expect(spent.status == 403 && spent.text.contains("2 of 3 queries used"))
        #expect(await predict(service, secrets["small"], row).status == 200)
        #expect(await predict(service, secrets["small"], row).status == 403)
        #expect(await service.used("small") == 3)
        // Routes and methods.
        #expect(await service.respond(ServiceRequest(method: "GET", path: "/v1/predict")).status == 405)
        #expect(await service.respond(ServiceRequest(method: "GET", path: "/nope")).status == 404)
        #expect(await service.respond(ServiceRequest(method: "GET", path: "/v1/health")).status == 200)
        let api = try json(await service.respond(ServiceRequest(method: "GET", path: "/openapi.json")))
        #expect(api["openapi"] as? String == "3.1.0")
    }

    @Test("a client probing one input is blocked by its Blacklight detector and stays blocked, also after a restart from the log; the log has one line per request")
    func detectorAndLog() async throws {
        let (registry, secrets) = try Self.registry()
        let folder = makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let logURL = folder.appendingPathComponent("queries.log")
        let service = try ModelService(served: served, registry: registry, log: try QueryLog(url: logURL, keepsInputs: true))
        // Distinct inputs pass; the same input again is flagged (Blacklight's windows all match).
        #expect(await predict(service, secrets["watched"], [[0.1, 0.5, 0.9, 0.3]]).status == 200)
        #expect(await predict(service, secrets["watched"], [[0.7, 0.2, 0.0, 1.0]]).status == 200)
        let flagged = await predict(service, secrets["watched"], [[0.1, 0.5, 0.9, 0.3]])
        #expect(flagged.status == 403 && flagged.text.contains("blocked"))
        #expect(await predict(service, secrets["watched"], [[0.3, 0.3, 0.3, 0.3]]).status == 403)
        // An unwatched client may repeat itself.
        #expect(await predict(service, secrets["full"], [[0.1, 0.5, 0.9, 0.3]]).status == 200)
        #expect(await predict(service, secrets["full"], [[0.1, 0.5, 0.9, 0.3]]).status == 200)
        #expect(await predict(service, nil, [[0.1, 0.5, 0.9, 0.3]]).status == 401)

        let entries = try QueryLog.read(logURL)
        #expect(entries.map(\.status) == [200, 200, 403, 403, 200, 200, 401])
        #expect(entries.map(\.token) == ["watched", "watched", "watched", "watched", "full", "full", nil])
        #expect(entries.map(\.flagged) == [false, false, true, false, false, false, false])
        #expect(entries[0].inputSHA256 == SHA256.hash(predictBody([[0.1, 0.5, 0.9, 0.3]])).hex)
        let attributes = try FileManager.default.attributesOfItem(atPath: logURL.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // The admitted inputs replay as each client's stream.
        let streams = try QueryLog.streams(entries, inputs: URL(fileURLWithPath: logURL.path + ".inputs"), width: 4)
        #expect(streams["watched"] == [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.0, 1.0, 0.1, 0.5, 0.9, 0.3])
        #expect(streams["full"]?.count == 8)
        // Offline, Blacklight watches every client: the unwatched one that repeated itself is flagged
        // at its second query, the watched one at its third (as it was live); the blocked query was never admitted.
        let replayed = try QueryLogReplay.run(entries, inputs: URL(fileURLWithPath: logURL.path + ".inputs"), model: served, detectors: [.blacklight, .prada])
        #expect(replayed.map(\.token) == ["full", "full", "watched", "watched"])
        #expect(replayed.filter { $0.detector == .blacklight }.map(\.outcome.firstDetection) == [2, 3])
        #expect(replayed.map(\.outcome.queries) == [2, 2, 3, 3])

        // A restarted server reads the log back: the budget used and the block carry over.
        let restarted = try ModelService(served: served, registry: registry, log: try QueryLog(url: logURL), history: entries)
        #expect(await restarted.used("full") == 2)
        #expect(await restarted.used("watched") == 3)
        #expect(await predict(restarted, secrets["watched"], [[0.9, 0.9, 0.9, 0.9]]).status == 403)
        // A line cut short by a crash is ignored; a corrupt line is named.
        let handle = try FileHandle(forWritingTo: logURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"time\":\"2027".utf8))
        try handle.close()
        #expect(try QueryLog.read(logURL).count == entries.count + 1)
        try Data("garbage\n".utf8).write(to: logURL)
        #expect { _ = try QueryLog.read(logURL) } throws: { "\($0)".contains("line 1 is not a query-log entry") }
    }

    @Test("over real HTTP: predictions, 401, 413 for an oversized body, and malformed requests, and the server keeps serving")
    func http() async throws {
        let (registry, secrets) = try Self.registry()
        let service = try ModelService(served: served, registry: registry, log: nil)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await ModelServer(service: service, host: "127.0.0.1", port: 0).run(stopOnSignals: false) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        defer { task.cancel() }
        func post(_ body: String, token: String?) async throws -> (status: Int?, head: String, body: String) {
            let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
            let request = "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\(auth)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            return try await onThread { try exchange(port: port, Array(request.utf8)) }
        }
        let ok = try await post("{\"inputs\":[[0.9,0.1,0.5,0]]}", token: secrets["full"])
        #expect(ok.status == 200 && ok.body.contains("\"label\":0"))
        #expect(try await post("{\"inputs\":[[0.9,0.1,0.5,0]]}", token: nil).status == 401)
        #expect(try await post("{\"inputs\":[[0.9,0.1]]}", token: secrets["full"]).status == 400)
        let huge = "{\"inputs\":[[" + String(repeating: "0,", count: 5_000_000) + "0]]}"
        #expect(try await post(huge, token: secrets["full"]).status == 413)
        #expect(try await onThread { try exchange(port: port, Array("NOT HTTP\r\n\r\n".utf8)) }.status == 400)
        #expect(try await onThread { try get(port: port, "/v1/health") }.status == 200)
        task.cancel()
        _ = await task.result
    }

    @Test("an attack's EndpointModel over real HTTP: the served probabilities under each policy, labels, a spent budget ends the session with a named refusal, a wrong token is refused without showing it")
    func endpointClient() async throws {
        let (registry, secrets) = try Self.registry()
        let service = try ModelService(served: served, registry: registry, log: nil)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await ModelServer(service: service, host: "127.0.0.1", port: 0).run(stopOnSignals: false) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        defer { task.cancel() }
        let root = try #require(URL(string: "http://127.0.0.1:\(port)"))
        let rows = Tensor(shape: [5, 4], scalars: (0..<20).map { Float(($0 * 7) % 11) / 10 })
        let expected = TinyModel().probabilities(for: rows)
        try await onThread {
            // Full answers: the model's probabilities, sent over JSON (within float printing), two rows a request.
            let full = try EndpointModel(url: root, token: secrets["full"]!, rowsPerRequest: 2)
            #expect(full.classCount == 3 && full.inputShape == [4] && full.output == "full")
            let p = full.probabilities(for: rows)
            #expect(p.shape == [5, 3] && zip(p.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-6 })
            #expect(full.queries == 5 && full.requestCount == 3 && full.refusal == nil)
            #expect(full.predictedLabels(for: rows) == TinyModel().predictedLabels(for: rows))
            // Label-only: one-hot rows of the model's labels; top-2: two nonzero entries per row.
            let label = try EndpointModel(url: root, token: secrets["label"]!)
            let onehot = label.probabilities(for: rows).scalars
            for (i, l) in TinyModel().predictedLabels(for: rows).enumerated() {
                #expect(Array(onehot[i * 3..<(i + 1) * 3]) == (0..<3).map { $0 == l ? 1 : 0 })
            }
            let top = try EndpointModel(url: root, token: secrets["top2"]!).probabilities(for: rows).scalars
            #expect((0..<5).allSatisfy { i in top[i * 3..<(i + 1) * 3].filter { $0 > 0 }.count == 2 })
            // Budget 3: the first request of 2 rows passes, the next (2 more) is refused with 403,
            // named with the rows answered before; later queries answer zeros without the network.
            let small = try EndpointModel(url: root, token: secrets["small"]!, rowsPerRequest: 2)
            let spent = small.probabilities(for: rows)
            let refusal = try #require(small.refusal)
            #expect(refusal.description.contains("after 2 queries") && refusal.description.contains("403"))
            #expect(spent.scalars[6...].allSatisfy { $0 == 0 } && small.queries == 2)
            let before = small.requestCount
            _ = small.probabilities(for: rows)
            #expect(small.requestCount == before)
            #expect(throws: EndpointError.self) { try small.checkNotRefused("the attack") }
            // A wrong token, and a URL that is not an endpoint.
            let secret = "plt_" + String(repeating: "ab", count: 32)
            #expect { _ = try EndpointModel(url: root, token: secret) } throws: {
                "\($0)".contains("401") && !"\($0)".contains(secret)
            }
            #expect(throws: EndpointError.self) { _ = try EndpointModel(url: URL(string: "file:///etc/passwd")!, token: secret) }
        }
        task.cancel()
        _ = await task.result
    }
}
