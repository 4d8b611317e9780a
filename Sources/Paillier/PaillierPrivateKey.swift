public import BigIntegerModule
import Tensors

/// A Paillier private key: the primes p < q of n, with the constants of CRT decryption and CRT encryption.
///
/// Decryption (Paillier '99, §7, with g = n + 1): for each prime p,
///     m_p = L_p(c^(p−1) mod p²) · h_p mod p,   L_p(x) = (x − 1)/p,
///     h_p = L_p(g^(p−1) mod p²)⁻¹ mod p,
/// and m = m_p + p · ((m_q − m_p) · p⁻¹ mod q) by Garner's CRT. Exponents p − 1, q − 1 are secret:
/// they run through `mpz_powm_sec`.
///
/// Key generation: two random primes of |n|/2 bits each, the top two bits set (so n has exactly
/// |n| bits), p ≠ q, |p − q| > 2^(|n|/2 − 100) (no Fermat factoring), gcd(n, (p−1)(q−1)) = 1.
///
/// - Complexity: decryption and owner encryption cost two exponentiations with |n|/2-bit
///   exponents mod |n|-bit moduli, about 3–4× less than one |n|-bit exponent mod n².
///
/// Caveat: the primes are zeroed when the key's last copy goes away (BigInteger's storage), but
/// copies made by the caller (e.g. serialized JSON) are theirs to protect.
public struct PaillierPrivateKey: Sendable {
    public let publicKey: PaillierPublicKey
    /// The smaller prime.
    public let p: BigInteger
    /// The larger prime.
    public let q: BigInteger
    let pSquared: BigInteger
    let qSquared: BigInteger
    let pMinusOne: BigInteger
    let qMinusOne: BigInteger
    let hp: BigInteger
    let hq: BigInteger
    /// p⁻¹ mod q.
    let pInverse: BigInteger
    /// q mod (p−1) and p mod (q−1), for known-answer CRT encryption with a given r.
    let qModPMinusOne: BigInteger
    let pModQMinusOne: BigInteger
    /// (p²)⁻¹ mod q².
    let pSquaredInverse: BigInteger

    /// A private key from its primes, checked: distinct odd probable primes whose product has the
    /// allowed size, with gcd(n, φ(n)) = 1.
    public init(p: BigInteger, q: BigInteger, sizePolicy: PaillierKeySizePolicy = .standard) throws {
        guard p > 2, q > 2, p.isOdd, q.isOdd else {
            throw PaillierError.invalidKey(field: "p, q", reason: "expected odd primes")
        }
        guard p != q else {
            throw PaillierError.invalidKey(field: "p, q", reason: "p and q must be different")
        }
        let n = p * q
        try sizePolicy.check(bits: n.bitWidth)
        guard p.isProbablePrime(rounds: 25) else {
            throw PaillierError.invalidKey(field: "p", reason: "not a prime")
        }
        guard q.isProbablePrime(rounds: 25) else {
            throw PaillierError.invalidKey(field: "q", reason: "not a prime")
        }
        guard BigInteger.gcd(n, (p - 1) * (q - 1)) == 1 else {
            throw PaillierError.invalidKey(field: "p, q", reason: "gcd(n, (p−1)(q−1)) ≠ 1")
        }
        self.init(trustedP: p, q: q)
    }

    /// A private key for `publicKey` from its primes; throws when n ≠ p·q.
    public init(publicKey: PaillierPublicKey, p: BigInteger, q: BigInteger,
                sizePolicy: PaillierKeySizePolicy = .standard) throws {
        guard p * q == publicKey.n else {
            throw PaillierError.invalidKey(field: "n", reason: "the public modulus n is not p·q")
        }
        try self.init(p: p, q: q, sizePolicy: sizePolicy)
    }

