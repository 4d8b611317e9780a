// The IDX format of MNIST and Fashion-MNIST.
import Codecs
import Foundation

/// An IDX array of unsigned bytes (element type `0x08`), as MNIST and Fashion-MNIST use.
///
/// Format (big-endian): two zero bytes, the element type, the number of dimensions d, then d
/// 32-bit sizes, then the elements in row-major order. The magic number is the first four bytes
/// as an integer: 2049 for a 1-D label file, 2051 for a 3-D image file.
public struct IDXArray: Sendable, Equatable {
    /// The sizes, outermost first (`[60000, 28, 28]`).
    public let dimensions: [Int]
    /// All elements, row-major.
    public let values: [UInt8]

    public init(dimensions: [Int], values: [UInt8]) {
        precondition(dimensions.reduce(1, *) == values.count, "IDXArray: \(values.count) values for dimensions \(dimensions)")
        self.dimensions = dimensions
        self.values = values
    }

    /// The magic number such an array is written with: `0x0800 + dimensions.count`.
    public var magic: Int { 0x0800 + dimensions.count }
}

/// Reading IDX files, gzip-compressed or raw.
public enum IDX {
    /// Reads an unsigned-byte IDX file (raw, or gzip, detected by its magic bytes).
    ///
    /// - Parameter dimensionCount: the number of dimensions the caller needs (3 for images, 1 for
    ///   labels), or `nil` to accept any.
    /// - Throws: `DatasetError` naming the file: a wrong magic number, an element type other
    ///   than unsigned byte, or a payload whose length differs from the header's dimensions.
    public static func read(_ url: URL, dimensionCount: Int? = nil) throws(DatasetError) -> IDXArray {
        try parse(FileReader.plain.read(url), file: url.path, dimensionCount: dimensionCount)
    }

    /// Parses the bytes of an IDX file (raw, or gzip, detected by its magic bytes); a pure
    /// function from bytes to an array or a thrown error. `file` names the source in errors.
    /// - Throws: `DatasetError` as `read(_:dimensionCount:)`.
    public static func parse(_ bytes: [UInt8], file: String, dimensionCount: Int? = nil) throws(DatasetError) -> IDXArray {
        var bytes = try inflate(bytes, file: file, reader: .plain, dimensionCount: dimensionCount, what: "values")
        let header = try parseHeader(bytes, file: file, dimensionCount: dimensionCount, what: "values")
        bytes.removeFirst(header.offset)  // in place: no second allocation
        return IDXArray(dimensions: header.dimensions, values: bytes)
    }

    /// An IDX file's bytes, inflated when gzip: the header is read first, and inflating stops
    /// past the size it announces (header + elements), so a gzip bomb costs no more than that.
    static func inflate(_ raw: [UInt8], file: String, reader: FileReader, dimensionCount: Int?, what: String) throws(DatasetError) -> [UInt8] {
        guard Gzip.hasMagic(raw) else { return raw }
        let prefix: [UInt8]
        do {
            // The longest header: 4 bytes and 255 sizes of 4 bytes.
            prefix = try raw.withUnsafeBytes { bytes throws(GzipError) in try Gzip.decompressedPrefix(bytes, count: 4 + 4 * 255) }
        } catch {
            throw DatasetError(.malformed, file: file, "gzip: \(error)")
        }
        let header = try parseHeaderFields(prefix, file: file, dimensionCount: dimensionCount)
        try checkAnnouncedSize(header, reader: reader, file: file)
        do {
            return try Gzip.decompress(raw, maximumOutputSize: header.offset + header.elementCount)
        } catch .outputTooLarge {
            throw payloadGoesOn(header, file: file, what: what)
        } catch {
            throw DatasetError(.malformed, file: file, "gzip: \(error)")
        }
    }

    /// The error for a gzip stream that goes on past the size its header announces (inflating
    /// stopped there, so how much more there is stays unknown).
    static func payloadGoesOn(_ header: Header, file: String, what: String) -> DatasetError {
        DatasetError(.malformed, file: file,
                     "expected \(header.elementCount) bytes of \(what) after the \(header.offset)-byte header (dimensions \(header.dimensions.map(String.init).joined(separator: "×"))), found more: the gzip stream goes on past the size its header announces")
    }

