/// A JSON value of a safetensors header, parsed by a small strict reader.
///
/// The reader is a pure function of the bytes, with a nesting limit (so no input can exhaust
/// the stack) and duplicate-key detection (a header with two entries for one tensor is
/// ambiguous). Numbers keep their literal text; `integer` converts exactly, with overflow checks.
enum HeaderJSON {
    case object([HeaderMember])
    case array([HeaderJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The deepest nesting accepted: a header is an object of objects of arrays (depth 3).
    static let maximumDepth = 16

    /// A parse failure: what was wrong and the byte offset in the header.
    struct ParseError: Error {
        var offset: Int
        var message: String
    }

    /// Parses one JSON value filling `bytes` (trailing whitespace allowed).
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> HeaderJSON {
        var parser = HeaderParser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw ParseError(offset: parser.position, message: "unexpected text after the JSON value") }
        return value
    }

    /// The value as a non-negative integer that fits `Int`, or nil.
    var integer: Int? {
        guard case let .number(text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var result = 0
        for digit in text.utf8 {
            let (times10, o1) = result.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - 0x30))
            if o1 || o2 { return nil }
            result = sum
        }
        return result
    }

    /// A short description of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case let .number(text): return "the number \(text.prefix(24))"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// One key and value of a JSON object.
struct HeaderMember {
    var key: String
    var value: HeaderJSON
}

/// The recursive-descent reader behind `HeaderJSON.parse`.
struct HeaderParser {
    let bytes: [UInt8]
    var position = 0

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    func fail(_ message: String) -> HeaderJSON.ParseError { HeaderJSON.ParseError(offset: position, message: message) }

    mutating func value(depth: Int) throws(HeaderJSON.ParseError) -> HeaderJSON {
        guard depth < HeaderJSON.maximumDepth else { throw fail("nesting deeper than \(HeaderJSON.maximumDepth) levels") }
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of the header") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            var members: [HeaderMember] = []
            var seen = Set<String>()
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                guard seen.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                position += 1
                members.append(HeaderMember(key: key, value: try value(depth: depth + 1)))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of the header inside an object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw fail("expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            position += 1
            var elements: [HeaderJSON] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of the header inside an array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                throw fail("expected ',' or ']' in an array")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: String) throws(HeaderJSON.ParseError) {
        let expected = Array(word.utf8)
        guard position + expected.count <= bytes.count, Array(bytes[position..<(position + expected.count)]) == expected else {
            throw fail("expected \(word)")
        }
        position += expected.count
    }

    mutating func number() throws(HeaderJSON.ParseError) -> String {
        let start = position
        func digits(_ p: inout HeaderParser) -> Int {
            let begin = p.position
            while p.position < p.bytes.count, p.bytes[p.position] >= 0x30, p.bytes[p.position] <= 0x39 { p.position += 1 }
            return p.position - begin
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard digits(&self) > 0 else { throw fail("malformed number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw fail("malformed number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw fail("malformed number") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func hex4() throws(HeaderJSON.ParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    mutating func string() throws(HeaderJSON.ParseError) -> String {
        position += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var run = position
        func flush(_ p: HeaderParser, _ scalars: inout String.UnicodeScalarView, upTo end: Int) throws(HeaderJSON.ParseError) {
            guard run < end else { return }
            guard let text = String(validating: p.bytes[run..<end], as: UTF8.self) else { throw p.fail("a string is not valid UTF-8") }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard position < bytes.count else { throw fail("unterminated string") }
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                try flush(self, &scalars, upTo: position)
                position += 1
                return String(scalars)
            }
            if c < 0x20 { throw fail("a control character inside a string") }
            if c != UInt8(ascii: "\\") { position += 1; continue }
            try flush(self, &scalars, upTo: position)
            position += 1
            guard position < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00 {
                    guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("an unpaired surrogate in a \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("an unpaired surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("an unpaired surrogate in a \\u escape") }
                scalars.append(scalar)
            default:
                throw fail("unknown escape \\\(Character(Unicode.Scalar(escape)))")
            }
            run = position
        }
    }
}
