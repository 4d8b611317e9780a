// NumPy's `.npy` format: a pure reader (bytes to an array or a thrown error) and a writer.
import Foundation

/// Why NumPy bytes (`.npy`, `.npz`) could not be read, or an array's values could not be
/// converted. `description` is the reason alone; callers prefix the file name.
public struct NumpyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Not an `.npy` file (wrong magic) or not a zip archive.
        case notNumpy
        /// A format version, dtype, compression method or archive feature we do not read.
        case unsupported
        /// The header is not the Python dict literal NumPy writes, or the archive's directory
        /// is inconsistent.
        case malformed
        /// The data are shorter or longer than the header's shape needs.
        case sizeMismatch
        /// More elements or bytes than the caller allows (or than fit in memory at all).
        case tooLarge
        /// A value cannot be converted as asked (not an integer, not 0/1, out of range).
        case badValue
        /// An `.npz` member that is not there.
        case missingMember
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}

/// The element types of the NumPy arrays we read and write (`descr` without its byte-order
/// character): `b1` (bool), `i1 u1 i2 u2 i4 u4 i8 u8`, `f2 f4 f8`.
public enum NumpyDataType: String, Sendable, Hashable, CaseIterable {
    case bool = "b1"
    case int8 = "i1", uint8 = "u1"
    case int16 = "i2", uint16 = "u2"
    case int32 = "i4", uint32 = "u4"
    case int64 = "i8", uint64 = "u8"
    case float16 = "f2", float32 = "f4", float64 = "f8"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .int16, .uint16, .float16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    public var isFloatingPoint: Bool { self == .float16 || self == .float32 || self == .float64 }

    /// The `descr` NumPy writes for this type in this machine's byte order (`<f4`, `|b1`).
    public var nativeDescription: String {
        if byteCount == 1 { return "|" + rawValue }
        #if _endian(big)
        return ">" + rawValue
        #else
        return "<" + rawValue
        #endif
    }

    /// The NumPy name (`float32`, `bool`).
    public var numpyName: String {
        switch self {
        case .bool: return "bool"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int16: return "int16"
        case .uint16: return "uint16"
        case .int32: return "int32"
        case .uint32: return "uint32"
        case .int64: return "int64"
        case .uint64: return "uint64"
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        }
    }
}

/// An n-dimensional array as NumPy stores it in `.npy` files: a shape, an element type and the
/// elements in C (row-major) order.
///
/// Reading (`init(npy:)`) is a pure function from bytes to an array or a `NumpyError`, so a
/// fuzzer can drive it. It accepts what `np.save` writes: format versions 1.0, 2.0 and 3.0; the
/// header parsed as the Python dict literal it is (`{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`, keys in any order, either quote, trailing commas); `descr` one of
/// `b1 i1 u1 i2 u2 i4 u4 i8 u8 f2 f4 f8` with byte order `<`, `>`, `=` or `|` (`?` is read as
/// `b1`); Fortran-order arrays, which are transposed to C order. Structured and object dtypes
/// are refused.
///
/// Laws: the element count is the shape's product, computed with overflow checks, and its
/// byte size must equal the data that follow the header exactly — checked before anything is
/// allocated, so memory stays within a small multiple of the input's size whatever the header
/// claims. `NumpyArray(npy: a.npyBytes()) == a` for every array `a`.
///
/// Elements are kept in this machine's byte order; the accessors (`doubles()`, `floats()`,
/// `integers()`, `booleans()`) convert in bulk with unaligned loads.
///
/// - Complexity: O(header + elements); a C-order file in native byte order is one copy.
public struct NumpyArray: Sendable, Equatable {
    /// Extents, outermost first (`[]` for a scalar).
    public let shape: [Int]
    public let dataType: NumpyDataType
    /// The elements in C order, native byte order.
    public let storage: [UInt8]

    /// The number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { storage.count / dataType.byteCount }

