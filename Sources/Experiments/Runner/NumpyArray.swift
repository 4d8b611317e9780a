import Foundation

/// A float32 array in NumPy's `.npy` format (version 1.0, little-endian, C order), the format
/// score arrays are cached in so that any NumPy can read them.
public struct NumpyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "NumpyArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    public func npyData() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { buffer in
            for value in buffer { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Reads `.npy` bytes holding a little-endian float32 C-order array.
    public init(npy data: Data, source: String) throws {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> RunnerError { .artifact(file: source, reason: reason) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8), bytes[6] == 1 else {
            throw fail("not an .npy version 1 file")
        }
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + headerLength else { throw fail("truncated .npy header") }
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False") else {
            throw fail(".npy header \(header.trimmingCharacters(in: .whitespacesAndNewlines)) is not a little-endian float32 C-order array")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail(".npy header has no shape")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, shape.allSatisfy({ $0 >= 0 }) else { throw fail(".npy shape is malformed") }
        let count = shape.reduce(1, *)
        guard bytes.count == 10 + headerLength + 4 * count else {
            throw fail(".npy data holds \(bytes.count - 10 - headerLength) bytes; shape \(shape) needs \(4 * count)")
        }
        var values = [Float](repeating: 0, count: count)
        let start = 10 + headerLength
        for i in 0..<count {
            let b = start + 4 * i
            values[i] = Float(bitPattern: UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24)
        }
        self.init(shape: shape, values: values)
    }
}
