import Codecs
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    /// FIPS 180-4 examples and the NIST CSRC / CAVP short-message vectors.
    static let vectors: [(message: String, digest: String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ]

    @Test("NIST known-answer vectors", arguments: 0..<4)
    func nistVectors(index: Int) {
        let (message, digest) = Self.vectors[index]
        #expect(SHA256.hash(utf8: message).hex == digest)
    }

    @Test("NIST: one million repetitions of 'a', fed in uneven pieces")
    func millionA() {
        let a = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(a).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var hasher = SHA256()
        var offset = 0, step = 1
        while offset < a.count {
            let n = min(step, a.count - offset)
            hasher.update(Array(a[offset..<offset + n]))
            offset += n
            step = step * 3 % 1000 + 1
        }
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("NIST CAVP byte-oriented vectors (SHA256ShortMsg / LongMsg samples)")
    func cavpBytes() {
        // Len = 8, Msg = d3
        #expect(SHA256.hash([0xd3]).hex == "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1")
        // Len = 16, Msg = 11af
        #expect(SHA256.hash([0x11, 0xaf]).hex == "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98")
    }

    @Test("digests are independent of how the message is split (lengths 0..<300)")
    func splitInvariance() {
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in stride(from: 0, to: 300, by: 7) {
            let m = Array(message.prefix(length))
            let oneShot = SHA256.hash(m)
            for cut in [0, length / 3, length / 2, length] {
                var hasher = SHA256()
                hasher.update(Array(m[..<cut]))
                hasher.update(Array(m[cut...]))
                #expect(hasher.finalize() == oneShot, "length \(length) cut \(cut)")
            }
        }
    }

    @Test("hex round trip and rejection of malformed hex")
    func hexParsing() {
        let digest = SHA256.hash(utf8: "abc")
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(hex: digest.hex.uppercased()) == digest)
        #expect(SHA256Digest(hex: "abc") == nil)
        #expect(SHA256Digest(hex: String(repeating: "g", count: 64)) == nil)
    }
}