    /// Refuses a gzip file whose header announces more than the reader inflates
    /// (`maximumDecompressedBytes`), before anything is allocated for it.
    static func checkAnnouncedSize(_ header: Header, reader: FileReader, file: String) throws(DatasetError) {
        let announced = header.offset + header.elementCount
        guard announced <= reader.maximumDecompressedBytes else {
            throw DatasetError(.malformed, file: file, location: "byte offset 4",
                               "the IDX header announces \(announced) bytes (dimensions \(header.dimensions.map(String.init).joined(separator: "×"))), more than the \(reader.maximumDecompressedBytes) a compressed data file may hold")
        }
    }

    struct Header {
        var dimensions: [Int]
        var offset: Int
        var elementCount: Int
    }

    /// Checks magic, element type and payload length; returns the dimensions and data offset.
    static func parseHeader(_ bytes: [UInt8], file: String, dimensionCount: Int?, what: String) throws(DatasetError) -> Header {
        let header = try parseHeaderFields(bytes, file: file, dimensionCount: dimensionCount)
        try checkPayload(found: bytes.count - header.offset, header: header, file: file, what: what)
        return header
    }

    /// The payload must hold exactly the elements the header announces.
    static func checkPayload(found: Int, header: Header, file: String, what: String) throws(DatasetError) {
        guard found == header.elementCount else {
            throw DatasetError(.malformed, file: file,
                               "expected \(header.elementCount) bytes of \(what) after the \(header.offset)-byte header (dimensions \(header.dimensions.map(String.init).joined(separator: "×"))), found \(found)")
        }
    }

    /// Checks magic and element type and reads the dimensions from the first bytes of a file.
    static func parseHeaderFields(_ bytes: [UInt8], file: String, dimensionCount: Int?) throws(DatasetError) -> Header {
        guard bytes.count >= 4 else {
            throw DatasetError(.malformed, file: file, "expected an IDX header of at least 4 bytes, found \(bytes.count) bytes")
        }
        let magic = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        let expectedMagic = dimensionCount.map { 0x0800 + $0 }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(.malformed, file: file, location: "byte offset 0",
                               "expected IDX magic number \(expectedMagic.map(String.init) ?? "0x08xx") (bytes 00 00 08 0d), found \(magic)")
        }
        guard bytes[2] == 0x08 else {
            throw DatasetError(.malformed, file: file, location: "byte offset 2",
                               "expected IDX element type 0x08 (unsigned byte), found 0x\(String(bytes[2], radix: 16)) (magic \(magic))")
        }
        let d = Int(bytes[3])
        if let dimensionCount, d != dimensionCount {
            throw DatasetError(.malformed, file: file, location: "byte offset 0",
                               "expected IDX magic number \(0x0800 + dimensionCount) (\(dimensionCount) dimensions), found \(magic) (\(d) dimensions)")
        }
        let offset = 4 + 4 * d
        guard d > 0, bytes.count >= offset else {
            throw DatasetError(.malformed, file: file, "expected a \(offset)-byte IDX header for \(d) dimensions, found \(bytes.count) bytes")
        }
        var dims: [Int] = []
        var total = 1
        var overflow = false
        for i in 0..<d {
            let o = 4 + 4 * i
            let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(size)
            let product = total.multipliedReportingOverflow(by: size)
            total = product.partialValue
            overflow = overflow || product.overflow
        }
        guard !overflow, total <= 1 << 40 else {
            throw DatasetError(.malformed, file: file, location: "byte offset 4",
                               "expected IDX dimensions of a plausible size, found \(dims.map(String.init).joined(separator: "×"))")
        }
        return Header(dimensions: dims, offset: offset, elementCount: total)
    }
}

/// How 8-bit pixel values become floats.
public enum PixelScaling: Sendable, Equatable {
    /// `value / maxValue`, in [0, 1] (the usual input range of the field's models).
    case unitInterval
    /// The raw integer value as a float (0…255 for 8-bit images).
    case raw
}

