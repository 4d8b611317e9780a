#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The regularized incomplete beta function and its inverse, in Double precision.
enum IncompleteBeta {
    /// I_x(a, b) = B(x; a, b) / B(a, b) for a, b > 0 and x ∈ [0, 1].
    ///
    /// Evaluated with the continued fraction of I_x(a, b) (modified Lentz's method), using the
    /// symmetry I_x(a, b) = 1 − I_{1−x}(b, a) so the fraction converges fast
    /// (x < (a + 1) / (a + b + 2)). Relative accuracy about 1e-14.
    static func regularized(_ x: Double, a: Double, b: Double) -> Double {
        precondition(a > 0 && b > 0, "IncompleteBeta: a and b must be positive")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    /// The continued fraction 1/(1+ d₁/(1+ d₂/(1+ …))) of the incomplete beta function, with
    /// d₂ₘ₊₁ = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and d₂ₘ = m(b−m)x / ((a+2m−1)(a+2m)).
    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d; if abs(d) < tiny { d = tiny }
            c = 1 + even / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d; if abs(d) < tiny { d = tiny }
            c = 1 + odd / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }

    /// The x with I_x(a, b) = p, by bisection on [0, 1] (I is increasing in x) to the
    /// resolution of Double.
    static func inverse(_ p: Double, a: Double, b: Double) -> Double {
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        var low = 0.0, high = 1.0
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if mid == low || mid == high { break }
            if regularized(mid, a: a, b: b) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
