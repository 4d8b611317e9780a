#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The body of `POST /v1/predict`, `{"inputs": [[v, …], …]}`, read in one pass over its bytes
/// into one flat row-major buffer: what a general JSON decoder would build as nested arrays of
/// boxed numbers, without them (a 32-row MNIST request is 25,088 numbers).
///
/// Grammar: JSON whitespace anywhere between tokens; one object whose only key is `inputs`
/// (written without escapes); a list of rows, each a list of JSON numbers
/// (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, at most 64 characters) that fit a 32-bit
/// float. Bounds: at most `maximumRows` rows and `width` values a row are stored; the first
/// row past either is an error before anything more is read.
enum PredictBody {
    enum Failure: Error, Equatable {
        /// Not the body's grammar: what was expected, where.
        case syntax(String)
        /// The number of rows is outside 1…maximum (`more` when past the maximum).
        case rowCount(Int, more: Bool)
        /// Row `index` has `count` values (or more, when `more`), not the model's width.
        case rowWidth(index: Int, count: Int, more: Bool)
    }

    static func parse(_ bytes: [UInt8], width: Int, maximumRows: Int) throws(Failure) -> (rows: Int, values: [Float]) {
        var i = 0
        let n = bytes.count
        func skipSpace() {
            while i < n, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }
        func expect(_ c: UInt8, _ what: String) throws(Failure) {
            skipSpace()
            guard i < n, bytes[i] == c else { throw .syntax("expected \(what) at byte \(i)") }
            i += 1
        }
        try expect(UInt8(ascii: "{"), "'{'")
        skipSpace()
        let key = Array("\"inputs\"".utf8)
        guard i + key.count <= n, Array(bytes[i..<i + key.count]) == key else { throw .syntax("expected the key \"inputs\" at byte \(i)") }
        i += key.count
        try expect(UInt8(ascii: ":"), "':'")
        try expect(UInt8(ascii: "["), "'[' (the list of rows)")
        var values: [Float] = []
        values.reserveCapacity(min(maximumRows, 64) * width)
        var rows = 0
        skipSpace()
        if i < n, bytes[i] == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                guard rows < maximumRows else { throw .rowCount(rows + 1, more: true) }
                try expect(UInt8(ascii: "["), "'[' (a row)")
                var count = 0
                skipSpace()
                if i < n, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                } else {
                    while true {
                        skipSpace()
                        let value = try number(bytes, &i, row: rows, column: count)
                        guard count < width else { throw .rowWidth(index: rows, count: count + 1, more: true) }
                        values.append(value)
                        count += 1
                        skipSpace()
                        guard i < n else { throw .syntax("the body ends inside row \(rows)") }
                        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                        if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                        throw .syntax("expected ',' or ']' at byte \(i)")
                    }
                }
                guard count == width else { throw .rowWidth(index: rows, count: count, more: false) }
                rows += 1
                skipSpace()
                guard i < n else { throw .syntax("the body ends inside the list of rows") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                throw .syntax("expected ',' or ']' at byte \(i)")
            }
        }
        try expect(UInt8(ascii: "}"), "'}'")
        skipSpace()
        guard i == n else { throw .syntax("unexpected bytes after the object, at byte \(i)") }
        guard rows >= 1 else { throw .rowCount(0, more: false) }
        return (rows, values)
    }

    /// One JSON number at `i`, checked against the grammar and converted (strtof: correctly
    /// rounded to the nearest 32-bit float).
    private static func number(_ bytes: [UInt8], _ i: inout Int, row: Int, column: Int) throws(Failure) -> Float {
        let start = i, n = bytes.count
        func digits() -> Int {
            let s = i
            while i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            return i - s
        }
        if i < n, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw .syntax("expected a number at byte \(start) (inputs[\(row)][\(column)])") }
        if bytes[i] == 0x30 { i += 1 } else { _ = digits() }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw .syntax("expected digits after '.' at byte \(i) (inputs[\(row)][\(column)])") }
        }
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw .syntax("expected an exponent at byte \(i) (inputs[\(row)][\(column)])") }
        }
        let length = i - start
        guard length <= 64 else { throw .syntax("inputs[\(row)][\(column)]: a number of more than 64 characters") }
        // strtof reads a NUL-terminated copy (locale-independent for this grammar: no
        // thousands separators, and '.' is the only decimal point JSON has; the C locale is in force).
        var buffer = [CChar](repeating: 0, count: length + 1)
        for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
        let float = buffer.withUnsafeBufferPointer { strtof($0.baseAddress!, nil) }
        guard float.isFinite else {
            throw .syntax("inputs[\(row)][\(column)] = \(String(decoding: bytes[start..<i], as: UTF8.self)) does not fit a 32-bit float")
        }
        return float
    }
}
