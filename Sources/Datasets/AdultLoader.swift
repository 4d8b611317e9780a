// UCI Adult (Census Income): continuous columns as numbers, categorical columns one-hot.
import Foundation

/// Loads UCI Adult (`adult.data` and `adult.test`).
///
/// Each row has 14 attributes and the label, separated by `, `. The six continuous attributes
/// become one feature each (raw values: fit a `FeatureScaler` on the training part to scale
/// them); each of the eight categorical attributes becomes a one-hot block over its categories
/// **as seen in the training file** (sorted by byte value), so train and test share the
/// columns. Features keep the attribute order; `featureNames` reads `age`,
/// `workclass=Federal-gov`, …. Labels: `<=50K` → 0, `>50K` → 1; a trailing `.` (as in every
/// label of `adult.test`) is accepted. A first line starting with `|` (adult.test's
/// `|1x3 Cross validator`) and blank lines are skipped.
///
/// Missing values (`?`) are handled as the caller chooses (`MissingValues`). With the default
/// `.dropRows` the files give 30162 training and 15060 test rows (104 features).
///
/// - Reference: R. Kohavi, "Scaling Up the Accuracy of Naive-Bayes Classifiers: a
///   Decision-Tree Hybrid", KDD 1996.
public enum AdultLoader {
    /// What to do with `?` fields.
    public enum MissingValues: Sendable, Equatable {
        /// Drop every row with a `?` in any attribute (the common cleaning; 30162 / 15060 rows).
        case dropRows
        /// Keep every row: in a categorical attribute `?` is one more category (its own one-hot
        /// column, `workclass=?`); a `?` in a continuous attribute is an error.
        case asCategory
    }

    /// The 14 attribute names of adult.names, in file order.
    public static let attributeNames = [
        "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
        "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
    ]
    /// Which attributes are continuous (the others are categorical).
    public static let continuousAttributes: Set<String> = [
        "age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week",
    ]
    /// The label names, in label order.
    public static let classNames = ["<=50K", ">50K"]

    /// Loads the training and test files with one shared one-hot encoding.
    ///
    /// - Throws: `DatasetError` naming the file and line: a row without 15 fields, a
    ///   non-numeric continuous value, an unknown label, a category in the test file that the
    ///   training file never had (or a `?` under `.asCategory` in a continuous attribute).
    public static func load(train: URL, test: URL, missing: MissingValues = .dropRows) throws(DatasetError) -> Dataset {
        try load(train: train, test: test, missing: missing, reader: .plain)
    }

