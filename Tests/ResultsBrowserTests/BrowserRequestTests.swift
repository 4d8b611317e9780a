import Foundation
import ResultsBrowser
import Testing

/// Hostile and malformed requests get one clear 4xx, decided by the pure request parser (no
/// store, no socket); filters parse and compare as documented.
@Suite("Results browser: requests")
struct BrowserRequestTests {
    /// A browser over an empty store: every request here must be refused before the store matters.
    static func emptyBrowser() throws -> (ResultsBrowser, Scratch) {
        let scratch = try Scratch()
        return (ResultsBrowser(store: try scratch.emptyStore()), scratch)
    }

    @Test("percent-encoding and '+' decode; repeated query items keep their order")
    func decoding() throws {
        let request = try BrowserRequest(method: "GET", target: "/compare?t=r%2D1%2F0&t=r-2/3&name=a+b%20c&empty")
        #expect(request.path == "/compare")
        #expect(request.values("t") == ["r-1/0", "r-2/3"])
        #expect(request.value("name") == "a b c")
        #expect(request.value("empty") == nil)
        #expect(try BrowserRequest(method: "HEAD", target: "/%C3%A9").path == "/é")
    }

    @Test("malformed percent-encoding is a 400", arguments: ["/%zz", "/%4", "/%", "/?a=%G0", "/?a=%4", "/?%=1", "/%ff%fe", "/?q=%C3"])
    func malformedEscapes(target: String) throws {
        #expect(throws: BrowserError.self) { try BrowserRequest(method: "GET", target: target) }
        let (browser, _) = try Self.emptyBrowser()
        let response = browser.respond(method: "GET", target: target)
        #expect(response.status == 400)
        #expect(response.text.contains("percent-encoding") || response.text.contains("not UTF-8"))
    }

    @Test("'.' and '..' path segments are a 400, encoded or not",
          arguments: ["/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/trial/..", "/./trial", "/a/%2E%2E/b", "/..%2f..%2fetc%2fpasswd"])
    func dotSegments(target: String) throws {
        let (browser, _) = try Self.emptyBrowser()
        let response = browser.respond(method: "GET", target: target)
        #expect(response.status == 400, "\(target) → \(response.status)")
        #expect(response.text.contains("segment"))
        #expect(!response.text.contains("root:"))
    }

