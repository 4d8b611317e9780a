#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Arithmetic on logarithms of non-negative numbers, for sums whose terms under- or overflow.
enum LogSpace {
    /// log(eˣ + eʸ), exact for −∞ arguments.
    @inline(__always)
    static func add(_ x: Double, _ y: Double) -> Double {
        let (a, b) = x < y ? (x, y) : (y, x)
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log|Γ(x)|.
    @inline(__always)
    static func logGamma(_ x: Double) -> Double {
        #if canImport(Darwin)
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
        #else
        return lgamma(x)
        #endif
    }

    /// log|C(n, k)| = log|Γ(n+1)| − log|Γ(k+1)| − log|Γ(n−k+1)|, for real n.
    @inline(__always)
    static func logBinomial(_ n: Double, _ k: Double) -> Double {
        logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
    }

    /// log(erfc(x)), accurate where erfc underflows (the asymptotic series at +∞).
    static func logErfc(_ x: Double) -> Double {
        if x < 25 {
            let r = erfc(x)
            if r > 0 { return log(r) }
        }
        let x2 = x * x, ix2 = 1 / x2
        return -log(Double.pi) / 2 - log(x) - x2 - 0.5 * ix2 + 0.625 * ix2 * ix2
            - 37.0 / 24.0 * ix2 * ix2 * ix2 + 353.0 / 64.0 * ix2 * ix2 * ix2 * ix2
    }

    /// log Φ̄(z) = log P(N(0, 1) > z).
    @inline(__always)
    static func logNormalTail(_ z: Double) -> Double {
        log(0.5) + logErfc(z / 2.0.squareRoot())
    }

    /// Φ̄(z) = P(N(0, 1) > z), accurate in the upper tail.
    @inline(__always)
    static func normalTail(_ z: Double) -> Double {
        0.5 * erfc(z / 2.0.squareRoot())
    }
}
