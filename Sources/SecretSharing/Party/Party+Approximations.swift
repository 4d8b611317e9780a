import Foundation

// MARK: exp, reciprocal and sigmoid by iterative approximation.

extension Party {
    /// `e^x` by repeated squaring of a short Taylor step: `(1 + u + u²/2)^(2^t)` with `u = x/2^t`.
    ///
    /// Domain: `|x| ≤ 2^t` (beyond `-2^t` the base stops decreasing) and `e^(2·bound)` small
    /// enough for the squarings not to overflow; otherwise `invalidArgument` / `possibleOverflow`.
    ///
    /// Error. With `m = 2^t`: `ln(1 + u + u²/2) = u - u³/6 + O(u⁴)`, so for `|x| ≤ m/2` the
    /// relative error is at most `e^(|x|³/(5m²)) - 1` (≈ 2e-4 at `|x| = 4`, `t = 8`); for
    /// `x < -m/2` both `e^x` and the result are below `2^-(m/2)`. The squarings run with `p` extra
    /// fractional bits (`p ≤ t`, as many as the bound allows), so rounding adds at most about
    /// `(2^t + 2)·2^-(f+p)·max(1, e^x)`: `2^-16` for `x ≤ 0` at the defaults.
    /// CrypTen's plain limit `(1 + u)^(2^t)` has relative error `x²/(2m)` instead (3% at `x = 4`).
    /// - Cost: `2t + 2` rounds, plus one when `p < t` (its truncations are always
    ///   dealer-assisted, see `truncate(_:shift:method:)`); see `CostModel.exp` for the bytes.
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
        // u = x/2^t at scale f+p: x_enc · 2^(p-t).
        let u = p == t ? x.share : try truncate(x.share, shift: t - p, method: .dealerAssisted)
        // y₀ = 1 + u + u²/2 at scale f+p; u²/2 by a square and a truncation by f+p+1 bits.
        var y = try truncate(try squareProduct(u), shift: scaleBits + 1, method: .dealerAssisted)
        Ring.addInPlace(&y, u)
        if index == 0 {
            let unit = UInt64(1) << UInt64(scaleBits)
            y.withUnsafeMutableBufferPointer { q in for i in 0..<q.count { q[i] &+= unit } }
        }
        for step in 0..<t {
            let z = try squareProduct(y)
            // The last squaring also drops the p extra bits.
            y = try truncate(z, shift: step == t - 1 ? scaleBits + p : scaleBits, method: .dealerAssisted)
        }
        let bound = Foundation.exp(Swift.max(0, upper)) * 1.001 + (m + 2) * encoder.resolution * largest
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
        // Bounds: y₀ ≤ 1/lo (the secant and the constant start both are), and every Newton
        // iterate satisfies y ≤ 1/x; x·y₀ ≤ 1 + ε₀ for the secant, < 2 for the constant start,
        // and x·y ≤ 1 afterwards.
        let ySlack = 1 / lo + 8 * encoder.resolution
        y = y.assumingBound(ySlack)
        let firstProduct = useSecant ? 1 + e0 : 2 * hi / (lo + hi)
        for iteration in 0..<k {
            let tBound = (iteration == 0 ? firstProduct : 1) + 8 * encoder.resolution
            let t = try multiply(xb, y).assumingBound(tBound)
            let u = try add(negate(t), scalar: 2).assumingBound(2 + 8 * encoder.resolution)
            y = try multiply(y, u).assumingBound(ySlack)
        }
        return y
    }

    /// The logistic function `σ(x) = 1/(1 + e^-x)`, for any `x` in range.
    ///
    /// Protocol: `s = [x < 0]` (one comparison; when `|x|` may exceed `K = 2^t`, also `[x < K]`
    /// and `[x < -K]` in the same batch); `a = min(|x|, K)` by selections; `e = exp(-a)` on
    /// `[-K, 0]` (see `exp`); then `σ(a) = 1/(1 + e)` as a degree-6 polynomial in `τ = 2e - 1`
    /// (the Chebyshev interpolant of `1/(1.5 + τ/2)` on `[-1, 1]`, error 8.8e-6; its monomial
    /// coefficients are below 1 and are applied at 32 fractional bits); finally
    /// `σ(x) = s + (1 - 2s)·σ(a)`, using `σ(-a) = 1 - σ(a)`.
    ///
    /// Error: `|σ̂(x) - σ(x)| ≤ 6.6e-5 + 8.8e-6 + 6·2^-f ≈ 1.7e-4` at the default `t = 6`
    /// (`e^x·|x|³/(5m²)` peaks at `x = -3` with `m = 64`; `e^-32` is below the resolution, so
    /// clamping at `K = 64` costs nothing). The result's public bound is `1 + 1e-3`.
    /// - Cost: 8 rounds (comparison, with `|x|` fused into its last round) + 1 (clamp, when
    ///   needed) + `2t + 2` (exp) + 7 (polynomial) + 1: 30 rounds for `|x| ≤ 64`, 31 otherwise.
    /// - Reference: the exp route of CrypTen (Knott et al., NeurIPS 2021), with the input folded
    ///   to `x ≤ 0` so that both the exp and the reciprocal stay on short, accurate intervals.
    public func sigmoid(_ x: SecretTensor, iterations t: Int = 6) throws(SecretSharingError) -> SecretTensor {
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
        // The sign bits, converted in the same round as the product neg·x: |x| = x - 2·neg·x.
        let packed = try mostSignificantBitXOR(batch)
        let (bits, negativeTimesX) = try bitsToArithmetic(
            packed, count: batch.count, multiplying: x.share)
        let negative = Array(bits[0..<count])
        // sgn = 1 - 2·neg (an integer ±1).
        var sgn = Ring.scale(negative, by: 0 &- 2)
        if index == 0 { for i in 0..<count { sgn[i] &+= 1 } }
        var magnitude = Ring.subtract(x.share, Ring.scale(Array(negativeTimesX[0..<count]), by: 2))  // |x|, exact
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
        // τ = 2e - 1 ∈ [-1, 1] (up to rounding).
        let tau = try add(try multiply(e.assumingBound(1 + 1e-3), byInteger: 2), scalar: -1)
            .assumingBound(1 + 3e-3)
        let r = try polynomial(tau, coefficients: Self.sigmoidCoefficients)
        var out = try beaverProduct(sgn, r.share)
        let unit = one
        for i in 0..<count { out[i] &+= negative[i] &* unit }
        return SecretTensor(shape: x.shape, share: out, bound: 1 + 1e-3)
    }

    /// Monomial coefficients of the degree-6 Chebyshev interpolant of `1/(1.5 + τ/2)` on
    /// `[-1, 1]` (maximum error 8.8e-6).
    static let sigmoidCoefficients: [Double] = [
        0.6666666666666663, -0.2222630708227207, 0.07408769027424822, -0.024369107954094294,
        0.008123035984676348, -0.0033612562695336844, 0.0011204187565257999,
    ]

    /// `Σ_k c_k·x^k` for public coefficients, secret `x` with `|x| ≤ 1 + ε`.
    ///
    /// Powers by a balanced schedule (`x²`; then `x³, x⁴`; then `x⁵…x⁸`: `⌈log₂ degree⌉`
    /// batched products), and the coefficients applied at `min(2f, 58-f)` fractional bits with a single
    /// truncation, so coefficient rounding is negligible and each power contributes at most its
    /// own rounding (`≤ 2^-f` per product level) times `|c_k|`.
    /// - Cost: `2·⌈log₂ degree⌉ + 1` rounds with dealer truncation (`⌈log₂ degree⌉ + 1` with
    ///   `.localTwoParty`: the final truncation at `min(2f, 58-f)` bits is always dealer-assisted).
    public func polynomial(_ x: SecretTensor, coefficients: [Double]) throws(SecretSharingError) -> SecretTensor {
        guard x.bound <= 1.01 else {
            throw .invalidArgument("polynomial evaluation needs |x| ≤ 1, the bound is \(x.bound)")
        }
        let degree = coefficients.count - 1
        var powers: [SecretTensor] = [x]  // powers[i] = x^(i+1)
        while powers.count < degree {
            // Multiply the highest power by each of the lower ones (and itself), in one batch.
            let top = powers[powers.count - 1]
            let have = powers.count
            let need = Swift.min(have, degree - have)
            let lefts = try concatenate([SecretTensor](repeating: top, count: need).map { $0.reshaped([$0.count]) })
            let rights = try concatenate(powers[0..<need].map { $0.reshaped([$0.count]) })
            let products = try multiply(lefts.assumingBound(1.01), rights.assumingBound(1.01))
            for j in 0..<need {
                let part = products.rows((j * x.count)..<((j + 1) * x.count)).reshaped(x.shape)
                powers.append(part.assumingBound(1.01))
            }
        }
        let f = encoder.fractionalBits
        // Coefficients at cb fractional bits: the sum sits at scale f + cb and must stay below 2^62.
        let cb = Swift.min(2 * f, 58 - f)
        let coefficientScale = Double(UInt64(1) << UInt64(cb))
        var sum = [UInt64](repeating: 0, count: x.count)
        var coefficientSum = abs(coefficients[0])
        for (k, power) in powers.enumerated() {
            let c = coefficients[k + 1]
            coefficientSum += abs(c)
            let cEnc = UInt64(bitPattern: Int64((c * coefficientScale).rounded()))
            let share = power.share
            for i in 0..<sum.count { sum[i] &+= share[i] &* cEnc }
        }
        if index == 0 {
            let c0 = UInt64(bitPattern: Int64((coefficients[0] * coefficientScale).rounded())) &<< UInt64(f)
            for i in 0..<sum.count { sum[i] &+= c0 }
        }
        try check("polynomial", bound: coefficientSum * 1.01 * 1.01,
                  limit: Double(UInt64(1) << UInt64(62 - f - cb)))
        return SecretTensor(
            shape: x.shape, share: try truncate(sum, shift: cb, method: .dealerAssisted),
            bound: coefficientSum * 1.02 + encoder.resolution)
    }
}

