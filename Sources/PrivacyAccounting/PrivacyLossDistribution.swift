#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A discretized privacy-loss distribution (PLD) for one direction of a neighbouring pair:
/// probability masses on the losses kΔ (k = `lowerIndex`, `lowerIndex` + 1, …) plus a mass at +∞.
///
/// For a pair of output distributions (P, Q), the privacy loss is L = log(P(o)/Q(o)) with o ∼ P,
/// and the mechanism is (ε, δ)-DP for this direction exactly when the hockey-stick divergence
///   δ(ε) = E_P[(1 − e^{ε−L})₊] = p_∞ + Σ_{ℓ_k > ε} p_k (1 − e^{ε−ℓ_k})
/// is at most δ. Composition of mechanisms is convolution of their PLDs (Dwork & Rothblum 2016;
/// Koskela et al. 2020; Meiser & Mohammadi 2018).
public struct PrivacyLossPMF: Sendable, Equatable {
    /// Δ, the spacing of the loss grid.
    public let discretization: Double
    /// The loss of `probabilities[0]` is `lowerIndex`·Δ.
    public let lowerIndex: Int
    /// Masses on consecutive grid losses.
    public let probabilities: [Double]
    /// The mass on an infinite loss (a δ that no ε removes).
    public let infinityMass: Double

    public init(discretization: Double, lowerIndex: Int, probabilities: [Double], infinityMass: Double) {
        self.discretization = discretization
        self.lowerIndex = lowerIndex
        self.probabilities = probabilities
        self.infinityMass = infinityMass
    }

    /// δ(ε), the hockey-stick divergence at e^ε.
    /// - Complexity: O(support).
    public func delta(epsilon: Double) -> Double {
        var upper = infinityMass, lower = 0.0
        for k in stride(from: probabilities.count - 1, through: 0, by: -1) {
            let loss = Double(lowerIndex + k) * discretization
            if loss <= epsilon { break }
            upper += probabilities[k]
            lower += probabilities[k] * exp(-loss)
        }
        return max(0, upper - exp(epsilon) * lower)
    }

    /// The smallest ε ≥ 0 with δ(ε) ≤ δ (∞ when the infinite-loss mass alone exceeds δ).
    ///
    /// Scans losses from the top, keeping U = p_∞ + Σ_{ℓ ≥ ℓ_k} p and V = Σ_{ℓ ≥ ℓ_k} p·e^{−ℓ}; on
    /// the interval below ℓ_k the solution of U − e^ε V = δ is ε = log((U − δ)/V).
    /// - Complexity: O(support).
    public func epsilon(delta: Double) -> Double {
        if infinityMass > delta { return .infinity }
        var upper = infinityMass, lower = 0.0
        for k in stride(from: probabilities.count - 1, through: 0, by: -1) {
            let loss = Double(lowerIndex + k) * discretization
            if upper > delta && lower > 0 && log((upper - delta) / lower) >= loss { break }
            upper += probabilities[k]
            lower += exp(-loss) * probabilities[k]
            if upper >= delta && lower == 0 { return max(0, loss) }
        }
        if upper <= lower + delta { return 0 }
        return max(0, log((upper - delta) / lower))
    }

