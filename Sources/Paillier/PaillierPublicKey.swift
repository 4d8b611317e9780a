public import BigIntegerModule
import Tensors

/// A Paillier public key with generator g = n + 1.
///
/// Encryption of m ∈ Z_n: E(m; r) = g^m · r^n mod n² = (1 + m·n) · r^n mod n², with r uniform in
/// Z*_n. Homomorphism: E(a)·E(b) = E(a + b mod n), E(a)^k = E(k·a mod n).
///
/// Paper: P. Paillier, "Public-Key Cryptosystems Based on Composite Degree Residuosity Classes",
/// EUROCRYPT '99. g = n + 1 as in Damgård–Jurik (PKC 2001), so g^m needs no exponentiation.
///
/// Caveat: semantic security rests on the decisional composite residuosity assumption; a
/// ciphertext is malleable by design (no CCA security).
public struct PaillierPublicKey: Sendable, Hashable {
    /// The modulus n = p·q.
    public let n: BigInteger
    /// n², the ciphertext modulus.
    public let nSquared: BigInteger
    /// The largest magnitude a signed encoding accepts: ⌊n/3⌋ − 1 (as python-paillier's `max_int`).
    /// Values decrypting into (max_int, n − max_int) signal an overflow.
    public let maxInt: BigInteger

    /// The generator g = n + 1.
    public var g: BigInteger { n + 1 }
    /// The bit length of n.
    public var bits: Int { n.bitWidth }

    /// A public key for modulus `n`, checked on every construction (so on every key read):
    ///
    /// - odd, at least 2048 bits unless `sizePolicy` names the risk, and at most
    ///   `PaillierKeySize.maximumBits` whatever the policy (checked first, before any arithmetic
    ///   on n, so an oversized key costs nothing);
    /// - no prime factor below 1000 (one gcd with their product): a modulus p·q of two
    ///   |n|/2-bit primes has none, and a small factor would make n trivial to factor;
    /// - not prime (Miller–Rabin): a prime n has no factorization to keep secret, and Paillier's
    ///   trapdoor λ(n) would be public;
    /// - not a perfect square (p = q).
    ///
    /// These are necessary, not sufficient: n = p·q with two large primes cannot be verified
    /// without the factors.
    /// - Complexity: one gcd, about one |n|-bit modular exponentiation for a composite n, one
    ///   square root.
    public init(n: BigInteger, sizePolicy: PaillierKeySizePolicy = .standard) throws {
        guard n > 3, n.isOdd else {
            throw PaillierError.invalidKey(field: "n", reason: "expected an odd modulus greater than 3")
        }
        try sizePolicy.check(bits: n.bitWidth)
        guard BigInteger.gcd(n, Self.smallPrimeProduct) == 1 else {
            throw PaillierError.invalidKey(field: "n", reason: "has a prime factor below 1000; expected a product of two large primes")
        }
        guard !n.isProbablePrime(rounds: 10) else {
            throw PaillierError.invalidKey(field: "n", reason: "is prime; expected a product of two large primes")
        }
        let root = n.squareRoot()
        guard root * root != n else {
            throw PaillierError.invalidKey(field: "n", reason: "is a perfect square (p = q)")
        }
        self.init(trustedN: n)
    }

    /// The product of the odd primes below 1000.
    static let smallPrimeProduct: BigInteger = {
        var product = BigInteger(1)
        for candidate in stride(from: 3, to: 1000, by: 2) where (2..<candidate).allSatisfy({ candidate % $0 != 0 }) {
            product *= BigInteger(candidate)
        }
        return product
    }()

    init(trustedN n: BigInteger) {
        self.n = n
        self.nSquared = n * n
        self.maxInt = n / 3 - 1
    }

    public static func == (lhs: PaillierPublicKey, rhs: PaillierPublicKey) -> Bool { lhs.n == rhs.n }
    public func hash(into hasher: inout Hasher) { hasher.combine(n) }

    // MARK: Raw encryption

    /// Encrypts `plaintext` ∈ [0, n) with a fresh randomizer from the OS CSPRNG.
    ///
    /// - Complexity: one modular exponentiation r^n mod n² (|n|-bit exponent, 2|n|-bit modulus).
    public func encrypt(_ plaintext: BigInteger) throws -> PaillierCiphertext {
        var random = OSRandom()
        return try encrypt(plaintext, randomizer: randomizer(using: &random))
    }