// MARK: The logistic function by cubic pieces selected in one batched comparison.

extension Party {
    /// The logistic function `σ(x) = 1/(1 + e^-x)` for any `x` in range, in 8 rounds: cubic
    /// pieces on unit intervals of `[-10, 10]`, selected by one batched comparison, and 0 or 1
    /// outside.
    ///
    /// With thresholds `t_j = -10 + j` (`j = 0…20`), pieces `P_j` (the cubic interpolant of `σ` at
    /// the four Chebyshev nodes of `[t_j, t_(j+1))`), `P_(-1) = 0` and `P_20 = 1`:
    ///
    ///     σ̂(x) = 1 + Σ_j [x < t_j]·(P_(j-1)(x) - P_j(x)),
    ///
    /// which telescopes to `P_k(x)` on `[t_k, t_(k+1))`. Protocol: the 21 bits `[x < t_j]` of
    /// every element in one comparison batch (8 rounds). Independent of it, and so riding in its
    /// first rounds (`ridingPowers`, `Rider`): `x²` and `x³` (two Beaver products and their
    /// truncations), then every piece `P_j(x)` from the shares of `x, x², x³` with coefficients
    /// at 30 fractional bits, truncated back to `f` bits. The differences `D_j` of the truncated
    /// pieces are local and exact; the comparison's last round also opens the Beaver products
    /// `[x < t_j]·D_j` (`bitsToArithmetic(_:count:multiplying:)`), and the sum is the result.
    ///
    /// Outside `[-10, 10]` the powers and pieces may wrap, which is harmless: each `D_j` is
    /// multiplied by an exact bit, and the differences of the truncated pieces telescope exactly,
    /// so `x < -10` gives exactly 0 and `x ≥ 10` exactly 1. Hence no bound on `x` is needed beyond
    /// the comparison's (`|x| + 10` in range).
    ///
    /// Error: at most `3.7e-5` from the interpolation on `[-10, 10]` and `σ(-10) = 4.6e-5` outside
    /// (`RoundCuttingTests` checks both on a dense grid), plus rounding: the powers' truncation
    /// errors (`2^-f` for `x²`, `(|x| + 1)·2^-f` for `x³`) times the coefficients (below 0.2 for
    /// `x²`, 0.011 for `x³`), and `2^-f` for the piece's truncation: about `1e-4` in all at
    /// `f = 16`. The coefficients are computed with IEEE-754 basic operations only (a fixed series
    /// for `exp`), so every party derives the same integers on any machine.
    /// - Cost: 8 rounds: `CostModel.piecewiseSigmoid`.
    public func piecewiseSigmoid(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try check("piecewise sigmoid", bound: x.bound + Double(PiecewiseSigmoid.reach), limit: encoder.limit)
        return try piecewiseSigmoid(x.share, scaleBits: encoder.fractionalBits, shape: x.shape)
    }