/// Loads MNIST-format image/label pairs (MNIST, Fashion-MNIST, EMNIST…) from IDX files.
public enum IDXImageLoader {
    /// The class names of Fashion-MNIST, in label order.
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Reads an image file (magic 2051, n × rows × columns) and its label file (magic 2049, n).
    ///
    /// The samples have shape `[1, rows, columns]` (NCHW per sample).
    ///
    /// - Parameters:
    ///   - classCount: labels must lie in `0..<classCount`.
    /// - Throws: `DatasetError` naming the file: bad magic, truncated payload, image and label
    ///   counts that disagree, a label out of range, a broken gzip stream.
    /// - Complexity: O(n × rows × columns): one inflate per file and one conversion pass.
    public static func load(
        images: URL, labels: URL, classCount: Int = 10, classNames: [String]? = nil,
        pixelScaling: PixelScaling = .unitInterval
    ) throws(DatasetError) -> LabeledData {
        try load(images: images, labels: labels, classCount: classCount, classNames: classNames,
                 pixelScaling: pixelScaling, reader: .plain)
    }

    static func load(
        images: URL, labels: URL, classCount: Int = 10, classNames: [String]?,
        pixelScaling: PixelScaling, reader: FileReader, rows: [Int]? = nil
    ) throws(DatasetError) -> LabeledData {
        let labelBytes = try reader.read(labels)
        let imageBytes = try reader.read(images)
        return try load(imageBytes: imageBytes, imagesFile: images.path, labelBytes: labelBytes, labelsFile: labels.path,
                        classCount: classCount, classNames: classNames, pixelScaling: pixelScaling, reader: reader, rows: rows)
    }

    /// Every label of a label file (magic 2049), checked to lie in `0..<classCount`, without
    /// reading any image.
    static func labels(_ url: URL, classCount: Int, reader: FileReader) throws(DatasetError) -> [Int32] {
        let bytes = try IDX.inflate(try reader.read(url), file: url.path, reader: reader, dimensionCount: 1, what: "labels")
        let header = try IDX.parseHeader(bytes, file: url.path, dimensionCount: 1, what: "labels")
        return try convertLabels(bytes, header: header, count: header.dimensions[0], file: url.path, classCount: classCount)
    }

    /// The header of a 3-D image file (n × rows × columns), read without inflating its pixels.
    static func imageHeader(_ url: URL, reader: FileReader) throws(DatasetError) -> IDX.Header {
        let raw = try reader.read(url)
        guard Gzip.hasMagic(raw) else { return try IDX.parseHeader(raw, file: url.path, dimensionCount: 3, what: "pixels") }
        let prefix: [UInt8]
        do {
            prefix = try raw.withUnsafeBytes { bytes throws(GzipError) in try Gzip.decompressedPrefix(bytes, count: 16) }
        } catch {
            throw DatasetError(.malformed, file: url.path, "gzip: \(error)")
        }
        return try IDX.parseHeaderFields(prefix, file: url.path, dimensionCount: 3)
    }

    /// Parses the bytes of an image file and its label file (raw or gzip, as `load(images:labels:)`
    /// reads them); a pure function from bytes to data or a thrown error. `imagesFile` and
    /// `labelsFile` name the sources in errors.
    public static func load(
        imageBytes: [UInt8], imagesFile: String, labelBytes: [UInt8], labelsFile: String, classCount: Int = 10,
        classNames: [String]? = nil, pixelScaling: PixelScaling = .unitInterval
    ) throws(DatasetError) -> LabeledData {
        try load(imageBytes: imageBytes, imagesFile: imagesFile, labelBytes: labelBytes, labelsFile: labelsFile,
                 classCount: classCount, classNames: classNames, pixelScaling: pixelScaling, reader: .plain)
    }

