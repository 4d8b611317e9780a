public import BigIntegerModule

/// A Paillier ciphertext c ∈ Z*_{n²} under a given public key.
///
/// Laws (D is decryption): D(a + b) = D(a) + D(b) mod n; D(a + k) = D(a) + k mod n;
/// D(a · k) = k · D(a) mod n for any integer k (negative too); D(−a) = −D(a) mod n.
/// There is deliberately no ciphertext × ciphertext: the scheme does not support it.
///
/// Results of homomorphic operations are deterministic functions of their inputs: call
/// `rerandomized()` before a ciphertext leaves the machine, or the other party may learn the
/// scalars involved (python-paillier's `obfuscate`).
///
/// - Complexity: `+` is one multiplication mod n²; `* k` one exponentiation with a |k|-bit
///   exponent; negation one inverse mod n²; `rerandomized()` one r^n mod n².
public struct PaillierCiphertext: Sendable, Hashable {
    /// The ciphertext value in [1, n²), coprime with n.
    public let value: BigInteger
    /// The key it was made under.
    public let publicKey: PaillierPublicKey

    /// A ciphertext from outside, checked: 0 < c < n² and gcd(c, n) = 1.
    public init(value: BigInteger, publicKey: PaillierPublicKey) throws {
        guard value > 0, value < publicKey.nSquared else {
            throw PaillierError.invalidCiphertext(reason: "expected a value in [1, n²)")
        }
        guard BigInteger.gcd(value, publicKey.n) == 1 else {
            throw PaillierError.invalidCiphertext(reason: "the value is not coprime with n")
        }
        self.init(trustedValue: value, publicKey: publicKey)
    }

    init(trustedValue value: BigInteger, publicKey: PaillierPublicKey) {
        self.value = value
        self.publicKey = publicKey
    }

    public static func == (lhs: PaillierCiphertext, rhs: PaillierCiphertext) -> Bool {
        lhs.value == rhs.value && lhs.publicKey == rhs.publicKey
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }

    @inline(__always)
    static func requireSameKey(_ a: PaillierCiphertext, _ b: PaillierCiphertext) {
        precondition(a.publicKey.n == b.publicKey.n,
                     "Paillier: operands were encrypted under different public keys")
    }

    // MARK: Homomorphic operations

    /// E(a) + E(b) = E(a + b mod n).
    public static func + (lhs: PaillierCiphertext, rhs: PaillierCiphertext) -> PaillierCiphertext {
        requireSameKey(lhs, rhs)
        return PaillierCiphertext(
            trustedValue: lhs.value.multiplied(by: rhs.value, modulo: lhs.publicKey.nSquared),
            publicKey: lhs.publicKey)
    }

    /// E(a) − E(b) = E(a − b mod n).
    public static func - (lhs: PaillierCiphertext, rhs: PaillierCiphertext) -> PaillierCiphertext {
        lhs + (-rhs)
    }

    /// E(a) + k = E(a + k mod n) for any integer k: multiplies by g^k = 1 + (k mod n)·n.
    public static func + (lhs: PaillierCiphertext, rhs: BigInteger) -> PaillierCiphertext {
        let key = lhs.publicKey
        let shift = key.gPower(rhs.modulo(key.n))
        return PaillierCiphertext(trustedValue: lhs.value.multiplied(by: shift, modulo: key.nSquared), publicKey: key)
    }

    /// E(a) · k = E(k·a mod n) for any integer k (public): c^k, or (c⁻¹)^|k| for negative k.
    public static func * (lhs: PaillierCiphertext, rhs: BigInteger) -> PaillierCiphertext {
        let key = lhs.publicKey
        if rhs.isNegative {
            return (-lhs) * (-rhs)
        }
        return PaillierCiphertext(trustedValue: lhs.value.power(rhs, modulo: key.nSquared), publicKey: key)
    }

    public static func * (lhs: BigInteger, rhs: PaillierCiphertext) -> PaillierCiphertext { rhs * lhs }
    public static func + (lhs: BigInteger, rhs: PaillierCiphertext) -> PaillierCiphertext { rhs + lhs }

    /// −E(a) = E(−a mod n) = c⁻¹ mod n².
    public static prefix func - (operand: PaillierCiphertext) -> PaillierCiphertext {
        let key = operand.publicKey
        guard let inverse = operand.value.inverse(modulo: key.nSquared) else {
            preconditionFailure("Paillier: a ciphertext not coprime with n reached negation")
        }
        return PaillierCiphertext(trustedValue: inverse, publicKey: key)
    }

    /// The same plaintext under a fresh randomizer from the OS CSPRNG: c · r^n mod n².
    public func rerandomized() -> PaillierCiphertext {
        PaillierCiphertext(
            trustedValue: value.multiplied(by: publicKey.freshObfuscator(), modulo: publicKey.nSquared),
            publicKey: publicKey)
    }

    /// The same plaintext re-randomized with the fast short-exponent randomizer h_s^α.
    public func rerandomized(using encryptor: PaillierFastEncryptor) -> PaillierCiphertext {
        precondition(encryptor.publicKey == publicKey, "Paillier: encryptor of a different key")
        return PaillierCiphertext(
            trustedValue: value.multiplied(by: encryptor.freshObfuscator(), modulo: publicKey.nSquared),
            publicKey: publicKey)
    }
}