    /// `piecewiseSigmoid` of a value still at scale `2f` (an untruncated product): the comparison
    /// reads it at that scale, and its truncation to `f` rides in the comparison's first round,
    /// before the powers (which then take rounds 1–4): one round less than truncating first.
    /// Refused when `bound + 10 ≥ 2^(62-2f)`.
    /// - Cost: 8 rounds.
    func piecewiseSigmoid(untruncated z: [UInt64], shape: [Int], bound: Double) throws(SecretSharingError) -> SecretTensor {
        try check("piecewise sigmoid", bound: bound + Double(PiecewiseSigmoid.reach), limit: encoder.productLimit)
        return try piecewiseSigmoid(z, scaleBits: 2 * encoder.fractionalBits, shape: shape)
    }

    /// The protocol of `piecewiseSigmoid` for shares `z` at scale `scaleBits` (`f` or `2f`).
    private func piecewiseSigmoid(_ z: [UInt64], scaleBits: Int, shape: [Int]) throws(SecretSharingError) -> SecretTensor {
        let table = PiecewiseSigmoid.table
        let count = z.count
        let thresholds = table.thresholds
        let f = encoder.fractionalBits
        let isFirst = index == 0
        let total = count * thresholds.count
        // z - t_j for every threshold and element (the comparison's inputs), at z's scale.
        var shifted = [UInt64](repeating: 0, count: total)
        for (j, t) in thresholds.enumerated() {
            let tEnc = UInt64(bitPattern: Int64(t)) &<< UInt64(scaleBits)
            for i in 0..<count { shifted[j * count + i] = isFirst ? z[i] &- tEnc : z[i] }
        }
        // The comparison runs first; x (when z is untruncated), x² and x³ ride in its first
        // rounds (values outside [-10, 10] may wrap; see above).
        let powers = try ridingPowers(scaleBits == f ? z : nil, untruncated: scaleBits == f ? nil : z)
        let packed = try mostSignificantBitXOR(shifted, riders: powers.riders)
        // D_j = P_(j-1)(x) - P_j(x) at scale f, from the truncated pieces (exact differences, so
        // they telescope exactly).
        let pieces = powers.state.pieces
        let m = thresholds.count - 1  // the number of pieces
        var differences = [UInt64](repeating: 0, count: total)
        let unit = isFirst ? UInt64(1) << UInt64(f) : 0
        for j in 0...m {
            for i in 0..<count {
                let lower = j == 0 ? 0 : pieces[(j - 1) * count + i]
                let upper = j == m ? unit : pieces[j * count + i]
                differences[j * count + i] = lower &- upper
            }
        }
        // The bits [x < t_j] become arithmetic with the products [x < t_j]·D_j in the same round.
        let (_, products) = try bitsToArithmetic(packed, count: total, multiplying: differences)
        var sum = [UInt64](repeating: unit, count: count)
        for j in 0...m {
            for i in 0..<count { sum[i] &+= products[j * count + i] }
        }
        return SecretTensor(shape: shape, share: sum, bound: 1 + 1e-3)
    }
}