    /// With `rows` (strictly increasing sample indices), only those samples, in that order: the
    /// pixels of the others are inflated and dropped as they stream by, never stored.
    static func load(
        imageBytes: [UInt8], imagesFile: String, labelBytes rawLabels: [UInt8], labelsFile: String, classCount: Int,
        classNames: [String]?, pixelScaling: PixelScaling, reader: FileReader, rows selected: [Int]? = nil
    ) throws(DatasetError) -> LabeledData {
        let labelBytes = try IDX.inflate(rawLabels, file: labelsFile, reader: reader, dimensionCount: 1, what: "labels")
        let label = try IDX.parseHeader(labelBytes, file: labelsFile, dimensionCount: 1, what: "labels")
        let (image, features) = try readPixels(imageBytes, file: imagesFile, reader: reader, pixelScaling: pixelScaling, rows: selected)
        let n = image.dimensions[0], rows = image.dimensions[1], columns = image.dimensions[2]
        guard label.dimensions[0] == n else {
            throw DatasetError(.mismatch, file: labelsFile,
                               "expected \(n) labels to match the \(n) images of \(URL(fileURLWithPath: imagesFile).lastPathComponent), found \(label.dimensions[0])")
        }
        guard rows > 0, columns > 0 else {
            throw DatasetError(.malformed, file: imagesFile, "expected positive image sizes, found \(rows)×\(columns)")
        }
        var outLabels = try convertLabels(labelBytes, header: label, count: n, file: labelsFile, classCount: classCount)
        if let selected { outLabels = selected.map { outLabels[$0] } }
        return LabeledData(
            unchecked: features, sampleShape: [1, rows, columns], labels: outLabels, classCount: classCount,
            classNames: classNames, featureNames: nil)
    }

    /// The first `count` labels after the header as class indices, each checked to lie in
    /// `0..<classCount`.
    static func convertLabels(_ labelBytes: [UInt8], header: IDX.Header, count n: Int, file: String,
                              classCount: Int) throws(DatasetError) -> [Int32] {
        var outLabels = [Int32](repeating: 0, count: n)
        var badIndex = -1
        labelBytes.withUnsafeBufferPointer { src in
            outLabels.withUnsafeMutableBufferPointer { dst in
                let base = src.baseAddress! + header.offset
                for i in 0..<n {
                    let v = base[i]
                    if Int(v) >= classCount { badIndex = i; break }
                    dst[i] = Int32(v)
                }
            }
        }
        if badIndex >= 0 {
            throw DatasetError(.malformed, file: file, location: "byte offset \(header.offset + badIndex)",
                               "expected a label in 0..<\(classCount) for sample \(badIndex), found \(labelBytes[header.offset + badIndex])")
        }
        return outLabels
    }

    /// Reads a 3-D image file's header and its pixels as floats.
    ///
    /// A gzip file is inflated in pieces of 256 KiB that are converted to floats as they come,
    /// so the decompressed bytes are never held whole (one large allocation, the floats, instead
    /// of two). A raw file is read and converted.
    ///
    /// With `rows` (strictly increasing sample indices below the file's count), only the pixels
    /// of those samples are kept, in that order; the rest stream by.
    static func readPixels(
        _ raw: [UInt8], file: String, reader: FileReader, pixelScaling: PixelScaling, rows: [Int]? = nil
    ) throws(DatasetError) -> (IDX.Header, [Float]) {
        let divisor: Float = pixelScaling == .unitInterval ? 255 : 1
        guard Gzip.hasMagic(raw) else {
            let header = try IDX.parseHeader(raw, file: file, dimensionCount: 3, what: "pixels")
            guard let rows else { return (header, convertPixels(raw, offset: header.offset, count: header.elementCount, divisor: divisor)) }
            try checkRows(rows, header: header, file: file)
            let width = header.dimensions[1] * header.dimensions[2]
            let features = [Float](unsafeUninitializedCapacity: rows.count * width) { out, initialized in
                raw.withUnsafeBufferPointer { src in
                    var picker = RowPicker(rows: rows, width: width, out: out.baseAddress!, divisor: divisor)
                    picker.take(src.baseAddress! + header.offset, start: 0, count: header.elementCount)
                }
                initialized = rows.count * width
            }
            return (header, features)
        }
        let prefix: [UInt8]
        do {
            prefix = try raw.withUnsafeBytes { bytes throws(GzipError) in try Gzip.decompressedPrefix(bytes, count: 16) }
        } catch {
            throw DatasetError(.malformed, file: file, "gzip: \(error)")
        }
        let header = try IDX.parseHeaderFields(prefix, file: file, dimensionCount: 3)
        try IDX.checkAnnouncedSize(header, reader: reader, file: file)
        let count = header.elementCount
        // Deflate expands at most 1032:1: refuse a header announcing more than the file can hold
        // before allocating for it.
        guard count <= raw.count &* 1032 else {
            // Count what is there, for the message, without allocating for the claim.
            var found = 0
            do {
                try raw.withUnsafeBytes { bytes in try Gzip.decompress(bytes) { found += $0.count } }
            } catch {
                throw DatasetError(.malformed, file: file, "gzip: \(error)")
            }
            try IDX.checkPayload(found: found - header.offset, header: header, file: file, what: "pixels")
            throw DatasetError(.malformed, file: file, "expected at most \(raw.count &* 1032) decompressed bytes from \(raw.count) compressed bytes, found \(found)")
        }
        if let rows { try checkRows(rows, header: header, file: file) }
        let width = header.dimensions[1] * header.dimensions[2]
        let kept = rows.map { $0.count * width } ?? count
        var produced = 0        // decompressed bytes seen, header included
        var failure: GzipError?
        let features = [Float](unsafeUninitializedCapacity: kept) { out, initialized in
            let o = out.baseAddress!
            var picker = rows.map { RowPicker(rows: $0, width: width, out: o, divisor: divisor) }
            raw.withUnsafeBytes { bytes in
                do {
                    // Past the announced size, inflating stops (a gzip bomb costs nothing more).
                    try Gzip.decompress(bytes, maximumOutputSize: header.offset + count) { piece in
                        let p = piece.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        // Skip what belongs to the header, keep what fits the announced count.
                        let skip = max(0, header.offset - produced)
                        let start = produced + skip - header.offset   // pixel index of p[skip]
                        let usable = max(0, min(piece.count - skip, count - start))
                        if usable > 0 {
                            let s = p + skip
                            if picker != nil {
                                picker!.take(s, start: start, count: usable)
                            } else {
                                let d = o + start
                                for i in 0..<usable { d[i] = Float(s[i]) / divisor }
                            }
                        }
                        produced += piece.count
                    }
                } catch {
                    failure = (error as? GzipError) ?? .zlibFailure(code: 0, reason: "\(error)")
                }
            }
            // A short stream leaves rows unset; the payload check below then throws.
            if let picker, picker.next < picker.rows.count {
                (o + picker.next * width).initialize(repeating: 0, count: kept - picker.next * width)
            }
            initialized = kept
        }
        if case .outputTooLarge? = failure { throw IDX.payloadGoesOn(header, file: file, what: "pixels") }
        if let failure { throw DatasetError(.malformed, file: file, "gzip: \(failure)") }
        try IDX.checkPayload(found: produced - header.offset, header: header, file: file, what: "pixels")
        return (header, features)
    }

