// A fast reader for comma-separated numeric tables.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric table read from CSV text: `rows × columns` floats, row-major.
struct NumericTable {
    var rows: Int
    var columns: Int
    var values: [Float]
    /// The 1-based line number of each row in the file, for messages about a row.
    var lineNumbers: [Int]
}

/// Reads comma-separated numbers: one record per line, no quoting inside fields beyond a field
/// wholly wrapped in double quotes (`"13"`), blank lines ignored, `\r\n` accepted.
enum NumericCSV {
    /// Parses `bytes[start...]`, whose first line is line `firstLine` of `file`.
    ///
    /// - Throws: `DatasetError` naming the file and line: a row whose field count differs from
    ///   the first row's (or from `expectedColumns`), or a field that is not a finite number.
    static func parse(
        _ bytes: [UInt8], from start: Int = 0, firstLine: Int = 1, file: String, expectedColumns: Int? = nil
    ) throws(DatasetError) -> NumericTable {
        var values: [Float] = []
        var lineNumbers: [Int] = []
        var columns = expectedColumns ?? -1
        var failure: DatasetError?
        bytes.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!
            let end = buffer.count
            // Every value takes at least two bytes (a digit and a separator, but the last): the
            // input bounds what is reserved, whatever the caller expects.
            if columns > 0 { values.reserveCapacity((end - start) / 2 + 1) }
            var lineStart = start
            var line = firstLine
            while lineStart < end {
                var lineEnd = lineStart
                while lineEnd < end && p[lineEnd] != 10 { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart && p[contentEnd - 1] == 13 { contentEnd -= 1 }
                defer { lineStart = lineEnd + 1; line += 1 }
                // Skip blank (whitespace-only) lines.
                var firstNonSpace = lineStart
                while firstNonSpace < contentEnd && (p[firstNonSpace] == 32 || p[firstNonSpace] == 9) { firstNonSpace += 1 }
                if firstNonSpace == contentEnd { continue }

                var fieldStart = lineStart
                var fieldCount = 0
                let rowBase = values.count
                while true {
                    var fieldEnd = fieldStart
                    while fieldEnd < contentEnd && p[fieldEnd] != 44 { fieldEnd += 1 }
                    fieldCount += 1
                    if columns < 0 || fieldCount <= columns {
                        guard let v = parseNumber(p, fieldStart, fieldEnd) else {
                            let text = String(decoding: UnsafeBufferPointer(start: p + fieldStart, count: fieldEnd - fieldStart), as: UTF8.self)
                            failure = DatasetError(.malformed, file: file, location: "line \(line), column \(fieldCount)",
                                                   "expected a finite number, found \"\(text)\"")
                            return
                        }
                        values.append(v)
                    }
                    if fieldEnd >= contentEnd { break }
                    fieldStart = fieldEnd + 1
                }
                if columns < 0 { columns = fieldCount }
                if fieldCount != columns {
                    values.removeSubrange(rowBase...)
                    failure = DatasetError(.malformed, file: file, location: "line \(line)",
                                           "expected \(columns) comma-separated fields, found \(fieldCount)")
                    return
                }
                lineNumbers.append(line)
            }
        }
        if let failure { throw failure }
        return NumericTable(rows: lineNumbers.count, columns: max(columns, 0), values: values, lineNumbers: lineNumbers)
    }

    /// Parses one field: optional surrounding spaces and double quotes, then an integer (fast
    /// path) or a decimal/exponent number (through `strtod`, correctly rounded, then to Float).
    @inline(__always)
    static func parseNumber(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
        var s = start, e = end
        while s < e && (p[s] == 32 || p[s] == 9) { s += 1 }
        while e > s && (p[e - 1] == 32 || p[e - 1] == 9) { e -= 1 }
        if e - s >= 2 && p[s] == 34 && p[e - 1] == 34 { s += 1; e -= 1 }
        guard s < e else { return nil }
        // Fast path: optional sign and up to 9 digits.
        var i = s
        var negative = false
        if p[i] == 45 || p[i] == 43 { negative = p[i] == 45; i += 1 }
        if i < e && e - i <= 9 {
            var acc = 0
            var j = i
            while j < e {
                let d = Int(p[j]) &- 48
                if d < 0 || d > 9 { break }
                acc = acc * 10 + d
                j += 1
            }
            if j == e { return Float(negative ? -acc : acc) }
        }
        return parseWithStrtod(p + s, e - s)
    }

    static func parseWithStrtod(_ p: UnsafePointer<UInt8>, _ count: Int) -> Float? {
        guard count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Float? in
            let b = buffer.baseAddress!
            for k in 0..<count {
                let c = p[k]
                // Only characters of a decimal number: digits, sign, point, exponent.
                guard (c >= 48 && c <= 57) || c == 43 || c == 45 || c == 46 || c == 101 || c == 69 else { return nil }
                b[k] = CChar(bitPattern: c)
            }
            b[count] = 0
            var endPointer: UnsafeMutablePointer<CChar>?
            let value = strtod(b, &endPointer)
            guard let endPointer, endPointer == b + count, value.isFinite else { return nil }
            let f = Float(value)
            return f.isFinite ? f : nil
        }
    }
}