    /// The PLD of the composition of `count` copies of each PMF: a convolution computed with one
    /// FFT per distinct PMF, raised to its count in the frequency domain.
    ///
    /// The result is kept on the index range [lower, upper] that a Chernoff bound
    /// (P(S ≥ u) ≤ min_{t>0} E[e^{tS}]·e^{−tu}, orders t = ±1…±20 over the support length, as
    /// dp-accounting does) shows to hold all but `tailMassTruncation` of the mass; the FFT is
    /// circular over a power-of-two length covering that range, so mass outside it aliases by at
    /// most that much. The truncated bound is added to the infinite-loss mass (pessimistic).
    /// - Complexity: O(N log N) with N the power of two above the kept range, at most
    ///   `PrivacyLossDistribution.maximumGridPoints`.
    /// - Throws: `AccountingError` naming `steps` when nothing is composed, a count is negative,
    ///   or the composed range needs more than `maximumGridPoints` points; naming
    ///   `discretization` when the PMFs lie on different grids.
    public static func composition(_ parts: [(pmf: PrivacyLossPMF, count: Int)],
                                   tailMassTruncation: Double = 1e-15) throws(AccountingError) -> PrivacyLossPMF {
        if let bad = parts.first(where: { $0.count < 0 }) {
            throw AccountingError(parameter: "steps", value: "\(bad.count)", expected: "an integer ≥ 0")
        }
        let parts = parts.filter { $0.count > 0 }
        guard let first = parts.first else {
            throw AccountingError(parameter: "steps", value: "0", expected: "at least one mechanism with a positive count to compose")
        }
        let delta = first.pmf.discretization
        if let other = parts.first(where: { $0.pmf.discretization != delta }) {
            throw AccountingError(parameter: "discretization", value: "\(other.pmf.discretization)",
                                  expected: "the same grid spacing for every PMF composed (\(delta))")
        }
        // Infinite-loss mass: 1 − Π(1 − p_∞)^count, plus the truncated tails.
        var logFinite = 0.0
        for (pmf, count) in parts { logFinite += Double(count) * log1p(-pmf.infinityMass) }
        let infinity = min(1, -expm1(logFinite) + (parts.count == 1 && parts[0].count == 1 ? 0 : tailMassTruncation))
        if parts.count == 1 && parts[0].count == 1 { return parts[0].pmf }

        // Chernoff bounds on the index sum, in Double: with many steps the full range
        // (Σ (length − 1)·count) need not fit an Int, while the kept range is checked below.
        var maxLength = 1, fullUpper = 0.0, base = 0.0
        for (pmf, count) in parts {
            maxLength = max(maxLength, pmf.probabilities.count)
            fullUpper += Double(pmf.probabilities.count - 1) * Double(count)
            base += Double(pmf.lowerIndex) * Double(count)
        }
        var lowerBound = 0.0, upperBound = fullUpper
        for k in -20...20 where k != 0 {
            let t = Double(k) / Double(maxLength)
            var total = log(2 / tailMassTruncation)
            for (pmf, count) in parts { total += Double(count) * logMomentGenerating(pmf.probabilities, t) }
            let bound = total / t
            guard bound.isFinite else { continue }
            if t > 0 { upperBound = min(upperBound, bound.rounded(.up)) }
            else { lowerBound = max(lowerBound, bound.rounded(.down)) }
        }
        let limit = PrivacyLossDistribution.maximumGridPoints
        let keptLength = max(1, upperBound - lowerBound + 1)
        // Indices (and the loss index of the result) must also stay exact in a Double and an Int.
        guard keptLength <= Double(limit), max(abs(base + lowerBound), abs(upperBound)) < 0x1p52 else {
            let total = parts.reduce(0.0) { $0 + Double($1.count) }
            throw AccountingError(
                parameter: "steps", value: "\(Int(exactly: total) ?? Int.max)",
                expected: "a composition whose privacy loss fits a grid of \(limit) points at discretization \(delta) "
                    + "(this one spans \(shortNumber(keptLength)) points); use fewer steps, a coarser discretization, or the rdp accountant")
        }
        let lowerIndex = Int(lowerBound), outputLength = Int(keptLength)
        var n = 1
        while n < max(outputLength, maxLength) { n <<= 1 }
        let fft = FFT(count: n)

        var accRe = [Double](repeating: 1, count: n), accIm = [Double](repeating: 0, count: n)
        var re = [Double](repeating: 0, count: n), im = [Double](repeating: 0, count: n)
        for (pmf, count) in parts {
            for i in 0..<n { re[i] = 0; im[i] = 0 }
            for (j, p) in pmf.probabilities.enumerated() { re[j] = p }
            fft.transform(re: &re, im: &im, inverse: false)
            let c = Double(count)
            for i in 0..<n {
                // z^c in polar form; |z| ≤ 1.
                let magnitude = (re[i] * re[i] + im[i] * im[i]).squareRoot()
                let power = magnitude == 0 ? 0 : exp(c * log(magnitude))
                let angle = c * atan2(im[i], re[i])
                let (pr, pi) = (power * cos(angle), power * sin(angle))
                let (ar, ai) = (accRe[i], accIm[i])
                accRe[i] = ar * pr - ai * pi
                accIm[i] = ar * pi + ai * pr
            }
        }
        fft.transform(re: &accRe, im: &accIm, inverse: true)
        var output = [Double](repeating: 0, count: outputLength)
        for k in 0..<outputLength {
            let index = ((lowerIndex + k) % n + n) % n
            output[k] = max(0, accRe[index])
        }
        return PrivacyLossPMF(discretization: delta, lowerIndex: Int(base) + lowerIndex, probabilities: output, infinityMass: infinity)
    }

