#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log-densities and log-CDFs of the normal distribution, accurate in the tails.
enum NormalDistribution {
    static let logSqrtTwoPi = 0.5 * log(2 * Double.pi)

    /// log N(x; μ, σ²).
    @inline(__always)
    static func logDensity(_ x: Double, mean: Double, standardDeviation s: Double) -> Double {
        let z = (x - mean) / s
        return -0.5 * z * z - log(s) - logSqrtTwoPi
    }

    /// log Φ(z), the log of the standard normal CDF.
    ///
    /// For z > 0 it is log1p(−½ erfc(z/√2)), which keeps the tiny upper-tail mass (Φ(z) ≈ 1)
    /// until erfc underflows near z ≈ 38; for −37 ≤ z ≤ 0 it is log(½ erfc(−z/√2)); below, the
    /// asymptotic expansion log φ(z) − log(−z) + log(1 − 1/z² + 3/z⁴).
    static func logCDF(_ z: Double) -> Double {
        if z > 0 { return log1p(-0.5 * erfc(z / 2.0.squareRoot())) }
        if z >= -37 { return log(0.5 * erfc(-z / 2.0.squareRoot())) }
        let z2 = z * z
        return -0.5 * z2 - logSqrtTwoPi - log(-z) + log1p(-1 / z2 + 3 / (z2 * z2))
    }
}
