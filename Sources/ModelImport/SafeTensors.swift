import Codecs
import Foundation
import Tensors

/// Reading and writing safetensors files as PyTorch writes them
/// (`safetensors.torch.save_file(model.state_dict(), path)`).
///
/// Layout (https://github.com/huggingface/safetensors, format as documented there): an 8-byte
/// little-endian header length N; N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}` (offsets relative to the data
/// section), plus an optional `"__metadata__"` map of strings to strings, padded with spaces;
/// then the tensors' little-endian bytes, which must cover the data section exactly.
///
/// `parse` is a pure function from bytes to a validated `File` or a thrown `ModelImportError`
/// (a fuzzer can drive it): it allocates nothing in proportion to sizes the file declares
/// before checking them against the bytes present, computes every element and byte count with
/// overflow checks, and reads the header with a nesting limit.
public enum SafeTensors {
    /// The largest header accepted, in bytes (the reference implementation's limit).
    public static let maximumHeaderSize = 100_000_000

    /// The element types safetensors defines.
    public enum DType: String, CaseIterable, Sendable {
        case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E5M2, F8_E4M3

        /// Bytes per element.
        public var byteCount: Int {
            switch self {
            case .F64, .I64, .U64: return 8
            case .F32, .I32, .U32: return 4
            case .F16, .BF16, .I16, .U16: return 2
            case .I8, .U8, .BOOL, .F8_E5M2, .F8_E4M3: return 1
            }
        }

        /// Whether `File.floats` converts it (to Float32).
        public var isConvertibleToFloat: Bool { [.F64, .F32, .F16, .BF16].contains(self) }
    }

