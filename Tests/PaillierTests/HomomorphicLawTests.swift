import BigIntegerModule
import Paillier
import Testing

/// Homomorphic laws checked against plaintext arithmetic mod n (the oracle) on random inputs.
@Suite struct HomomorphicLawTests {
    let key = Fixtures.key1024
    var publicKey: PaillierPublicKey { key.publicKey }

    @Test func rawRoundTripAndLaws() throws {
        var rng = SplitMix64(seed: 100)
        let n = publicKey.n
        for _ in 0..<25 {
            let a = BigInteger.random(below: n, using: &rng)
            let b = BigInteger.random(below: n, using: &rng)
            var k = BigInteger.random(bits: 200, using: &rng)
            if rng.next() & 1 == 0 { k = -k }
            let ca = try publicKey.insecureEncrypt(a, using: &rng)
            let cb = try publicKey.encrypt(b)
            #expect(try key.decrypt(ca) == a)
            #expect(try key.decrypt(ca + cb) == (a + b).modulo(n))
            #expect(try key.decrypt(ca - cb) == (a - b).modulo(n))
            #expect(try key.decrypt(ca + k) == (a + k).modulo(n))
            #expect(try key.decrypt(ca * k) == (a * k).modulo(n))
            #expect(try key.decrypt(k * ca) == (a * k).modulo(n))
            #expect(try key.decrypt(-ca) == (-a).modulo(n))
            let fresh = ca.rerandomized()
            #expect(fresh != ca)
            #expect(try key.decrypt(fresh) == a)
        }
    }

    @Test func encryptionIsRandomized() throws {
        let first = try publicKey.encrypt(BigInteger(7))
        let second = try publicKey.encrypt(BigInteger(7))
        #expect(first != second)
        #expect(try key.decrypt(first) == 7 && key.decrypt(second) == 7)
    }

    @Test func ownerCRTEncryptionMatchesClassicEncryption() throws {
        var rng = SplitMix64(seed: 101)
        for _ in 0..<20 {
            let m = BigInteger.random(below: publicKey.n, using: &rng)
            let r = BigInteger.random(below: publicKey.n - 1, using: &rng) + 1
            #expect(try key.insecureEncrypt(m, randomizer: r) == publicKey.insecureEncrypt(m, randomizer: r))
            #expect(try key.decrypt(key.encrypt(m)) == m)
        }
    }

    @Test func fastEncryptionDecryptsAndIsRandomized() throws {
        var rng = SplitMix64(seed: 102)
        for window in [1, 4, 6, 7] {
            let encryptor = PaillierFastEncryptor.insecure(publicKey: publicKey, window: window, using: &rng)
            #expect(encryptor.exponentBits == 160)
            for _ in 0..<10 {
                let m = BigInteger.random(below: publicKey.n, using: &rng)
                let c = try encryptor.encrypt(m)
                #expect(try key.decrypt(c) == m)
                #expect(try key.decrypt(c.rerandomized(using: encryptor)) == m)
            }
            #expect(try encryptor.encrypt(BigInteger(1)) != encryptor.encrypt(BigInteger(1)))
        }
        // The same seed gives the same tables and α, so the same ciphertext (known answers).
        var seedA = SplitMix64(seed: 7), seedB = SplitMix64(seed: 7)
        let e1 = PaillierFastEncryptor.insecure(publicKey: publicKey, using: &seedA)
        let e2 = PaillierFastEncryptor.insecure(publicKey: publicKey, using: &seedB)
        #expect(try e1.insecureEncrypt(BigInteger(5), using: &seedA) == e2.insecureEncrypt(BigInteger(5), using: &seedB))
    }

    @Test func batchesMatchOneByOne() throws {
        var rng = SplitMix64(seed: 103)
        let encryptor = PaillierFastEncryptor(publicKey: publicKey)
        let plaintexts = (0..<16).map { _ in BigInteger.random(below: publicKey.n, using: &rng) }
        let ciphertexts = try encryptor.encrypt(batch: plaintexts)
        #expect(try key.decrypt(batch: ciphertexts) == plaintexts)
        #expect(try ciphertexts.map { try key.decrypt($0) } == plaintexts)
        #expect(try key.decrypt(batch: publicKey.encrypt(batch: plaintexts)) == plaintexts)
        #expect(throws: PaillierError.self) { _ = try encryptor.encrypt(batch: [publicKey.n]) }
    }

    @Test func signedIntegersRoundTripAndOverflowIsDetected() throws {
        var rng = SplitMix64(seed: 104)
        for _ in 0..<20 {
            var k = BigInteger.random(below: publicKey.maxInt, using: &rng)
            if rng.next() & 1 == 0 { k = -k }
            #expect(try key.decrypt(signed: publicKey.encrypt(signed: k)) == k)
        }
        #expect(try key.decrypt(signed: publicKey.encrypt(signed: -publicKey.maxInt)) == -publicKey.maxInt)
        #expect(throws: PaillierError.self) { _ = try publicKey.encrypt(signed: publicKey.maxInt + 1) }
        // max_int + max_int lands in the overflow band.
        let big = try publicKey.encrypt(signed: publicKey.maxInt)
        #expect(throws: PaillierError.overflowDetected) { _ = try key.decrypt(signed: big + big) }
        // Raw plaintexts must lie in [0, n).
        #expect(throws: PaillierError.self) { _ = try publicKey.encrypt(publicKey.n) }
        #expect(throws: PaillierError.self) { _ = try publicKey.encrypt(BigInteger(-1)) }
    }

    @Test func encodedNumbersAddAndScaleLikeDoubles() throws {
        var rng = SplitMix64(seed: 105)
        for _ in 0..<20 {
            let a = Double(Int64(bitPattern: rng.next()) >> 20) / 1024
            let b = Double(Int64(bitPattern: rng.next()) >> 30) / 3
            let ea = try publicKey.encrypt(a), eb = try publicKey.encrypt(b)
            let sum = try key.decryptDouble(ea.adding(eb))
            #expect(abs(sum - (a + b)) <= 1e-9 * max(1, abs(a + b)))
            let scaled = try key.decryptDouble(ea.multiplied(by: -2.5))
            #expect(scaled == a * -2.5)
            let shifted = try key.decryptDouble(ea.adding(0.75))
            #expect(shifted == a + 0.75)
            #expect(try key.decryptDouble(ea.negated()) == -a)
            #expect(try key.decryptDouble(ea.subtracting(ea)) == 0)
        }
        #expect(throws: PaillierError.self) { _ = try publicKey.encrypt(Double.nan) }
        #expect(throws: PaillierError.self) { _ = try publicKey.encrypt(Double.infinity) }
        let x = try publicKey.encrypt(1.5)
        #expect(throws: PaillierError.self) { _ = try x.decreasingExponent(to: x.exponent + 1) }
    }

    @Test func exponentAlignmentKeepsTheSmallerExponent() throws {
        let coarse = try publicKey.encrypt(integer: BigInteger(3))          // exponent 0
        let fine = try publicKey.encrypt(0.0625, precision: 1e-6)  // exponent −5
        let sum = try coarse.adding(fine)
        #expect(sum.exponent == fine.exponent)
        #expect(try key.decryptDouble(sum) == 3.0625)
        #expect(try key.decrypt(coarse) == .integer(3))
    }
}
