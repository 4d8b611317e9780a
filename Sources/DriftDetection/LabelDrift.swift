import Foundation

/// Drift of a categorical variable — a model's predicted classes — by Pearson's χ² test of
/// homogeneity of two histograms: the reference's class counts against the tested ones.
///
/// With reference counts rₖ (R in all) and tested counts wₖ (W in all), over the K classes seen
/// in either sample (Tₖ = rₖ + wₖ > 0, N = R + W), the statistic is
/// χ² = Σₖ (rₖ − R·Tₖ/N)² / (R·Tₖ/N) + (wₖ − W·Tₖ/N)² / (W·Tₖ/N), asymptotically χ² with K − 1
/// degrees of freedom when both samples come from one distribution; the p-value is its upper
/// tail (`ChiSquared.survival`). Drift when the p-value is below the significance.
///
/// Laws: proportional histograms give χ² = 0 and p = 1; one class seen in all gives p = 1.
/// Caveat: the asymptotic distribution is poor when expected counts fall below about 5; the
/// monitor of a served model tests windows of hundreds of predictions over tens of classes.
///
/// - Complexity: O(K) a test.
/// - Reference: K. Pearson, "On the criterion that a given system of deviations…", Philosophical
///   Magazine 50, 1900.
public struct LabelDriftTest: Sendable {
    public struct Result: Sendable, Equatable {
        public var statistic: Double
        public var degreesOfFreedom: Int
        public var pValue: Double
        public var drift: Bool
    }

    public let classes: Int
    public let significance: Double
    public let referenceCounts: [Int]

    /// - Parameters:
    ///   - referenceCounts: per class, how often the reference shows it (at least one nonzero).
    ///   - significance: the test's level, in (0, 1).
    /// - Throws: `DriftError` for no classes, negative or all-zero counts, or a level outside (0, 1).
    public init(referenceCounts: [Int], significance: Double = 0.05) throws(DriftError) {
        guard significance > 0 && significance < 1 else { throw .parameter("significance must lie in (0, 1), got \(significance)") }
        guard !referenceCounts.isEmpty else { throw .empty("the reference's class counts") }
        guard referenceCounts.allSatisfy({ $0 >= 0 }), referenceCounts.contains(where: { $0 > 0 }) else {
            throw .parameter("the reference's class counts must be ≥ 0 with at least one positive")
        }
        classes = referenceCounts.count
        self.significance = significance
        self.referenceCounts = referenceCounts
    }

    /// Class counts of labels in 0..<classes.
    /// - Throws: `DriftError` for a label outside 0..<classes.
    public static func counts(_ labels: [Int], classes: Int) throws(DriftError) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for (i, label) in labels.enumerated() {
            guard label >= 0 && label < classes else { throw .parameter("label \(i) is \(label), outside 0..<\(classes)") }
            counts[label] += 1
        }
        return counts
    }

    /// Tests the tested sample's class counts against the reference's.
    /// - Throws: `DriftError` for another number of classes, negative counts or an empty sample.
    public func test(counts: [Int]) throws(DriftError) -> Result {
        guard counts.count == classes else { throw .featureCount(reference: classes, tested: counts.count) }
        guard counts.allSatisfy({ $0 >= 0 }) else { throw .parameter("class counts must be ≥ 0") }
        let r = Double(referenceCounts.reduce(0, +)), w = Double(counts.reduce(0, +))
        guard w > 0 else { throw .empty("the tested class counts") }
        let n = r + w
        var statistic = 0.0, seen = 0
        for k in 0..<classes where referenceCounts[k] + counts[k] > 0 {
            seen += 1
            let t = Double(referenceCounts[k] + counts[k])
            let er = r * t / n, ew = w * t / n
            let dr = Double(referenceCounts[k]) - er, dw = Double(counts[k]) - ew
            statistic += dr * dr / er + dw * dw / ew
        }
        let dof = seen - 1
        let p = dof == 0 ? 1 : ChiSquared.survival(statistic, degreesOfFreedom: dof)
        return Result(statistic: statistic, degreesOfFreedom: dof, pValue: p, drift: p < significance)
    }
}

/// The χ² distribution's upper tail, P(X > x) = Q(k/2, x/2), by the regularized incomplete gamma
/// function: its power series below a + 1 and Legendre's continued fraction (Lentz's method)
/// above, each to double precision.
///
/// Laws: Q is 1 at x ≤ 0 and falls to 0; for k = 2, P(X > x) = e^(−x/2); for k = 1, erfc(√(x/2)).
public enum ChiSquared {
    /// P(X > x) for X ~ χ²(k), in [0, 1]; NaN for NaN.
    /// - Precondition: k ≥ 1 (callers check).
    public static func survival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        precondition(k >= 1, "ChiSquared.survival needs k ≥ 1")
        if x.isNaN { return .nan }
        if x <= 0 { return 1 }
        if x == .infinity { return 0 }
        return upperRegularizedGamma(Double(k) / 2, x / 2)
    }

    /// Q(a, x) = Γ(a, x) / Γ(a) for a > 0, x > 0.
    static func upperRegularizedGamma(_ a: Double, _ x: Double) -> Double {
        var sign: Int32 = 0
        let logPrefix = -x + a * log(x) - lgamma_r(a, &sign)
        if x < a + 1 {
            // P(a, x) = e^(−x) x^a / Γ(a) · Σₙ xⁿ / (a (a+1) … (a+n)).
            var term = 1 / a, sum = term, ap = a
            for _ in 0..<10_000 {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            return min(1, max(0, 1 - sum * exp(logPrefix)))
        }
        // Q(a, x) = e^(−x) x^a / Γ(a) · 1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − 2·(2 − a)/(x + 5 − a − …))).
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1...10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return min(1, max(0, exp(logPrefix) * h))
    }
}
