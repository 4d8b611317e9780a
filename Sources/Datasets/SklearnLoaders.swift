// scikit-learn's bundled CSV datasets: digits, breast cancer, iris, wine.
import Foundation

/// Loads the CSV files scikit-learn ships in `sklearn/datasets/data`.
public enum SklearnLoader {
    /// The 8×8 digits (`digits.csv.gz`, or an uncompressed `digits.csv`): 1797 rows of 64 pixel
    /// values in 0…16 and a label 0…9 in the last column; no header.
    ///
    /// - Parameter pixelScaling: `.unitInterval` (the default) divides by 16; `.raw` keeps 0…16.
    /// - Returns: samples of shape `[1, 8, 8]` (NCHW), 10 classes named "0"…"9".
    /// - Throws: `DatasetError` naming the file and line: ragged or non-numeric rows, a pixel
    ///   outside 0…16, a label outside 0…9.
    public static func loadDigits(_ url: URL, pixelScaling: PixelScaling = .unitInterval) throws(DatasetError) -> LabeledData {
        try loadDigits(url, pixelScaling: pixelScaling, reader: .plain)
    }

    static func loadDigits(_ url: URL, pixelScaling: PixelScaling, reader: FileReader) throws(DatasetError) -> LabeledData {
        try loadDigits(bytes: reader.readMaybeGzip(url), file: url.path, pixelScaling: pixelScaling)
    }

    /// Parses the bytes of a digits table (uncompressed); a pure function from bytes to data or
    /// a thrown error. `file` names the source in errors.
    public static func loadDigits(bytes: [UInt8], file: String, pixelScaling: PixelScaling = .unitInterval) throws(DatasetError) -> LabeledData {
        let table = try NumericCSV.parse(bytes, file: file, expectedColumns: 65)
        guard table.rows > 0 else { throw DatasetError(.malformed, file: file, "expected rows of 64 pixels and a label, found no data") }
        let (features, labels) = try splitLabels(table, labelColumn: 64, classCount: 10, file: file)
        for (index, v) in features.enumerated() where !(v >= 0 && v <= 16 && v == v.rounded()) {
            let row = index / 64
            throw DatasetError(.malformed, file: file, location: "line \(table.lineNumbers[row]), column \(index % 64 + 1)",
                               "expected a pixel value 0…16, found \(v)")
        }
        let scaled = pixelScaling == .unitInterval ? features.map { $0 / 16 } : features
        return LabeledData(unchecked: scaled, sampleShape: [1, 8, 8], labels: labels, classCount: 10,
                           classNames: (0..<10).map(String.init), featureNames: nil)
    }

    /// A table with scikit-learn's header line `n_samples,n_features,class_0,…,class_k-1`
    /// followed by `n_samples` rows of `n_features` numbers and an integer target
    /// (`breast_cancer.csv`, `iris.csv`, `wine_data.csv`).
    ///
    /// - Returns: samples of shape `[n_features]`, class names from the header.
    /// - Throws: `DatasetError` naming the file and line: a malformed header, a row count or
    ///   field count that disagrees with the header, a non-numeric field, a target out of range.
    public static func loadTable(_ url: URL, featureNames: [String]? = nil) throws(DatasetError) -> LabeledData {
        try loadTable(url, featureNames: featureNames, reader: .plain)
    }

    static func loadTable(_ url: URL, featureNames: [String]?, reader: FileReader) throws(DatasetError) -> LabeledData {
        try loadTable(bytes: reader.readMaybeGzip(url), file: url.path, featureNames: featureNames)
    }

