// Requests to a served model (`privacy-lab serve`), answered by `ModelService.respond` as the HTTP
// server hands them over, over a tiny model with a token registry (a token per refusal: budget,
// rate, expiry, a Blacklight detector), a query log (to /dev/null: millions of lines) and a monitor (metrics behind a scrape token,
// drift against a reference every 8 rows).
//
// Input: byte 0 picks the authorization (0 none, 1 a valid token — which one by byte 0 / 4 —,
// 2 the scrape token, 3 length-prefixed raw bytes); byte 1 the method (GET, POST, HEAD, PUT or
// length-prefixed raw bytes); byte 2 the path (/v1/predict, /v1/model, /v1/health, /openapi.json,
// /metrics or length-prefixed raw bytes); the rest is the body. Each request arrives 0.25 s after
// the one before, so rate limits refill.
//
// Laws: the status is one the service documents; every answer but /metrics' 200 is a JSON
// object, with "error" for statuses ≥ 400 and one prediction per input row for a 200 on
// /v1/predict; a 401 carries WWW-Authenticate and a 429 Retry-After; no answer shows a secret.
import Foundation
import FuzzSupport
import PrivacyLab

/// Class k scores feature k (k < 3), over 4 features.
struct FuzzModel: ProbabilityAccess {
    var classCount: Int { 3 }
    func probabilities(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], x = inputs.scalars
        var out = [Float](repeating: 0, count: n * 3)
        for i in 0..<n {
            // Inputs are finite (the service checks), but may be as large as Float allows.
            let z = (0..<3).map { max(-80, min(80, x[i * 4 + $0])) }
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

/// Fixed secrets, so that seeds can name them by index (their digests are what the registry keeps).
let secrets = (0..<6).map { "plt_fuzz_secret_\($0)_" + String(repeating: "ab", count: 16) }
let scrapeSecret = "fuzz-scrape-secret-0123456789"

let service: ModelService = {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    // Budgets of Int.max: a token must not run dry over millions of inputs (but "small").
    let specs: [(String, Double, Int, Int, Date?, OutputPolicy, ServingToken.DetectorChoice)] = [
        ("full", 1e6, 1024, Int.max, nil, .full, .none), ("label", 1e6, 1024, Int.max, nil, .labelOnly, .none),
        ("top2", 1e6, 1024, Int.max, nil, .topK(2, renormalized: true), .none), ("slow", 1, 2, Int.max, nil, .rounded(decimals: 2), .none),
        ("small", 1e6, 1024, 5, nil, .full, .none), ("expired", 1e6, 1024, Int.max, t0, .full, .none),
    ]
    var tokens: [ServingToken] = zip(specs, secrets).map { spec, secret in
        ServingToken(id: spec.0, sha256: SHA256.hash(utf8: secret).hex, ratePerSecond: spec.1, burst: spec.2, budget: spec.3,
                     expires: spec.4, output: spec.5, detector: spec.6)
    }
    tokens[2].detector = .blacklight
    let registry = try! TokenRegistry(tokens: tokens)
    var reference: [Float] = []
    for i in 0..<64 {
        for j in 0..<4 {
            let level: Int = (i * 7 + j * 3) % 11
            reference.append(Float(level) / 10)
        }
    }
    let labels = FuzzModel().predictedLabels(for: Tensor(shape: [64, 4], scalars: reference))
    let drift = try! DriftReference(inputs: reference, width: 4, predictions: labels, classes: 3, alpha: 0.01)
    let monitor = try! ServingMonitor(tokens: registry.tokens.map(\.id), drift: drift, schedule: .init(window: 32, every: 8),
                                      log: { _ in }, access: .token(sha256: SHA256.hash(utf8: scrapeSecret).bytes))
    return try! ModelService(served: ServedModel(model: FuzzModel(), inputShape: [4], name: "fuzz"), registry: registry,
                             log: try! QueryLog(url: URL(fileURLWithPath: "/dev/null")), monitor: monitor)
}()

/// Each request's arrival: 0.25 s after the one before.
nonisolated(unsafe) var clock = Date(timeIntervalSince1970: 1_800_000_000)

final class Answer: @unchecked Sendable { var response: ServiceResponse? }

let statuses: Set<Int> = [200, 400, 401, 403, 404, 405, 429, 500, 503]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let auth = input.takeByte(), method = input.takeByte(), path = input.takeByte()
    let authorization: String?
    switch auth % 4 {
    case 0: authorization = nil
    case 1: authorization = "Bearer " + secrets[Int(auth / 4) % secrets.count]
    case 2: authorization = "Bearer " + scrapeSecret
    default: authorization = String(decoding: input.takeLengthPrefixed(), as: UTF8.self)
    }
    let methods = ["GET", "POST", "HEAD", "PUT"]
    let methodText = Int(method) % 5 < 4 ? methods[Int(method) % 5] : String(decoding: input.takeLengthPrefixed(), as: UTF8.self)
    let paths = ["/v1/predict", "/v1/model", "/v1/health", "/openapi.json", "/metrics"]
    let pathText = Int(path) % 6 < 5 ? paths[Int(path) % 6] : String(decoding: input.takeLengthPrefixed(), as: UTF8.self)
    clock = clock.addingTimeInterval(0.25)
    let request = ServiceRequest(method: methodText, path: pathText, authorization: authorization, body: input.bytes, time: clock)

    // The fuzzer's thread waits while the service answers on the concurrency pool.
    let done = DispatchSemaphore(value: 0)
    let answer = Answer()
    Task {
        answer.response = await service.respond(request)
        done.signal()
    }
    done.wait()
    let response = answer.response!
    precondition(statuses.contains(response.status), "serve: status \(response.status)")
    for secret in secrets + [scrapeSecret] { precondition(!response.text.contains(secret), "serve: an answer shows a secret") }
    if response.status == 401 { precondition(response.headers["WWW-Authenticate"] != nil, "serve: 401 without WWW-Authenticate") }
    if response.status == 429 { precondition(response.headers["Retry-After"].flatMap(Int.init).map { $0 >= 1 } ?? false, "serve: 429 without Retry-After") }
    if pathText == "/metrics" && response.status == 200 {
        precondition(response.headers["Content-Type"]?.hasPrefix("text/plain") ?? false, "serve: /metrics is not text")
        return 0
    }
    precondition(response.headers["Content-Type"] == "application/json", "serve: an answer that is not JSON")
    guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
        preconditionFailure("serve: the body is not a JSON object: \(response.text.prefix(200))")
    }
    if response.status >= 400 { precondition(object["error"] is String, "serve: an error without \"error\"") }
    if response.status == 200 && methodText == "POST" && pathText == "/v1/predict" {
        let rows = (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["inputs"] as? [Any]
        precondition((object["predictions"] as? [Any])?.count == rows?.count, "serve: not one prediction per row")
    }
    return 0
}