    /// log Σ_j p_j e^{t·j}.
    static func logMomentGenerating(_ p: [Double], _ t: Double) -> Double {
        var maximum = -Double.infinity
        for (j, v) in p.enumerated() where v > 0 { maximum = max(maximum, log(v) + t * Double(j)) }
        guard maximum > -.infinity else { return -.infinity }
        var sum = 0.0
        for (j, v) in p.enumerated() where v > 0 { sum += exp(log(v) + t * Double(j) - maximum) }
        return maximum + log(sum)
    }

    /// The pessimistic connect-the-dots PMF on the grid losses kΔ, k ∈ [lower, upper], from the
    /// exact hockey-stick values δ_k = δ(kΔ) (Doroshenko, Ghazi, Kamath, Kumar & Manurangsi 2022,
    /// Algorithm 1). With d = Δ:
    ///   p_lower = (1 − δ_lower) + (δ_{lower+1} − δ_lower)/(e^d − 1),
    ///   p_k     = ((δ_{k+1} − δ_k) − e^d (δ_k − δ_{k−1}))/(e^d − 1),
    ///   p_upper = (δ_upper − δ_{upper−1})/(e^{−d} − 1),  p_∞ = δ_upper.
    /// The discrete PLD's δ(ε) equals the exact one at every grid point and lies above it in
    /// between (δ(ε) is convex in e^ε), so every ε it reports is an upper bound.
    static func connectTheDots(discretization d: Double, lower: Int, deltas input: [Double]) -> PrivacyLossPMF {
        var deltas = input
        for i in 1..<deltas.count { deltas[i] = min(deltas[i], deltas[i - 1]) }   // non-increasing
        let n = deltas.count
        guard n >= 2 else {
            return PrivacyLossPMF(discretization: d, lowerIndex: lower, probabilities: [1 - deltas[0]], infinityMass: deltas[0])
        }
        let expD = exp(d), em1 = expm1(d)
        var p = [Double](repeating: 0, count: n)
        p[0] = (1 - deltas[0]) + (deltas[1] - deltas[0]) / em1
        if n > 2 {
            for k in 1..<(n - 1) {
                p[k] = ((deltas[k + 1] - deltas[k]) - expD * (deltas[k] - deltas[k - 1])) / em1
            }
        }
        p[n - 1] = (deltas[n - 1] - deltas[n - 2]) / expm1(-d)
        for k in 0..<n where p[k] < 0 { p[k] = 0 }
        return PrivacyLossPMF(discretization: d, lowerIndex: lower, probabilities: p, infinityMass: deltas[n - 1])
    }
}

/// The privacy-loss distributions of a mechanism for both directions of the add-or-remove-one
/// neighbouring relation; ε(δ) is the larger of the two.
public struct PrivacyLossDistribution: Sendable, Equatable {
    /// P = M(D), Q = M(D without one example).
    public let remove: PrivacyLossPMF
    /// P = M(D), Q = M(D with one more example).
    public let add: PrivacyLossPMF

