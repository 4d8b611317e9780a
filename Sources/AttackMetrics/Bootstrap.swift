import LabRandom

/// Percentile bootstrap confidence intervals for an attack's metrics.
///
/// Each replicate resamples the members (with replacement, as many as there are) and,
/// separately, the non-members (a stratified bootstrap, so every replicate has both classes and
/// the same member fraction), rebuilds the ROC curve and recomputes the metrics; the interval
/// at confidence c is the (1 − c)/2 and (1 + c)/2 quantiles of the replicates (type-7 linear
/// interpolation between order statistics, NumPy's default). The intervals capture the
/// sampling variability of the evaluated examples, not that of training (a new target model
/// would add more).
///
/// Replicate r draws from `random.stream("replicates/<r>")`, so the intervals depend only on
/// the stream and the replicate count.
///
/// - Complexity: one sort, then O(n) per replicate (a resample is a reweighting of the sorted
///   scores).
public struct BootstrapIntervals: Sendable, Equatable {
    public let replicates: Int
    public let confidence: Double
    public let auc: ClosedRange<Double>
    public let advantage: ClosedRange<Double>
    /// One interval per target of `targets`, in order.
    public let truePositiveRates: [ClosedRange<Double>]
    public let targets: [Double]

    public init(scores: [Double], isMember: [Bool], targets: [Double] = ROCCurve.standardFalsePositiveRates,
                replicates: Int = 200, confidence: Double = 0.95, random: LabRandom) throws(AttackMetricsError) {
        guard replicates >= 2 else { throw .invalidParameter("bootstrap needs at least 2 replicates, got \(replicates)") }
        guard confidence > 0, confidence < 1 else { throw .invalidParameter("confidence must be in (0, 1), got \(confidence)") }
        guard targets.allSatisfy({ $0 >= 0 && $0 <= 1 }) else { throw .invalidParameter("FPR targets must lie in [0, 1]") }
        _ = try ROCCurve(scores: scores, isMember: isMember)   // validates the input
        let ranked = RankedScores(scores: scores, isMember: isMember)
        let members = isMember.indices.filter { isMember[$0] }
        let nonMembers = isMember.indices.filter { !isMember[$0] }
        var aucs: [Double] = [], advantages: [Double] = []
        var tprs = [[Double]](repeating: [], count: targets.count)
        var weights = [Int](repeating: 0, count: scores.count)
        for r in 0..<replicates {
            var stream = random.stream("replicates/\(r)")
            for i in weights.indices { weights[i] = 0 }
            for _ in members.indices { weights[members[stream.nextInt(below: members.count)]] += 1 }
            for _ in nonMembers.indices { weights[nonMembers[stream.nextInt(below: nonMembers.count)]] += 1 }
            let curve = ranked.curve(weights: weights)
            aucs.append(curve.auc)
            advantages.append(curve.advantage)
            for (t, target) in targets.enumerated() {
                tprs[t].append(curve.operatingPoint(atFalsePositiveRate: target).truePositiveRate)
            }
        }
        func interval(_ values: [Double]) -> ClosedRange<Double> {
            let sorted = values.sorted()
            return Self.quantile(sorted, (1 - confidence) / 2)...Self.quantile(sorted, (1 + confidence) / 2)
        }
        self.replicates = replicates
        self.confidence = confidence
        self.targets = targets
        self.auc = interval(aucs)
        self.advantage = interval(advantages)
        self.truePositiveRates = tprs.map(interval)
    }

    /// The q-quantile of sorted values, linear between order statistics (NumPy's default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = Swift.min(low + 1, sorted.count - 1)
        let fraction = position - Double(low)
        return sorted[low] + (sorted[high] - sorted[low]) * fraction
    }
}
