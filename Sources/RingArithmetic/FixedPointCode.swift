/// The lab's one fixed-point code: a real x becomes the integer round(x · 2^f), stored as a
/// two's-complement word of Z(2^64).
///
/// Secret sharing (`SecretSharing.FixedPointEncoder`) and secure aggregation
/// (`Federated.FixedPointFormat`) both encode through it; they differ only in the headroom they
/// keep, which is `valueBits`: an encoded value must stay below 2^(valueBits − 1) in magnitude,
/// so a real below `limit = 2^(valueBits − 1 − f)`. Secret sharing keeps valueBits = 63 (products
/// before truncation need the rest of the word); secure aggregation chooses fewer (Paillier slots
/// are sized from it).
///
/// Laws, for |x| < `limit`:
/// - |decode(encode(x)) − x| ≤ 2^−(f+1) (round to nearest, ties away from zero);
/// - encodings add in Z(2^64): the wrapping sum of encodings decodes to the sum of the rounded
///   values exactly while that sum stays below 2^63 in magnitude.
///
/// A value that is not finite or is at least `limit` in magnitude is refused (`nil`), never wrapped.
///
/// - Complexity: O(1) per value.
public struct FixedPointCode: Sendable, Equatable, Hashable {
    /// f, the number of fractional bits.
    public let fractionalBits: Int
    /// Bits of a signed encoded value (including the sign).
    public let valueBits: Int
    /// 2^f.
    public let scale: Double
    /// The largest magnitude an encoded real may have: 2^(valueBits − 1 − f) (exclusive).
    public let limit: Double

    /// The largest `valueBits`: a signed 64-bit word keeps one bit of headroom for sums.
    public static let maximumValueBits = 63

    /// A code with f = `fractionalBits` in 1...61 and `valueBits` in f+2...63; `nil` outside.
    public init?(fractionalBits: Int, valueBits: Int = FixedPointCode.maximumValueBits) {
        guard (1...61).contains(fractionalBits), (fractionalBits + 2...Self.maximumValueBits).contains(valueBits) else { return nil }
        self.fractionalBits = fractionalBits
        self.valueBits = valueBits
        self.scale = Double(sign: .plus, exponent: fractionalBits, significand: 1)
        self.limit = Double(sign: .plus, exponent: valueBits - 1 - fractionalBits, significand: 1)
    }

    /// The resolution 2^−f (one unit in the last place).
    public var resolution: Double { 1 / scale }

    /// round(x · 2^f) as a ring word, or `nil` when x is not finite or |x| ≥ `limit`.
    @inlinable
    public func encode(_ x: Double) -> UInt64? {
        guard x.isFinite, abs(x) < limit else { return nil }
        return UInt64(bitPattern: Int64((x * scale).rounded()))
    }

    /// Encodes `values` into `out` (of the same count); returns the index of the first value that
    /// cannot be encoded (`out` is then partly written), or `nil` when all were.
    @inlinable
    public func encode(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<UInt64>) -> Int? {
        precondition(values.count == out.count, "FixedPointCode.encode: \(values.count) values into \(out.count) words")
        let lim = limit, s = scale
        for i in 0..<values.count {
            let x = values[i]
            guard x.isFinite, abs(x) < lim else { return i }
            out[i] = UInt64(bitPattern: Int64((x * s).rounded()))
        }
        return nil
    }

    /// The real a ring word encodes.
    @inlinable
    public func decode(_ word: UInt64) -> Double {
        Double(Int64(bitPattern: word)) / scale
    }

    /// The reals `words` encode (each multiplied by 2^−f, which equals dividing by 2^f: both are
    /// exact scalings by a power of two).
    public func decode(_ words: [UInt64]) -> [Double] {
        let inverse = 1 / scale
        return words.map { Double(Int64(bitPattern: $0)) * inverse }
    }
}
