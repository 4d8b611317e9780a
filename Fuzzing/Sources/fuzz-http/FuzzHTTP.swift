// Requests to the results browser (`privacy-lab ui`): the first line is the method, the rest the
// request target, answered by the browser over an empty read-only store, as the server hands
// them over. Laws: every answer has a status in 200..<600; a target that parses has a path that
// starts with '/' and holds no '.' or '..' segment; filter text parses or is refused, never traps.
import Foundation
import FuzzSupport
import PrivacyLab

let browser: ResultsBrowser = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-http-\(getpid())/store.sqlite")
    _ = try! ResultStore(url: url)
    return ResultsBrowser(store: try! ResultStore(url: url, readOnly: true))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    let parts = input.split(0x0A, limit: 2)
    let method = String(decoding: parts[0], as: UTF8.self)
    let target = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
    let response = browser.respond(method: method, target: target)
    precondition((200..<600).contains(response.status), "HTTP: status \(response.status)")
    if let request = try? BrowserRequest(method: method, target: target) {
        precondition(request.path.hasPrefix("/"), "HTTP: a parsed path that does not start with '/'")
        precondition(!request.path.split(separator: "/").contains { $0 == ".." || $0 == "." }, "HTTP: a dot segment got through")
    }
    _ = try? TrialFilter(parsing: target, what: "fuzz")
    return 0
}
