import Codecs
import Foundation
import LabRandom
import Tensors

/// Model checkpoints in the safetensors format, with the architecture in its metadata.
///
/// Layout (https://github.com/huggingface/safetensors, format as documented there):
/// an 8-byte little-endian header length N; N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}` (offsets relative to the
/// data section) plus an optional `"__metadata__"` map of strings to strings, padded with
/// spaces to a multiple of 8 bytes; then the tensors' little-endian bytes, back to back.
///
/// PrivacyLab stores `privacy-lab.format` ("1") and `privacy-lab.architecture` (the model's
/// input shape and layers as JSON) in the metadata, so that a checkpoint alone rebuilds the
/// model. The tensors are the parameters, then the buffers (batch normalization's
/// `layers.<i>.running_mean` and `running_var`), each by its name; a model without buffers
/// writes exactly the bytes it wrote before buffers existed. Any other safetensors reader (Python's `safetensors.numpy.load_file`) reads the
/// tensors.
public enum Checkpoint {
    /// The version of PrivacyLab's metadata written into checkpoints.
    public static let formatVersion = "1"

    /// The architecture part of the metadata.
    public struct Architecture: Codable, Equatable, Sendable {
        public var inputShape: [Int]
        public var layers: [Layer]
    }

    /// The bytes of a safetensors file holding `tensors` (in the given order) and `metadata`.
    public static func encode(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        var offset = 0
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        for (name, tensor) in tensors {
            let bytes = tensor.scalarCount * 4
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { buffer in
                #if _endian(big)
                for value in buffer { var bits = value.bitPattern.littleEndian; withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) } }
                #else
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: buffer.count * 4))
                #endif
            }
        }
        return data
    }

    /// The tensors and metadata of a safetensors file's bytes, validated.
    ///
    /// - Throws: `CheckpointError` naming the file (`source`), the tensor or field, and what was
    ///   expected, for a truncated file, malformed header, unsupported dtype, offsets that do
    ///   not tile the data section, or a shape that does not match its byte count.
    public static func decode(_ data: Data, source: String) throws(CheckpointError) -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        guard data.count >= 8 else { throw .malformed(file: source, field: "header length", reason: "file has \(data.count) bytes, fewer than 8") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw .malformed(file: source, field: "header length", reason: "declares \(headerLength) bytes but the file has \(data.count - 8) after it")
        }
        let headerStart = data.startIndex + 8
        let headerData = data[headerStart..<(headerStart + Int(headerLength))]
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw .malformed(file: source, field: "header", reason: "is not valid JSON")
        }
        guard let header = parsed as? [String: Any] else { throw .malformed(file: source, field: "header", reason: "is not a JSON object") }
        let dataStart = headerStart + Int(headerLength)
        let dataSize = data.count - 8 - Int(headerLength)
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: Any] else { throw .malformed(file: source, field: "__metadata__", reason: "is not an object") }
            for (key, value) in map {
                guard let string = value as? String else { throw .malformed(file: source, field: "__metadata__.\(key)", reason: "is not a string") }
                metadata[key] = string
            }
        }
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any] else { throw .malformed(file: source, field: name, reason: "entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw .malformed(file: source, field: "\(name).dtype", reason: "is missing") }
            guard dtype == "F32" else { throw .malformed(file: source, field: "\(name).dtype", reason: "is \(dtype); PrivacyLab reads F32 tensors") }
            guard let shapeValues = info["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }),
                  shape.count <= Tensor.maximumRank else {
                throw .malformed(file: source, field: "\(name).shape", reason: "is not a list of at most \(Tensor.maximumRank) non-negative integers")
            }
            guard let offsetValues = info["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw .malformed(file: source, field: "\(name).data_offsets", reason: "must be [begin, end] within the \(dataSize)-byte data section")
            }
            guard offsets[1] - offsets[0] == Tensor.elementCount(shape) * 4 else {
                throw .malformed(file: source, field: "\(name).data_offsets",
                                 reason: "span \(offsets[1] - offsets[0]) bytes but shape \(shape) needs \(Tensor.elementCount(shape) * 4)")
            }
            entries.append((name, shape, offsets[0], offsets[1]))
        }
        // The byte ranges must tile the data section exactly, without gaps or overlaps.
        entries.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.end < $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw .malformed(file: source, field: "\(entry.name).data_offsets", reason: "begin at \(entry.begin), expected \(expected) (gap or overlap)")
            }
            expected = entry.end
        }
        guard expected == dataSize else {
            throw .malformed(file: source, field: "data", reason: "tensors cover \(expected) bytes of a \(dataSize)-byte data section")
        }
        let tensors = entries.map { entry -> (name: String, tensor: Tensor) in
            let tensor = Tensor(shape: entry.shape) { out in
                data.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + (dataStart - data.startIndex) + entry.begin
                    for i in 0..<out.count {
                        out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    }
                }
            }
            return (entry.name, tensor)
        }
        return (tensors, metadata)
    }

    static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            if let n = value as? Int { result.append(n) } else if let d = value as? Double, d == d.rounded(), abs(d) < 1e15 {
                result.append(Int(d))
            } else { return nil }
        }
        return result
    }

    /// `s` as a JSON string literal (the lab's one escaper, `Codecs.JSONText`).
    static func jsonString(_ s: String) -> String { JSONText.string(s) }
}

/// A checkpoint that cannot be read or does not fit the model.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case malformed(file: String, field: String, reason: String)
    case mismatch(file: String, tensor: String, reason: String)
    case io(file: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(file, field, reason): return "\(file): \(field) \(reason)"
        case let .mismatch(file, tensor, reason): return "\(file): tensor \(tensor): \(reason)"
        case let .io(file, reason): return "\(file): \(reason)"
        }
    }
}

