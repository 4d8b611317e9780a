#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One point of an ROC curve drawn for plotting.
public struct ROCPoint: Sendable, Equatable, Codable {
    public var falsePositiveRate: Double
    public var truePositiveRate: Double

    public init(falsePositiveRate: Double, truePositiveRate: Double) {
        self.falsePositiveRate = falsePositiveRate
        self.truePositiveRate = truePositiveRate
    }
}

extension ROCCurve {
    /// Points for a log-log ROC plot (Carlini et al. 2022, Fig. 1), at most `maximumCount`.
    ///
    /// For FPR values x spaced evenly in log scale from 1 / nonMemberCount (the resolution) to 1,
    /// the point is (x, TPR at FPR ≤ x), the same no-interpolation rule as
    /// `operatingPoint(atFalsePositiveRate:)`, so the plot is a faithful staircase. Points with
    /// TPR 0 cannot be drawn in log scale and are left out; consecutive duplicates are merged.
    /// - Complexity: O(points + maximumCount).
    public func logLogPoints(maximumCount: Int = 200) -> [ROCPoint] {
        precondition(maximumCount >= 2, "ROCCurve.logLogPoints: need at least 2 points")
        let n = Double(nonMemberCount), p = Double(memberCount)
        let lowest = 1 / n
        let steps = maximumCount - 1
        var result: [ROCPoint] = []
        result.reserveCapacity(maximumCount)
        var k = 0
        for i in 0...steps {
            let x = i == steps ? 1 : exp(log(lowest) * (1 - Double(i) / Double(steps)))
            let allowed = allowedFalsePositives(for: x)
            while k + 1 < count && falsePositives[k + 1] <= allowed { k += 1 }
            let tpr = Double(truePositives[k]) / p
            guard tpr > 0 else { continue }
            let point = ROCPoint(falsePositiveRate: Double(allowed) / n, truePositiveRate: tpr)
            if point.falsePositiveRate > 0, result.last != point { result.append(point) }
        }
        return result
    }
}
