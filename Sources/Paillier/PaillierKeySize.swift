/// Key sizes and the policy that guards them.
public enum PaillierKeySize {
    /// The default modulus size: 3072 bits, about 128-bit security (NIST SP 800-57).
    public static let defaultBits = 3072
    /// The smallest modulus accepted without an `insecure…` API: 2048 bits (about 112-bit security).
    public static let minimumBits = 2048
    /// The largest modulus accepted, by every policy: 16384 bits (past NIST's 15360 for 256-bit
    /// security). Encryption costs grow as |n|³: an 88000-bit modulus in an 11 KB key file would
    /// stall one encryption for minutes, so larger keys are refused when read or generated.
    public static let maximumBits = 16384

    /// The symmetric-equivalent security level of an n-bit modulus (NIST SP 800-57 Part 1, Table 2;
    /// 80 bits below 2048).
    public static func securityLevel(modulusBits bits: Int) -> Int {
        switch bits {
        case ..<2048: return 80
        case ..<3072: return 112
        case ..<7680: return 128
        case ..<15360: return 192
        default: return 256
        }
    }
}

/// Whether short moduli are accepted; the only way to accept one is to name the risk.
public enum PaillierKeySizePolicy: Sendable {
    /// Moduli of at least `PaillierKeySize.minimumBits`.
    case standard
    /// Any modulus: for tests and known-answer vectors only.
    case insecureAllowingShortKeys

    /// Throws `keyTooShort` when the policy refuses an n of `bits` bits, and `keyTooLong` past
    /// `PaillierKeySize.maximumBits` (whatever the policy).
    public func check(bits: Int) throws {
        if bits > PaillierKeySize.maximumBits {
            throw PaillierError.keyTooLong(bits: bits, maximum: PaillierKeySize.maximumBits)
        }
        if self == .standard && bits < PaillierKeySize.minimumBits {
            throw PaillierError.keyTooShort(bits: bits, minimum: PaillierKeySize.minimumBits)
        }
    }
}
