import Foundation

// MARK: exp, reciprocal and sigmoid by iterative approximation.

extension Party {
    /// `e^x` by the limit `(1 + x/2^t)^(2^t)`: one local affine step and `t` squarings.
    ///
    /// Domain: `|x| ≤ 2^t` (else the base could be negative) and `e^(2·bound)` small enough for
    /// the squarings not to overflow; otherwise `invalidArgument` / `possibleOverflow`.
    ///
    /// Error. The limit itself: `0 ≤ e^x - (1 + x/m)^m ≤ e^x · x²/(2m)` for `0 ≤ x`, and
    /// `0 ≤ e^x - (1 + x/m)^m ≤ 2/(e²·m) ≈ 0.271/m` for `-m ≤ x ≤ 0` (with `m = 2^t`).
    /// The squarings run with `p` extra fractional bits (`p ≤ t`, as many as the bound allows), so
    /// rounding adds at most about `(2^t + 1)·2^-(f+p)·max(1, e^x)`; with `t = 8`, `f = 16` and
    /// `x ≤ 0` that is 2^-16.
    /// - Cost: `2t` rounds (`t` with `.localTwoParty`), plus one when `p < t`;
    ///   `(n-1)·8·2·t·count` bytes per party (dealer truncation).
    /// - Reference: CrypTen's `exp` (same limit approximation, without the extra precision).
    public func exp(_ x: SecretTensor, iterations t: Int = 8) throws(SecretSharingError) -> SecretTensor {
        try limitExp(x, upper: x.bound, iterations: t)
    }

    /// `exp` for inputs known to lie in `[-x.bound, upper]`.
    func limitExp(_ x: SecretTensor, upper: Double, iterations t: Int) throws(SecretSharingError) -> SecretTensor {
        guard (1...20).contains(t) else {
            throw .invalidArgument("exp iterations \(t) outside 1...20")
        }
        let m = Double(1 << t)
        guard x.bound <= m else {
            throw .invalidArgument("exp: inputs may reach \(x.bound) in magnitude, beyond 2^\(t) = \(m); clamp them or raise the iterations")
        }
        let f = encoder.fractionalBits
        let largest = Foundation.exp(Swift.max(0, upper)) * 1.01 + 1e-3
        // Extra bits p: squares of values ≤ largest at scale f+p must stay below 2^62.
        let room = 31.0 - Double(f) - log2(largest) - 0.1
        guard room >= 0 else {
            throw .possibleOverflow(operation: "exp", bound: largest, limit: encoder.productLimit.squareRoot())
        }
        let p = Swift.min(t, Int(room.rounded(.down)))
        let scaleBits = f + p
        // y₀ = 1 + x/2^t at scale f+p: x_enc · 2^(p-t) plus 2^(f+p).
        var y: [UInt64]
        if p == t {
            y = x.share
        } else {
            y = try truncate(x.share, shift: t - p)
        }
        if index == 0 {
            let unit = UInt64(1) << UInt64(scaleBits)
            y.withUnsafeMutableBufferPointer { q in for i in 0..<q.count { q[i] &+= unit } }
        }
        for step in 0..<t {
            let z = try squareProduct(y)
            // The last squaring also drops the p extra bits.
            y = try truncate(z, shift: step == t - 1 ? scaleBits + p : scaleBits)
        }
        let bound = Foundation.exp(Swift.max(0, upper)) + (m + 2) * encoder.resolution * largest
        return SecretTensor(shape: x.shape, share: y, bound: bound)
    }