extension Party {
    /// The powers `x²` and `x³` (truncated to scale `f`), computed by riders of a comparison's
    /// rounds: the square pair's opening (round 0), the truncation of `x²` (1), the product
    /// `x²·x` (2) and its truncation (3); with `.localTwoParty` the truncations are local and
    /// the product rides in round 1. The results are in `state` once those rounds have run.
    ///
    /// Given `untruncated` (scale `2f`) instead of `x`, a first rider truncates it to `x` (with
    /// dealer truncation; a local truncation needs no round) and the others follow one round later.
    func ridingPowers(_ given: [UInt64]?, untruncated: [UInt64]? = nil) throws(SecretSharingError) -> (state: RiddenPowers, riders: [Rider]) {
        let state = RiddenPowers()
        let local = truncation == .localTwoParty
        let f = encoder.fractionalBits
        var lead: [Rider] = []
        if let given {
            state.x = given
        } else if let raw = untruncated {
            if local {
                state.x = try truncate(raw, shift: f, method: .localTwoParty)
            } else {
                var pairs: TruncationPairs?
                lead = [Rider(words: { () throws(SecretSharingError) -> [UInt64] in
                    let t = try self.provider.truncationPairs(count: raw.count, shift: f)
                    pairs = t
                    return self.truncationMask(raw, pairs: t)
                }, opened: { (c: [UInt64]) throws(SecretSharingError) in
                    state.x = self.finishTruncation(opened: c, shift: f, pairs: pairs!)
                })]
            }
        }
        let count = (given ?? untruncated ?? []).count
        let isFirst = index == 0
        var squareRaw: [UInt64] = []
        var squareTruncation: TruncationPairs?
        var cubeRaw: [UInt64] = []
        var cubeTruncation: TruncationPairs?
        var pairs: SquarePairs?
        var triples: BeaverTriples?
        let square = Rider(words: { () throws(SecretSharingError) -> [UInt64] in
            let p = try self.provider.squarePairs(count: count)
            pairs = p
            return Ring.subtract(state.x, p.a)
        }, opened: { (e: [UInt64]) throws(SecretSharingError) in
            let p = pairs!
            var z = [UInt64](repeating: 0, count: count)
            for i in 0..<count {
                z[i] = p.c[i] &+ 2 &* e[i] &* p.a[i]
                if isFirst { z[i] &+= e[i] &* e[i] }
            }
            if local {
                state.square = try self.truncate(z, shift: f, method: .localTwoParty)
            } else {
                squareRaw = z
            }
        })
        let truncateSquare = Rider(words: { () throws(SecretSharingError) -> [UInt64] in
            let t = try self.provider.truncationPairs(count: count, shift: f)
            squareTruncation = t
            return self.truncationMask(squareRaw, pairs: t)
        }, opened: { (c: [UInt64]) throws(SecretSharingError) in
            state.square = self.finishTruncation(opened: c, shift: f, pairs: squareTruncation!)
        })
        let product = Rider(words: { () throws(SecretSharingError) -> [UInt64] in
            let t = try self.provider.multiplicationTriples(count: count)
            triples = t
            var masked = Ring.subtract(state.square, t.a)
            masked.append(contentsOf: Ring.subtract(state.x, t.b))
            return masked
        }, opened: { (o: [UInt64]) throws(SecretSharingError) in
            let t = triples!
            var z = [UInt64](repeating: 0, count: count)
            for i in 0..<count {
                let e = o[i], g = o[count + i]
                z[i] = t.c[i] &+ e &* t.b[i] &+ g &* t.a[i]
                if isFirst { z[i] &+= e &* g }
            }
            if local {
                state.cube = try self.truncate(z, shift: f, method: .localTwoParty)
            } else {
                cubeRaw = z
            }
        })
        let truncateCube = Rider(words: { () throws(SecretSharingError) -> [UInt64] in
            let t = try self.provider.truncationPairs(count: count, shift: f)
            cubeTruncation = t
            return self.truncationMask(cubeRaw, pairs: t)
        }, opened: { (c: [UInt64]) throws(SecretSharingError) in
            state.cube = self.finishTruncation(opened: c, shift: f, pairs: cubeTruncation!)
        })
        // Every piece P_j(x) at scale f + q from the coefficient integers, truncated by q
        // (always dealer-assisted: the values sit at 46 bits).
        let q = PiecewiseSigmoid.coefficientBits
        var pieceTruncation: TruncationPairs?
        let pieces = Rider(words: { () throws(SecretSharingError) -> [UInt64] in
            let coefficients = PiecewiseSigmoid.table.encodedPieces
            var raw = [UInt64](repeating: 0, count: coefficients.count * count)
            state.x.withUnsafeBufferPointer { px in
                state.square.withUnsafeBufferPointer { p2 in
                    state.cube.withUnsafeBufferPointer { p3 in
                        for (j, c) in coefficients.enumerated() {
                            let c0 = c[0] &<< UInt64(f)
                            for i in 0..<count {
                                var v = c[1] &* px[i] &+ c[2] &* p2[i] &+ c[3] &* p3[i]
                                if isFirst { v &+= c0 }
                                raw[j * count + i] = v
                            }
                        }
                    }
                }
            }
            let t = try self.provider.truncationPairs(count: raw.count, shift: q)
            pieceTruncation = t
            return self.truncationMask(raw, pairs: t)
        }, opened: { (c: [UInt64]) throws(SecretSharingError) in
            state.pieces = self.finishTruncation(opened: c, shift: q, pairs: pieceTruncation!)
        })
        return (state, lead + (local ? [square, product] : [square, truncateSquare, product, truncateCube]) + [pieces])
    }
}

