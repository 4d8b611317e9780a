import Foundation

/// A float array in NumPy's `.npy` format (version 1.0, little-endian, C order), the format score
/// arrays are cached in so that any NumPy can read them. Float32 or float64.
public struct NumpyArray: Sendable, Equatable {
    public enum ElementType: String, Sendable { case float32 = "<f4", float64 = "<f8" }

    public var shape: [Int]
    public var elementType: ElementType
    /// The values (float32 arrays hold values exactly representable in Float).
    public var values: [Double]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "NumpyArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.elementType = .float32
        self.values = values.map(Double.init)
    }

    public init(shape: [Int], values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "NumpyArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.elementType = .float64
        self.values = values
    }

    public func npyData() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(elementType.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for value in values {
            switch elementType {
            case .float32: withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case .float64: withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// Reads `.npy` bytes holding a little-endian float32 or float64 C-order array.
    public init(npy data: Data, source: String) throws {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> RunnerError { .artifact(file: source, reason: reason) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8), bytes[6] == 1 else {
            throw fail("not an .npy version 1 file")
        }
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + headerLength else { throw fail("truncated .npy header") }
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        let type: ElementType
        if header.contains("'descr': '<f4'") { type = .float32 } else if header.contains("'descr': '<f8'") { type = .float64 } else {
            throw fail(".npy header \(header.trimmingCharacters(in: .whitespacesAndNewlines)) is not a little-endian float32 or float64 array")
        }
        guard header.contains("'fortran_order': False") else { throw fail(".npy array is not in C order") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail(".npy header has no shape")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, shape.allSatisfy({ $0 >= 0 }) else { throw fail(".npy shape is malformed") }
        // The shape's product is checked for overflow: a crafted shape must not trap.
        let width = type == .float32 ? 4 : 8
        var count = 1, needed = width
        for dimension in shape {
            let (c, o1) = count.multipliedReportingOverflow(by: dimension)
            let (n, o2) = needed.multipliedReportingOverflow(by: dimension)
            guard !o1, !o2 else { throw fail(".npy shape \(shape) holds more values than this machine can address") }
            (count, needed) = (c, n)
        }
        guard bytes.count - 10 - headerLength == needed else {
            throw fail(".npy data holds \(bytes.count - 10 - headerLength) bytes; shape \(shape) needs \(needed)")
        }
        var values = [Double](repeating: 0, count: count)
        let start = 10 + headerLength
        for i in 0..<count {
            var bits: UInt64 = 0
            for b in 0..<width { bits |= UInt64(bytes[start + width * i + b]) << (8 * UInt64(b)) }
            values[i] = type == .float32 ? Double(Float(bitPattern: UInt32(bits))) : Double(bitPattern: bits)
        }
        self.shape = shape
        self.elementType = type
        self.values = values
    }
}