    /// `1/x` for secret `x` known to lie in the public interval `domain` (`0 < lo ≤ x ≤ hi`), by
    /// Newton–Raphson `y ← y·(2 - x·y)`.
    ///
    /// Start: the secant of `1/x` through the interval's ends, `y₀ = 1/lo + 1/hi - x/(lo·hi)`,
    /// with relative error `ε₀ = (hi-lo)²/(4·lo·hi)`, when that is below the constant start
    /// `y₀ = 2/(lo+hi)`'s `ε₀ = (hi-lo)/(hi+lo)`. Each iteration squares the relative error, so
    /// `k` iterations leave `|y·x - 1| ≤ ε₀^(2^k)`; by default `k` is the least with
    /// `ε₀^(2^k) ≤ 2^-(f+2)`. Rounding adds at most about `4·2^-f·(1 + 1/lo)`.
    ///
    /// Outside `domain` the result is meaningless (Newton diverges when `x·y₀ ∉ (0, 2)`): the
    /// caller vouches for the domain, which is public.
    /// - Cost: `4k` rounds (`2k` with `.localTwoParty`), plus one for the secant start.
    public func reciprocal(
        _ x: SecretTensor, domain: ClosedRange<Double>, iterations: Int? = nil
    ) throws(SecretSharingError) -> SecretTensor {
        let (lo, hi) = (domain.lowerBound, domain.upperBound)
        guard lo > 0, hi.isFinite else {
            throw .invalidArgument("reciprocal needs a domain 0 < lo ≤ hi, got \(domain)")
        }
        let secantError = (hi - lo) * (hi - lo) / (4 * lo * hi)
        let constantError = (hi - lo) / (hi + lo)
        let useSecant = secantError < constantError
        let e0 = Swift.min(secantError, constantError)
        var k = iterations ?? 0
        if iterations == nil {
            let target = Foundation.pow(2.0, -Double(encoder.fractionalBits + 2))
            var err = e0
            while err > target && k < 30 { err *= err; k += 1 }
        }
        let xb = x.assumingBound(Swift.min(x.bound, hi + encoder.resolution))
        var y: SecretTensor
        if useSecant {
            y = try add(try multiply(xb, byScalar: -1 / (lo * hi)), scalar: 1 / lo + 1 / hi)
        } else {
            y = try constant([Double](repeating: 2 / (lo + hi), count: x.count), shape: x.shape)
        }
        let ySlack = 1 / lo + 8 * encoder.resolution
        y = y.assumingBound(ySlack)
        for _ in 0..<k {
            let t = try multiply(xb, y).assumingBound(1 + 8 * encoder.resolution)
            let u = try add(negate(t), scalar: 2).assumingBound(2 + 8 * encoder.resolution)
            y = try multiply(y, u).assumingBound(ySlack)
        }
        return y
    }

    /// The logistic function `σ(x) = 1/(1 + e^-x)`, for any `x` in range.
    ///
    /// Protocol: `s = [x < 0]` (one comparison; when `|x|` may exceed `K = 2^t`, also
    /// `[x < K]` and `[x < -K]` in the same batch); `a = min(|x|, K)` by selections;
    /// `e = exp(-a)` (the limit approximation on `[-K, 0]`, see `exp`); `r = 1/(1 + e)` on
    /// `[1, 2]` (three Newton steps from the secant start, `ε ≤ (1/8)^8`); and finally
    /// `σ(x) = s + (1 - 2s)·r`, using `σ(-a) = 1 - σ(a)`.
    ///
    /// Error: `|σ̂(x) - σ(x)| ≤ 0.271/2^t + 8·2^-f` (the exp error passes through
    /// `d/de 1/(1+e) ≥ -1`): about 1.2e-3 at the default `t = 8`, `f = 16`.
    /// The result's public bound is `1 + 2e-3`.
    /// - Cost: 8 rounds (comparison) + 1 or 2 (|x|, clamp) + `2t` (exp) + 13 (reciprocal) + 1:
    ///   40 rounds by default with dealer truncation.
    /// - Reference: the exp-then-reciprocal route of CrypTen (Knott et al., NeurIPS 2021), with the
    ///   input folded to `x ≤ 0` so that the exp stays in its accurate range.
    public func sigmoid(_ x: SecretTensor, iterations t: Int = 8) throws(SecretSharingError) -> SecretTensor {
        let count = x.count
        let k = Double(1 << t)
        let clamp = x.bound > k
        var batch = x.share
        if clamp {
            let kEnc = try encoder.encode(k)
            var minusK = x.share, plusK = x.share
            if index == 0 {
                for i in 0..<count { minusK[i] &-= kEnc; plusK[i] &+= kEnc }
            }
            batch.append(contentsOf: minusK)
            batch.append(contentsOf: plusK)
        }
        let bits = try mostSignificantBit(batch)
        let negative = Array(bits[0..<count])
        // sgn = 1 - 2·neg (an integer ±1).
        var sgn = Ring.scale(negative, by: 0 &- 2)
        if index == 0 { for i in 0..<count { sgn[i] &+= 1 } }
        var magnitude = try beaverProduct(sgn, x.share)  // |x|, exact
        if clamp {
            // mid = [x < K] - [x < -K] = 1 exactly when -K ≤ x < K; a = K + mid·(|x| - K).
            let mid = Ring.subtract(Array(bits[count..<(2 * count)]), Array(bits[(2 * count)...]))
            let kEnc = try encoder.encode(k)
            if index == 0 { for i in 0..<count { magnitude[i] &-= kEnc } }
            magnitude = try beaverProduct(mid, magnitude)
            if index == 0 { for i in 0..<count { magnitude[i] &+= kEnc } }
        }
        let negA = SecretTensor(shape: x.shape, share: Ring.scale(magnitude, by: UInt64.max), bound: k)
        let e = try limitExp(negA, upper: 0, iterations: t)
        let d = try add(e.assumingBound(1 + 4e-3), scalar: 1)
        let r = try reciprocal(d, domain: 1...2, iterations: 3)
        var out = try beaverProduct(sgn, r.share)
        let unit = one
        for i in 0..<count { out[i] &+= negative[i] &* unit }
        return SecretTensor(shape: x.shape, share: out, bound: 1 + 2e-3)
    }
}
