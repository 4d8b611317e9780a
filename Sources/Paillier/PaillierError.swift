/// What went wrong with a Paillier key, ciphertext, plaintext or serialized file.
///
/// Messages name the field and what was expected; they never contain secret values
/// (primes, plaintexts, randomness).
public enum PaillierError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A modulus shorter than the policy allows (2048 bits unless an `insecure…` API is used).
    case keyTooShort(bits: Int, minimum: Int)
    /// A modulus longer than `PaillierKeySize.maximumBits` (refused by every policy).
    case keyTooLong(bits: Int, maximum: Int)
    /// A key size that cannot be generated (odd, or too small to hold two primes).
    case invalidKeySize(bits: Int, reason: String)
    /// Key material that is inconsistent (n ≠ p·q, p = q, a composite "prime", …).
    case invalidKey(field: String, reason: String)
    /// A ciphertext outside Z*_{n²}.
    case invalidCiphertext(reason: String)
    /// A plaintext outside the range an encoding or the raw scheme accepts.
    case plaintextOutOfRange(reason: String)
    /// A decrypted signed value in the overflow band (max_int, n − max_int).
    case overflowDetected
    /// An exponent that cannot be used (increase without decryption, or absurdly large).
    case invalidExponent(reason: String)
    /// A value that has no encoding or no decoding (NaN, ±∞, a result beyond Double).
    case unrepresentable(reason: String)
    /// Two operands belong to different public keys.
    case differentKeys
    /// A serialized object that does not have the expected shape.
    case malformed(source: String, field: String, expected: String)
    /// Reading or writing a file failed.
    case fileError(path: String, reason: String)

    public var description: String {
        switch self {
        case let .keyTooShort(bits, minimum):
            return "Paillier key too short: \(bits)-bit modulus, at least \(minimum) bits required (use an insecure… API to accept shorter keys for tests)"
        case let .keyTooLong(bits, maximum):
            return "Paillier key too long: \(bits)-bit modulus, at most \(maximum) bits accepted"
        case let .invalidKeySize(bits, reason):
            return "invalid Paillier key size \(bits): \(reason)"
        case let .invalidKey(field, reason):
            return "invalid Paillier key: field '\(field)': \(reason)"
        case let .invalidCiphertext(reason):
            return "invalid Paillier ciphertext: \(reason)"
        case let .plaintextOutOfRange(reason):
            return "plaintext out of range: \(reason)"
        case .overflowDetected:
            return "overflow detected in decrypted number: the value lies between max_int and n − max_int"
        case let .invalidExponent(reason):
            return "invalid exponent: \(reason)"
        case let .unrepresentable(reason):
            return "value not representable: \(reason)"
        case .differentKeys:
            return "operands were encrypted against different public keys"
        case let .malformed(source, field, expected):
            return "\(source): field '\(field)': expected \(expected)"
        case let .fileError(path, reason):
            return "\(path): \(reason)"
        }
    }
}
