// The IDX format of MNIST and Fashion-MNIST.
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
        let bytes = try FileReader.plain.readMaybeGzip(url)
        let header = try parseHeader(bytes, file: url.path, dimensionCount: dimensionCount, what: "values")
        let values = Array(bytes[header.offset...])
        return IDXArray(dimensions: header.dimensions, values: values)
    }

    struct Header {
        var dimensions: [Int]
        var offset: Int
        var elementCount: Int
    }

    /// Checks magic, element type and payload length; returns the dimensions and data offset.
    static func parseHeader(_ bytes: [UInt8], file: String, dimensionCount: Int?, what: String) throws(DatasetError) -> Header {
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
        for i in 0..<d {
            let o = 4 + 4 * i
            let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(size)
            total = total.multipliedReportingOverflow(by: size).partialValue
        }
        let found = bytes.count - offset
        guard found == total else {
            throw DatasetError(.malformed, file: file,
                               "expected \(total) bytes of \(what) after the \(offset)-byte header (dimensions \(dims.map(String.init).joined(separator: "×"))), found \(found)")
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
        pixelScaling: PixelScaling, reader: FileReader
    ) throws(DatasetError) -> LabeledData {
        let imageBytes = try reader.readMaybeGzip(images)
        let image = try IDX.parseHeader(imageBytes, file: images.path, dimensionCount: 3, what: "pixels")
        let labelBytes = try reader.readMaybeGzip(labels)
        let label = try IDX.parseHeader(labelBytes, file: labels.path, dimensionCount: 1, what: "labels")
        let n = image.dimensions[0], rows = image.dimensions[1], columns = image.dimensions[2]
        guard label.dimensions[0] == n else {
            throw DatasetError(.mismatch, file: labels.path,
                               "expected \(n) labels to match the \(n) images of \(images.lastPathComponent), found \(label.dimensions[0])")
        }
        guard rows > 0, columns > 0 else {
            throw DatasetError(.malformed, file: images.path, "expected positive image sizes, found \(rows)×\(columns)")
        }
        // Labels: check range while converting.
        var outLabels = [Int32](repeating: 0, count: n)
        var badIndex = -1
        labelBytes.withUnsafeBufferPointer { src in
            outLabels.withUnsafeMutableBufferPointer { dst in
                let base = src.baseAddress! + label.offset
                for i in 0..<n {
                    let v = base[i]
                    if Int(v) >= classCount { badIndex = i; break }
                    dst[i] = Int32(v)
                }
            }
        }
        if badIndex >= 0 {
            throw DatasetError(.malformed, file: labels.path, location: "byte offset \(label.offset + badIndex)",
                               "expected a label in 0..<\(classCount) for sample \(badIndex), found \(labelBytes[label.offset + badIndex])")
        }
        let features = convertPixels(imageBytes, offset: image.offset, count: image.elementCount,
                                     divisor: pixelScaling == .unitInterval ? 255 : 1)
        return LabeledData(
            unchecked: features, sampleShape: [1, rows, columns], labels: outLabels, classCount: classCount,
            classNames: classNames, featureNames: nil)
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