    init(trustedP first: BigInteger, q second: BigInteger) {
        let (p, q) = first < second ? (first, second) : (second, first)
        let publicKey = PaillierPublicKey(trustedN: p * q)
        self.publicKey = publicKey
        self.p = p
        self.q = q
        pSquared = p * p
        qSquared = q * q
        pMinusOne = p - 1
        qMinusOne = q - 1
        let g = publicKey.g
        func h(_ prime: BigInteger, _ square: BigInteger, _ exponent: BigInteger) -> BigInteger {
            let l = (g.securePower(exponent, modulo: square) - 1) / prime
            return l.inverse(modulo: prime)!
        }
        hp = h(p, pSquared, pMinusOne)
        hq = h(q, qSquared, qMinusOne)
        pInverse = p.inverse(modulo: q)!
        qModPMinusOne = q.modulo(pMinusOne)
        pModQMinusOne = p.modulo(qMinusOne)
        pSquaredInverse = pSquared.inverse(modulo: qSquared)!
    }

    // MARK: Generation

    /// Generates a key with primes from the OS CSPRNG. `bits` must be even and at least 2048.
    ///
    /// - Complexity: dominated by the prime searches, about a second for 3072 bits.
    public static func generate(bits: Int = PaillierKeySize.defaultBits) throws -> PaillierPrivateKey {
        try PaillierKeySizePolicy.standard.check(bits: bits)
        var random = OSRandom()
        return try generate(bits: bits, generator: &random)
    }

    /// Generates a key of any size with primes drawn from `generator`: a seeded generator gives a
    /// reproducible (and therefore public) key. For tests only.
    public static func insecureGenerate<G: RandomNumberGenerator>(bits: Int, using generator: inout G) throws -> PaillierPrivateKey {
        try generate(bits: bits, generator: &generator)
    }

    /// Generates a key of any size (shorter than 2048 bits allowed) from the OS CSPRNG. For tests only.
    public static func insecureGenerate(bits: Int) throws -> PaillierPrivateKey {
        var random = OSRandom()
        return try generate(bits: bits, generator: &random)
    }

    static func generate<G: RandomNumberGenerator>(bits: Int, generator: inout G) throws -> PaillierPrivateKey {
        guard bits % 2 == 0 else {
            throw PaillierError.invalidKeySize(bits: bits, reason: "the modulus size must be even (two equal-length primes)")
        }
        guard bits >= 128 else {
            throw PaillierError.invalidKeySize(bits: bits, reason: "at least 128 bits are needed to hold two distinct primes")
        }
        guard bits <= PaillierKeySize.maximumBits else {
            throw PaillierError.keyTooLong(bits: bits, maximum: PaillierKeySize.maximumBits)
        }
        let half = bits / 2
        let minimumDistance = BigInteger(1) << max(half - 100, half / 2)
        while true {
            let p = BigInteger.randomProbablePrime(bits: half, using: &generator)
            let q = BigInteger.randomProbablePrime(bits: half, using: &generator)
            guard p != q, (p - q).magnitude > minimumDistance else { continue }
            let n = p * q
            guard n.bitWidth == bits, BigInteger.gcd(n, (p - 1) * (q - 1)) == 1 else { continue }
            return PaillierPrivateKey(trustedP: p, q: q)
        }
    }

    // MARK: Decryption

    /// The plaintext m ∈ [0, n) of `ciphertext`, by CRT with `mpz_powm_sec`.
    public func decrypt(_ ciphertext: PaillierCiphertext) throws -> BigInteger {
        guard ciphertext.publicKey == publicKey else { throw PaillierError.differentKeys }
        let c = ciphertext.value
        let mp = l(c.modulo(pSquared).securePower(pMinusOne, modulo: pSquared), p).multiplied(by: hp, modulo: p)
        let mq = l(c.modulo(qSquared).securePower(qMinusOne, modulo: qSquared), q).multiplied(by: hq, modulo: q)
        return (mq - mp).multiplied(by: pInverse, modulo: q) * p + mp
    }

