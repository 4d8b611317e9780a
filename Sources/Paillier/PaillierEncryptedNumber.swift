public import BigIntegerModule

/// An encrypted `PaillierEncodedNumber`: a ciphertext of the mantissa with its public exponent
/// (python-paillier's `EncryptedNumber`).
///
/// Laws (D decrypts and decodes): D(x + y) = D(x) + D(y) and D(x · k) = D(x) · k up to the
/// encoding's rounding, while no overflow occurs. Additions align exponents by lowering the
/// larger one (c^(16^d), an exact change of scale); multiplication adds exponents.
///
/// Results are not re-randomized (as phe's internal arithmetic): call `rerandomized()` before
/// sharing one.
///
/// - Complexity: as `PaillierCiphertext`, plus one exponentiation by 16^d when exponents differ.
public struct PaillierEncryptedNumber: Sendable, Hashable {
    public let ciphertext: PaillierCiphertext
    public let exponent: Int

    public var publicKey: PaillierPublicKey { ciphertext.publicKey }

    public init(ciphertext: PaillierCiphertext, exponent: Int) throws {
        try PaillierEncodedNumber.checkExponent(exponent)
        self.ciphertext = ciphertext
        self.exponent = exponent
    }

    init(trusted ciphertext: PaillierCiphertext, exponent: Int) {
        self.ciphertext = ciphertext
        self.exponent = exponent
    }

    // MARK: Scale

    /// The same value with a lower exponent: c^(16^d), d = exponent − newExponent. Throws when
    /// 16^d exceeds max_int (the scale factor itself would not encode, as in phe).
    public func decreasingExponent(to newExponent: Int) throws -> PaillierEncryptedNumber {
        guard newExponent <= exponent else {
            throw PaillierError.invalidExponent(
                reason: "new exponent \(newExponent) must not exceed the current exponent \(exponent)")
        }
        if newExponent == exponent { return self }
        try PaillierEncodedNumber.checkExponent(newExponent)
        let factor = BigInteger(1) << (PaillierEncodedNumber.log2Base * (exponent - newExponent))
        guard factor <= publicKey.maxInt else {
            throw PaillierError.invalidExponent(
                reason: "lowering the exponent from \(exponent) to \(newExponent) overflows the key's max_int")
        }
        return PaillierEncryptedNumber(trusted: ciphertext * factor, exponent: newExponent)
    }

    // MARK: Homomorphic operations

    /// E(a) + E(b), exponents aligned to the smaller.
    public func adding(_ other: PaillierEncryptedNumber) throws -> PaillierEncryptedNumber {
        guard other.publicKey == publicKey else { throw PaillierError.differentKeys }
        let (a, b) = try Self.align(self, other)
        return PaillierEncryptedNumber(trusted: a.ciphertext + b.ciphertext, exponent: a.exponent)
    }

    /// E(a) + b for an encoded plaintext, exponents aligned to the smaller.
    public func adding(_ encoded: PaillierEncodedNumber) throws -> PaillierEncryptedNumber {
        guard encoded.publicKey == publicKey else { throw PaillierError.differentKeys }
        var a = self, b = encoded
        if a.exponent > b.exponent {
            a = try a.decreasingExponent(to: b.exponent)
        } else if a.exponent < b.exponent {
            b = try b.decreasingExponent(to: a.exponent)
        }
        return PaillierEncryptedNumber(trusted: a.ciphertext + b.encoding, exponent: a.exponent)
    }

    /// E(a) + b for a double, encoded with exponent at most this number's.
    public func adding(_ value: Double) throws -> PaillierEncryptedNumber {
        try adding(PaillierEncodedNumber.encode(value, publicKey: publicKey, maxExponent: exponent))
    }

    /// E(a) + b for an integer, encoded with exponent at most this number's.
    public func adding(_ value: BigInteger) throws -> PaillierEncryptedNumber {
        try adding(PaillierEncodedNumber.encode(value, publicKey: publicKey, maxExponent: exponent))
    }

    /// E(a) − E(b).
    public func subtracting(_ other: PaillierEncryptedNumber) throws -> PaillierEncryptedNumber {
        try adding(other.negated())
    }

    /// E(a) · b for an encoded plaintext: c^mantissa (c⁻¹ to the |mantissa| for negatives),
    /// exponent e_a + e_b.
    public func multiplied(by encoded: PaillierEncodedNumber) throws -> PaillierEncryptedNumber {
        guard encoded.publicKey == publicKey else { throw PaillierError.differentKeys }
        let key = publicKey
        let product: PaillierCiphertext
        if encoded.encoding >= key.n - key.maxInt {
            product = (-ciphertext) * (key.n - encoded.encoding)
        } else {
            product = ciphertext * encoded.encoding
        }
        let newExponent = exponent + encoded.exponent
        try PaillierEncodedNumber.checkExponent(newExponent)
        return PaillierEncryptedNumber(trusted: product, exponent: newExponent)
    }