    /// The most header bytes accepted (NumPy itself refuses more than 10 000 by default).
    public static let maximumHeaderBytes = 1 << 16
    /// The most dimensions accepted (NumPy's own limit).
    public static let maximumDimensions = 64

    // MARK: - Building arrays

    /// An array from raw native-order element bytes in C order.
    /// - Precondition: `storage` holds exactly the shape's product of elements.
    public init(shape: [Int], dataType: NumpyDataType, storage: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "NumpyArray: negative extent in \(shape)")
        precondition(Self.elementCount(shape) == storage.count / dataType.byteCount && storage.count % dataType.byteCount == 0,
                     "NumpyArray: \(storage.count) bytes do not hold shape \(shape) of \(dataType.numpyName)")
        self.shape = shape
        self.dataType = dataType
        self.storage = storage
    }

    /// A float32 array.
    public init(shape: [Int], values: [Float]) {
        self.init(shape: shape, dataType: .float32, storage: Self.bytes(of: values))
    }

    /// A float64 array.
    public init(shape: [Int], values: [Double]) {
        self.init(shape: shape, dataType: .float64, storage: Self.bytes(of: values))
    }

    /// An int64 array.
    public init(shape: [Int], values: [Int]) {
        self.init(shape: shape, dataType: .int64, storage: Self.bytes(of: values.map { Int64($0) }))
    }

    /// A uint8 array (for 0/1 masks that every reader takes as numbers).
    public init(shape: [Int], values: [UInt8]) {
        self.init(shape: shape, dataType: .uint8, storage: values)
    }

    /// A bool array.
    public init(shape: [Int], values: [Bool]) {
        self.init(shape: shape, dataType: .bool, storage: values.map { $0 ? 1 : 0 })
    }

    private static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    private static func bytes<T>(of values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    // MARK: - Writing

    /// The array as `.npy` version 1.0 bytes (2.0 when the header does not fit 1.0's 16-bit
    /// length), header padded so the data start on a 64-byte boundary, as NumPy writes it.
    public func npyBytes() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dataType.nativeDescription)', 'fortran_order': False, 'shape': \(shapeText), }"
        let version1 = 10 + header.utf8.count + 1 <= 65535 + 10
        let prefix = version1 ? 10 : 12
        let unpadded = prefix + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version1 ? 1 : 2, 0]
        out.reserveCapacity(prefix + header.utf8.count + storage.count)
        let length = header.utf8.count
        if version1 {
            out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        } else {
            out += (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        }
        out += Array(header.utf8)
        out += storage
        return out
    }

    /// The array as `.npy` bytes (see `npyBytes()`).
    public func npyData() -> Data { Data(npyBytes()) }

    // MARK: - Reading

    /// Reads `.npy` bytes.
    /// - Throws: `NumpyError` naming what is wrong: not `.npy`, an unknown version, a header
    ///   that is not the dict literal NumPy writes, an unsupported dtype, a negative or
    ///   overflowing shape, data shorter or longer than the shape needs.
    public init(npy bytes: [UInt8]) throws(NumpyError) {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(NumpyError) -> NumpyArray in try NumpyArray(npy: buffer) } }
        self = try result.get()
    }

    /// Reads `.npy` bytes (see `init(npy:)`).
    public init(npy data: Data) throws(NumpyError) {
        let result = data.withUnsafeBytes { buffer in Result { () throws(NumpyError) -> NumpyArray in try NumpyArray(npy: buffer) } }
        self = try result.get()
    }

    /// Reads `.npy` bytes held in raw memory (see `init(npy:)`).
    public init(npy bytes: UnsafeRawBufferPointer) throws(NumpyError) {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 6, zip(bytes.prefix(6), magic).allSatisfy({ $0 == $1 }) else {
            let found = bytes.prefix(6).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw NumpyError(.notNumpy, "not a NumPy .npy file: expected the magic bytes 93 4e 55 4d 50 59 (\\x93NUMPY), found \(found.isEmpty ? "an empty file" : found)")
        }
        guard bytes.count >= 8 else { throw NumpyError(.malformed, "truncated .npy file: it ends inside the version bytes") }
        let major = bytes[6], minor = bytes[7]
        let headerStart: Int, headerLength: Int
        switch (major, minor) {
        case (1, 0):
            guard bytes.count >= 10 else { throw NumpyError(.malformed, "truncated .npy file: it ends inside the header length") }
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else { throw NumpyError(.malformed, "truncated .npy file: it ends inside the header length") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw NumpyError(.unsupported, ".npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard headerLength <= Self.maximumHeaderBytes else {
            throw NumpyError(.tooLarge, "the .npy header claims \(headerLength) bytes, more than the \(Self.maximumHeaderBytes) accepted")
        }
        guard bytes.count - headerStart >= headerLength else {
            throw NumpyError(.malformed, "truncated .npy file: the header claims \(headerLength) bytes, the file holds \(bytes.count - headerStart) after the prefix")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[headerStart..<(headerStart + headerLength)])
        let parsed = try NumpyHeader(parsing: header)
        let (dataType, swap) = try Self.dataType(parsed.descr)
        guard parsed.shape.count <= Self.maximumDimensions else {
            throw NumpyError(.unsupported, "the .npy shape has \(parsed.shape.count) dimensions, more than NumPy's \(Self.maximumDimensions)")
        }
        if let negative = parsed.shape.first(where: { $0 < 0 }) {
            throw NumpyError(.malformed, "the .npy shape \(Self.shapeText(parsed.shape)) has a negative extent \(negative)")
        }
        var count = 1
        for extent in parsed.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw NumpyError(.tooLarge, "the .npy shape \(Self.shapeText(parsed.shape)) has more elements than fit in memory")
            }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dataType.byteCount)
        guard !overflow else {
            throw NumpyError(.tooLarge, "the .npy shape \(Self.shapeText(parsed.shape)) of \(dataType.numpyName) needs more bytes than fit in memory")
        }
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        guard available == byteCount else {
            throw NumpyError(.sizeMismatch, "the .npy header declares shape \(Self.shapeText(parsed.shape)) of \(dataType.numpyName) (\(byteCount) bytes) but the file holds \(available) bytes of data\(available < byteCount ? " (truncated?)" : "")")
        }
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        let width = dataType.byteCount
        var storage = [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            guard byteCount > 0 else { initialized = 0; return }
            let destination = UnsafeMutableRawPointer(out.baseAddress!)
            if parsed.fortranOrder && parsed.shape.count > 1 {
                Self.transposeFortran(data.baseAddress!, into: destination, shape: parsed.shape, width: width)
            } else {
                destination.copyMemory(from: data.baseAddress!, byteCount: byteCount)
            }
            initialized = byteCount
        }
        if swap && width > 1 { Self.swapBytes(&storage, width: width) }
        if dataType == .bool {
            // NumPy reads any non-zero byte as True.
            for i in storage.indices where storage[i] > 1 { storage[i] = 1 }
        }
        self.shape = parsed.shape
        self.dataType = dataType
        self.storage = storage
    }

    /// The type named by a `descr` and whether its bytes must be swapped to native order.
    static func dataType(_ descr: String) throws(NumpyError) -> (NumpyDataType, swap: Bool) {
        var text = Substring(descr)
        var order: Character = "="
        if let first = text.first, "<>=|".contains(first) {
            order = first
            text = text.dropFirst()
        }
        let type: NumpyDataType
        if text == "?" { type = .bool } else if let known = NumpyDataType(rawValue: String(text)) { type = known } else {
            throw NumpyError(.unsupported, "the .npy dtype '\(descr)' is not supported; expected one of bool (|b1), int8/16/32/64 (i1 i2 i4 i8), uint8/16/32/64 (u1 u2 u4 u8), float16/32/64 (f2 f4 f8), each with byte order < > = or |")
        }
        if type.byteCount > 1 && order == "|" {
            throw NumpyError(.malformed, "the .npy dtype '\(descr)' has no byte order ('|') but \(type.byteCount)-byte elements")
        }
        #if _endian(big)
        let swap = order == "<"
        #else
        let swap = order == ">"
        #endif
        return (type, swap)
    }

    static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// Copies Fortran-order (column-major) elements into C order.
    private static func transposeFortran(_ source: UnsafeRawPointer, into destination: UnsafeMutableRawPointer, shape: [Int], width: Int) {
        let rank = shape.count
        if rank == 2 {
            let (rows, columns) = (shape[0], shape[1])
            // Element (i, j) sits at j * rows + i in the file.
            for i in 0..<rows {
                for j in 0..<columns {
                    (destination + (i * columns + j) * width).copyMemory(from: source + (j * rows + i) * width, byteCount: width)
                }
            }
            return
        }
        // Fortran strides (in elements): the first index varies fastest.
        var strides = [Int](repeating: 1, count: rank)
        for d in 1..<rank { strides[d] = strides[d - 1] * shape[d - 1] }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        let count = shape.reduce(1, *)
        for c in 0..<count {
            (destination + c * width).copyMemory(from: source + offset * width, byteCount: width)
            // Advance the C-order odometer (last index fastest), keeping the Fortran offset.
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    private static func swapBytes(_ storage: inout [UInt8], width: Int) {
        storage.withUnsafeMutableBytes { raw in
            let count = raw.count / width
            switch width {
            case 2:
                for i in 0..<count {
                    let v = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    raw.storeBytes(of: v.byteSwapped, toByteOffset: 2 * i, as: UInt16.self)
                }
            case 4:
                for i in 0..<count {
                    let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    raw.storeBytes(of: v.byteSwapped, toByteOffset: 4 * i, as: UInt32.self)
                }
            default:
                for i in 0..<count {
                    let v = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    raw.storeBytes(of: v.byteSwapped, toByteOffset: 8 * i, as: UInt64.self)
                }
            }
        }
    }

    // MARK: - Accessors

    /// The position of flat element `index` as NumPy prints it (`[3, 1]`).
    public func position(ofElement index: Int) -> String {
        guard !shape.isEmpty else { return "[]" }
        var rest = index
        var parts = [Int](repeating: 0, count: shape.count)
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
            parts[d] = rest % shape[d]
            rest /= shape[d]
        }
        return "[" + parts.map(String.init).joined(separator: ", ") + "]"
    }

    /// Every element as a Double: exact for every type except 64-bit integers beyond ±2⁵³,
    /// which round to the nearest Double; bools are 0 and 1.
    public func doubles() -> [Double] {
        convert(to: Double.self, float16: { Double(Self.float(halfBits: $0)) }, float32: { Double($0) }, float64: { $0 },
                int: { Double($0) }, uint: { Double($0) })
    }

    /// Every element as a Float (rounded to nearest from float64 and large integers).
    public func floats() -> [Float] {
        convert(to: Float.self, float16: { Self.float(halfBits: $0) }, float32: { $0 }, float64: { Float($0) },
                int: { Float($0) }, uint: { Float($0) })
    }

    /// Every element as an Int.
    /// - Throws: `NumpyError.badValue` naming the first element that is not an integer
    ///   (a float with a fraction, NaN or ±inf) or does not fit in Int (a uint64 above Int.max).
    public func integers() throws(NumpyError) -> [Int] {
        var failure: Int?
        let values = convert(to: Int.self, float16: { bits in
            let v = Double(Self.float(halfBits: bits))
            return v.rounded() == v && v.isFinite ? Int(v) : Int.min
        }, float32: { v in
            v.isFinite && v.rounded() == v && abs(v) < 9.2e18 ? Int(v) : Int.min
        }, float64: { v in
            v.isFinite && v.rounded() == v && abs(v) < 9.2e18 ? Int(v) : Int.min
        }, int: { Int($0) }, uint: { $0 <= UInt64(Int.max) ? Int($0) : Int.min })
        if dataType != .int64 {
            // Int.min marks a value that did not convert (no other type maps there).
            failure = values.firstIndex(of: Int.min)
        }
        if let index = failure {
            throw NumpyError(.badValue, "element \(position(ofElement: index)) is \(elementText(index)), not an integer")
        }
        return values
    }

    /// Every element as a Bool: bools as they are; numbers must be exactly 0 or 1.
    /// - Throws: `NumpyError.badValue` naming the first element that is neither 0 nor 1.
    public func booleans() throws(NumpyError) -> [Bool] {
        if dataType == .bool { return storage.map { $0 != 0 } }
        let values = doubles()
        if let index = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw NumpyError(.badValue, "element \(position(ofElement: index)) is \(elementText(index)), not 0 or 1")
        }
        return values.map { $0 == 1 }
    }

    /// Element `index` as text, for error messages.
    public func elementText(_ index: Int) -> String {
        let raw = [UInt8](storage[(index * dataType.byteCount)..<((index + 1) * dataType.byteCount)])
        let one = NumpyArray(shape: [1], dataType: dataType, storage: raw)
        switch dataType {
        case .bool: return raw[0] != 0 ? "True" : "False"
        case .uint64: return String(raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        case .int64: return String(raw.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })
        default:
            let v = one.doubles()[0]
            return dataType.isFloatingPoint ? "\(v)" : String(Int(v))
        }
    }

    /// Converts every element with one of the closures, by bulk unaligned loads.
    @inline(__always)
    private func convert<T>(to: T.Type, float16: (UInt16) -> T, float32: (Float) -> T, float64: (Double) -> T,
                            int: (Int64) -> T, uint: (UInt64) -> T) -> [T] {
        let n = count
        return storage.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: n) { out, initialized in
                switch dataType {
                case .bool, .uint8: for i in 0..<n { out[i] = uint(UInt64(raw[i])) }
                case .int8: for i in 0..<n { out[i] = int(Int64(Int8(bitPattern: raw[i]))) }
                case .int16: for i in 0..<n { out[i] = int(Int64(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
                case .uint16: for i in 0..<n { out[i] = uint(UInt64(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .int32: for i in 0..<n { out[i] = int(Int64(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                case .uint32: for i in 0..<n { out[i] = uint(UInt64(raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .int64: for i in 0..<n { out[i] = int(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                case .uint64: for i in 0..<n { out[i] = uint(raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
                case .float16: for i in 0..<n { out[i] = float16(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
                case .float32: for i in 0..<n { out[i] = float32(raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)) }
                case .float64: for i in 0..<n { out[i] = float64(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                }
                initialized = n
            }
        }
    }

    /// An IEEE 754 binary16 value widened to Float (exact: every half is a float).
    @inline(__always)
    static func float(halfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2⁻²⁴.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}

/// The dict literal of an `.npy` header: `{'descr': …, 'fortran_order': …, 'shape': (…), }`.
struct NumpyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    private enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    /// Parses the header as a Python dict literal with exactly the keys descr, fortran_order
    /// and shape (NumPy refuses others too), followed by nothing but spaces and a newline.
    init(parsing bytes: UnsafeRawBufferPointer) throws(NumpyError) {
        var position = 0
        func fail(_ message: String) -> NumpyError {
            NumpyError(.malformed, "the .npy header is not the dict literal NumPy writes: \(message) (at header byte \(position))")
        }
        func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }
        func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }
        func expect(_ c: Character) throws(NumpyError) {
            skipSpace()
            guard peek() == c.asciiValue else {
                throw fail("expected '\(c)', found \(peek().map { "'\(Character(Unicode.Scalar($0)))'" } ?? "the end of the header")")
            }
            position += 1
        }
        func string() throws(NumpyError) -> String {
            skipSpace()
            guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                throw fail("expected a quoted string")
            }
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "\\"), bytes[position] >= 0x20, bytes[position] < 0x7F else {
                    throw fail("unexpected character in a string")
                }
                position += 1
            }
            guard position < bytes.count else { throw fail("unterminated string") }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return text
        }
        func word() -> String {
            let start = position
            while position < bytes.count, (bytes[position] >= 0x41 && bytes[position] <= 0x5A) || (bytes[position] >= 0x61 && bytes[position] <= 0x7A) {
                position += 1
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        func integer() throws(NumpyError) -> Int {
            skipSpace()
            var negative = false
            if peek() == UInt8(ascii: "-") { negative = true; position += 1 }
            var value = 0, digits = 0
            while let c = peek(), c >= 0x30 && c <= 0x39 {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int(c - 0x30))
                guard !o1 && !o2 else { throw NumpyError(.tooLarge, "the .npy shape has an extent too large for a 64-bit integer") }
                value = sum
                digits += 1
                position += 1
            }
            guard digits > 0 else { throw fail("expected an integer in the shape tuple") }
            if peek() == UInt8(ascii: "L") || peek() == UInt8(ascii: "l") { position += 1 }   // Python 2 longs
            return negative ? -value : value
        }
        func value() throws(NumpyError) -> Value {
            skipSpace()
            switch peek() {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "("):
                position += 1
                var items: [Int] = []
                skipSpace()
                if peek() == UInt8(ascii: ")") { position += 1; return .tuple(items) }
                while true {
                    items.append(try integer())
                    skipSpace()
                    if peek() == UInt8(ascii: ",") {
                        position += 1
                        skipSpace()
                        if peek() == UInt8(ascii: ")") { position += 1; break }
                        continue
                    }
                    if peek() == UInt8(ascii: ")") {
                        // A one-element tuple needs its comma: (3) is an int in Python.
                        guard items.count != 1 else { throw fail("'(\(items[0]))' is not a tuple; NumPy writes (\(items[0]),)") }
                        position += 1
                        break
                    }
                    throw fail("expected ',' or ')' in the shape tuple")
                }
                return .tuple(items)
            case UInt8(ascii: "["):
                throw NumpyError(.unsupported, "the .npy array has a structured dtype (a list of fields); only plain numeric and bool arrays are supported")
            default:
                let text = word()
                if text == "True" { return .bool(true) }
                if text == "False" { return .bool(false) }
                throw fail(text.isEmpty ? "expected a value" : "unexpected value '\(text)'")
            }
        }

        try expect("{")
        var entries: [String: Value] = [:]
        skipSpace()
        while peek() != UInt8(ascii: "}") {
            let key = try string()
            guard entries[key] == nil else { throw fail("the key '\(key)' appears twice") }
            try expect(":")
            entries[key] = try value()
            skipSpace()
            if peek() == UInt8(ascii: ",") { position += 1; skipSpace(); continue }
            guard peek() == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
        }
        position += 1
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected bytes after the closing '}'") }
        let expected: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(entries.keys) == expected else {
            let missing = expected.subtracting(entries.keys).sorted(), extra = Set(entries.keys).subtracting(expected).sorted()
            throw NumpyError(.malformed, "the .npy header must have exactly the keys descr, fortran_order and shape"
                + (missing.isEmpty ? "" : "; missing: " + missing.joined(separator: ", "))
                + (extra.isEmpty ? "" : "; unexpected: " + extra.joined(separator: ", ")))
        }
        guard case let .string(descr) = entries["descr"]! else {
            throw NumpyError(.malformed, "the .npy header's descr is not a string")
        }
        guard case let .bool(fortran) = entries["fortran_order"]! else {
            throw NumpyError(.malformed, "the .npy header's fortran_order is not True or False")
        }
        guard case let .tuple(shape) = entries["shape"]! else {
            throw NumpyError(.malformed, "the .npy header's shape is not a tuple of integers")
        }
        self.descr = descr
        self.fortranOrder = fortran
        self.shape = shape
    }
}
