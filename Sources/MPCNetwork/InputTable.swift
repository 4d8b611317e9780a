import Codecs
import Foundation

/// One party's private input: a numeric table read from a CSV file with a header row.
public struct InputTable: Sendable, Equatable {
    /// Column names, from the header.
    public var columns: [String]
    /// Values, row-major.
    public var values: [Double]
    /// The number of rows.
    public var rows: Int { columns.isEmpty ? 0 : values.count / columns.count }

    public init(columns: [String], values: [Double]) {
        self.columns = columns
        self.values = values
    }

    /// The most bytes an input file may have.
    public static let maximumFileBytes = 1 << 30

    /// Reads `path`: a header row of distinct names, then rows of finite numbers, comma-separated.
    /// - Throws: `MPCInputError` naming the file, the line and the column at fault.
    public static func read(_ path: String) throws(MPCInputError) -> InputTable {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(URL(fileURLWithPath: path), maximumBytes: maximumFileBytes) } catch {
            throw MPCInputError(file: path, line: nil, message: error.reason)
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// Parses CSV text (see `read`).
    public static func parse(_ text: String, file: String) throws(MPCInputError) -> InputTable {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        while let last = lines.last, last.allSatisfy({ $0 == " " }) { lines.removeLast() }
        guard let header = lines.first else { throw MPCInputError(file: file, line: 1, message: "empty file: no header row") }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !columns.contains(where: \.isEmpty) else {
            throw MPCInputError(file: file, line: 1, message: "the header has an empty column name")
        }
        guard Set(columns).count == columns.count else {
            throw MPCInputError(file: file, line: 1, message: "the header repeats a column name")
        }
        guard lines.count >= 2 else { throw MPCInputError(file: file, line: 2, message: "no data rows") }
        var values: [Double] = []
        values.reserveCapacity((lines.count - 1) * columns.count)
        for (i, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == columns.count else {
                throw MPCInputError(file: file, line: i + 1, message: "\(cells.count) cells, the header has \(columns.count)")
            }
            for (j, cell) in cells.enumerated() {
                guard let v = Double(cell.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                    throw MPCInputError(file: file, line: i + 1, message: "column '\(columns[j])' is not a finite number")
                }
                values.append(v)
            }
        }
        return InputTable(columns: columns, values: values)
    }

    /// Writes the table as CSV.
    public func csv() -> String {
        var out = columns.joined(separator: ",") + "\n"
        for r in 0..<rows {
            out += values[(r * columns.count)..<((r + 1) * columns.count)].map { "\($0)" }.joined(separator: ",") + "\n"
        }
        return out
    }
}

/// An input file that cannot be used. The message never quotes a cell (inputs are private).
public struct MPCInputError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}
