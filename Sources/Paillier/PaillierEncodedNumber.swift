#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BigIntegerModule

/// A signed integer or real number encoded as an element of Z_n with a public exponent:
/// value = mantissa · 16^exponent, mantissa ∈ [−max_int, max_int] stored as mantissa mod n.
///
/// This is python-paillier's `EncodedNumber` (base 16), bit for bit: the same exponent choice,
/// the same rounding (half to even), the same overflow band. Encodings interoperate with `phe`.
///
/// Laws: decode(encode(a)) = a exactly for integers and for doubles encoded at their own
/// precision; Enc(a) + Enc(b) decodes to a + b after exponent alignment (the larger exponent is
/// lowered by multiplying its mantissa by 16^d); Enc(a) · Enc(b) has exponent e_a + e_b.
///
/// Caveats (as in phe): the exponent is not encrypted and leaks the precision of a value; a
/// float's default exponent depends on its magnitude (frexp), so it leaks about its magnitude
/// too — fix a common exponent with `decreasingExponent(to:)` before sharing. Lowering an
/// exponent too far overflows the mantissa silently in the encoded layer (checked in the
/// encrypted layer).
public struct PaillierEncodedNumber: Sendable, Hashable {
    public static let base = 16
    /// log₂ of the base.
    static let log2Base = 4
    static let floatMantissaBits = Double.significandBitCount + 1  // 53

    public let publicKey: PaillierPublicKey
    /// mantissa mod n, in [0, n).
    public let encoding: BigInteger
    public let exponent: Int

    /// An encoded number from its parts; the encoding must lie in [0, n).
    public init(publicKey: PaillierPublicKey, encoding: BigInteger, exponent: Int) throws {
        guard encoding >= 0, encoding < publicKey.n else {
            throw PaillierError.plaintextOutOfRange(reason: "an encoding must lie in [0, n)")
        }
        self.init(trusted: publicKey, encoding: encoding, exponent: exponent)
    }

    init(trusted publicKey: PaillierPublicKey, encoding: BigInteger, exponent: Int) {
        self.publicKey = publicKey
        self.encoding = encoding
        self.exponent = exponent
    }

    // MARK: Encoding

    /// Encodes a double: exponent = min(maxExponent, e_p) where e_p = ⌊(frexp exponent − 53)/4⌋
    /// (exact) or ⌊log₁₆ precision⌋ when `precision` is given; mantissa = round(value · 16^−exponent).
    public static func encode(_ value: Double, publicKey: PaillierPublicKey,
                              precision: Double? = nil, maxExponent: Int? = nil) throws -> PaillierEncodedNumber {
        guard value.isFinite else {
            throw PaillierError.unrepresentable(reason: "NaN and infinities have no encoding")
        }
        var precisionExponent: Int
        if let precision {
            precisionExponent = try exponent(ofPrecision: precision)
        } else {
            let frexpExponent = value == 0 ? 0 : value.exponent + 1
            precisionExponent = floorDivide(frexpExponent - floatMantissaBits, log2Base)
        }
        if let maxExponent { precisionExponent = min(precisionExponent, maxExponent) }
        // value = ±significand · 2^binaryExponent exactly.
        let significand: UInt64
        let binaryExponent: Int
        if value == 0 {
            significand = 0; binaryExponent = 0
        } else if value.isNormal {
            significand = value.significandBitPattern | (1 << UInt64(Double.significandBitCount))
            binaryExponent = Int(value.exponentBitPattern) - 1075
        } else {
            significand = value.significandBitPattern
            binaryExponent = -1074
        }
        var mantissa = roundHalfEven(BigInteger(significand), timesPowerOfTwo: binaryExponent - log2Base * precisionExponent)
        if value < 0 { mantissa = -mantissa }
        return try encode(mantissa: mantissa, exponent: precisionExponent, publicKey: publicKey)
    }

    /// Encodes an integer: exponent = min(maxExponent, 0) or ⌊log₁₆ precision⌋ when given;
    /// mantissa = round(value · 16^−exponent).
    public static func encode(_ value: BigInteger, publicKey: PaillierPublicKey,
                              precision: Double? = nil, maxExponent: Int? = nil) throws -> PaillierEncodedNumber {
        var precisionExponent = 0
        if let precision { precisionExponent = try exponent(ofPrecision: precision) }
        if let maxExponent { precisionExponent = min(precisionExponent, maxExponent) }
        let mantissa = value.isNegative
            ? -roundHalfEven(value.magnitude, timesPowerOfTwo: -log2Base * precisionExponent)
            : roundHalfEven(value, timesPowerOfTwo: -log2Base * precisionExponent)
        return try encode(mantissa: mantissa, exponent: precisionExponent, publicKey: publicKey)
    }