    public init(remove: PrivacyLossPMF, add: PrivacyLossPMF) {
        self.remove = remove
        self.add = add
    }

    /// The default grid spacing Δ = 10⁻⁴, as in dp-accounting's `PLDAccountant`.
    public static let defaultDiscretization = 1e-4

    /// The most points a grid may hold, for one mechanism's PMF or a composition's FFT: 2²⁶
    /// (≈ 6.7·10⁷; the FFT composition then holds about seven arrays of that many Doubles,
    /// ≈ 3.5 GiB at worst). A Gaussian mechanism spans losses of about ±(1/2σ² + 8/σ), so at
    /// Δ = 10⁻⁴ the limit is reached near σ ≈ 0.009 — which is also the effective σ/√T of T
    /// full-batch (q = 1) steps merged into one Gaussian (σ = 0.7, T = 1000 needs 2.9·10⁷
    /// points). A smaller σ (or Δ) is refused with an error naming it instead of allocating
    /// tens of gigabytes to terabytes; RDP has no such limit.
    public static let maximumGridPoints = 1 << 26

    /// ln of the noise mass left out on each side when the grid is laid (as dp-accounting).
    static let logTailMass = -50.0

    /// The PLD of one step of the Gaussian mechanism (noise multiplier σ, sensitivity 1) on a
    /// Poisson sample of rate q.
    ///
    /// With μ₀ = N(0, σ²), μ₁ = N(1, σ²) and the mixture μ_q = (1 − q)μ₀ + qμ₁, the pairs are
    /// (μ_q, μ₀) for removal and (μ₀, μ_q) for addition. Their hockey-stick divergences have closed
    /// forms through the Gaussian one, δ_G(ε) = Φ(−εσ + 1/2σ) − e^ε Φ(−εσ − 1/2σ):
    ///   remove: δ(ε) = q·δ_G(log(1 + (e^ε − 1)/q))                  for ε > log(1 − q), else 1 − e^ε;
    ///   add:    δ(ε) = (1 − e^ε(1 − q))·δ_G(−log(1 + (e^{−ε} − 1)/q)) for 0 < ε < −log(1 − q), 0 above.
    /// Each direction is discretized by connect-the-dots on the grid kΔ between the losses at
    /// the noise quantiles with tail mass ½e⁻⁵⁰ (beyond them the loss is treated as ±the edge,
    /// pessimistically), so the PMF's δ(ε) bounds the exact one from above.
    /// - Complexity: O((loss range)/Δ) evaluations of erfc.
    /// - Throws: `AccountingError` naming `sampling_probability`, `noise_multiplier` or
    ///   `discretization`.
    public static func poissonSubsampledGaussian(samplingProbability q: Double, noiseMultiplier sigma: Double,
                                                 discretization: Double = defaultDiscretization) throws(AccountingError) -> PrivacyLossDistribution {
        try Check.samplingProbability(q)
        try Check.noiseMultiplier(sigma)
        guard discretization > 0, discretization.isFinite else {
            throw AccountingError(parameter: "discretization", value: "\(discretization)", expected: "a finite number > 0")
        }
        let z = normalQuantileOfTail(exp(logTailMass) / 2)
        let xLow = -z * sigma, xHigh = 1 + z * sigma
        let removeLoss = { (x: Double) -> Double in removePrivacyLoss(x, q: q, sigma: sigma) }
        let remove = try discretize(lower: removeLoss(xLow), upper: removeLoss(xHigh), discretization: discretization, sigma: sigma) {
            removeDelta($0, q: q, sigma: sigma)
        }
        if q == 1 { return PrivacyLossDistribution(remove: remove, add: remove) }
        let add = try discretize(lower: -removeLoss(xHigh), upper: -removeLoss(xLow), discretization: discretization, sigma: sigma) {
            addDelta($0, q: q, sigma: sigma)
        }
        return PrivacyLossDistribution(remove: remove, add: add)
    }

