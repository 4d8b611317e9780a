import Codecs
import Testing

/// `gzip.compress(payload, mtime=0)` of `fixturePayload`, made once with Python's gzip module.
private let fixtureHex = """
1f8b08000000000002030b28ca2c4b4caef4494c52284a4d4c295648afca2c5028c928ca2f4dcf50a8cac94cd25308185533aa\
6654cda89a5135a36a46d58caa195533aa6654cda89a5135a36a46d58caa195533aa6654cda89a5135a36a46d58caa195533aa\
6654cdb050c3c0c8c4ccc2cac6cec1c9c5cdc3cbc72f2028242c222a262e2129252d232b27afa0a8a4aca2aaa6aea1a9a5ada3\
aba76f6068646c626a666e6169656d636b67efe0e8e4ece2eae6eee1e9e5ede3ebe71f1018141c121a161e1119151d131b179f\
9098949c929a969e9199959d939b975f5058545c525a565e5159555d535b57dfd0d8d4dcd2dad6ded1d9d5ddd3dbd73f61e2a4\
c953a64e9b3e63e6acd973e6ce9bbf60e1a2c54b962e5bbe62e5aad56bd6ae5bbf61e3a6cd5bb66edbbe63e7aedd7bf6eedb7f\
e0e0a1c3478e1e3b7ee2e4a9d367ce9e3b7fe1e2a5cb57ae5ebb7ee3e6addb77eedebbffe0e1a3c74f9e3e7bfee2e5abd76fde\
be7bffe1e3a7cf5fbe7efbfee3e7afdf7ffefefb0f00bd29d786201d0000
"""

private func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { i in
        UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16)!
    }
}

private var fixturePayload: [UInt8] {
    Array(String(repeating: "PrivacyLab reads gzip through zlib. ", count: 200).utf8) + (0...255).map { UInt8($0) }
}

/// CRC-32 (IEEE, reflected), the slow bitwise oracle, for building gzip members by hand.
private func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// A gzip member whose deflate data are "stored" blocks (RFC 1951 §3.2.4): an independent
/// encoder to check inflate against, for any payload.
private func storedGzipMember(_ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
    var offset = 0
    repeat {
        let n = min(65535, payload.count - offset)
        let final: UInt8 = offset + n == payload.count ? 1 : 0
        out.append(final)  // BFINAL, BTYPE = 00, padded to the byte boundary
        out += [UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
        out += payload[offset..<offset + n]
        offset += n
    } while offset < payload.count
    let crc = crc32(payload), size = UInt32(truncatingIfNeeded: payload.count)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
    return out
}

/// A gzip member of `payload` compressed by zlib's deflate (the zlib wrapper's 2-byte header and
/// Adler-32 trailer replaced by gzip's): small for repetitive data, as a gzip bomb is.
private func deflatedGzipMember(_ payload: [UInt8]) -> [UInt8] {
    let zlib = Zlib.compress(payload, level: 9)
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]
    out += zlib[2..<(zlib.count - 4)]
    let crc = crc32(payload), size = UInt32(truncatingIfNeeded: payload.count)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
    return out
}

/// A small deterministic generator for test payloads (SplitMix64).
private struct TestBytes {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

@Suite("Gzip")
struct GzipTests {
    @Test("decompresses a gzip file made by Python's gzip module")
    func pythonFixture() throws {
        let out = try Gzip.decompress(bytes(hex: fixtureHex))
        #expect(out == fixturePayload)
    }

    @Test("inflate matches the payload of stored-block members of many sizes")
    func storedMembers() throws {
        var gen = TestBytes(state: 7)
        for size in [0, 1, 2, 63, 64, 1000, 65535, 65536, 200_000] {
            let payload = gen.bytes(size)
            #expect(try Gzip.decompress(storedGzipMember(payload)) == payload, "size \(size)")
        }
    }

    @Test("multi-member streams decompress to the concatenation")
    func multiMember() throws {
        var gen = TestBytes(state: 11)
        let a = gen.bytes(5000), b = gen.bytes(70_000)
        let stream = storedGzipMember(a) + bytes(hex: fixtureHex) + storedGzipMember(b)
        #expect(try Gzip.decompress(stream) == a + fixturePayload + b)
    }

    @Test("every truncation of a stream throws .truncated, never a partial result")
    func truncated() {
        let full = bytes(hex: fixtureHex)
        for cut in [3, 10, 11, 50, full.count / 2, full.count - 8, full.count - 1] {
            let prefix = Array(full.prefix(cut))
            #expect {
                _ = try Gzip.decompress(prefix)
            } throws: { error in
                guard case .truncated = error as? GzipError else { return false }
                return "\(error)".contains("truncated gzip stream")
            }
        }
    }

