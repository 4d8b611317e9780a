import Codecs
import Foundation
import Testing

/// Known answers: fixtures written by NumPy (`scripts/numpy_fixtures.py`), whose values are
/// functions of the element index, recomputed here.
@Suite("NumPy .npy and .npz")
struct NumpyTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil), "missing fixture \(name)")
        return try InputFile.read(url, maximumBytes: 1 << 20)
    }

    /// (k · 7) mod 11 − 3.25: the float fixtures' k-th element.
    static func floatValue(_ k: Int) -> Double { Double((k * 7) % 11) - 3.25 }
    /// (k · 5) mod 13 − 6: the integer fixtures' k-th element.
    static func intValue(_ k: Int) -> Int { (k * 5) % 13 - 6 }

    @Test("every float dtype and byte order reads NumPy's values", arguments: ["f2", "f4", "f8"], ["le", "be"])
    func floats(code: String, end: String) throws {
        let array = try NumpyArray(npy: Self.fixture("float-\(code)-\(end).npy"))
        #expect(array.shape == [3, 4])
        #expect(array.dataType.rawValue == code)
        #expect(array.doubles() == (0..<12).map(Self.floatValue))
        #expect(array.floats() == (0..<12).map { Float(Self.floatValue($0)) })
        // Whole numbers only where the values are integers: -3.25 etc. are not.
        #expect(throws: NumpyError.self) { try array.integers() }
    }

    @Test("every integer dtype and byte order reads NumPy's values", arguments: ["i2", "i4", "i8"], ["le", "be"])
    func signedIntegers(code: String, end: String) throws {
        let array = try NumpyArray(npy: Self.fixture("int-\(code)-\(end).npy"))
        #expect(array.shape == [3, 4])
        #expect(try array.integers() == (0..<12).map(Self.intValue))
        #expect(array.doubles() == (0..<12).map { Double(Self.intValue($0)) })
        let unsigned = try NumpyArray(npy: Self.fixture("uint-u\(code.dropFirst())-\(end).npy"))
        #expect(try unsigned.integers() == (0..<12).map { Self.intValue($0) + 6 })
    }

    @Test("one-byte integers and bools")
    func bytes() throws {
        #expect(try NumpyArray(npy: Self.fixture("int-i1.npy")).integers() == (0..<12).map(Self.intValue))
        #expect(try NumpyArray(npy: Self.fixture("uint-u1.npy")).integers() == (0..<12).map { Self.intValue($0) + 6 })
        let mask = try NumpyArray(npy: Self.fixture("bool.npy"))
        #expect(mask.dataType == .bool && mask.shape == [10])
        #expect(try mask.booleans() == (0..<10).map { $0 % 3 == 0 })
        #expect(try mask.integers() == (0..<10).map { $0 % 3 == 0 ? 1 : 0 })
    }

    @Test("Fortran-order arrays come back in C order")
    func fortran() throws {
        let matrix = try NumpyArray(npy: Self.fixture("fortran-2d.npy"))
        #expect(matrix.shape == [3, 4])
        #expect(matrix.doubles() == (0..<12).map(Self.floatValue))
        let cube = try NumpyArray(npy: Self.fixture("fortran-3d.npy"))
        #expect(cube.shape == [2, 3, 4])
        #expect(try cube.integers() == (0..<24).map(Self.intValue))
    }

    @Test("format versions 2.0 and 3.0, scalars, empty arrays, float16 specials")
    func versionsAndEdges() throws {
        for name in ["version2.npy", "version3.npy"] {
            let array = try NumpyArray(npy: Self.fixture(name))
            #expect(array.shape == [3, 4] && array.doubles() == (0..<12).map(Self.floatValue))
        }
        let scalar = try NumpyArray(npy: Self.fixture("scalar.npy"))
        #expect(scalar.shape == [] && scalar.doubles() == [2.5])
        let empty = try NumpyArray(npy: Self.fixture("empty.npy"))
        #expect(empty.shape == [0, 5] && empty.count == 0)
        let half = try NumpyArray(npy: Self.fixture("float16-special.npy")).doubles()
        #expect(half[0] == 0x1p-24)   // 6e-8 rounds to the smallest subnormal half
        #expect(half[1] == -.infinity && half[2] == .infinity && half[3].isNaN)
        #expect(half[4] == 0 && half[4].sign == .minus)
        #expect(half[5] == 65504)
        #expect(half[6] == Double(Float(bitPattern: 0x3EAA_A000)))   // 1/3 in half precision: 0x3555
    }

    @Test("np.savez and np.savez_compressed archives", arguments: ["stored.npz", "deflated.npz"])
    func archives(name: String) throws {
        let archive = try NumpyArchive(npz: Self.fixture(name), maximumMemberBytes: 1 << 20)
        #expect(Set(archive.names) == ["logits", "labels"])
        #expect(archive.members.allSatisfy { $0.method == (name == "stored.npz" ? 0 : 8) })
        let logits = try archive.array(named: "logits")
        #expect(logits.shape == [3, 4] && logits.doubles() == (0..<12).map(Self.floatValue))
        #expect(try archive.array(named: "labels.npy").integers() == [0, 3, 1])
        let missing = #expect(throws: NumpyError.self) { try archive.array(named: "members") }
        #expect(missing?.kind == .missingMember)
        #expect(missing?.reason.contains("labels") == true)
        // The limit is checked against the announced size before anything is inflated.
        let small = try NumpyArchive(npz: Self.fixture(name), maximumMemberBytes: 100)
        #expect((#expect(throws: NumpyError.self) { try small.array(named: "logits") })?.kind == .tooLarge)
    }

    @Test("written archives read back, and np.savez's stored fixture is laid out the same way")
    func writtenArchives() throws {
        let a = NumpyArray(shape: [2, 3], values: [Float](arrayLiteral: 1, -2, 3.5, 0, 1e-3, -7))
        let b = NumpyArray(shape: [4], values: [Double](arrayLiteral: 0.25, -1, 2, 1e300))
        let bytes = NumpyArchive.npzBytes([("0.weight", a), ("0.bias", b)])
        let archive = try NumpyArchive(npz: bytes, maximumMemberBytes: 1 << 20)
        #expect(archive.names == ["0.weight", "0.bias"])
        #expect(archive.members.allSatisfy { $0.method == 0 })
        #expect(try archive.array(named: "0.weight") == a)
        #expect(try archive.array(named: "0.bias") == b)
        // np.savez's own stored archive, rewritten from its arrays, reads back to the same arrays.
        let fixture = try NumpyArchive(npz: Self.fixture("stored.npz"), maximumMemberBytes: 1 << 20)
        let arrays = try fixture.names.map { (name: $0, array: try fixture.array(named: $0)) }
        let again = try NumpyArchive(npz: NumpyArchive.npzBytes(arrays), maximumMemberBytes: 1 << 20)
        for (name, array) in arrays { #expect(try again.array(named: name) == array) }
        #expect(NumpyArchive.npzBytes([]).count == 22)
        #expect(try NumpyArchive(npz: NumpyArchive.npzBytes([]), maximumMemberBytes: 1).names.isEmpty)
    }

    @Test("a corrupted archive member fails its checks")
    func corruptArchive() throws {
        var bytes = try Self.fixture("deflated.npz")
        let archive = try NumpyArchive(npz: bytes, maximumMemberBytes: 1 << 20)
        let member = try #require(archive.member(named: "logits"))
        // Flip bits in the middle of the compressed data: inflate or the CRC must catch it.
        let target = try Self.dataOffset(of: member, in: bytes) + member.compressedSize / 2
        bytes[target] ^= 0x5A
        let damaged = try NumpyArchive(npz: bytes, maximumMemberBytes: 1 << 20)
        #expect((#expect(throws: NumpyError.self) { try damaged.array(named: "logits") })?.kind == .malformed)
        // Truncated archives lose their directory.
        #expect(throws: NumpyError.self) { try NumpyArchive(npz: Array(bytes.prefix(bytes.count - 30)), maximumMemberBytes: 1 << 20) }
        #expect((#expect(throws: NumpyError.self) { try NumpyArchive(npz: Array("not a zip".utf8), maximumMemberBytes: 10) })?.kind == .notNumpy)
    }

    /// Finds a member's data by its local header (name, then extra field, then data).
    static func dataOffset(of member: NumpyArchive.Member, in bytes: [UInt8]) throws -> Int {
        let name = Array(member.fileName.utf8)
        for at in 0..<(bytes.count - 30) where bytes[at] == 0x50 && bytes[at + 1] == 0x4b && bytes[at + 2] == 3 && bytes[at + 3] == 4 {
            let nameLength = Int(bytes[at + 26]) | Int(bytes[at + 27]) << 8
            let extraLength = Int(bytes[at + 28]) | Int(bytes[at + 29]) << 8
            if Array(bytes[(at + 30)..<(at + 30 + nameLength)]) == name { return at + 30 + nameLength + extraLength }
        }
        throw NumpyError(.missingMember, "no local header")
    }

    @Test("arrays we write read back identically, in every element type")
    func roundTrip() throws {
        let arrays = [
            NumpyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5] as [Float]),
            NumpyArray(shape: [3], values: [0.1, 1e-300, -2.5] as [Double]),
            NumpyArray(shape: [4], values: [0, -1, Int.max, Int.min] as [Int]),
            NumpyArray(shape: [2, 2], values: [0, 1, 1, 0] as [UInt8]),
            NumpyArray(shape: [3], values: [true, false, true]),
            NumpyArray(shape: [0], values: [Double]()),
        ]
        for array in arrays {
            let bytes = array.npyBytes()
            #expect((10 + (Int(bytes[8]) | Int(bytes[9]) << 8)) % 64 == 0, "the data start on a 64-byte boundary")
            #expect(try NumpyArray(npy: bytes) == array)
        }
        #expect(try arrays[2].integers() == [0, -1, Int.max, Int.min])
    }

    /// An `.npy` file with the given header text and data bytes (version 1.0).
    static func npy(_ header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let text = Array(header.utf8)
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        if version == 1 {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        } else {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
        }
        return bytes + text + data
    }

    @Test("the header is parsed as a dict literal: order, quotes, spacing and trailing commas are free")
    func headerSyntax() throws {
        let data = [UInt8](repeating: 0, count: 16)
        for header in [
            "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}",
            "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,2,)}   \n",
            "{ 'descr' : '=f4' , 'fortran_order' : False , 'shape' : ( 2 , 2 ) , }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }",
        ] {
            let array = try NumpyArray(npy: Self.npy(header, data: data))
            #expect(array.shape == [2, 2] && array.dataType == .float32, "header \(header)")
        }
        // A substring match would accept these; a parser does not.
        let misleading = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': \"'descr': '<f4'\"}"
        #expect((#expect(throws: NumpyError.self) { try NumpyArray(npy: Self.npy(misleading, data: data)) })?.kind == .malformed)
    }

    @Test("hostile headers each get one clear error", arguments: [
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", NumpyError.Kind.tooLarge, "more elements than fit"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }", .tooLarge, "needs more bytes"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", .tooLarge, "too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", .malformed, "negative extent -1"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", .sizeMismatch, "declares shape (3, 4) of float32 (48 bytes) but the file holds 16"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", .sizeMismatch, "holds 16"),
        ("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", .unsupported, "dtype '<c16' is not supported"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", .unsupported, "is not supported"),
        ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", .unsupported, "structured dtype"),
        ("{'descr': '|f4', 'fortran_order': False, 'shape': (4,), }", .malformed, "no byte order"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (4,), }", .malformed, "unexpected value 'false'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", .malformed, "not a tuple"),
        ("{'descr': '<f4', 'fortran_order': False}", .malformed, "missing: shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}", .malformed, "expected a value"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 'x'}", .malformed, "unexpected: extra"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", .malformed, "appears twice"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,) ", .malformed, "expected ',' or '}'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} trailing", .malformed, "after the closing"),
        ("['descr', '<f4']", .malformed, "expected '{'"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}", .malformed, "dict literal"),
    ])
    func hostileHeaders(header: String, kind: NumpyError.Kind, message: String) throws {
        let error = #expect(throws: NumpyError.self) { try NumpyArray(npy: Self.npy(header, data: [UInt8](repeating: 0, count: 16))) }
        #expect(error?.kind == kind, "\(header)")
        #expect(error?.reason.contains(message) == true, "\(error?.reason ?? "no error") should mention \(message)")
    }

    @Test("wrong magic, unknown versions, truncation and oversized headers")
    func hostileFiles() throws {
        let good = Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: [0, 0, 128, 63, 0, 0, 0, 64])
        #expect(try NumpyArray(npy: good).doubles() == [1, 2])
        let notNumpy = #expect(throws: NumpyError.self) { try NumpyArray(npy: Array("x,y\n1,2\n".utf8)) }
        #expect(notNumpy?.kind == .notNumpy)
        #expect(notNumpy?.reason.contains("found 78 2c 79 0a 31 2c") == true)
        #expect((#expect(throws: NumpyError.self) { try NumpyArray(npy: []) })?.reason.contains("an empty file") == true)
        var version = good
        version[6] = 4
        #expect((#expect(throws: NumpyError.self) { try NumpyArray(npy: version) })?.kind == .unsupported)
        // Every truncation of a good file is an error, never a crash.
        for length in 0..<good.count {
            #expect(throws: NumpyError.self) { try NumpyArray(npy: Array(good.prefix(length))) }
        }
        // A header length beyond the limit is refused before it is read.
        var huge: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0, 0, 0, 0, 1]
        huge += [UInt8](repeating: 0x20, count: 64)
        #expect((#expect(throws: NumpyError.self) { try NumpyArray(npy: huge) })?.kind == .tooLarge)
        // Any non-zero byte of a bool array is True, as NumPy reads it.
        let bools = Self.npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", data: [0, 1, 7])
        #expect(try NumpyArray(npy: bools).booleans() == [false, true, true])
    }

    @Test("conversions name the first element that does not fit")
    func conversions() throws {
        let labels = NumpyArray(shape: [2, 2], values: [0, 1, 2.5, 3] as [Double])
        let error = #expect(throws: NumpyError.self) { try labels.integers() }
        #expect(error?.kind == .badValue && error?.reason == "element [1, 0] is 2.5, not an integer")
        #expect(try NumpyArray(shape: [2], values: [3, -4] as [Double]).integers() == [3, -4])
        #expect(throws: NumpyError.self) { try NumpyArray(shape: [1], values: [Double.nan]).integers() }
        let mask = NumpyArray(shape: [3], values: [0, 1, 2] as [Int])
        #expect((#expect(throws: NumpyError.self) { try mask.booleans() })?.reason == "element [2] is 2, not 0 or 1")
        #expect(try NumpyArray(shape: [2], values: [1, 0] as [Float]).booleans() == [true, false])
        let big = NumpyArray(shape: [1], dataType: .uint64, storage: [UInt8](repeating: 0xFF, count: 8))
        #expect((#expect(throws: NumpyError.self) { try big.integers() })?.reason == "element [0] is 18446744073709551615, not an integer")
    }
}
