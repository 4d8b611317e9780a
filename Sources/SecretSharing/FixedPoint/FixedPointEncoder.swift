public import RingArithmetic
/// Encodes real numbers as fixed-point elements of the ring Z(2^64).
///
/// A real `x` is encoded as `round(x · 2^f)` taken modulo 2^64 (two's complement), where `f` is
/// the number of fractional bits (default 16, as in CrypTen). Decoding reads the word as a signed
/// 64-bit integer and divides by `2^f`.
///
/// Laws (for |x| < `limit`):
/// - `|decode(encode(x)) - x| ≤ 2^-(f+1)` (round to nearest);
/// - encoding is additive modulo 2^64: `encode(x) &+ encode(y)` decodes to `x + y` within 2^-f
///   while the sum stays below `limit`.
///
/// The engine keeps every secret value below `limit = 2^(62-f)` in magnitude, and every product
/// before truncation below `2^62` at scale `2^(2f)`: this headroom is what the truncation and
/// comparison protocols need (see `Party.truncate`). Values outside are rejected with
/// `SecretSharingError.encodingOverflow`, never wrapped.
///
/// - Complexity: O(1) per value.
/// - Reference: Mohassel, Zhang, "SecureML" (S&P 2017) §4.1; CrypTen's `FixedPointEncoder`.
public struct FixedPointEncoder: Sendable, Equatable {
    /// The lab's fixed-point code this encoder uses (with all 63 value bits).
    public let code: FixedPointCode
    /// The number of fractional bits `f`.
    public var fractionalBits: Int { code.fractionalBits }
    /// `2^f`.
    public var scale: Double { code.scale }

    /// An encoder with `fractionalBits` bits after the binary point (1...30).
    public init(fractionalBits: Int = 16) {
        precondition((1...30).contains(fractionalBits), "fractionalBits must be in 1...30")
        self.code = FixedPointCode(fractionalBits: fractionalBits)!
    }

    /// The largest magnitude a secret value may have: `2^(62-f)`.
    public var limit: Double { code.limit }

    /// The largest magnitude of a product of two secrets before truncation: `2^(62-2f)`.
    public var productLimit: Double { Double(UInt64(1) << UInt64(62 - 2 * fractionalBits)) }

    /// The resolution `2^-f` (one unit in the last place).
    public var resolution: Double { code.resolution }

    /// Encodes one value; throws `encodingOverflow` when `|x| ≥ limit` or `x` is not finite.
    @inlinable
    public func encode(_ x: Double) throws(SecretSharingError) -> UInt64 {
        guard let word = code.encode(x) else { throw .encodingOverflow(value: x, limit: code.limit) }
        return word
    }

    /// Encodes many values; throws on the first value out of range (naming its index).
    public func encode(_ values: [Double]) throws(SecretSharingError) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: values.count)
        let bad = values.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { code.encode(v, into: $0) } }
        if let i = bad { throw .encodingOverflow(value: values[i], limit: code.limit, index: i) }
        return out
    }

    /// Decodes one ring element.
    @inlinable
    public func decode(_ w: UInt64) -> Double { code.decode(w) }

    /// Decodes many ring elements.
    public func decode(_ words: [UInt64]) -> [Double] { code.decode(words) }
}

/// Errors of the MPC engine. Outside input (values, bounds, messages) gets one of these, never a
/// crash.
public enum SecretSharingError: Error, Equatable, CustomStringConvertible {
    /// A value to encode is not finite or is at least `limit` in magnitude.
    case encodingOverflow(value: Double, limit: Double, index: Int? = nil)
    /// An operation's public magnitude bound shows that its result could leave the ring's safe
    /// range: computing it could wrap around silently, so it is refused.
    case possibleOverflow(operation: String, bound: Double, limit: Double)
    /// A revealed value exceeds its public bound: a protocol failure or a wrong bound assertion.
    case boundViolated(operation: String, value: Double, bound: Double)
    /// An argument is outside an operation's documented domain.
    case invalidArgument(String)
    /// A peer's message did not have the expected length.
    case malformedMessage(from: Int, expected: Int, received: Int)
    /// The channel was closed (a peer failed) while waiting for a message.
    case channelClosed
    /// The correlated-randomness provider could not serve a request.
    case providerFailure(String)
    /// The connection to a peer failed: it closed, stalled past the timeout, or sent a frame
    /// that is not a message (the reason names which, never a payload).
    case peerFailure(party: Int, reason: String)

    public var description: String {
        switch self {
        case let .encodingOverflow(value, limit, index):
            let at = index.map { " at index \($0)" } ?? ""
            return "fixed-point encoding overflow\(at): |\(value)| is not below the limit \(limit)"
        case let .possibleOverflow(operation, bound, limit):
            return "\(operation) could overflow: its public bound \(bound) is not below \(limit)"
        case let .boundViolated(operation, value, bound):
            return "\(operation): revealed value \(value) exceeds its public bound \(bound)"
        case let .invalidArgument(message):
            return message
        case let .malformedMessage(from, expected, received):
            return "message from party \(from): expected \(expected) words, received \(received)"
        case .channelClosed:
            return "channel closed while waiting for a message"
        case let .providerFailure(message):
            return "correlated randomness: \(message)"
        case let .peerFailure(party, reason):
            return "party \(party): \(reason)"
        }
    }
}
