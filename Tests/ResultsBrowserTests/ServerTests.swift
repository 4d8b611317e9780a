import ExperimentStore
import Foundation
import ResultsBrowser
import Testing

/// A raw HTTP exchange over a loopback TCP socket: the bytes given are sent as they are (so
/// malformed requests can be), and everything the server sends until it closes is returned.
/// Receiving gives up after 30 s without data, so a server that hangs fails the test.
func exchange(port: Int, _ request: [UInt8]) throws -> (status: Int?, head: String, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // The server may close before reading everything (an oversized request).
        sent += n
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += buffer[..<n]
    }
    let text = String(decoding: received, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let head = parts.first ?? ""
    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    return (status, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// `GET target` with `Connection: close` and the given Host.
func get(port: Int, _ target: String, host: String? = nil, method: String = "GET", extra: String = "") throws -> (status: Int?, head: String, body: String) {
    try exchange(port: port, Array("\(method) \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n\(extra)\r\n".utf8))
}

/// Runs `body` against a server on a free loopback port, then stops the server.
func withServer<T>(_ browser: ResultsBrowser, _ body: (Int) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let server = ResultsServer(browser: browser, host: "127.0.0.1", port: 0)
    let task = Task { try await server.run(stopOnSignals: false) { continuation.yield($0) } }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw POSIXError(.EADDRNOTAVAIL) }
    defer { task.cancel() }
    let result = try await body(port)
    task.cancel()
    _ = await task.result
    return result
}

/// The HTTP server answers hostile requests with one clear 4xx and keeps serving.
@Suite("Results browser: HTTP server")
struct ServerTests {
    @Test("pages come with a content type and the security headers; hostile requests get a 4xx and the server keeps serving")
    func hostileRequests() async throws {
        let scratch = try Scratch()
        let browser = ResultsBrowser(store: try scratch.emptyStore())
        try await withServer(browser) { port in
            let page = try get(port: port, "/")
            #expect(page.status == 200)
            #expect(page.head.lowercased().contains("content-type: text/html; charset=utf-8"))
            #expect(page.head.contains("Content-Security-Policy: default-src 'none'"))
            #expect(page.body.contains("Runs and trials"))

            let cases: [(String, Int, () throws -> (status: Int?, head: String, body: String))] = [
                ("unknown route", 404, { try get(port: port, "/no/such/page") }),
                ("dot-dot path", 400, { try get(port: port, "/../../etc/passwd") }),
                ("encoded dot-dot", 400, { try get(port: port, "/%2e%2e/%2e%2e/etc/passwd") }),
                ("malformed escape", 400, { try get(port: port, "/?name=%zz") }),
                ("invalid UTF-8", 400, { try get(port: port, "/%ff") }),
                ("POST", 405, { try get(port: port, "/", method: "POST", extra: "Content-Length: 5\r\n\r\nhello") }),
                ("DELETE", 405, { try get(port: port, "/", method: "DELETE") }),
                ("long query", 414, { try get(port: port, "/?name=" + String(repeating: "a", count: 10_000)) }),
                ("huge query", 400, { try get(port: port, "/?name=" + String(repeating: "a", count: 200_000)) }),
                ("foreign Host", 421, { try get(port: port, "/", host: "attacker.example:\(port)") }),
                ("garbage", 400, { try exchange(port: port, Array("NOT HTTP AT ALL\r\n\r\n".utf8)) }),
                ("binary", 400, { try exchange(port: port, (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 7919) }) }),
            ]
            for (name, expected, request) in cases {
                let answer = try request()
                #expect(answer.status == expected, "\(name): \(answer.status.map(String.init) ?? "no status") \(answer.head.prefix(80))")
                #expect(!answer.body.contains("root:x:0"), "\(name)")
            }
            // Still serving after all of that.
            #expect(try get(port: port, "/").status == 200)
        }
    }
}
