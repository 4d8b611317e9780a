import Foundation
import Testing
import LabRandom
import ModelImport
import Tensors

@Suite("Safetensors reader")
struct SafeTensorsTests {
    /// A valid two-tensor file: a [2] F32 tensor and a scalar I64.
    static let valid = rawSafeTensors(
        header: #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"#,
        data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0] + [7, 0, 0, 0, 0, 0, 0, 0])

    @Test("a valid file parses to its entries, values and metadata")
    func valid() throws {
        let file = try SafeTensors.parse(Self.valid, source: "valid")
        #expect(file.entries.map(\.name) == ["w", "n"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.floats(file.entry(named: "w")!).scalars == [1, -2])
        #expect(try file.integers(file.entry(named: "n")!) == [7])
    }

    /// Each malformed input, the error kind it must raise, and the field that error must name.
    static let badInputs: [(String, Data, ModelImportError.Kind, String)] = [
        ("fewer than 8 bytes", Data([1, 2, 3]), .notSafeTensors, "header length"),
        ("a torch.save ZIP archive", Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 60)), .notSafeTensors, "file"),
        ("a pickle", Data([0x80, 0x02] + [UInt8](repeating: 0, count: 30)), .notSafeTensors, "file"),
        ("a header length beyond the limit", rawSafeTensors(header: "{}", declaredLength: 200_000_000), .headerTooLarge, "header length"),
        ("a header length beyond the file", rawSafeTensors(header: "{}", declaredLength: 4096), .headerTooLarge, "header length"),
        ("a header length of 2^64 − 1", rawSafeTensors(header: "{}", declaredLength: .max), .headerTooLarge, "header length"),
        ("a header that is not an object", rawSafeTensors(header: "[1, 2]"), .notSafeTensors, "header"),
        ("a header that is not JSON", rawSafeTensors(header: "{\"w\": {\"dtype\": F32}}"), .malformedHeader, "header"),
        ("deeply nested JSON", rawSafeTensors(header: "{\"a\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"),
         .malformedHeader, "header"),
        ("a duplicate key", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#),
         .malformedHeader, "header"),
        ("a missing dtype", rawSafeTensors(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .malformedHeader, "w.dtype"),
        ("an unknown dtype", rawSafeTensors(header: #"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)),
         .unsupportedDType, "w.dtype"),
        ("a negative extent", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .malformedHeader, "w.shape"),
        ("a fractional extent", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .malformedHeader, "w.shape"),
        ("an element count that overflows", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         .sizeOverflow, "w.shape"),
        ("a byte count that overflows", rawSafeTensors(header: #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         .sizeOverflow, "w.shape"),
        ("an extent beyond Int", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         .malformedHeader, "w.shape"),
        ("offsets past the data section", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
         .offsetsOutOfRange, "w.data_offsets"),
        ("offsets in reverse", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
         .offsetsOutOfRange, "w.data_offsets"),
        ("offsets not matching the shape", rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
         .offsetsOutOfRange, "w.data_offsets"),
        ("overlapping tensors", rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                               data: [UInt8](repeating: 0, count: 12)), .overlappingTensors, "b.data_offsets"),
        ("a gap between tensors", rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                                 data: [UInt8](repeating: 0, count: 12)), .unindexedBytes, "b.data_offsets"),
        ("trailing bytes", rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 12)),
         .unindexedBytes, "data"),
        ("a non-string metadata value", rawSafeTensors(header: #"{"__metadata__":{"k":1}}"#), .malformedHeader, "__metadata__.k"),
    ]

    @Test("each malformed file gives its error, naming the file and the field", arguments: 0..<badInputs.count)
    func badInput(_ index: Int) {
        let (label, bytes, kind, field) = Self.badInputs[index]
        let error = importError { try SafeTensors.parse(bytes, source: "bad.safetensors") }
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.field == field, "\(label): \(String(describing: error))")
        #expect(error?.file == "bad.safetensors")
        #expect(error?.description.hasPrefix("bad.safetensors: \(field): ") == true, "\(label): \(String(describing: error))")
    }

    @Test("torch.save's own file is refused with advice to use safetensors")
    func torchSaveFile() throws {
        let error = importError { try SafeTensors.parse(try Fixtures.data("mlp.pt"), source: "mlp.pt") }
        #expect(error?.kind == .notSafeTensors)
        #expect(error?.reason.contains("safetensors.torch.save_file") == true)
    }

    @Test("a 640-byte header, whose length begins 0x80 0x02 as a pickle does, still reads as safetensors")
    func pickleLookalike() throws {
        let value = String(repeating: "x", count: 640 - #"{"__metadata__":{"k":""}}"#.utf8.count)
        let bytes = rawSafeTensors(header: #"{"__metadata__":{"k":"\#(value)"}}"#)
        #expect(bytes[0] == 0x80 && bytes[1] == 0x02 && bytes.count == 648)
        #expect(try SafeTensors.parse(bytes, source: "lookalike").metadata["k"] == value)
    }

    @Test("NaN, infinite and out-of-range values are refused naming the tensor and index")
    func nonFinite() {
        let nan = rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                 data: [0, 0, 0x80, 0x3F] + [0, 0, 0xC0, 0x7F])
        let infinityHalf = rawSafeTensors(header: #"{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, data: [0x00, 0x7C])
        let hugeDouble = rawSafeTensors(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#,
                                        data: withUnsafeBytes(of: (1e300 as Double).bitPattern.littleEndian) { Array($0) })
        for (bytes, fragment) in [(nan, "flat index 1"), (infinityHalf, "flat index 0"), (hugeDouble, "beyond the Float32 range")] {
            let error = importError { () throws -> Tensor in
                let file = try SafeTensors.parse(bytes, source: "nan.safetensors")
                return try file.floats(file.entry(named: "w")!)
            }
            #expect(error?.kind == .invalidValue && error?.field == "w" && error?.reason.contains(fragment) == true, "\(String(describing: error))")
        }
    }

    @Test("integer tensors are not read as floats, nor float tensors as integers")
    func dtypeRoles() throws {
        let file = try SafeTensors.parse(Self.valid, source: "valid")
        #expect(importError { try file.floats(file.entry(named: "n")!) }?.kind == .unsupportedDType)
        #expect(importError { try file.integers(file.entry(named: "w")!) }?.kind == .unsupportedDType)
    }

    @Test("F16 and BF16 decode every bit pattern exactly")
    func halfPrecision() throws {
        // All finite patterns: the exponent field is not all ones.
        let finiteHalf = (0...UInt16.max).filter { $0 & 0x7C00 != 0x7C00 }
        let finiteBrain = (0...UInt16.max).filter { $0 & 0x7F80 != 0x7F80 }
        func bytes(_ patterns: [UInt16]) -> [UInt8] { patterns.flatMap { p in withUnsafeBytes(of: p.littleEndian) { Array($0) } } }
        let data = rawSafeTensors(
            header: #"{"h":{"dtype":"F16","shape":[\#(finiteHalf.count)],"data_offsets":[0,\#(2 * finiteHalf.count)]},"b":{"dtype":"BF16","shape":[\#(finiteBrain.count)],"data_offsets":[\#(2 * finiteHalf.count),\#(2 * (finiteHalf.count + finiteBrain.count))]}}"#,
            data: bytes(finiteHalf) + bytes(finiteBrain))
        let file = try SafeTensors.parse(data, source: "halves")
        let h = try file.floats(file.entry(named: "h")!).scalars
        let b = try file.floats(file.entry(named: "b")!).scalars
        #expect(zip(finiteHalf, h).allSatisfy { Float(Float16(bitPattern: $0)).bitPattern == $1.bitPattern })
        #expect(zip(finiteBrain, b).allSatisfy { Float(bitPattern: UInt32($0) << 16).bitPattern == $1.bitPattern })
    }

    @Test("encode writes what parse reads back, values bit for bit")
    func roundTrip() throws {
        var random = LabRandom(seed: 3)
        let tensor = Tensor(shape: [3, 2, 2]) { random.fillUniform($0, low: -5, high: 5) }
        let data = SafeTensors.encode([("a.weight", .float32(tensor)), ("a.num_batches_tracked", .int64(shape: [], values: [42]))],
                                      metadata: ["note": "quote \" and \\ and \n"])
        let file = try SafeTensors.parse(data, source: "round-trip")
        #expect(try file.floats(file.entry(named: "a.weight")!).scalars == tensor.scalars)
        #expect(try file.integers(file.entry(named: "a.num_batches_tracked")!) == [42])
        #expect(file.metadata == ["note": "quote \" and \\ and \n"])
    }

    @Test("random corruptions of a real checkpoint give a value or a ModelImportError, never a crash")
    func corruptions() throws {
        let original = try Fixtures.data("mlp.safetensors")
        let architecture = try Fixtures.architecture("mlp")
        var random = LabRandom(seed: 2026).stream("corruptions")
        var accepted = 0, refused = 0
        for trial in 0..<400 {
            var bytes = [UInt8](original)
            switch trial % 4 {
            case 0:  // flip bytes in the header
                let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
                for _ in 0..<3 { bytes[8 + random.nextInt(below: headerLength)] ^= UInt8(1 + random.nextInt(below: 255)) }
            case 1:  // flip bytes anywhere
                for _ in 0..<4 { bytes[random.nextInt(below: bytes.count)] = UInt8(random.nextInt(below: 256)) }
            case 2:  // truncate
                bytes.removeLast(1 + random.nextInt(below: bytes.count - 1))
            default:  // corrupt the header length
                bytes[random.nextInt(below: 8)] = UInt8(random.nextInt(below: 256))
            }
            do {
                _ = try ImportedModel(checkpoint: Data(bytes), source: "corrupt", architecture: architecture)
                accepted += 1
            } catch {
                #expect(error.file == "corrupt")
                refused += 1
            }
        }
        #expect(accepted + refused == 400)
        #expect(refused > 200)
    }
}
