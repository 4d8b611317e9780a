import BigIntegerModule
import Paillier
import Testing

@Suite struct KeyGenerationTests {
    @Test func shortAndOddSizesAreRefused() {
        #expect(throws: PaillierError.keyTooShort(bits: 1024, minimum: 2048)) {
            _ = try PaillierPrivateKey.generate(bits: 1024)
        }
        #expect(throws: PaillierError.self) { _ = try PaillierPrivateKey.insecureGenerate(bits: 1023) }
        #expect(throws: PaillierError.self) { _ = try PaillierPublicKey(n: Fixtures.key1024.publicKey.n) }
        #expect(throws: PaillierError.self) {
            _ = try PaillierPrivateKey(p: Fixtures.key1024.p, q: Fixtures.key1024.q)
        }
    }

    @Test func insecureKeysFollowTheGenerationRules() throws {
        var rng = SplitMix64(seed: 200)
        for bits in [512, 1024] {
            let key = try PaillierPrivateKey.insecureGenerate(bits: bits, using: &rng)
            let p = key.p, q = key.q
            #expect(key.publicKey.bits == bits)
            #expect(p.bitWidth == bits / 2 && q.bitWidth == bits / 2)
            #expect(p.testBit(bits / 2 - 2) && q.testBit(bits / 2 - 2))
            #expect(p != q && p < q)
            #expect(p.isProbablePrime() && q.isProbablePrime())
            #expect(BigInteger.gcd(key.publicKey.n, (p - 1) * (q - 1)) == 1)
            #expect(key.publicKey.g == key.publicKey.n + 1)
            #expect(key.publicKey.maxInt == key.publicKey.n / 3 - 1)
        }
        // A seed gives the same key; the OS CSPRNG gives different ones.
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        #expect(try PaillierPrivateKey.insecureGenerate(bits: 512, using: &a).publicKey
                == PaillierPrivateKey.insecureGenerate(bits: 512, using: &b).publicKey)
        #expect(try PaillierPrivateKey.insecureGenerate(bits: 512).publicKey
                != PaillierPrivateKey.insecureGenerate(bits: 512).publicKey)
    }

    @Test func standardKeysRoundTrip() throws {
        let key2048 = try PaillierPrivateKey.generate(bits: 2048)
        #expect(key2048.publicKey.bits == 2048)
        let key = try PaillierPrivateKey.generate()  // the 3072-bit default
        #expect(key.publicKey.bits == PaillierKeySize.defaultBits)
        let m = BigInteger.random(below: key.publicKey.n)
        let c = try key.publicKey.encrypt(m)
        #expect(try key.decrypt(c) == m)
        let fast = PaillierFastEncryptor(publicKey: key.publicKey)
        #expect(fast.exponentBits == 256)
        #expect(try key.decrypt(fast.encrypt(m) + c) == (m + m).modulo(key.publicKey.n))
        #expect(try key2048.decrypt(key2048.encrypt(m.modulo(key2048.publicKey.n))) == m.modulo(key2048.publicKey.n))
    }

    @Test func inconsistentKeyMaterialIsRefused() {
        let key = Fixtures.key1024
        let policy = PaillierKeySizePolicy.insecureAllowingShortKeys
        #expect(throws: PaillierError.invalidKey(field: "p, q", reason: "p and q must be different")) {
            _ = try PaillierPrivateKey(p: key.p, q: key.p, sizePolicy: policy)
        }
        #expect(throws: PaillierError.invalidKey(field: "n", reason: "the public modulus n is not p·q")) {
            let other = try PaillierPublicKey(n: key.publicKey.n + 2, sizePolicy: policy)
            _ = try PaillierPrivateKey(publicKey: other, p: key.p, q: key.q, sizePolicy: policy)
        }
        #expect(throws: PaillierError.self) {
            _ = try PaillierPrivateKey(p: key.p * 3, q: key.q, sizePolicy: policy)  // composite
        }
    }
}
