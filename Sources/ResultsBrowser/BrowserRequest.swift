/// A request to the results browser, parsed from its method and request target
/// (`/trial?run=r-1&index=0`): a pure function from outside bytes to a value or a thrown
/// `BrowserError`, so hostile targets can be tested (and fuzzed) without a socket.
///
/// Percent-encoding is decoded strictly: a `%` not followed by two hex digits, or decoded bytes
/// that are not UTF-8, are refused rather than guessed at. In queries `+` stands for a space
/// (HTML forms send it so).
public struct BrowserRequest: Sendable, Equatable {
    /// The longest request target accepted (path and query): longer ones get 414.
    public static let maximumTargetLength = 8192
    /// The most query items accepted.
    public static let maximumQueryItems = 256

    /// The decoded path (`/trial`).
    public var path: String
    /// The decoded query items in the order given; a key may repeat (`t=…&t=…`).
    public var query: [(name: String, value: String)]

    public init(path: String, query: [(name: String, value: String)] = []) {
        self.path = path
        self.query = query
    }

    /// Parses a request. Only `GET` and `HEAD` are answered; the target must be an absolute
    /// path of at most `maximumTargetLength` bytes without `.` or `..` segments.
    public init(method: String, target: String) throws(BrowserError) {
        guard method == "GET" || method == "HEAD" else { throw .methodNotAllowed(method) }
        guard target.utf8.count <= Self.maximumTargetLength else { throw .uriTooLong(target.utf8.count) }
        guard target.hasPrefix("/") else { throw .badRequest("the request target must start with '/'") }
        let pathPart: Substring, queryPart: Substring?
        if let mark = target.firstIndex(of: "?") {
            (pathPart, queryPart) = (target[..<mark], target[target.index(after: mark)...])
        } else {
            (pathPart, queryPart) = (target[...], nil)
        }
        let path = try Self.percentDecode(pathPart, plusIsSpace: false, what: "path")
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == ".." || $0 == "." }) else {
            throw .badRequest("the path holds a '.' or '..' segment")
        }
        guard !path.contains("\0") && !path.contains("\\") else { throw .badRequest("the path holds a NUL or a backslash") }
        var items: [(String, String)] = []
        if let queryPart, !queryPart.isEmpty {
            let pieces = queryPart.split(separator: "&", omittingEmptySubsequences: true)
            guard pieces.count <= Self.maximumQueryItems else {
                throw .badRequest("the query has \(pieces.count) items; at most \(Self.maximumQueryItems) are accepted")
            }
            for piece in pieces {
                let (name, value): (Substring, Substring)
                if let equals = piece.firstIndex(of: "=") {
                    (name, value) = (piece[..<equals], piece[piece.index(after: equals)...])
                } else {
                    (name, value) = (piece, "")
                }
                items.append((try Self.percentDecode(name, plusIsSpace: true, what: "query"),
                              try Self.percentDecode(value, plusIsSpace: true, what: "query")))
            }
        }
        self.init(path: path, query: items)
    }

    /// The values of the query items named `name`, in order.
    public func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// The last value of the query item `name`, or `nil` when absent or empty.
    public func value(_ name: String) -> String? { values(name).last.flatMap { $0.isEmpty ? nil : $0 } }

    public static func == (a: BrowserRequest, b: BrowserRequest) -> Bool {
        a.path == b.path && a.query.map(\.name) == b.query.map(\.name) && a.query.map(\.value) == b.query.map(\.value)
    }

    /// Decodes `%XX` escapes (and `+` in queries).
    /// - Throws: `.badRequest` for a malformed escape or bytes that are not UTF-8.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool, what: String) throws(BrowserError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        func hex(_ byte: UInt8?) -> UInt8? {
            switch byte {
            case let b? where b >= 0x30 && b <= 0x39: return b - 0x30
            case let b? where b >= 0x41 && b <= 0x46: return b - 0x41 + 10
            case let b? where b >= 0x61 && b <= 0x66: return b - 0x61 + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = hex(iterator.next()), let low = hex(iterator.next()) else {
                    throw .badRequest("malformed percent-encoding in the \(what) ('%' must be followed by two hex digits)")
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace: bytes.append(UInt8(ascii: " "))
            default: bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .badRequest("the \(what) decodes to bytes that are not UTF-8")
        }
        return decoded
    }
}

/// A request the browser refuses or cannot answer, with the HTTP status it gets.
public enum BrowserError: Error, Equatable, Sendable, CustomStringConvertible {
    case badRequest(String)
    case notFound(String)
    case methodNotAllowed(String)
    case uriTooLong(Int)
    case misdirected(String)
    /// The store could not be read (500: the request was fine).
    case store(String)

    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .notFound: return 404
        case .methodNotAllowed: return 405
        case .uriTooLong: return 414
        case .misdirected: return 421
        case .store: return 500
        }
    }

    public var description: String {
        switch self {
        case let .badRequest(reason): return "bad request: \(reason)"
        case let .notFound(what): return "not found: \(what)"
        case let .methodNotAllowed(method):
            return "method \(method.count > 20 ? String(method.prefix(20)) + "…" : method) not allowed: the results browser only reads (GET, HEAD)"
        case let .uriTooLong(length): return "request target of \(length) bytes; at most \(BrowserRequest.maximumTargetLength) are accepted"
        case let .misdirected(host): return "this server does not answer for host '\(host.count > 80 ? String(host.prefix(80)) + "…" : host)'"
        case let .store(reason): return "the results store cannot be read: \(reason)"
        }
    }
}
