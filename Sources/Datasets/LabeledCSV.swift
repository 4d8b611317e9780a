// A user's CSV table with a header row and a named label column.
import Foundation

/// How a CSV table becomes features and labels.
public struct CSVOptions: Sendable, Hashable {
    /// The header name of the column holding the class of each row.
    public var labelColumn: String
    /// Columns of text values, one-hot encoded (one feature per value seen in the training file).
    public var categorical: [String]
    /// Columns left out of the features.
    public var ignored: [String]

    public init(labelColumn: String, categorical: [String] = [], ignored: [String] = []) {
        self.labelColumn = labelColumn
        self.categorical = categorical
        self.ignored = ignored
    }
}

/// Loads labelled CSV tables: a header row naming the columns, then one record per row.
///
/// Format: comma-separated; a field may be wrapped in double quotes (then it may hold commas,
/// newlines and `""` for a quote); spaces and tabs around unquoted fields are trimmed; blank
/// lines are skipped; `\r\n` and a UTF-8 byte-order mark are accepted. Every record has as many
/// fields as the header.
///
/// Features, in header order, leaving out the label column and the ignored ones:
/// - a numeric column gives one feature; every field must be a finite decimal number, else an
///   error names the line and column and says to declare the column categorical or ignore it;
/// - a categorical column gives one feature per distinct value of the *training* file, in byte
///   order, named `column=value`, holding 1 for the row's value and 0 elsewhere; a test value
///   the training file lacks gives a row of zeros (as scikit-learn's
///   `OneHotEncoder(handle_unknown="ignore")`).
///
/// Labels: the distinct values of the label column over the training and test files are the
/// classes, numbered in ascending numeric order when every value is an integer (`0`, `1`, `2`,
/// `10`), else in byte order of their text (`<=50K`, `>50K`); class names are the values. At
/// least two classes are needed.
public enum CSVLoader {
    /// Loads a training table and optionally a test table with the same header.
    /// - Throws: `DatasetError` naming the file, line and column: no header, a ragged record, a
    ///   missing or repeated column, a non-numeric field in a numeric column, an empty label.
    public static func load(train: URL, test: URL?, options: CSVOptions) throws(DatasetError) -> Dataset {
        let trainBytes = try FileBytes.read(train)
        let testBytes = try test.map { (url: URL) throws(DatasetError) -> [UInt8] in try FileBytes.read(url) }
        return try load(trainBytes: trainBytes, trainFile: train.path, testBytes: testBytes, testFile: test?.path, options: options)
    }