    /// The number of grid points one direction of `poissonSubsampledGaussian` would lay for
    /// these parameters, computed without allocating anything (∞ when it does not fit a Double).
    /// At most `maximumGridPoints` are allowed; q = 1 gives the widest range for a σ.
    public static func gridPoints(samplingProbability q: Double, noiseMultiplier sigma: Double,
                                  discretization: Double = defaultDiscretization) throws(AccountingError) -> Double {
        try Check.samplingProbability(q)
        try Check.noiseMultiplier(sigma)
        guard discretization > 0, discretization.isFinite else {
            throw AccountingError(parameter: "discretization", value: "\(discretization)", expected: "a finite number > 0")
        }
        let z = normalQuantileOfTail(exp(logTailMass) / 2)
        let lower = removePrivacyLoss(-z * sigma, q: q, sigma: sigma), upper = removePrivacyLoss(1 + z * sigma, q: q, sigma: sigma)
        let points = (upper / discretization).rounded(.up) - (lower / discretization).rounded(.down) + 1
        return points.isFinite ? points : .infinity
    }

    /// Connect-the-dots on the grid kΔ covering [lower, upper], refused (before anything is
    /// allocated or converted to Int) when it needs more than `maximumGridPoints` points.
    static func discretize(lower: Double, upper: Double, discretization d: Double, sigma: Double,
                           delta: (Double) -> Double) throws(AccountingError) -> PrivacyLossPMF {
        let low = (lower / d).rounded(.down), high = max(low, (upper / d).rounded(.up))
        let points = high - low + 1
        guard low.isFinite, high.isFinite, points <= Double(maximumGridPoints), abs(low) < 0x1p52, abs(high) < 0x1p52 else {
            let span = upper - lower
            let coarsest = span / Double(maximumGridPoints - 1)
            // Blame σ when even the default spacing cannot hold its loss range.
            if !span.isFinite || span / defaultDiscretization > Double(maximumGridPoints) {
                throw AccountingError(
                    parameter: "noise_multiplier", value: "\(sigma)",
                    expected: "a noise multiplier whose privacy-loss range (\(shortNumber(span)) wide) fits a PLD grid of "
                        + "\(maximumGridPoints) points: at discretization \(d) it needs \(shortNumber(points)); "
                        + "use discretization ≥ \(shortNumber(coarsest)), a larger σ, or the rdp accountant")
            }
            throw AccountingError(
                parameter: "discretization", value: "\(d)",
                expected: "a grid spacing of at least \(shortNumber(coarsest)) for this mechanism "
                    + "(\(shortNumber(points)) points, more than the limit of \(maximumGridPoints))")
        }
        let lo = Int(low), hi = Int(high)
        var deltas = [Double](repeating: 0, count: hi - lo + 1)
        for k in lo...hi { deltas[k - lo] = min(1, max(0, delta(Double(k) * d))) }
        return PrivacyLossPMF.connectTheDots(discretization: d, lower: lo, deltas: deltas)
    }

    /// log((1 − q) + q·exp((2x − 1)/2σ²)), the removal privacy loss at output x.
    static func removePrivacyLoss(_ x: Double, q: Double, sigma: Double) -> Double {
        let t = (2 * x - 1) / (2 * sigma * sigma)
        if q == 1 { return t }
        return t > 0 ? t + log(q + (1 - q) * exp(-t)) : log1p(q * expm1(t))
    }

    /// The Gaussian mechanism's hockey-stick divergence δ_G(ε) at noise multiplier σ.
    static func gaussianDelta(_ epsilon: Double, sigma: Double) -> Double {
        if epsilon < 0 {
            // δ(−ε) = 1 − e^{−ε} + e^{−ε}·δ(ε) (the pair's symmetry).
            let e = exp(epsilon)
            return 1 - e + e * gaussianDelta(-epsilon, sigma: sigma)
        }
        let a = epsilon * sigma - 1 / (2 * sigma), b = epsilon * sigma + 1 / (2 * sigma)
        let first = LogSpace.normalTail(a)
        let second = exp(epsilon + LogSpace.logNormalTail(b))
        return max(0, first - second)
    }

