import Foundation

/// The Kolmogorov–Smirnov statistic of two samples and the distribution of the two-sided
/// statistic, computed as Simard and L'Ecuyer (2011) prescribe for each region of (n, x), so that
/// p-values agree with SciPy's `kstwo` (and through it `ks_2samp(..., method="asymp")`, which Alibi
/// Detect's `KSDrift` calls) to about 1e-10 where they are exact and 1e-7 where both use the
/// Pelz–Good expansion.
///
/// - Reference: R. Simard and P. L'Ecuyer, "Computing the Two-Sided Kolmogorov–Smirnov
///   Distribution", Journal of Statistical Software 39(11), 2011; G. Marsaglia, W. W. Tsang and
///   J. Wang, "Evaluating Kolmogorov's Distribution", JSS 8(18), 2003; W. Pelz and I. J. Good,
///   "Approximating the Lower Tail-Areas of the Kolmogorov–Smirnov One-Sample Statistic", JRSS B
///   38(2), 1976; Z. W. Birnbaum and F. H. Tingey, "One-sided confidence contours for probability
///   distribution functions", Ann. Math. Statist. 22, 1951.
public enum KolmogorovSmirnov {
    /// The two-sample statistic sup |F_a − F_b| of the empirical distribution functions.
    /// - Precondition: both samples non-empty and free of NaN (callers check).
    /// - Complexity: O((n + m) log(n + m)).
    public static func statistic(_ a: [Double], _ b: [Double]) -> Double {
        let x = a.sorted(), y = b.sorted()
        let n = Double(x.count), m = Double(y.count)
        var i = 0, j = 0, d = 0.0
        // Walk the pooled values in order; after all copies of a value, compare the two ECDFs.
        while i < x.count || j < y.count {
            let v = j == y.count || (i < x.count && x[i] <= y[j]) ? x[i] : y[j]
            while i < x.count && x[i] == v { i += 1 }
            while j < y.count && y[j] == v { j += 1 }
            d = max(d, abs(Double(i) / n - Double(j) / m))
        }
        return d
    }

    /// The two-sample test with the asymptotic p-value: P(Dₙ ≥ d) of the one-sample two-sided
    /// statistic at n = round(|a|·|b| / (|a| + |b|)).
    public static func twoSampleTest(_ a: [Double], _ b: [Double]) -> (statistic: Double, pValue: Double) {
        let d = statistic(a, b)
        let n = Double(a.count), m = Double(b.count)
        let effective = (max(n, m) * min(n, m) / (n + m)).rounded(.toNearestOrEven)
        return (d, twoSidedSurvival(n: max(1, Int(effective)), x: d))
    }