    /// Parses a training table's bytes and optionally a test table's; a pure function from bytes
    /// to a dataset or a thrown error. `trainFile` and `testFile` name the sources in errors
    /// (the dataset is named after `trainFile`'s last path component).
    /// - Throws: `DatasetError` as `load(train:test:options:)`.
    public static func load(trainBytes: [UInt8], trainFile: String, testBytes: [UInt8]?, testFile: String?,
                            options: CSVOptions) throws(DatasetError) -> Dataset {
        let trainTable = try Table.parse(trainBytes, file: trainFile)
        let testTable = try testBytes.map { (bytes: [UInt8]) throws(DatasetError) -> Table in try Table.parse(bytes, file: testFile ?? "test table") }
        let header = trainTable.header
        func column(_ name: String, _ role: String) throws(DatasetError) -> Int {
            guard let index = header.firstIndex(of: name) else {
                throw DatasetError(.mismatch, file: trainFile, location: "line \(trainTable.headerLine)",
                                   "no column named \"\(name)\" (the \(role)) in the header; columns: \(header.joined(separator: ", "))")
            }
            return index
        }
        let labelIndex = try column(options.labelColumn, "label column")
        var categorical = Set<Int>(), ignored = Set<Int>()
        for name in options.categorical {
            let index = try column(name, "categorical column")
            guard index != labelIndex else {
                throw DatasetError(.invalidArgument, file: trainFile, "column \"\(name)\" is the label column; it cannot also be a categorical feature")
            }
            categorical.insert(index)
        }
        for name in options.ignored {
            let index = try column(name, "ignored column")
            guard index != labelIndex, !categorical.contains(index) else {
                throw DatasetError(.invalidArgument, file: trainFile, "column \"\(name)\" is the label or a categorical column; it cannot also be ignored")
            }
            ignored.insert(index)
        }
        if let testTable, testTable.header != header {
            throw DatasetError(.mismatch, file: testTable.file, location: "line \(testTable.headerLine)",
                               "expected the training file's header (\(header.joined(separator: ", "))), found \(testTable.header.joined(separator: ", "))")
        }

        // Labels over both files.
        var labelValues: [String] = []
        for table in [trainTable] + (testTable.map { [$0] } ?? []) {
            for row in 0..<table.rowCount {
                let value = table.field(row, labelIndex)
                guard !value.isEmpty else {
                    throw DatasetError(.malformed, file: table.file, location: "line \(table.lines[row]), column \(labelIndex + 1) (\(options.labelColumn))",
                                       "expected a label, found an empty field")
                }
                labelValues.append(value)
            }
        }
        let classNames: [String]
        let integers = labelValues.compactMap { Int($0) }
        if integers.count == labelValues.count {
            classNames = Array(Set(integers)).sorted().map(String.init)
        } else {
            classNames = Array(Set(labelValues)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        guard classNames.count >= 2 else {
            throw DatasetError(.mismatch, file: trainFile, location: "column \(labelIndex + 1) (\(options.labelColumn))",
                               "expected at least two classes, found only the label \"\(classNames.first ?? "")\"")
        }
        let classIndex = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        func label(_ text: String) -> Int32 { Int32(classIndex[integers.count == labelValues.count ? String(Int(text)!) : text]!) }

        // Feature layout: categories from the training file.
        var blocks: [(column: Int, categories: [String: Int]?)] = []
        var featureNames: [String] = []
        for index in header.indices where index != labelIndex && !ignored.contains(index) {
            if categorical.contains(index) {
                var seen = Set<String>()
                for row in 0..<trainTable.rowCount { seen.insert(trainTable.field(row, index)) }
                let values = seen.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                blocks.append((index, Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })))
                featureNames += values.map { "\(header[index])=\($0)" }
            } else {
                blocks.append((index, nil))
                featureNames.append(header[index])
            }
        }
        guard !featureNames.isEmpty else {
            throw DatasetError(.mismatch, file: trainFile, "no feature column is left beside the label and the ignored columns")
        }
        func encode(_ table: Table) throws(DatasetError) -> LabeledData {
            let width = featureNames.count
            let (total, overflow) = table.rowCount.multipliedReportingOverflow(by: width)
            guard !overflow, total <= 1 << 32 else {
                throw DatasetError(.invalidArgument, file: table.file, "\(table.rowCount) rows × \(width) features is too large")
            }
            var features = [Float](repeating: 0, count: total)
            var labels = [Int32](repeating: 0, count: table.rowCount)
            for row in 0..<table.rowCount {
                var offset = row * width
                for block in blocks {
                    let text = table.field(row, block.column)
                    if let categories = block.categories {
                        if let k = categories[text] { features[offset + k] = 1 }
                        offset += categories.count
                    } else {
                        guard let value = Float(exactly: text) else {
                            throw DatasetError(.malformed, file: table.file,
                                               location: "line \(table.lines[row]), column \(block.column + 1) (\(header[block.column]))",
                                               text.isEmpty ? "expected a number, found an empty field"
                                                   : "expected a finite number, found \"\(text)\"; a column of text values must be declared categorical (one-hot encoded) or ignored")
                        }
                        features[offset] = value
                        offset += 1
                    }
                }
                labels[row] = label(table.field(row, labelIndex))
            }
            return LabeledData(unchecked: features, sampleShape: [width], labels: labels, classCount: classNames.count,
                               classNames: classNames, featureNames: featureNames)
        }
        let trainData = try encode(trainTable)
        guard trainData.count > 0 else { throw DatasetError(.mismatch, file: trainFile, "expected records after the header, found none") }
        return Dataset(name: URL(fileURLWithPath: trainFile).lastPathComponent, train: trainData, test: try testTable.map { (t: Table) throws(DatasetError) in try encode(t) })
    }