    @Test("other methods than GET and HEAD are a 405 naming the allowed ones", arguments: ["POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "BREW"])
    func methods(method: String) throws {
        let (browser, _) = try Self.emptyBrowser()
        let response = browser.respond(method: method, target: "/")
        #expect(response.status == 405)
        #expect(response.headers.contains { $0.0 == "Allow" && $0.1 == "GET, HEAD" })
    }

    @Test("a request target over the limit is a 414; at the limit it is parsed")
    func longTargets() throws {
        let (browser, _) = try Self.emptyBrowser()
        let atLimit = "/?name=" + String(repeating: "a", count: BrowserRequest.maximumTargetLength - 7)
        #expect(browser.respond(method: "GET", target: atLimit).status == 200)
        #expect(browser.respond(method: "GET", target: atLimit + "a").status == 414)
        #expect(browser.respond(method: "GET", target: "/?" + String(repeating: "x=%41&", count: 100_000)).status == 414)
    }

    @Test("too many query items, unknown routes, formats, plots and targets that are no path are refused")
    func otherRefusals() throws {
        let (browser, _) = try Self.emptyBrowser()
        let many = "/?" + Array(repeating: "a=1", count: BrowserRequest.maximumQueryItems + 1).joined(separator: "&")
        #expect(browser.respond(method: "GET", target: many).status == 400)
        #expect(browser.respond(method: "GET", target: "/etc/passwd").status == 404)
        #expect(browser.respond(method: "GET", target: "/artifacts/models/x.safetensors").status == 404)
        #expect(browser.respond(method: "GET", target: "/?format=pdf").status == 400)
        #expect(browser.respond(method: "GET", target: "http://example.com/").status == 400)
        #expect(browser.respond(method: "GET", target: "*").status == 400)
        #expect(browser.respond(method: "GET", target: "").status == 400)
        #expect(browser.respond(method: "GET", target: "/?limit=0").status == 400)
        #expect(browser.respond(method: "GET", target: "/?limit=99999999999999999999").status == 400)
        #expect(browser.respond(method: "GET", target: "/?metric=lira.auc~3").status == 400)
        #expect(browser.respond(method: "GET", target: "/?param=%3E3").status == 400)
        #expect(browser.respond(method: "GET", target: "/trial").status == 400)
        #expect(browser.respond(method: "GET", target: "/trial?run=nope&index=x").status == 400)
        #expect(browser.respond(method: "GET", target: "/trial?run=nope").status == 404)
        #expect(browser.respond(method: "GET", target: "/compare").status == 400)
        #expect(browser.respond(method: "GET", target: "/compare?t=no-slash").status == 400)
        #expect(browser.respond(method: "GET", target: "/compare?t=r/0&plot=pie").status == 400)
        #expect(browser.respond(method: "GET", target: "/compare?t=missing/0").status == 404)
    }

    @Test("HEAD gets the status and headers of GET and no body")
    func head() throws {
        let (browser, _) = try Self.emptyBrowser()
        let get = browser.respond(method: "GET", target: "/"), head = browser.respond(method: "HEAD", target: "/")
        #expect(get.status == 200 && head.status == 200)
        #expect(!get.body.isEmpty && head.body.isEmpty)
    }

    @Test("filters parse key, comparison and value; ordering comparisons need numbers")
    func filterParsing() throws {
        let f = try TrialFilter(parsing: " lira.auc >= 0.6 ", what: "metric")
        #expect(f.key == "lira.auc" && f.comparison == .greaterOrEqual && f.value == "0.6")
        #expect(try TrialFilter(parsing: "model.optimizer=adam", what: "parameter").comparison == .equal)
        #expect(try TrialFilter(parsing: "a!=b", what: "parameter").comparison == .notEqual)
        #expect(try TrialFilter(parsing: "a<=1", what: "parameter").comparison == .lessOrEqual)
        #expect(try TrialFilter(parsing: "a<1", what: "parameter").comparison == .less)
        for bad in ["lira.auc", "=3", "a>b", "a<nan", "a>inf", "a<=x", "a!"] {
            #expect(throws: BrowserError.self, "\(bad)") { try TrialFilter(parsing: bad, what: "metric") }
        }
    }

    @Test("filters compare numbers as numbers and text as text; a missing key passes only !=")
    func filterLaws() throws {
        func accepts(_ text: String, _ value: String?) throws -> Bool { try TrialFilter(parsing: text, what: "t").accepts(value) }
        #expect(try accepts("e=10", "10.0"))
        #expect(try !accepts("e!=10", "10.0"))
        #expect(try accepts("o=adam", "adam") && !accepts("o=adam", "sgd"))
        #expect(try accepts("x>0.5", "0.6") && !accepts("x>0.5", "0.5") && accepts("x>=0.5", "0.5"))
        #expect(try accepts("x<2", "1e-3") && !accepts("x<2", "abc"))
        #expect(try !accepts("x=1", nil) && accepts("x!=1", nil) && !accepts("x>1", nil))
        // Over many values: exactly one of <, =, > holds, and <= is < or =.
        for a in stride(from: -2.0, through: 2.0, by: 0.25) {
            for b in [-1.0, 0, 0.5, 1.75] {
                let lt = try accepts("k<\(b)", "\(a)"), eq = try accepts("k=\(b)", "\(a)"), gt = try accepts("k>\(b)", "\(a)")
                #expect([lt, eq, gt].filter { $0 }.count == 1)
                #expect(try accepts("k<=\(b)", "\(a)") == (lt || eq))
                #expect(try accepts("k!=\(b)", "\(a)") == !eq)
            }
        }
    }

    @Test("the Host check accepts this server's loopback names and port only")
    func hostCheck() {
        #expect(ResultsServer.hostIsAllowed("127.0.0.1:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(ResultsServer.hostIsAllowed("localhost:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(ResultsServer.hostIsAllowed("LOCALHOST:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(ResultsServer.hostIsAllowed("[::1]:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(ResultsServer.hostIsAllowed(nil, boundHost: "127.0.0.1", port: 8080))
        #expect(!ResultsServer.hostIsAllowed("evil.example:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(!ResultsServer.hostIsAllowed("127.0.0.1:8081", boundHost: "127.0.0.1", port: 8080))
        #expect(!ResultsServer.hostIsAllowed("127.0.0.1", boundHost: "127.0.0.1", port: 8080))
        #expect(!ResultsServer.hostIsAllowed("127.0.0.1.evil.example:8080", boundHost: "127.0.0.1", port: 8080))
        #expect(!ResultsServer.hostIsAllowed("[::1", boundHost: "127.0.0.1", port: 8080))
        #expect(ResultsServer.hostIsAllowed("lab.internal:9000", boundHost: "lab.internal", port: 9000))
        #expect(ResultsServer.hostIsAllowed("anything:1", boundHost: "0.0.0.0", port: 9000))
    }
}