    @Test("a flipped byte in the deflate data or trailer is reported as corrupt")
    func corrupt() {
        let full = bytes(hex: fixtureHex)
        // Inside the deflate stream, in the CRC-32 and in the ISIZE field.
        for position in [20, full.count / 2, full.count - 6, full.count - 2] {
            var broken = full
            broken[position] ^= 0x5a
            #expect(throws: GzipError.self) { try Gzip.decompress(broken) }
        }
        var badTrailer = full
        badTrailer[full.count - 7] ^= 1  // CRC-32
        #expect {
            _ = try Gzip.decompress(badTrailer)
        } throws: { error in
            guard case .corrupt(_, let reason) = error as? GzipError else { return false }
            return reason.contains("check")
        }
    }

    @Test("input without the gzip magic, and trailing garbage, are rejected with offsets")
    func notGzipAndTrailingGarbage() {
        #expect(throws: GzipError.notGzip(offset: 0, found: [0x50, 0x4b])) {
            try Gzip.decompress([0x50, 0x4b, 3, 4])
        }
        #expect(throws: GzipError.notGzip(offset: 0, found: [])) { try Gzip.decompress([]) }
        let full = bytes(hex: fixtureHex)
        #expect(throws: GzipError.trailingGarbage(offset: full.count, count: 3)) {
            try Gzip.decompress(full + [1, 2, 3])
        }
    }

    @Test("streaming decompression hands over the same bytes in pieces of at most chunkSize")
    func streaming() throws {
        var gen = TestBytes(state: 13)
        let payload = gen.bytes(300_000)
        let stream = storedGzipMember(Array(payload[..<1000])) + bytes(hex: fixtureHex) + storedGzipMember(Array(payload[1000...]))
        let expected = Array(payload[..<1000]) + fixturePayload + Array(payload[1000...])
        for chunk in [64, 1000, 1 << 18] {
            var out: [UInt8] = []
            var largest = 0
            try stream.withUnsafeBytes { input in
                try Gzip.decompress(input, chunkSize: chunk) { piece in
                    largest = max(largest, piece.count)
                    out.append(contentsOf: piece)
                }
            }
            #expect(out == expected && largest <= chunk)
        }
        let truncated = Array(stream.dropLast(10))
        #expect(throws: GzipError.self) {
            try truncated.withUnsafeBytes { input in try Gzip.decompress(input, chunkSize: 4096) { _ in } }
        }
    }

    @Test("a decompressed prefix reads only the first bytes")
    func prefix() throws {
        let full = bytes(hex: fixtureHex)
        let head = try full.withUnsafeBytes { input in try Gzip.decompressedPrefix(input, count: 16) }
        #expect(head == Array(fixturePayload.prefix(16)))
        let all = try full.withUnsafeBytes { input in try Gzip.decompressedPrefix(input, count: 1 << 20) }
        #expect(all == fixturePayload)
    }

    @Test("a gzip bomb (10 MiB of zeros in a few KB) stops at maximumOutputSize while inflating")
    func bomb() throws {
        let zeros = [UInt8](repeating: 0, count: 10 << 20)
        let bomb = deflatedGzipMember(zeros)
        #expect(bomb.count < 20_000)
        let limit = 1 << 20
        #expect(throws: GzipError.outputTooLarge(limit: limit)) { try Gzip.decompress(bomb, maximumOutputSize: limit) }
        // Piece by piece: no more than the limit is ever handed over before the error.
        var handedOver = 0
        #expect(throws: GzipError.outputTooLarge(limit: limit)) {
            try bomb.withUnsafeBytes { input in
                try Gzip.decompress(input, chunkSize: 4096, maximumOutputSize: limit) { handedOver += $0.count }
            }
        }
        #expect(handedOver <= limit)
        // The limit is inclusive: exactly the stream's size passes, one byte less does not.
        #expect(try Gzip.decompress(bomb, maximumOutputSize: zeros.count) == zeros)
        #expect(throws: GzipError.outputTooLarge(limit: zeros.count - 1)) {
            try Gzip.decompress(bomb, maximumOutputSize: zeros.count - 1)
        }
        // The limit counts every member of a multi-member stream.
        let member = deflatedGzipMember([UInt8](repeating: 7, count: 3 << 18))
        #expect(try Gzip.decompress(member + member, maximumOutputSize: 6 << 18).count == 6 << 18)
        #expect(throws: GzipError.outputTooLarge(limit: 5 << 18)) { try Gzip.decompress(member + member, maximumOutputSize: 5 << 18) }
        #expect(throws: GzipError.outputTooLarge(limit: 0)) { try Gzip.decompress(member, maximumOutputSize: 0) }
        #expect(GzipError.outputTooLarge(limit: limit).description == "the gzip stream decompresses to more than 1048576 bytes, the most expected here")
    }
}