/// Where `ridingPowers`' riders leave `x`, `x²`, `x³` and the pieces `P_j(x)` (scale `f`,
/// piece-major).
final class RiddenPowers {
    var pieces: [UInt64] = []
    var x: [UInt64] = []
    var square: [UInt64] = []
    var cube: [UInt64] = []
}

/// The pieces of `Party.piecewiseSigmoid`, derived once with IEEE-754 basic operations only.
public enum PiecewiseSigmoid {
    /// Thresholds reach `±reach`, one unit apart.
    public static let reach = 10
    /// Fractional bits of the coefficients.
    public static let coefficientBits = 30

    public struct Table: Sendable {
        /// `t_j = -reach + j`, `j = 0…2·reach`.
        public var thresholds: [Int]
        /// The monomial coefficients of `P_j` (`j = 0..<2·reach`), in `x`.
        public var pieces: [[Double]]
        /// The coefficients of each `P_j` rounded to `coefficientBits` fractional bits (ring
        /// elements).
        public var encodedPieces: [[UInt64]]
    }

    public static let table: Table = {
        let thresholds = Array(-reach...reach)
        var pieces: [[Double]] = []
        // The four Chebyshev nodes of [-1/2, 1/2]: ±cos(π/8)/2, ±cos(3π/8)/2.
        let a = (2 + 2.0.squareRoot()).squareRoot() / 4, b = (2 - 2.0.squareRoot()).squareRoot() / 4
        let nodes = [-a, -b, b, a]
        for j in 0..<(2 * reach) {
            let c = Double(-reach + j) + 0.5
            // Newton's divided differences in t = x - c, then monomials in t, then in x.
            var dd = nodes.map { logistic(c + $0) }
            for level in 1..<4 {
                for i in stride(from: 3, through: level, by: -1) {
                    dd[i] = (dd[i] - dd[i - 1]) / (nodes[i] - nodes[i - level])
                }
            }
            // p(t) = dd0 + (t - n0)(dd1 + (t - n1)(dd2 + (t - n2)·dd3)), expanded by Horner's
            // rule into coefficients in t, lowest first.
            var poly = [dd[3]]
            for i in stride(from: 2, through: 0, by: -1) {
                var next = [Double](repeating: 0, count: poly.count + 1)
                for (k, v) in poly.enumerated() {
                    next[k + 1] += v
                    next[k] -= v * nodes[i]
                }
                next[0] += dd[i]
                poly = next
            }
            // In x: t = x - c.
            let (b0, b1, b2, b3) = (poly[0], poly[1], poly[2], poly[3])
            pieces.append([
                b0 - b1 * c + b2 * c * c - b3 * c * c * c,
                b1 - 2 * b2 * c + 3 * b3 * c * c,
                b2 - 3 * b3 * c,
                b3,
            ])
        }
        let scale = Double(UInt64(1) << UInt64(coefficientBits))
        func encoded(_ p: [Double]) -> [UInt64] { p.map { UInt64(bitPattern: Int64(($0 * scale).rounded())) } }
        return Table(thresholds: thresholds, pieces: pieces, encodedPieces: pieces.map(encoded))
    }()

    /// `1/(1 + e^-x)` with `exp` by a fixed series: `e^y = (Σ_{k<24} (y/64)^k/k!)^64`, summed in a
    /// fixed order. Relative error below `1e-14` for `|y| ≤ 11`; bit-identical on every IEEE-754
    /// machine (basic operations only).
    public static func logistic(_ x: Double) -> Double {
        let y = -x / 64
        var term = 1.0, sum = 1.0
        for k in 1..<24 {
            term = term * y / Double(k)
            sum += term
        }
        for _ in 0..<6 { sum = sum * sum }
        return 1 / (1 + sum)
    }
}
