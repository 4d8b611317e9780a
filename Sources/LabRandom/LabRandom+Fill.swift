#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

// MARK: - Bulk fills (neural-network initialisation)

extension LabRandom {
    /// Fills `out` with values uniform in [`low`, `high`), two per `next()`.
    ///
    /// Word `w` gives `a = w >> 40` and `b = (w >> 8) & 0xFFFFFF` (two 24-bit halves; xoshiro256**
    /// output is uniform in every bit), and the values `low + a·d` and `low + b·d` with
    /// `d = (high − low)·2⁻²⁴`, in that order; an odd last element uses `a` only. So element `2i`
    /// equals `low + (high − low)·u` for the `u` that `nextFloat()` would have given from word `i`.
    /// `ceil(n/2)` words are consumed.
    ///
    /// - Note: Float rounding can give exactly `high` when `|low|` is much larger than `high − low`.
    /// - Complexity: O(n), the state kept in registers; no allocation.
    /// - Precondition: `low ≤ high`, both finite.
    public mutating func fillUniform(_ out: UnsafeMutableBufferPointer<Float>, low: Float, high: Float) {
        precondition(low.isFinite && high.isFinite && low <= high,
                     "LabRandom.fillUniform needs finite low ≤ high, got [\(low), \(high))")
        guard let base = out.baseAddress else { return }
        let n = out.count
        let scale = (high - low) * 0x1p-24
        var (a0, a1, a2, a3) = (s0, s1, s2, s3)
        var i = 0
        while i + 1 < n {
            let w = Self.step(&a0, &a1, &a2, &a3)
            // Int32 → Float is one instruction; UInt64 → Float is not (the values fit in 24 bits).
            base[i] = low + Float(Int32(truncatingIfNeeded: w >> 40)) * scale
            base[i + 1] = low + Float(Int32(truncatingIfNeeded: (w >> 8) & 0xFF_FFFF)) * scale
            i += 2
        }
        if i < n {
            let w = Self.step(&a0, &a1, &a2, &a3)
            base[i] = low + Float(Int32(truncatingIfNeeded: w >> 40)) * scale
        }
        (s0, s1, s2, s3) = (a0, a1, a2, a3)
    }

    /// Fills `out` with normal values of the given mean and standard deviation, two per `next()`.
    ///
    /// Box–Muller in `Float`: word `w` gives `u1 = (w >> 32 + 1)·2⁻³²` in (0, 1] and
    /// `θ = (w & 0xFFFFFFFF)·2π·2⁻³²`, then `r = √(−2 ln u1)` and the pair
    /// `mean + sd·r·cos θ`, `mean + sd·r·sin θ` (an odd last element takes the cosine only).
    /// `ceil(n/2)` words are consumed. Values differ from repeated ``nextNormal()`` calls, which
    /// use two words and `Double` arithmetic per value.
    ///
    /// - Note: The tail is cut at √(2·32·ln 2) ≈ 6.66 standard deviations (probability of a larger
    ///   value under a true normal ≈ 3·10⁻¹¹). Uses the platform's `logf`, `sinf`, `cosf`: values
    ///   are bit-identical where the C math library is the same and agree to a few ulp elsewhere.
    /// - Complexity: O(n), one `logf`, `sqrtf`, `sinf` and `cosf` per pair; no allocation.
    /// - Precondition: `standardDeviation ≥ 0`, both finite.
    public mutating func fillNormal(
        _ out: UnsafeMutableBufferPointer<Float>, mean: Float, standardDeviation: Float
    ) {
        precondition(mean.isFinite && standardDeviation.isFinite && standardDeviation >= 0,
                     "LabRandom.fillNormal needs a finite mean and standard deviation ≥ 0, got \(mean), \(standardDeviation)")
        guard let base = out.baseAddress else { return }
        let n = out.count
        let angleScale = Float(2 * Double.pi * 0x1p-32)
        var (a0, a1, a2, a3) = (s0, s1, s2, s3)
        var i = 0
        while i < n {
            let w = Self.step(&a0, &a1, &a2, &a3)
            let u1 = Float(Int64(bitPattern: (w >> 32) + 1)) * 0x1p-32
            let theta = Float(Int64(bitPattern: w & 0xFFFF_FFFF)) * angleScale
            let r = standardDeviation * (-2 * logf(u1)).squareRoot()
            base[i] = mean + r * cosf(theta)
            if i + 1 < n { base[i + 1] = mean + r * sinf(theta) }
            i += 2
        }
        (s0, s1, s2, s3) = (a0, a1, a2, a3)
    }
}