extension Sequential {
    /// The model as safetensors bytes, with its architecture in the metadata.
    public func checkpointData(metadata extra: [String: String] = [:]) -> Data {
        let architecture = Checkpoint.Architecture(inputShape: inputShape, layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: (try? encoder.encode(architecture)) ?? Data(), as: UTF8.self)
        var metadata = extra
        metadata["privacy-lab.format"] = Checkpoint.formatVersion
        metadata["privacy-lab.architecture"] = json
        let named = Array(zip(parameterNames, parameters)) + Array(zip(bufferNames, buffers))
        return Checkpoint.encode(tensors: named.map { ($0.0, $0.1) }, metadata: metadata)
    }

    /// Writes the checkpoint through `OutputFile`: a regular file is replaced atomically (a
    /// temporary file renamed into place), a device or FIFO is written in place.
    public func saveCheckpoint(to url: URL, metadata: [String: String] = [:]) throws(CheckpointError) {
        do throws(OutputFileError) { try OutputFile.write(checkpointData(metadata: metadata), to: url) } catch {
            throw .io(file: url.path, reason: "cannot write: \(error.reason)")
        }
    }

    /// A model rebuilt from a checkpoint's bytes: architecture from the metadata, parameters by
    /// name.
    public init(checkpoint data: Data, source: String) throws(CheckpointError) {
        let (tensors, metadata) = try Checkpoint.decode(data, source: source)
        guard let format = metadata["privacy-lab.format"] else {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.format", reason: "is missing (not a PrivacyLab checkpoint)")
        }
        guard format == Checkpoint.formatVersion else {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.format", reason: "is \(format); this PrivacyLab reads \(Checkpoint.formatVersion)")
        }
        guard let json = metadata["privacy-lab.architecture"],
              let architecture = try? JSONDecoder().decode(Checkpoint.Architecture.self, from: Data(json.utf8)) else {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.architecture", reason: "is missing or not a valid architecture")
        }
        // The architecture's sizes come from the file: check them, and that the file holds the
        // values they need, before the skeleton allocates anything (a few hundred bytes of
        // metadata can describe a model of terabytes).
        let needed: Int
        do throws(ModelError) { needed = try Sequential.stateElementCount(inputShape: architecture.inputShape, layers: architecture.layers) } catch {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.architecture", reason: "describes an invalid model: \(error)")
        }
        let available = tensors.reduce(0) { $0 + $1.tensor.scalarCount }
        guard needed <= available else {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.architecture",
                             reason: "describes a model of \(needed) parameter and buffer values, but the file's tensors hold \(available)")
        }
        let skeleton: Sequential
        do { skeleton = try Sequential(inputShape: architecture.inputShape, layers: architecture.layers, random: LabRandom(seed: 0)) } catch {
            throw .malformed(file: source, field: "__metadata__.privacy-lab.architecture", reason: "describes an invalid model: \(error)")
        }
        try self.init(skeleton: skeleton, tensors: tensors, source: source)
    }

    /// Loads parameters from a checkpoint into this architecture, checking every tensor.
    public func loadingParameters(checkpoint data: Data, source: String) throws(CheckpointError) -> Sequential {
        let (tensors, _) = try Checkpoint.decode(data, source: source)
        return try Sequential(skeleton: self, tensors: tensors, source: source)
    }

    /// Reads a checkpoint file.
    public init(checkpointAt url: URL) throws(CheckpointError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .io(file: url.path, reason: "cannot read: \(error.localizedDescription)") }
        try self.init(checkpoint: data, source: url.path)
    }

    init(skeleton: Sequential, tensors: [(name: String, tensor: Tensor)], source: String) throws(CheckpointError) {
        var byName: [String: Tensor] = [:]
        for (name, tensor) in tensors { byName[name] = tensor }
        var values: [Tensor] = []
        for (name, expected) in zip(skeleton.parameterNames, skeleton.parameters) {
            guard let tensor = byName.removeValue(forKey: name) else {
                throw .mismatch(file: source, tensor: name, reason: "is missing; expected shape \(expected.shape)")
            }
            guard tensor.shape == expected.shape else {
                throw .mismatch(file: source, tensor: name, reason: "has shape \(tensor.shape), expected \(expected.shape)")
            }
            guard tensor.isFinite else {
                throw .mismatch(file: source, tensor: name, reason: "holds NaN or infinite values")
            }
            values.append(tensor)
        }
        var bufferValues: [Tensor] = []
        for (name, expected) in zip(skeleton.bufferNames, skeleton.buffers) {
            guard let tensor = byName.removeValue(forKey: name) else {
                throw .mismatch(file: source, tensor: name, reason: "is missing; expected shape \(expected.shape)")
            }
            guard tensor.shape == expected.shape else {
                throw .mismatch(file: source, tensor: name, reason: "has shape \(tensor.shape), expected \(expected.shape)")
            }
            guard tensor.isFinite else {
                throw .mismatch(file: source, tensor: name, reason: "holds NaN or infinite values")
            }
            if name.hasSuffix(".running_var"), tensor.scalars.contains(where: { $0 < 0 }) {
                throw .mismatch(file: source, tensor: name, reason: "holds a negative variance")
            }
            bufferValues.append(tensor)
        }
        if let extra = byName.keys.sorted().first {
            throw .mismatch(file: source, tensor: extra, reason: "is not a parameter of this model")
        }
        do {
            self = try Sequential(inputShape: skeleton.inputShape, layers: skeleton.layers, parameters: values, buffers: bufferValues)
        } catch {
            throw .mismatch(file: source, tensor: "*", reason: "\(error)")
        }
    }
}