    static func load(train: URL, test: URL, missing: MissingValues, reader: FileReader) throws(DatasetError) -> Dataset {
        let trainRows = try readRows(train, missing: missing, reader: reader)
        let testRows = try readRows(test, missing: missing, reader: reader)

        // Categories come from the training rows kept.
        let columns = attributeNames.map { !continuousAttributes.contains($0) }
        var categories: [[String]] = Array(repeating: [], count: 14)
        for a in 0..<14 where columns[a] {
            var seen = Set<String>()
            for row in trainRows { seen.insert(row.fields[a]) }
            categories[a] = seen.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
        var featureNames: [String] = []
        var blockStart = [Int](repeating: 0, count: 14)
        var categoryIndex: [[String: Int]] = Array(repeating: [:], count: 14)
        for a in 0..<14 {
            blockStart[a] = featureNames.count
            if columns[a] {
                for (k, c) in categories[a].enumerated() {
                    categoryIndex[a][c] = k
                    featureNames.append("\(attributeNames[a])=\(c)")
                }
            } else {
                featureNames.append(attributeNames[a])
            }
        }
        let encoding = Encoding(isCategorical: columns, blockStart: blockStart, categoryIndex: categoryIndex,
                                width: featureNames.count)
        let trainData = try encode(trainRows, encoding: encoding, file: train.path, featureNames: featureNames)
        let testData = try encode(testRows, encoding: encoding, file: test.path, featureNames: featureNames)
        return Dataset(name: "adult", train: trainData, test: testData)
    }

    struct Row {
        var fields: [String]
        var label: Int32
        var line: Int
    }

    struct Encoding {
        var isCategorical: [Bool]
        var blockStart: [Int]
        var categoryIndex: [[String: Int]]
        var width: Int
    }

    static func readRows(_ url: URL, missing: MissingValues, reader: FileReader) throws(DatasetError) -> [Row] {
        let bytes = try reader.readMaybeGzip(url)
        let file = url.path
        var rows: [Row] = []
        rows.reserveCapacity(bytes.count / 100)
        var failure: DatasetError?
        bytes.withUnsafeBufferPointer { buffer in
            guard let p = buffer.baseAddress else { return }
            let n = buffer.count
            var lineNumber = 0
            var start = 0
            var bounds = [(Int, Int)](repeating: (0, 0), count: 15)
            while start < n {
                var end = start
                while end < n && p[end] != 10 { end += 1 }
                lineNumber += 1
                defer { start = end + 1 }
                var lineEnd = end
                while lineEnd > start && (p[lineEnd - 1] == 13 || p[lineEnd - 1] == 32 || p[lineEnd - 1] == 9) { lineEnd -= 1 }
                var first = start
                while first < lineEnd && (p[first] == 32 || p[first] == 9) { first += 1 }
                if first == lineEnd { continue }
                if lineNumber == 1 && p[first] == UInt8(ascii: "|") { continue }
                // Split on commas, trimming spaces around each field.
                var count = 0
                var fieldStart = first
                while true {
                    var fieldEnd = fieldStart
                    while fieldEnd < lineEnd && p[fieldEnd] != 44 { fieldEnd += 1 }
                    if count < 15 {
                        var a = fieldStart, b = fieldEnd
                        while a < b && p[a] == 32 { a += 1 }
                        while b > a && p[b - 1] == 32 { b -= 1 }
                        bounds[count] = (a, b)
                    }
                    count += 1
                    if fieldEnd >= lineEnd { break }
                    fieldStart = fieldEnd + 1
                }
                guard count == 15 else {
                    failure = DatasetError(.malformed, file: file, location: "line \(lineNumber)",
                                           "expected 15 comma-separated fields (14 attributes and the label), found \(count)")
                    return
                }
                func text(_ k: Int) -> String {
                    String(decoding: UnsafeBufferPointer(start: p + bounds[k].0, count: bounds[k].1 - bounds[k].0), as: UTF8.self)
                }
                var labelText = text(14)
                if labelText.hasSuffix(".") { labelText.removeLast() }
                guard let label = classNames.firstIndex(of: labelText) else {
                    failure = DatasetError(.malformed, file: file, location: "line \(lineNumber), column 15 (income)",
                                           "expected a label <=50K or >50K (optionally followed by '.'), found \"\(text(14))\"")
                    return
                }
                var fields: [String] = []
                fields.reserveCapacity(14)
                var hasMissing = false
                for k in 0..<14 {
                    let (a, b) = bounds[k]
                    if b - a == 1 && p[a] == UInt8(ascii: "?") {
                        hasMissing = true
                        if missing == .asCategory && continuousAttributes.contains(attributeNames[k]) {
                            failure = DatasetError(.malformed, file: file, location: "line \(lineNumber), column \(k + 1) (\(attributeNames[k]))",
                                                   "expected a number for a continuous attribute, found a missing value '?'")
                            return
                        }
                    }
                    fields.append(text(k))
                }
                if hasMissing && missing == .dropRows { continue }
                rows.append(Row(fields: fields, label: Int32(label), line: lineNumber))
            }
        }
        if let failure { throw failure }
        return rows
    }

    static func encode(_ rows: [Row], encoding: Encoding, file: String, featureNames: [String]) throws(DatasetError) -> LabeledData {
        let width = encoding.width
        var features = [Float](repeating: 0, count: rows.count * width)
        var labels = [Int32](repeating: 0, count: rows.count)
        for (r, row) in rows.enumerated() {
            let base = r * width
            for a in 0..<14 {
                let value = row.fields[a]
                if encoding.isCategorical[a] {
                    guard let k = encoding.categoryIndex[a][value] else {
                        throw DatasetError(.mismatch, file: file, location: "line \(row.line), column \(a + 1) (\(attributeNames[a]))",
                                           "unknown category \"\(value)\": expected one of the \(encoding.categoryIndex[a].count) categories of the training file")
                    }
                    features[base + encoding.blockStart[a] + k] = 1
                } else {
                    guard let number = parseDecimal(value) else {
                        throw DatasetError(.malformed, file: file, location: "line \(row.line), column \(a + 1) (\(attributeNames[a]))",
                                           "expected a number, found \"\(value)\"")
                    }
                    features[base + encoding.blockStart[a]] = number
                }
            }
            labels[r] = row.label
        }
        return LabeledData(unchecked: features, sampleShape: [width], labels: labels, classCount: 2,
                           classNames: classNames, featureNames: featureNames)
    }
}

/// A finite decimal number from a continuous Adult field, or `nil`.
private func parseDecimal(_ text: String) -> Float? {
    var copy = text
    return copy.withUTF8 { bytes -> Float? in
        guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        return NumericCSV.parseNumber(base, 0, bytes.count)
    }
}