    /// Parses the bytes of such a table (uncompressed); a pure function from bytes to data or a
    /// thrown error. `file` names the source in errors.
    public static func loadTable(bytes: [UInt8], file: String, featureNames: [String]? = nil) throws(DatasetError) -> LabeledData {
        guard let newline = bytes.firstIndex(of: 10) else {
            throw DatasetError(.malformed, file: file, location: "line 1",
                               "expected a header line 'n_samples,n_features,class names…', found no complete line")
        }
        let headerText = String(decoding: bytes[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let header = headerText.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard header.count >= 3, let sampleCount = Int(header[0]), let featureCount = Int(header[1]),
              sampleCount > 0, featureCount > 0
        else {
            throw DatasetError(.malformed, file: file, location: "line 1",
                               "expected a header 'n_samples,n_features,class names…', found \"\(headerText)\"")
        }
        // Each row holds featureCount + 1 fields of at least two bytes: a header announcing more
        // than the file can hold is refused before anything is sized from it.
        guard featureCount < bytes.count - newline else {
            throw DatasetError(.malformed, file: file, location: "line 1",
                               "the header announces \(featureCount) features per row, more than the \(bytes.count - newline - 1) bytes after it can hold")
        }
        let classNames = Array(header[2...])
        let table = try NumericCSV.parse(bytes, from: newline + 1, firstLine: 2, file: file, expectedColumns: featureCount + 1)
        guard table.rows == sampleCount else {
            throw DatasetError(.mismatch, file: file,
                               "expected \(sampleCount) data rows as the header says, found \(table.rows)")
        }
        let (features, labels) = try splitLabels(table, labelColumn: featureCount, classCount: classNames.count, file: file)
        if let featureNames, featureNames.count != featureCount {
            throw DatasetError(.invalidArgument, file: file,
                               "expected \(featureCount) feature names, got \(featureNames.count)")
        }
        return LabeledData(unchecked: features, sampleShape: [featureCount], labels: labels,
                           classCount: classNames.count, classNames: classNames, featureNames: featureNames)
    }

    /// Moves column `labelColumn` out of the table as integer labels in `0..<classCount`.
    static func splitLabels(
        _ table: NumericTable, labelColumn: Int, classCount: Int, file: String, labelOffset: Int = 0
    ) throws(DatasetError) -> ([Float], [Int32]) {
        let width = table.columns - 1
        var features = [Float](repeating: 0, count: table.rows * width)
        var labels = [Int32](repeating: 0, count: table.rows)
        var badRow = -1
        table.values.withUnsafeBufferPointer { src in
            features.withUnsafeMutableBufferPointer { dst in
                for r in 0..<table.rows {
                    let row = src.baseAddress! + r * table.columns
                    let out = dst.baseAddress! + r * width
                    if labelColumn > 0 { out.update(from: row, count: labelColumn) }
                    if labelColumn < width { (out + labelColumn).update(from: row + labelColumn + 1, count: width - labelColumn) }
                    let l = row[labelColumn] - Float(labelOffset)
                    if !(l >= 0 && l < Float(classCount) && l == l.rounded()) { badRow = r; return }
                    labels[r] = Int32(l)
                }
            }
        }
        if badRow >= 0 {
            let found = table.values[badRow * table.columns + labelColumn]
            throw DatasetError(.malformed, file: file, location: "line \(table.lineNumbers[badRow]), column \(labelColumn + 1)",
                               "expected a class label in \(labelOffset)…\(classCount - 1 + labelOffset), found \(found)")
        }
        return (features, labels)
    }
}

/// Loads the Location (Foursquare Bangkok) set of Shokri et al. (S&P 2017).
public enum LocationLoader {
    /// `bangkok`: no header, 447 columns per row: a quoted class label `"1"`…`"30"` (mapped to
    /// 0…29), then 446 binary features.
    ///
    /// - Returns: samples of shape `[446]`, 30 classes named "1"…"30".
    /// - Throws: `DatasetError` naming the file and line: ragged rows, a non-numeric field, a
    ///   label outside 1…30, a feature other than 0 or 1.
    public static func load(_ url: URL) throws(DatasetError) -> LabeledData {
        try load(url, reader: .plain)
    }

    static func load(_ url: URL, reader: FileReader) throws(DatasetError) -> LabeledData {
        try load(bytes: reader.readMaybeGzip(url), file: url.path)
    }

    /// Parses the bytes of the `bangkok` table (uncompressed); a pure function from bytes to data
    /// or a thrown error. `file` names the source in errors.
    public static func load(bytes: [UInt8], file: String) throws(DatasetError) -> LabeledData {
        let table = try NumericCSV.parse(bytes, file: file, expectedColumns: 447)
        guard table.rows > 0 else { throw DatasetError(.malformed, file: file, "expected rows of a label and 446 features, found no data") }
        let (features, labels) = try SklearnLoader.splitLabels(table, labelColumn: 0, classCount: 30, file: file, labelOffset: 1)
        if let bad = features.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            let row = bad / 446
            throw DatasetError(.malformed, file: file, location: "line \(table.lineNumbers[row]), column \(bad % 446 + 2)",
                               "expected a binary feature 0 or 1, found \(features[bad])")
        }
        return LabeledData(unchecked: features, sampleShape: [446], labels: labels, classCount: 30,
                           classNames: (1...30).map(String.init), featureNames: nil)
    }
}
