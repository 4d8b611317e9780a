#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The Shapiro–Wilk statistic W of a sample: the squared correlation between the ordered sample
/// and the coefficients of the best linear unbiased estimate of a normal scale, with Royston's
/// approximation of the coefficients (algorithm AS R94). W is near 1 for normal data and smaller
/// the further the sample is from normal. PRADA compares it with its threshold.
///
/// - Paper: J. P. Royston, "Remark AS R94: A Remark on Algorithm AS 181: The W-test for
///   Normality", Applied Statistics 44 (1995); S. S. Shapiro and M. B. Wilk, Biometrika 52 (1965).
public enum ShapiroWilk {
    /// W of `values` (any order).
    /// - Throws: `QueryDetectionError` with fewer than 3 values, a value that is not finite, or
    ///   all values equal (W is undefined).
    public static func statistic(_ values: [Double]) throws(QueryDetectionError) -> Double {
        try statistic(sorted: values.sorted())
    }

    /// W of values already in ascending order.
    public static func statistic(sorted x: [Double]) throws(QueryDetectionError) -> Double {
        let n = x.count
        guard n >= 3 else { throw QueryDetectionError("Shapiro–Wilk needs at least 3 values, got \(n)") }
        guard x.allSatisfy(\.isFinite) else { throw QueryDetectionError("Shapiro–Wilk: a value is not finite") }
        let range = x[n - 1] - x[0]
        guard range > 1e-19 * max(1, abs(x[0])) else { throw QueryDetectionError("Shapiro–Wilk: all \(n) values are equal") }
        let a = coefficients(n)
        // The full antisymmetric coefficient vector: −a_i for the i-th smallest, +a_i for the i-th largest.
        var meanX = 0.0
        for v in x { meanX += v / range }
        meanX /= Double(n)
        var ssa = 0.0, ssx = 0.0, sax = 0.0
        for i in 0..<n {
            let j = n - 1 - i
            let coefficient = i == j ? 0 : (i < j ? -a[i] : a[j])
            let xs = x[i] / range - meanX
            ssa += coefficient * coefficient
            ssx += xs * xs
            sax += coefficient * xs
        }
        let root = (ssa * ssx).squareRoot()
        let w1 = (root - sax) * (root + sax) / (ssa * ssx)
        return 1 - w1
    }

    /// The coefficients a_1 … a_⌊n/2⌋ (positive, largest first) for a sample of `n` ≥ 3.
    public static func coefficients(_ n: Int) -> [Double] {
        precondition(n >= 3, "Shapiro–Wilk coefficients need n ≥ 3")
        let half = n / 2
        if n == 3 { return [(0.5 as Double).squareRoot()] }
        let c1 = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056]
        let c2 = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633]
        func poly(_ c: [Double], _ x: Double) -> Double {
            var p = 0.0
            for k in stride(from: c.count - 1, through: 1, by: -1) { p = (p + c[k]) * x }
            return c[0] + p
        }
        let an25 = Double(n) + 0.25
        var m = [Double](repeating: 0, count: half)
        var summ2 = 0.0
        for i in 0..<half {
            m[i] = normalQuantile((Double(i + 1) - 0.375) / an25)
            summ2 += m[i] * m[i]
        }
        summ2 *= 2
        let ssumm2 = summ2.squareRoot()
        let rsn = 1 / Double(n).squareRoot()
        let a1 = poly(c1, rsn) - m[0] / ssumm2
        var a = [Double](repeating: 0, count: half)
        a[0] = a1
        let first: Int
        let fac: Double
        if n > 5 {
            let a2 = -m[1] / ssumm2 + poly(c2, rsn)
            fac = ((summ2 - 2 * m[0] * m[0] - 2 * m[1] * m[1]) / (1 - 2 * a1 * a1 - 2 * a2 * a2)).squareRoot()
            a[1] = a2
            first = 2
        } else {
            fac = ((summ2 - 2 * m[0] * m[0]) / (1 - 2 * a1 * a1)).squareRoot()
            first = 1
        }
        for i in first..<half { a[i] = -m[i] / fac }
        return a
    }

    /// Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation (relative error < 1.2e-9) refined by
    /// one Halley step on erfc, which brings it to about double precision.
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "normalQuantile needs 0 < p < 1, got \(p)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
                (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log1p(-p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // Halley's step: e = Φ(x) − p, with Φ(x) = ½ erfc(−x/√2), computed on the side of the
        // smaller tail so that e keeps its precision.
        let e: Double = x <= 0 ? 0.5 * erfc(-x / 2.0.squareRoot()) - p : (1 - p) - 0.5 * erfc(x / 2.0.squareRoot())
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
