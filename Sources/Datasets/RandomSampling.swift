// Distributions the partitioners need, drawn from a passed-in LabRandom.
import Foundation
import LabRandom

enum Sampling {
    /// A Gamma(shape, 1) variate (Marsaglia & Tsang, ACM TOMS 26(3), 2000); for shape < 1 the
    /// boost Gamma(shape + 1) · U^(1/shape).
    static func gamma(shape: Double, using random: inout LabRandom) -> Double {
        precondition(shape > 0, "gamma: shape must be positive, got \(shape)")
        if shape < 1 {
            let boost = gamma(shape: shape + 1, using: &random)
            return boost * Foundation.pow(random.nextDouble(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = random.nextNormal()
            var v = 1 + c * x
            if v <= 0 { continue }
            v = v * v * v
            let u = random.nextDouble()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// A Dirichlet(α, …, α) vector of length `k`: normalised Gamma(α) variates. When every
    /// variate underflows to 0 (tiny α), all mass goes to one uniformly chosen coordinate,
    /// the limit of the distribution as α → 0.
    static func symmetricDirichlet(alpha: Double, count k: Int, using random: inout LabRandom) -> [Double] {
        var g = (0..<k).map { _ in gamma(shape: alpha, using: &random) }
        let total = g.reduce(0, +)
        if !(total > 0) || !total.isFinite {
            g = [Double](repeating: 0, count: k)
            g[random.nextInt(below: k)] = 1
            return g
        }
        return g.map { $0 / total }
    }

    /// Splits `total` into integer parts proportional to `weights` (largest remainder, ties to
    /// the lower index): the parts sum to `total` and each is within 1 of its exact share.
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        precondition(sum > 0, "apportion: weights must have a positive sum")
        return apportion(total, exactShares: weights.map { Double(total) * $0 / sum })
    }

    /// Rounds `exact` shares to integers summing to `total`: floors, then one more for the
    /// largest remainders (ties to the lower index). When `total` lies within the floor and
    /// ceiling of the shares' sum, every part is within 1 of its share.
    static func apportion(_ total: Int, exactShares exact: [Double]) -> [Int] {
        var parts = exact.map { Int($0.rounded(.down)) }
        var missing = total - parts.reduce(0, +)
        let order = exact.indices.sorted { a, b in
            let ra = exact[a] - exact[a].rounded(.down), rb = exact[b] - exact[b].rounded(.down)
            return ra != rb ? ra > rb : a < b
        }
        var k = 0
        while missing > 0 {
            parts[order[k % order.count]] += 1
            missing -= 1
            k += 1
        }
        // Rounding error in the shares can leave one too many: take from the smallest remainders.
        k = order.count - 1
        while missing < 0 && k >= 0 {
            if parts[order[k]] > 0 { parts[order[k]] -= 1; missing += 1 }
            k -= 1
        }
        return parts
    }
}