    /// E(a) · b for a double (encoded at its own precision).
    public func multiplied(by value: Double) throws -> PaillierEncryptedNumber {
        try multiplied(by: PaillierEncodedNumber.encode(value, publicKey: publicKey))
    }

    /// E(a) · k for an integer (exponent unchanged).
    public func multiplied(by value: BigInteger) throws -> PaillierEncryptedNumber {
        try multiplied(by: PaillierEncodedNumber.encode(value, publicKey: publicKey))
    }

    /// −E(a), same exponent.
    public func negated() -> PaillierEncryptedNumber {
        PaillierEncryptedNumber(trusted: -ciphertext, exponent: exponent)
    }

    /// The same value under a fresh randomizer.
    public func rerandomized() -> PaillierEncryptedNumber {
        PaillierEncryptedNumber(trusted: ciphertext.rerandomized(), exponent: exponent)
    }

    public func rerandomized(using encryptor: PaillierFastEncryptor) -> PaillierEncryptedNumber {
        PaillierEncryptedNumber(trusted: ciphertext.rerandomized(using: encryptor), exponent: exponent)
    }

    static func align(_ x: PaillierEncryptedNumber, _ y: PaillierEncryptedNumber) throws -> (PaillierEncryptedNumber, PaillierEncryptedNumber) {
        if x.exponent > y.exponent { return (try x.decreasingExponent(to: y.exponent), y) }
        if x.exponent < y.exponent { return (x, try y.decreasingExponent(to: x.exponent)) }
        return (x, y)
    }
}

// MARK: Encrypting and decrypting encoded numbers

extension PaillierPublicKey {
    /// Encodes and encrypts a double (phe's `encrypt(float, precision)`).
    public func encrypt(_ value: Double, precision: Double? = nil) throws -> PaillierEncryptedNumber {
        try encrypt(encoded: PaillierEncodedNumber.encode(value, publicKey: self, precision: precision))
    }

    /// Encodes and encrypts an integer at exponent 0 (or ⌊log₁₆ precision⌋) as an encoded number
    /// (the raw layer is `encrypt(_:)`, the signed layer `encrypt(signed:)`).
    public func encrypt(integer value: BigInteger, precision: Double? = nil) throws -> PaillierEncryptedNumber {
        try encrypt(encoded: PaillierEncodedNumber.encode(value, publicKey: self, precision: precision))
    }

    public func encrypt(encoded: PaillierEncodedNumber) throws -> PaillierEncryptedNumber {
        guard encoded.publicKey == self else { throw PaillierError.differentKeys }
        return PaillierEncryptedNumber(trusted: try encrypt(encoded.encoding), exponent: encoded.exponent)
    }

    /// Encrypts an encoded number with a caller-chosen randomizer (phe's `r_value`): for
    /// known-answer tests only.
    public func insecureEncrypt(encoded: PaillierEncodedNumber, randomizer r: BigInteger) throws -> PaillierEncryptedNumber {
        guard encoded.publicKey == self else { throw PaillierError.differentKeys }
        return PaillierEncryptedNumber(trusted: try insecureEncrypt(encoded.encoding, randomizer: r), exponent: encoded.exponent)
    }
}

extension PaillierFastEncryptor {
    public func encrypt(integer value: BigInteger, precision: Double? = nil) throws -> PaillierEncryptedNumber {
        try encrypt(encoded: PaillierEncodedNumber.encode(value, publicKey: publicKey, precision: precision))
    }

    public func encrypt(_ value: Double, precision: Double? = nil) throws -> PaillierEncryptedNumber {
        try encrypt(encoded: PaillierEncodedNumber.encode(value, publicKey: publicKey, precision: precision))
    }

    public func encrypt(encoded: PaillierEncodedNumber) throws -> PaillierEncryptedNumber {
        guard encoded.publicKey == publicKey else { throw PaillierError.differentKeys }
        return PaillierEncryptedNumber(trusted: try encrypt(encoded.encoding), exponent: encoded.exponent)
    }
}

extension PaillierPrivateKey {
    /// Decrypts the encoded number (mantissa mod n and exponent) of `number`.
    public func decryptEncoded(_ number: PaillierEncryptedNumber) throws -> PaillierEncodedNumber {
        PaillierEncodedNumber(trusted: publicKey, encoding: try decrypt(number.ciphertext), exponent: number.exponent)
    }

    /// Decrypts and decodes: an integer for exponent ≥ 0, else a double. Throws on overflow.
    public func decrypt(_ number: PaillierEncryptedNumber) throws -> PaillierPlainNumber {
        try decryptEncoded(number).decode()
    }

    /// Decrypts and decodes to a double.
    public func decryptDouble(_ number: PaillierEncryptedNumber) throws -> Double {
        try decryptEncoded(number).decodeDouble()
    }
}