    /// L(x) = (x − 1)/prime.
    @inline(__always)
    func l(_ x: BigInteger, _ prime: BigInteger) -> BigInteger { (x - 1) / prime }

    /// The signed integer of `ciphertext` (negatives encoded as n − |k|); throws on overflow.
    public func decrypt(signed ciphertext: PaillierCiphertext) throws -> BigInteger {
        try publicKey.decodeSigned(decrypt(ciphertext))
    }

    /// Decrypts many ciphertexts on all cores.
    public func decrypt(batch ciphertexts: [PaillierCiphertext]) throws -> [BigInteger] {
        for c in ciphertexts where c.publicKey != publicKey { throw PaillierError.differentKeys }
        return ParallelMap.concurrentMap(count: ciphertexts.count, concurrency: Swift.max(1, ciphertexts.count)) { [ciphertexts] index in
            (try? self.decrypt(ciphertexts[index]))!
        }
    }

    // MARK: Encryption by the key's owner

    /// Encrypts with the factorization. The n-th residues mod n² are, by CRT, pairs of elements
    /// of the order-(p−1) subgroup mod p² and the order-(q−1) subgroup mod q²; u ↦ u^p mod p² maps
    /// Z*_p one-to-one onto the first (it depends only on u mod p). So r^n mod n² for uniform r is
    /// distributed as CRT(u^p mod p², v^q mod q²) for uniform u ∈ Z*_p, v ∈ Z*_q: two |n|/2-bit
    /// secret exponents (`mpz_powm_sec`) mod |n|-bit moduli instead of one |n|-bit exponent
    /// mod n². Same ciphertext distribution as `PaillierPublicKey.encrypt`.
    public func encrypt(_ plaintext: BigInteger) throws -> PaillierCiphertext {
        try publicKey.checkRawPlaintext(plaintext)
        var random = OSRandom()
        let u = BigInteger.random(below: p - 1, using: &random) + 1
        let v = BigInteger.random(below: q - 1, using: &random) + 1
        return combine(u.securePower(p, modulo: pSquared), v.securePower(q, modulo: qSquared), plaintext)
    }

    /// CRT encryption with a caller-chosen randomizer r ∈ [1, n): the ciphertext equals
    /// `PaillierPublicKey.insecureEncrypt(_:randomizer:)`'s. For known-answer tests only.
    ///
    /// r^n mod p² = (r^q mod p)^p mod p², since x^p mod p² depends only on x mod p.
    public func insecureEncrypt(_ plaintext: BigInteger, randomizer r: BigInteger) throws -> PaillierCiphertext {
        guard r > 0, r < publicKey.n else {
            throw PaillierError.plaintextOutOfRange(reason: "randomizer r must lie in [1, n)")
        }
        try publicKey.checkRawPlaintext(plaintext)
        let u = r.modulo(p).securePower(qModPMinusOne, modulo: p)
        let v = r.modulo(q).securePower(pModQMinusOne, modulo: q)
        guard !u.isZero, !v.isZero else {
            throw PaillierError.plaintextOutOfRange(reason: "randomizer r must be coprime with n")
        }
        return combine(u.securePower(p, modulo: pSquared), v.securePower(q, modulo: qSquared), plaintext)
    }

    /// (1 + m·n) · CRT(xp mod p², xq mod q²) mod n².
    func combine(_ xp: BigInteger, _ xq: BigInteger, _ plaintext: BigInteger) -> PaillierCiphertext {
        var c = (xq - xp).multiplied(by: pSquaredInverse, modulo: qSquared) * pSquared + xp
        c.multiply(by: publicKey.gPower(plaintext), modulo: publicKey.nSquared)
        return PaillierCiphertext(trustedValue: c, publicKey: publicKey)
    }

    /// Encrypts a signed integer |k| ≤ max_int by CRT.
    public func encrypt(signed value: BigInteger) throws -> PaillierCiphertext {
        try encrypt(publicKey.encodeSigned(value))
    }
}