    /// Refuses a row selection that is not strictly increasing within the file's samples.
    static func checkRows(_ rows: [Int], header: IDX.Header, file: String) throws(DatasetError) {
        let n = header.dimensions[0]
        var previous = -1
        for r in rows {
            guard r > previous, r < n else {
                throw DatasetError(.invalidArgument, file: file,
                                   "row selection: expected strictly increasing sample indices in 0..<\(n), found \(r) after \(previous)")
            }
            previous = r
        }
    }

    /// Keeps the pixels of chosen samples as the pixels stream by in order: `rows` strictly
    /// increasing, sample `rows[j]` written as floats to `out[j * width ..< (j + 1) * width]`.
    struct RowPicker {
        let rows: [Int]
        let width: Int
        let out: UnsafeMutablePointer<Float>
        let divisor: Float
        /// The first chosen sample not yet complete.
        var next = 0

        /// Takes `count` pixels starting at pixel index `start` of the payload.
        mutating func take(_ source: UnsafePointer<UInt8>, start: Int, count: Int) {
            let end = start + count
            while next < rows.count {
                let rowStart = rows[next] * width, rowEnd = rowStart + width
                if rowStart >= end { return }
                let low = Swift.max(rowStart, start), high = Swift.min(rowEnd, end)
                if low < high {
                    let d = out + next * width + (low - rowStart), s = source + (low - start)
                    for i in 0..<(high - low) { d[i] = Float(s[i]) / divisor }
                }
                guard rowEnd <= end else { return }
                next += 1
            }
        }
    }

    /// Bytes → floats divided by `divisor` (exactly as `x / 255` rounds), in one vectorisable pass.
    static func convertPixels(_ bytes: [UInt8], offset: Int, count: Int, divisor: Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBufferPointer { src in
                let s = src.baseAddress! + offset
                let o = out.baseAddress!
                for i in 0..<count { o[i] = Float(s[i]) / divisor }
            }
            initialized = count
        }
    }
}