    /// Encrypts many plaintexts on all cores, each with its own OS-CSPRNG randomizer. Throws
    /// (before any work) if one is out of range.
    public func encrypt(batch plaintexts: [BigInteger]) throws -> [PaillierCiphertext] {
        for plaintext in plaintexts { try checkRawPlaintext(plaintext) }
        return ParallelMap.concurrentMap(count: plaintexts.count, concurrency: Swift.max(1, plaintexts.count)) { [plaintexts] index in
            let plaintext = plaintexts[index]
            var random = OSRandom()
            return try! self.encrypt(plaintext, randomizer: self.randomizer(using: &random))
        }
    }

    /// Encrypts with a randomizer drawn from `generator`. Reproducible with a seeded generator:
    /// for known-answer tests only.
    public func insecureEncrypt<G: RandomNumberGenerator>(_ plaintext: BigInteger, using generator: inout G) throws -> PaillierCiphertext {
        try encrypt(plaintext, randomizer: randomizer(using: &generator))
    }

    /// Encrypts with a caller-chosen randomizer r ∈ [1, n) (python-paillier's `r_value`): for
    /// known-answer tests only; a reused or guessable r reveals the plaintext.
    public func insecureEncrypt(_ plaintext: BigInteger, randomizer r: BigInteger) throws -> PaillierCiphertext {
        guard r > 0, r < n else {
            throw PaillierError.plaintextOutOfRange(reason: "randomizer r must lie in [1, n)")
        }
        return try encrypt(plaintext, randomizer: r)
    }

    func encrypt(_ plaintext: BigInteger, randomizer r: BigInteger) throws -> PaillierCiphertext {
        try checkRawPlaintext(plaintext)
        var c = r.power(n, modulo: nSquared)
        c.multiply(by: gPower(plaintext), modulo: nSquared)
        return PaillierCiphertext(trustedValue: c, publicKey: self)
    }

    /// g^m mod n² = 1 + m·n (no reduction needed: m < n).
    func gPower(_ plaintext: BigInteger) -> BigInteger {
        plaintext * n + 1
    }

    func checkRawPlaintext(_ plaintext: BigInteger) throws {
        guard plaintext >= 0, plaintext < n else {
            throw PaillierError.plaintextOutOfRange(reason: "a raw plaintext must lie in [0, n)")
        }
    }

    /// A uniform r ∈ [1, n).
    func randomizer<G: RandomNumberGenerator>(using generator: inout G) -> BigInteger {
        BigInteger.random(below: n - 1, using: &generator) + 1
    }

    /// A fresh r^n mod n² from the OS CSPRNG, the factor that re-randomizes a ciphertext.
    func freshObfuscator() -> BigInteger {
        var random = OSRandom()
        return randomizer(using: &random).power(n, modulo: nSquared)
    }

    // MARK: Signed integers

    /// The encoding of a signed integer k with |k| ≤ max_int: k itself when k ≥ 0, n + k otherwise.
    public func encodeSigned(_ value: BigInteger) throws -> BigInteger {
        guard value.compareMagnitude(maxInt) <= 0 else {
            throw PaillierError.plaintextOutOfRange(
                reason: "a signed integer must satisfy |k| ≤ max_int = ⌊n/3⌋ − 1")
        }
        return value.isNegative ? n + value : value
    }

    /// The signed integer an encoding stands for; throws `overflowDetected` in the band
    /// (max_int, n − max_int).
    public func decodeSigned(_ encoding: BigInteger) throws -> BigInteger {
        guard encoding >= 0, encoding < n else {
            throw PaillierError.plaintextOutOfRange(reason: "an encoding must lie in [0, n)")
        }
        if encoding <= maxInt { return encoding }
        if encoding >= n - maxInt { return encoding - n }
        throw PaillierError.overflowDetected
    }

    /// Encrypts a signed integer |k| ≤ max_int (negatives as n − |k|).
    public func encrypt(signed value: BigInteger) throws -> PaillierCiphertext {
        try encrypt(encodeSigned(value))
    }
}
