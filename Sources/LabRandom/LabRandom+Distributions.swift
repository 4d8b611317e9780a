#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

// MARK: - Scalar distributions

extension LabRandom {
    /// A uniform `Double` in [0, 1): the top 53 bits of one `next()`, times 2⁻⁵³.
    ///
    /// Every multiple of 2⁻⁵³ in [0, 1) has probability exactly 2⁻⁵³.
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(Int64(bitPattern: next() >> 11)) * 0x1p-53
    }

    /// A uniform `Float` in [0, 1): the top 24 bits of one `next()`, times 2⁻²⁴.
    ///
    /// Every multiple of 2⁻²⁴ in [0, 1) has probability exactly 2⁻²⁴.
    @inlinable
    public mutating func nextFloat() -> Float {
        Float(Int32(truncatingIfNeeded: next() >> 40)) * 0x1p-24
    }

    /// A uniform integer in `0..<bound`, without modulo bias.
    ///
    /// Lemire's nearly-divisionless method: `m = next() · bound` as a 128-bit product; if its low
    /// half is below `2⁶⁴ mod bound` the draw is rejected and repeated, else the high half is the
    /// result. Each value then has probability exactly `1/bound`.
    ///
    /// - Complexity: one `next()` on average (at most two on average for any bound); a division
    ///   only when the low half falls below `bound`.
    /// - Precondition: `bound > 0` (a programmer error otherwise).
    /// - Reference: D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019.
    @inlinable
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "LabRandom.nextInt(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold {
                m = next().multipliedFullWidth(by: b)
            }
        }
        return Int(m.high)
    }

    /// A standard normal `Double` (mean 0, variance 1), by the Box–Muller transform.
    ///
    /// Draws `u1 = 1 − nextDouble()` in (0, 1] and `u2 = nextDouble()` and returns
    /// `√(−2 ln u1) · cos(2π u2)`. Stateless: each call consumes exactly two `next()` values and no
    /// second value is cached, so a stream's values do not depend on how calls interleave with
    /// other draws. The sine half is discarded (``fillNormal(_:mean:standardDeviation:)`` uses it).
    ///
    /// - Note: The tail is cut at √(2·53·ln 2) ≈ 8.57 standard deviations. Results use the
    ///   platform's `log` and `cos`; they are bit-identical wherever the C math library is the same
    ///   and agree to about 1e-15 elsewhere.
    /// - Reference: G. E. P. Box and M. E. Muller, "A note on the generation of random normal
    ///   deviates", Ann. Math. Statist. 1958.
    public mutating func nextNormal() -> Double {
        let u1 = 1.0 - nextDouble()
        let u2 = nextDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// `true` with probability `p`: `nextDouble() < p`.
    ///
    /// `p = 0` never gives `true` and `p = 1` always does; `p` is resolved to a multiple of 2⁻⁵³.
    /// - Precondition: `0 ≤ p ≤ 1`.
    @inlinable
    public mutating func nextBernoulli(_ p: Double) -> Bool {
        precondition(p >= 0 && p <= 1, "LabRandom.nextBernoulli(_:) needs 0 ≤ p ≤ 1, got \(p)")
        return nextDouble() < p
    }
}
