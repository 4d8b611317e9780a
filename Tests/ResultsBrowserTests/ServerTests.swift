import ExperimentStore
import Foundation
import ResultsBrowser
import Testing
import TestSupport

/// Runs `body` against a server on a free loopback port, then stops the server.
func withServer<T>(_ server: ResultsServer, _ body: (Int) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
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
        try await withServer(ResultsServer(browser: browser, host: "127.0.0.1", port: 0)) { port in
            let page = try await onThread { try get(port: port, "/") }
            #expect(page.status == 200)
            #expect(page.head.lowercased().contains("content-type: text/html; charset=utf-8"))
            #expect(page.head.contains("Content-Security-Policy: default-src 'none'"))
            #expect(page.body.contains("Runs and trials"))

            let cases: [(String, Int, @Sendable () throws -> (status: Int?, head: String, body: String))] = [
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
                let answer = try await onThread(request)
                #expect(answer.status == expected, "\(name): \(answer.status.map(String.init) ?? "no status") \(answer.head.prefix(80))")
                #expect(!answer.body.contains("root:x:0"), "\(name)")
            }
            // Still serving after all of that.
            #expect(try await onThread { try get(port: port, "/") }.status == 200)
        }
    }

    /// This machine's IPv4 addresses other than loopback ones.
    static func externalAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var result: [String] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { var a = $0.pointee.sin_addr; _ = inet_ntop(AF_INET, &a, &text, socklen_t(INET_ADDRSTRLEN)) }
                let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !name.hasPrefix("127.") { result.append(name) }
            }
            entry = current.pointee.ifa_next
        }
        return result
    }

    @Test("by default the server listens on 127.0.0.1 only: this machine's other addresses are refused",
          .enabled(if: !externalAddresses().isEmpty, "this machine has no address but loopback; nothing to check"))
    func loopbackByDefault() async throws {
        let scratch = try Scratch()
        let server = ResultsServer(browser: ResultsBrowser(store: try scratch.emptyStore()), port: 0)
        #expect(server.host == "127.0.0.1")
        try await withServer(server) { (port: Int) async throws in
            #expect(try await onThread { try get(port: port, "/") }.status == 200)
            for address in Self.externalAddresses() {
                let refused = try await onThread { () -> Bool in
                    do {
                        _ = try exchange(port: port, Array("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), address: address)
                        return false
                    } catch { return true }
                }
                #expect(refused, "\(address):\(port) answered")
            }
        }
    }
}
