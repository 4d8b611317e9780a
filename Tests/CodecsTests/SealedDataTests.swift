import Codecs
import Foundation
import Testing

@Suite("Sealed data (AES-256-GCM envelope)")
struct SealedDataTests {
    struct Vector: Decodable {
        var key, nonce, context, plaintext, sealed: String
    }
    struct VectorFile: Decodable {
        var vectors: [Vector]
    }

    static func bytes(hex: String) -> [UInt8] {
        let utf8 = Array(hex.utf8)
        return stride(from: 0, to: utf8.count, by: 2).map { UInt8(String(decoding: utf8[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    static func vectors() throws -> [Vector] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/sealed-data/vectors", withExtension: "json"))
        return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url)).vectors
    }

    /// A random generator for the laws, seeded per test so failures repeat.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("known-answer vectors from pyca/cryptography: the envelope's bytes, and opening them")
    func knownAnswers() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 6)
        for v in vectors {
            let key = try #require(SecretKey(bytes: Self.bytes(hex: v.key)))
            let context = Self.bytes(hex: v.context), plaintext = Self.bytes(hex: v.plaintext), sealed = Self.bytes(hex: v.sealed)
            #expect(try SealedData.insecureSeal(plaintext, using: key, context: context, fixedNonce: Self.bytes(hex: v.nonce)) == sealed)
            #expect(try SealedData.open(sealed, using: key, context: context) == plaintext)
            #expect(sealed.count == plaintext.count + SealedData.overhead)
        }
    }

    @Test("law: open(seal(p)) == p, and sealing twice gives two ciphertexts (fresh nonces)")
    func roundTrip() throws {
        var random = SplitMix(state: 1)
        let key = SecretKey.random()
        for size in [0, 1, 15, 16, 17, 255, 4096, 100_003] {
            let plaintext = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let context = Array("artifact \(size)".utf8)
            let a = SealedData.seal(plaintext, using: key, context: context), b = SealedData.seal(plaintext, using: key, context: context)
            #expect(a != b)
            #expect(try SealedData.open(a, using: key, context: context) == plaintext)
            #expect(try SealedData.open(b, using: key, context: context) == plaintext)
        }
    }

    @Test("law: every flipped bit, every truncation, another key and another context are refused")
    func tampering() throws {
        let key = SecretKey.random()
        let plaintext = Array("a checkpoint's weights".utf8), context = Array("artifact 1".utf8)
        let sealed = SealedData.seal(plaintext, using: key, context: context)
        for index in sealed.indices {
            for bit in 0..<8 {
                var changed = sealed
                changed[index] ^= 1 << bit
                let error = #expect(throws: SealedDataError.self) { try SealedData.open(changed, using: key, context: context) }
                switch index {
                case 0..<4: #expect(error == .notSealed)
                case 4: #expect(error == .unsupportedVersion(changed[4]))
                case 5: #expect(error == .unsupportedAlgorithm(changed[5]))
                default: #expect(error == .authenticationFailed)
                }
            }
        }
        for length in 0..<sealed.count {
            let error = #expect(throws: SealedDataError.self) { try SealedData.open(sealed.prefix(length), using: key, context: context) }
            #expect(length >= SealedData.overhead ? error == .authenticationFailed : error == .truncated(byteCount: length))
        }
        #expect(throws: SealedDataError.authenticationFailed) { try SealedData.open(sealed, using: SecretKey.random(), context: context) }
        #expect(throws: SealedDataError.authenticationFailed) { try SealedData.open(sealed, using: key, context: Array("artifact 2".utf8)) }
        #expect(throws: SealedDataError.notSealed) { try SealedData.open(plaintext + [UInt8](repeating: 0, count: 40), using: key, context: context) }
    }

    @Test("a key sealed under another opens only under it, and a key never prints")
    func wrapping() throws {
        let kek = SecretKey.random(), dataKey = SecretKey.random()
        let context = Array("store data key".utf8)
        let wrapped = dataKey.sealed(under: kek, context: context)
        let unwrapped = try SecretKey(unsealing: wrapped, under: kek, context: context)
        // The unwrapped key is the same key: what it seals, the original opens.
        let message = Array("scores".utf8)
        #expect(try SealedData.open(SealedData.seal(message, using: unwrapped, context: []), using: dataKey, context: []) == message)
        #expect(throws: SealedDataError.authenticationFailed) { try SecretKey(unsealing: wrapped, under: SecretKey.random(), context: context) }
        let hex = String(decoding: dataKey.hexDigits(), as: UTF8.self)
        for text in ["\(dataKey)", String(reflecting: dataKey), "\([dataKey])"] {
            #expect(!text.contains(hex) && !text.contains(hex.uppercased()) && text.contains("redacted"))
        }
    }

    @Test("key text: 64 hex digits or 44 base64 characters, with surrounding whitespace; nothing else")
    func keyText() throws {
        let bytes = (0..<32).map { UInt8($0 * 7 + 3) }
        let key = try #require(SecretKey(bytes: bytes))
        let hex = String(decoding: key.hexDigits(), as: UTF8.self)
        #expect(hex == bytes.map { String(format: "%02x", $0) }.joined())
        let base64 = Data(bytes).base64EncodedString()
        #expect(base64.count == 44)
        let message = Array("m".utf8)
        let sealed = SealedData.seal(message, using: key, context: [])
        for text in [hex, hex.uppercased(), "  \(hex)\n", base64, "\n\(base64)\r\n"] {
            let parsed = try #require(SecretKey(text: Array(text.utf8)), "\(text.count) characters")
            #expect(try SealedData.open(sealed, using: parsed, context: []) == message)
        }
        var badHex = Array(hex.utf8)
        badHex[17] = UInt8(ascii: "g")
        var badBase64 = Array(base64.utf8)
        badBase64[3] = UInt8(ascii: "*")
        var unpadded = Array(base64.utf8)
        unpadded[43] = UInt8(ascii: "A")
        var stray = Array(base64.utf8)
        stray[42] = UInt8(ascii: "B")  // nonzero trailing bits: not the canonical encoding of 32 bytes
        for text in [badHex, badBase64, unpadded, stray, Array(hex.utf8.dropLast()), Array((hex + "0").utf8), [], Array("secret".utf8)] {
            #expect(SecretKey(text: text) == nil, "\(text.count) characters")
        }
        // The 43rd character carries 4 bits and 2 zero bits: 'B' (1) is never the canonical one.
        #expect(SecretKey(text: stray) == nil)
    }
}