    /// P(Dₙ > x) for the two-sided one-sample statistic Dₙ = sup |Fₙ − F|, in [0, 1].
    /// - Precondition: n ≥ 1.
    public static func twoSidedSurvival(n: Int, x: Double) -> Double {
        precondition(n >= 1, "KolmogorovSmirnov.twoSidedSurvival needs n ≥ 1")
        if x.isNaN { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n), t = nd * x
        if t <= 1 {
            // Ruben and Gambino: for 1/(2n) ≤ x ≤ 1/n, P(Dₙ ≤ x) = n!·(2x − 1/n)ⁿ.
            if t <= 0.5 { return 1 }
            let cdf = exp(logGamma(nd + 1) - nd * log(nd) + nd * log(2 * t - 1))
            return clip(1 - cdf)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - x, nd)) }   // Ruben and Gambino
        if x >= 0.5 { return clip(2 * oneSidedSurvival(n: n, x: x)) }  // exact: the two tails cannot both pass
        let nx2 = t * x
        if n <= 140 {
            // Durbin's matrix is exact in this whole region (Simard and L'Ecuyer use Pomeranz's
            // recursion for 0.754693 < n·x² ≤ 4: the same value).
            if nx2 <= 4 { return clip(1 - durbinMatrixCDF(n: n, x: x)) }
            return clip(2 * oneSidedSurvival(n: n, x: x))
        }
        if nx2 >= 370 { return 0 }
        if nx2 >= 2.2 { return clip(2 * oneSidedSurvival(n: n, x: x)) }
        if n <= 100_000 && nd * pow(x, 1.5) <= 1.4 { return clip(1 - durbinMatrixCDF(n: n, x: x)) }
        return clip(1 - pelzGoodCDF(n: n, x: x))
    }

    /// P(Dₙ⁺ ≥ x) for the one-sided statistic Dₙ⁺ = sup (Fₙ − F), by the exact Birnbaum–Tingey sum
    /// x·Σⱼ C(n, j)·(1 − x − j/n)^(n−j)·(x + j/n)^(j−1), j = 0 … ⌊n(1 − x)⌋, in log space.
    /// - Complexity: O(n(1 − x)) terms.
    public static func oneSidedSurvival(n: Int, x: Double) -> Double {
        precondition(n >= 1, "KolmogorovSmirnov.oneSidedSurvival needs n ≥ 1")
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let last = Int((nd * (1 - x)).rounded(.down))
        let logFactorialN = logGamma(nd + 1)
        var total = 0.0
        for j in 0...last {
            let jd = Double(j)
            let rest = 1 - x - jd / nd
            if rest <= 0 { continue }   // the j = n(1 − x) term is 0 unless j = n
            let logTerm = logFactorialN - logGamma(jd + 1) - logGamma(nd - jd + 1)
                + (nd - jd) * log(rest) + (jd - 1) * log(x + jd / nd)
            total += exp(logTerm)
        }
        return clip(x * total)
    }

    // MARK: - The regions' methods

    private static func clip(_ p: Double) -> Double { min(1, max(0, p)) }

    /// log Γ(x) for x > 0, by the reentrant C function (plain `lgamma` writes a global sign).
    private static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// P(Dₙ ≤ x) by Durbin's matrix, as Marsaglia, Tsang and Wang evaluate it: with x = (k − h)/n,
    /// the (k, k) entry of Hⁿ times n!/nⁿ, H of order 2k − 1, powers by squaring with binary
    /// exponents kept apart so nothing overflows.
    public static func durbinMatrixCDF(n: Int, x: Double) -> Double {
        let nx = Double(n) * x
        if x >= 1 { return 1 }
        if nx <= 0.5 { return 0 }
        let k = Int(nx.rounded(.up))
        let h = Double(k) - nx
        let m = 2 * k - 1
        // H[i][j] (0-based): 1/(i − j + 1)! for j ≤ i + 1, corrected in the first column and last row.
        var factorials = [Double](repeating: 1, count: m + 1)   // 1/j!
        for j in 1...m { factorials[j] = factorials[j - 1] / Double(j) }
        var matrix = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0..<m where i - j + 1 >= 0 { matrix[i * m + j] = factorials[i - j + 1] }
        }
        for i in 0..<m {
            let v = (1 - pow(h, Double(i + 1))) * factorials[i + 1]
            matrix[i * m] = v
            matrix[(m - 1) * m + (m - 1 - i)] = v
        }
        let corner = (1 + pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))) * factorials[m]
        matrix[(m - 1) * m] = corner

        var power = [Double](repeating: 0, count: m * m)
        for i in 0..<m { power[i * m + i] = 1 }
        var powerExponent = 0, matrixExponent = 0
        var remaining = n
        let scale = 0x1p128, scaleExponent = 128
        func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for l in 0..<m {
                    let ail = a[i * m + l]
                    if ail == 0 { continue }
                    for j in 0..<m { c[i * m + j] += ail * b[l * m + j] }
                }
            }
            return c
        }
        while remaining > 0 {
            if remaining & 1 == 1 {
                power = multiply(power, matrix)
                powerExponent += matrixExponent
            }
            remaining >>= 1
            if remaining == 0 { break }
            matrix = multiply(matrix, matrix)
            matrixExponent *= 2
            if abs(matrix[(k - 1) * m + (k - 1)]) > scale {
                for i in matrix.indices { matrix[i] /= scale }
                matrixExponent += scaleExponent
            }
        }
        var p = power[(k - 1) * m + (k - 1)]
        // Times n!/nⁿ, one factor i/n at a time, rescaling before it underflows.
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < 0x1p-128 {
                p *= scale
                powerExponent -= scaleExponent
            }
        }
        return min(1, max(0, scalbn(p, powerExponent)))
    }

    /// P(Dₙ ≤ x) by Pelz and Good's expansion K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2} at
    /// z = x√n, each Kᵢ written with Jacobi theta functions for small z (their equations for the
    /// lower tail).
    public static func pelzGoodCDF(n: Int, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let z = Double(n).squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let qLog = -pi2 / 8 / z2
        if qLog < log(Double.leastNormalMagnitude) { return 0 }
        let q = exp(qLog)
        // Σ over odd m = 2k − 1 of cᵢ(m)·q^{m²}, by Horner's scheme in q^{8k}.
        let terms = Int((16 * z / Double.pi).rounded(.up))
        var k0 = 0.0, k1 = 0.0, k2 = 0.0, k3 = 0.0
        for k in stride(from: terms, through: 1, by: -1) {
            let m = Double(2 * k - 1), m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
            let qk = pow(q, Double(8 * k))
            k0 = k0 * qk + 1
            k1 = k1 * qk + (-z2 + pi2 / 4 * m2)
            k2 = k2 * qk + ((6 * z6 + 2 * z4) + (2 * z4 - 5 * z2) * pi2 / 4 * m2 + pi4 * (1 - 2 * z2) / 16 * m4)
            k3 = k3 * qk + ((-30 * z6 - 90 * z4 * z4) + pi2 * (135 * z4 - 96 * z6) / 4 * m2
                            + pi4 * (-60 * z2 + 212 * z4) / 16 * m4 + pi6 * (5 - 30 * z2) / 64 * m6)
        }
        let root2pi = (2 * Double.pi).squareRoot()
        k0 *= q * root2pi / z
        k1 *= q * root2pi / (6 * z4)
        k2 *= q * root2pi / (72 * z6 * z)
        k3 *= q * root2pi / (6480 * z6 * z4)
        // The sums over all k of K₂'s and K₃'s remaining terms, in q' = exp(−π²/(2z²)).
        let qq = exp(-pi2 / 2 / z2)
        var extra2 = 0.0, extra3 = 0.0
        let root3z = 3.0.squareRoot() * z
        for k in stride(from: terms, through: 1, by: -1) {
            let kd = Double(k), k2d = kd * kd
            let qp = pow(qq, k2d)
            extra2 += k2d * qp
            extra3 += (root3z + Double.pi * kd) * (root3z - Double.pi * kd) * k2d * qp
        }
        k2 += extra2 * pi2 * root2pi / (-36 * z3)
        k3 += extra3 * pi2 * root2pi / (216 * z6)
        let rn = Double(n).squareRoot()
        return k0 + k1 / rn + k2 / Double(n) + k3 / (Double(n) * rn)
    }
}