    /// A parsed table: header and fields as text.
    struct Table {
        let file: String
        let header: [String]
        let headerLine: Int
        /// Row-major fields, `rowCount × header.count`.
        let fields: [String]
        /// The line each record starts on.
        let lines: [Int]

        var rowCount: Int { lines.count }
        func field(_ row: Int, _ column: Int) -> String { fields[row * header.count + column] }

        static func parse(_ bytes: [UInt8], file: String) throws(DatasetError) -> Table {
            var records: [(line: Int, fields: [String])] = []
            var position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            var line = 1
            while position < bytes.count {
                let start = line
                var fields: [String] = []
                var field: [UInt8] = []
                var quoted = false, wasQuoted = false
                var endOfRecord = false
                while position < bytes.count && !endOfRecord {
                    let c = bytes[position]
                    position += 1
                    if quoted {
                        if c == 34 {
                            if position < bytes.count && bytes[position] == 34 { field.append(34); position += 1 } else { quoted = false }
                        } else {
                            if c == 10 { line += 1 }
                            field.append(c)
                        }
                        continue
                    }
                    switch c {
                    case 34:
                        guard field.allSatisfy({ $0 == 32 || $0 == 9 }), !wasQuoted else {
                            throw DatasetError(.malformed, file: file, location: "line \(line), column \(fields.count + 1)",
                                               "a double quote inside an unquoted field (wrap the whole field in quotes and double the inner ones)")
                        }
                        field = []
                        quoted = true
                        wasQuoted = true
                    case 44:
                        fields.append(finish(field, wasQuoted))
                        field = []
                        wasQuoted = false
                    case 10:
                        line += 1
                        endOfRecord = true
                    case 13 where position < bytes.count && bytes[position] == 10:
                        break
                    default:
                        if wasQuoted && c != 32 && c != 9 {
                            throw DatasetError(.malformed, file: file, location: "line \(line), column \(fields.count + 1)",
                                               "text after the closing quote of a quoted field")
                        }
                        if !wasQuoted { field.append(c) }
                    }
                }
                if quoted {
                    throw DatasetError(.malformed, file: file, location: "line \(start), column \(fields.count + 1)",
                                       "a quoted field is not closed before the end of the file")
                }
                fields.append(finish(field, wasQuoted))
                if fields.count == 1 && fields[0].isEmpty && !wasQuoted { continue }   // blank line
                records.append((start, fields))
            }
            guard let first = records.first else {
                throw DatasetError(.malformed, file: file, "expected a header row naming the columns, found an empty file")
            }
            let header = first.fields
            var names = Set<String>()
            for (k, name) in header.enumerated() {
                guard !name.isEmpty else {
                    throw DatasetError(.malformed, file: file, location: "line \(first.line), column \(k + 1)", "expected a column name in the header, found an empty field")
                }
                guard names.insert(name).inserted else {
                    throw DatasetError(.malformed, file: file, location: "line \(first.line), column \(k + 1)", "the column name \"\(name)\" appears twice in the header")
                }
            }
            var fields: [String] = []
            fields.reserveCapacity(records.count * header.count)
            for record in records.dropFirst() {
                guard record.fields.count == header.count else {
                    throw DatasetError(.malformed, file: file, location: "line \(record.line)",
                                       "expected \(header.count) comma-separated fields (as the header), found \(record.fields.count)")
                }
                fields += record.fields
            }
            return Table(file: file, header: header, headerLine: first.line, fields: fields, lines: records.dropFirst().map(\.line))
        }

        private static func finish(_ field: [UInt8], _ quoted: Bool) -> String {
            if quoted { return String(decoding: field, as: UTF8.self) }
            var s = field.startIndex, e = field.endIndex
            while s < e && (field[s] == 32 || field[s] == 9) { s += 1 }
            while e > s && (field[e - 1] == 32 || field[e - 1] == 9) { e -= 1 }
            return String(decoding: field[s..<e], as: UTF8.self)
        }
    }
}

private extension Float {
    /// A finite decimal number (optional sign, digits, point, exponent), or nil.
    init?(exactly text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 101 || $0 == 69 }),
              let value = Double(text), value.isFinite, Float(value).isFinite else { return nil }
        self = Float(value)
    }
}