    /// Encodes `mantissa · 16^exponent` directly.
    public static func encode(mantissa: BigInteger, exponent: Int, publicKey: PaillierPublicKey) throws -> PaillierEncodedNumber {
        try checkExponent(exponent)
        let encoding = try publicKey.encodeSigned(mantissa)
        return PaillierEncodedNumber(trusted: publicKey, encoding: encoding, exponent: exponent)
    }

    static func exponent(ofPrecision precision: Double) throws -> Int {
        guard precision.isFinite, precision > 0 else {
            throw PaillierError.invalidExponent(reason: "precision must be a positive finite number")
        }
        return Int((log(precision) / log(Double(base))).rounded(.down))
    }

    /// Exponents are kept within ±2^20: beyond that 16^|e| is a multi-megabyte integer.
    static let exponentLimit = 1 << 20

    static func checkExponent(_ exponent: Int) throws {
        guard exponent.magnitude <= exponentLimit else {
            throw PaillierError.invalidExponent(reason: "exponent \(exponent) beyond ±\(exponentLimit)")
        }
    }

    /// round(m · 2^shift) for m ≥ 0, ties to even (Python's `round` of a Fraction).
    static func roundHalfEven(_ m: BigInteger, timesPowerOfTwo shift: Int) -> BigInteger {
        if shift >= 0 { return m << shift }
        let drop = -shift
        var quotient = m >> drop
        let remainder = m.lowBits(drop)
        let half = BigInteger(1) << (drop - 1)
        if remainder > half || (remainder == half && quotient.isOdd) { quotient += 1 }
        return quotient
    }

    static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // MARK: Decoding

    /// The signed mantissa; throws `overflowDetected` in the band (max_int, n − max_int).
    public var mantissa: BigInteger {
        get throws { try publicKey.decodeSigned(encoding) }
    }

    /// The value: an integer when exponent ≥ 0, otherwise the correctly rounded double of
    /// mantissa / 16^−exponent (as Python's true division).
    public func decode() throws -> PaillierPlainNumber {
        let m = try mantissa
        if exponent >= 0 {
            return .integer(m << (Self.log2Base * exponent))
        }
        let value = m.roundedToDouble(timesPowerOfTwo: Self.log2Base * exponent)
        guard value.isFinite else {
            throw PaillierError.unrepresentable(reason: "decoded result too large for a Double")
        }
        return .real(value)
    }

    /// The value as a double (integers rounded to nearest).
    public func decodeDouble() throws -> Double {
        let m = try mantissa
        let value = m.roundedToDouble(timesPowerOfTwo: Self.log2Base * exponent)
        guard value.isFinite else {
            throw PaillierError.unrepresentable(reason: "decoded result too large for a Double")
        }
        return value
    }

    /// The same value with a lower exponent: encoding · 16^(exponent − newExponent) mod n.
    /// The mantissa may overflow silently when lowered too far (phe's semantics).
    public func decreasingExponent(to newExponent: Int) throws -> PaillierEncodedNumber {
        guard newExponent <= exponent else {
            throw PaillierError.invalidExponent(
                reason: "new exponent \(newExponent) must not exceed the current exponent \(exponent)")
        }
        try Self.checkExponent(newExponent)
        let factor = BigInteger(1) << (Self.log2Base * (exponent - newExponent))
        return PaillierEncodedNumber(
            trusted: publicKey, encoding: encoding.multiplied(by: factor, modulo: publicKey.n), exponent: newExponent)
    }
}

/// A decoded plaintext: an integer (exponent ≥ 0) or a double (negative exponent), as phe returns.
public enum PaillierPlainNumber: Sendable, Hashable, CustomStringConvertible {
    case integer(BigInteger)
    case real(Double)

    public var doubleValue: Double {
        switch self {
        case let .integer(value): return value.roundedToDouble()
        case let .real(value): return value
        }
    }

    public var description: String {
        switch self {
        case let .integer(value): return value.description
        case let .real(value): return value.description
        }
    }
}