    /// One tensor's header entry, validated against the file.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// The product of `shape` (1 for a scalar).
        public var elementCount: Int
        /// The byte range within the data section.
        public var dataOffsets: Range<Int>
    }

    /// A parsed safetensors file: its entries (in data order), metadata and bytes.
    public struct File: Sendable {
        /// Where the bytes came from (a path), used in every error.
        public let source: String
        /// The tensors, ordered by their data offsets.
        public let entries: [Entry]
        public let metadata: [String: String]
        let bytes: Data
        /// The offset of the data section from `bytes.startIndex`.
        let dataStart: Int

        /// The entry called `name`.
        public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

        /// A floating-point entry's values as a Float32 tensor, checked to be finite.
        /// - Throws: `.unsupportedDType` for integer types, `.sizeOverflow` for a rank above
        ///   `Tensor.maximumRank`, `.invalidValue` for NaN, ±∞, or an F64 value beyond Float32's
        ///   range.
        /// - Complexity: O(elementCount).
        public func floats(_ entry: Entry) throws(ModelImportError) -> Tensor {
            guard entry.dtype.isConvertibleToFloat else {
                throw ModelImportError(.unsupportedDType, file: source, field: "\(entry.name).dtype",
                                       reason: "is \(entry.dtype.rawValue); a parameter must be F32, F64, F16 or BF16")
            }
            guard entry.shape.count <= Tensor.maximumRank else {
                throw ModelImportError(.sizeOverflow, file: source, field: "\(entry.name).shape",
                                       reason: "\(entry.shape) has rank \(entry.shape.count); PrivacyLab tensors have rank at most \(Tensor.maximumRank)")
            }
            var bad: (index: Int, value: Double)? = nil
            let tensor = Tensor(shape: entry.shape) { out in
                bytes.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + dataStart + entry.dataOffsets.lowerBound
                    for i in 0..<out.count {
                        let value: Float
                        switch entry.dtype {
                        case .F32:
                            value = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        case .F64:
                            let wide = Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                            if wide.isFinite && abs(wide) > Double(Float.greatestFiniteMagnitude) && bad == nil { bad = (i, wide) }
                            value = Float(wide)
                        case .F16:
                            value = SafeTensors.float(half: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        default:  // BF16: the upper half of a Float32.
                            value = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                        }
                        if !value.isFinite && bad == nil { bad = (i, Double(value)) }
                        out[i] = value
                    }
                }
            }
            if let bad {
                let what = bad.value.isFinite ? "\(bad.value), beyond the Float32 range" : "\(bad.value)"
                throw ModelImportError(.invalidValue, file: source, field: entry.name,
                                       reason: "holds \(what) at flat index \(bad.index); weights must be finite")
            }
            return tensor
        }

        /// An integer entry's values (I64, I32, I16, I8, U8; U64 values must fit Int64).
        /// - Complexity: O(elementCount).
        public func integers(_ entry: Entry) throws(ModelImportError) -> [Int64] {
            guard [.I64, .I32, .I16, .I8, .U8, .U64, .U32, .U16].contains(entry.dtype) else {
                throw ModelImportError(.unsupportedDType, file: source, field: "\(entry.name).dtype",
                                       reason: "is \(entry.dtype.rawValue); expected an integer type such as I64")
            }
            var values = [Int64](repeating: 0, count: entry.elementCount)
            var overflow = false
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + dataStart + entry.dataOffsets.lowerBound
                for i in values.indices {
                    switch entry.dtype {
                    case .I64: values[i] = Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    case .U64:
                        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                        if v > UInt64(Int64.max) { overflow = true } else { values[i] = Int64(v) }
                    case .I32: values[i] = Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                    case .U32: values[i] = Int64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case .I16: values[i] = Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                    case .U16: values[i] = Int64(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    case .I8: values[i] = Int64(base.load(fromByteOffset: i, as: Int8.self))
                    default: values[i] = Int64(base.load(fromByteOffset: i, as: UInt8.self))
                    }
                }
            }
            if overflow {
                throw ModelImportError(.invalidValue, file: source, field: entry.name, reason: "holds a U64 value above Int64.max")
            }
            return values
        }
    }

    /// The validated structure of a safetensors file's bytes.
    ///
    /// - Throws: `ModelImportError` naming `source` and the field: `.notSafeTensors` (fewer than
    ///   8 bytes, a ZIP or pickle file as `torch.save` writes, a header that is not a JSON
    ///   object), `.headerTooLarge`, `.malformedHeader` (bad JSON, a missing or mistyped field,
    ///   duplicate keys, a non-string metadata value), `.unsupportedDType`, `.sizeOverflow`
    ///   (an element or byte count that overflows `Int`), `.offsetsOutOfRange`,
    ///   `.overlappingTensors`, `.unindexedBytes`.
    /// - Complexity: O(header size + number of tensors · log of it); tensor bytes are not read.
    public static func parse(_ bytes: Data, source: String) throws(ModelImportError) -> File {
        func error(_ kind: ModelImportError.Kind, _ field: String, _ reason: String) -> ModelImportError {
            ModelImportError(kind, file: source, field: field, reason: reason)
        }
        let start = bytes.startIndex
        // A file written by torch.save, named as such (checked only when the bytes do not read as
        // safetensors, since a header length may begin with the same bytes).
        func torchSaveFormat() -> ModelImportError? {
            if bytes.count >= 4, bytes[start] == 0x50, bytes[start + 1] == 0x4B, bytes[start + 2] == 0x03, bytes[start + 3] == 0x04 {
                return error(.notSafeTensors, "file", "is a ZIP archive (the format of torch.save), not safetensors; save the state dict with safetensors.torch.save_file(model.state_dict(), path)")
            }
            if bytes.count >= 2, bytes[start] == 0x80, (2...5).contains(bytes[start + 1]) {
                return error(.notSafeTensors, "file", "is a Python pickle (torch.save's legacy format), not safetensors; save the state dict with safetensors.torch.save_file")
            }
            return nil
        }
        guard bytes.count >= 8 else {
            throw torchSaveFormat() ?? error(.notSafeTensors, "header length", "the file has \(bytes.count) bytes, fewer than the 8 of a safetensors header length")
        }
        var declared: UInt64 = 0
        for i in 0..<8 { declared |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
        guard declared <= UInt64(maximumHeaderSize) else {
            throw torchSaveFormat() ?? error(.headerTooLarge, "header length", "declares \(declared) bytes, more than the \(maximumHeaderSize) a safetensors header may have")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw torchSaveFormat() ?? error(.headerTooLarge, "header length", "declares \(headerLength) bytes but only \(bytes.count - 8) follow it")
        }
        guard headerLength >= 2, bytes[start + 8] == UInt8(ascii: "{") else {
            throw torchSaveFormat() ?? error(.notSafeTensors, "header", "does not start with '{' (not a safetensors file)")
        }
        let json: HeaderJSON
        do { json = try HeaderJSON.parse(Array(bytes[(start + 8)..<(start + 8 + headerLength)])) } catch {
            throw ModelImportError(.malformedHeader, file: source, field: "header", reason: "is not valid JSON: \(error.message) at byte \(error.offset)")
        }
        guard case let .object(members) = json else {
            throw error(.notSafeTensors, "header", "is not a JSON object")
        }
        let dataSize = bytes.count - 8 - headerLength
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        for member in members {
            let (name, value) = (member.key, member.value)
            if name == "__metadata__" {
                guard case let .object(pairs) = value else { throw error(.malformedHeader, "__metadata__", "is \(value.kindName), expected an object of strings") }
                for pair in pairs {
                    let (key, item) = (pair.key, pair.value)
                    guard case let .string(text) = item else {
                        throw error(.malformedHeader, "__metadata__.\(key)", "is \(item.kindName), expected a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard case let .object(fields) = value else { throw error(.malformedHeader, name, "is \(value.kindName), expected an object with dtype, shape and data_offsets") }
            func field(_ key: String) throws(ModelImportError) -> HeaderJSON {
                guard let found = fields.first(where: { $0.key == key }) else { throw error(.malformedHeader, "\(name).\(key)", "is missing") }
                return found.value
            }
            guard case let .string(dtypeName) = try field("dtype") else {
                throw error(.malformedHeader, "\(name).dtype", "is \(try field("dtype").kindName), expected a string")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw error(.unsupportedDType, "\(name).dtype", "is \"\(dtypeName.prefix(32))\", which safetensors does not define")
            }
            guard case let .array(extents) = try field("shape") else {
                throw error(.malformedHeader, "\(name).shape", "is \(try field("shape").kindName), expected a list of non-negative integers")
            }
            var shape: [Int] = []
            var count = 1
            for extent in extents {
                guard let n = extent.integer else {
                    throw error(.malformedHeader, "\(name).shape", "holds \(extent.kindName), expected non-negative integers")
                }
                shape.append(n)
                let (product, overflow) = count.multipliedReportingOverflow(by: n)
                guard !overflow else { throw error(.sizeOverflow, "\(name).shape", "has more elements than an Int can count") }
                count = product
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
            guard !overflow else { throw error(.sizeOverflow, "\(name).shape", "\(shape) of \(dtype.rawValue) has more bytes than an Int can count") }
            guard case let .array(offsetValues) = try field("data_offsets"), offsetValues.count == 2,
                  let begin = offsetValues[0].integer, let end = offsetValues[1].integer else {
                throw error(.malformedHeader, "\(name).data_offsets", "must be [begin, end], two non-negative integers")
            }
            guard begin <= end, end <= dataSize else {
                throw error(.offsetsOutOfRange, "\(name).data_offsets", "[\(begin), \(end)] is not a range within the \(dataSize)-byte data section")
            }
            guard end - begin == byteCount else {
                throw error(.offsetsOutOfRange, "\(name).data_offsets",
                            "[\(begin), \(end)] spans \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, elementCount: count, dataOffsets: begin..<end))
        }
        // The byte ranges must tile the data section: no overlap, no gap, nothing left over.
        entries.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        var covered = 0
        var previous: String? = nil
        for entry in entries where !entry.dataOffsets.isEmpty {
            if entry.dataOffsets.lowerBound < covered {
                throw error(.overlappingTensors, "\(entry.name).data_offsets",
                            "[\(entry.dataOffsets.lowerBound), \(entry.dataOffsets.upperBound)] overlaps \(previous ?? "?"), which ends at \(covered)")
            }
            if entry.dataOffsets.lowerBound > covered {
                throw error(.unindexedBytes, "\(entry.name).data_offsets",
                            "begins at \(entry.dataOffsets.lowerBound), leaving bytes \(covered)..<\(entry.dataOffsets.lowerBound) of the data section to no tensor")
            }
            covered = entry.dataOffsets.upperBound
            previous = entry.name
        }
        guard covered == dataSize else {
            throw error(.unindexedBytes, "data", "tensors cover \(covered) bytes of a \(dataSize)-byte data section")
        }
        return File(source: source, entries: entries, metadata: metadata, bytes: bytes, dataStart: 8 + headerLength)
    }

    /// The value of an IEEE 754 binary16 bit pattern (exact: every half is a float).
    static func float(half bits: UInt16) -> Float {
        let sign = UInt32(bits >> 15) << 31
        let exponent = Int((bits >> 10) & 0x1F), mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
        }
    }

    /// A tensor to write: Float32 values, or 64-bit integers (PyTorch's `num_batches_tracked`).
    public enum Value: Sendable {
        case float32(Tensor)
        case int64(shape: [Int], values: [Int64])
    }

    /// The bytes of a safetensors file holding `tensors` in the given order and `metadata`.
    /// - Precondition: each `int64` value count equals the product of its shape.
    public static func encode(_ tensors: [(name: String, value: Value)], metadata: [String: String] = [:]) -> Data {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var payload = Data()
        for (name, value) in tensors {
            let begin = payload.count
            let dtype: String, shape: [Int]
            switch value {
            case let .float32(tensor):
                (dtype, shape) = ("F32", tensor.shape)
                for scalar in tensor.scalars { withUnsafeBytes(of: scalar.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
            case let .int64(valueShape, values):
                precondition(values.count == Tensor.elementCount(valueShape), "SafeTensors.encode: \(values.count) values for shape \(valueShape)")
                (dtype, shape) = ("I64", valueShape)
                for v in values { withUnsafeBytes(of: v.littleEndian) { payload.append(contentsOf: $0) } }
            }
            entries.append("\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(payload.count)]}")
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data(capacity: 8 + header.count + payload.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: header)
        file.append(payload)
        return file
    }

    /// `s` as a JSON string literal (the lab's one escaper, `Codecs.JSONText`).
    static func jsonString(_ s: String) -> String { JSONText.string(s) }
}