    static func removeDelta(_ epsilon: Double, q: Double, sigma: Double) -> Double {
        if q == 1 { return gaussianDelta(epsilon, sigma: sigma) }
        if epsilon <= log1p(-q) { return -expm1(epsilon) }
        return q * gaussianDelta(log1p(expm1(epsilon) / q), sigma: sigma)
    }

    static func addDelta(_ epsilon: Double, q: Double, sigma: Double) -> Double {
        if q == 1 { return gaussianDelta(epsilon, sigma: sigma) }
        if epsilon >= -log1p(-q) { return 0 }
        if epsilon > 0 {
            return (1 - exp(epsilon) * (1 - q)) * gaussianDelta(-log1p(expm1(-epsilon) / q), sigma: sigma)
        }
        // ε ≤ 0: δ = e^ε q [(u − 1) + δ_G(log u)], u = 1 + (e^{−ε} − 1)/q ≥ 1.
        let uMinus1 = expm1(-epsilon) / q
        return exp(epsilon) * q * (uMinus1 + gaussianDelta(log1p(uMinus1), sigma: sigma))
    }

    /// z with Φ̄(z) = p, by bisection (p ≤ ½).
    static func normalQuantileOfTail(_ p: Double) -> Double {
        var lo = 0.0, hi = 40.0
        let target = log(p)
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if LogSpace.logNormalTail(mid) > target { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// The composition of `count` runs of each distribution (both directions).
    /// - Throws: `AccountingError` as `PrivacyLossPMF.composition`.
    public static func composition(_ parts: [(distribution: PrivacyLossDistribution, count: Int)],
                                   tailMassTruncation: Double = 1e-15) throws(AccountingError) -> PrivacyLossDistribution {
        let remove = try PrivacyLossPMF.composition(parts.map { ($0.distribution.remove, $0.count) },
                                                    tailMassTruncation: tailMassTruncation)
        let symmetric = parts.allSatisfy { $0.distribution.remove == $0.distribution.add }
        let add = symmetric ? remove : try PrivacyLossPMF.composition(parts.map { ($0.distribution.add, $0.count) },
                                                                      tailMassTruncation: tailMassTruncation)
        return PrivacyLossDistribution(remove: remove, add: add)
    }

    /// The distribution of `count` runs of this mechanism.
    /// - Throws: `AccountingError` as `PrivacyLossPMF.composition`.
    public func composed(times count: Int) throws(AccountingError) -> PrivacyLossDistribution {
        try PrivacyLossDistribution.composition([(self, count)])
    }

    /// The smallest ε with δ(ε) ≤ δ in both directions.
    public func epsilon(delta: Double) throws(AccountingError) -> Double {
        try Check.delta(delta)
        return max(remove.epsilon(delta: delta), add.epsilon(delta: delta))
    }

    /// The larger δ(ε) of the two directions.
    public func delta(epsilon: Double) throws(AccountingError) -> Double {
        guard epsilon >= 0, !epsilon.isNaN else {
            throw AccountingError(parameter: "epsilon", value: "\(epsilon)", expected: "a number ≥ 0")
        }
        return max(remove.delta(epsilon: epsilon), add.delta(epsilon: epsilon))
    }
}

/// A number for error messages: whole numbers below 10¹⁵ without a fraction, others as Swift
/// prints them, with three significant digits where that is shorter.
func shortNumber(_ x: Double) -> String {
    if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    guard x.isFinite, x != 0 else { return "\(x)" }
    let scale = pow(10, floor(log10(abs(x))) - 2)
    return "\((x / scale).rounded() * scale)"
}
