import LabRandom

/// A named value reported by an experiment: `<part>.<metric>` (`lira.auc`, `loss.tpr@0.001`).
public struct ReportedMetric: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// Everything the field reports about one membership attack's scores on one evaluation set.
///
/// Leads with TPR at low FPR (Carlini et al. 2022); AUC and the best balanced accuracy follow,
/// since averages over the whole curve hide an attack's reliability on the few examples it is
/// sure about.
public struct AttackEvaluation: Sendable, Equatable {
    public let curve: ROCCurve
    /// One point per `ROCCurve.standardFalsePositiveRates` target (or the targets asked for).
    public let operatingPoints: [OperatingPoint]
    public let auc: Double
    public let advantage: Double
    public let balancedAccuracy: Double
    /// Precision at the best balanced-accuracy threshold (depends on the member fraction).
    public let positivePredictiveValue: Double
    /// The ε lower bound maximised over thresholds (optimistic; see `EmpiricalEpsilon`).
    public let epsilon: EmpiricalEpsilon
    /// Bootstrap intervals, when asked for.
    public let intervals: BootstrapIntervals?

    /// Evaluates scores (higher = more likely a member) against the true membership.
    /// - Parameters:
    ///   - bootstrap: replicates and the stream to draw them from; nil for no intervals.
    ///   - confidence: for the ε bound and the bootstrap intervals.
    public init(scores: [Double], isMember: [Bool], targets: [Double] = ROCCurve.standardFalsePositiveRates,
                confidence: Double = 0.95, delta: Double = 0,
                bootstrap: (replicates: Int, random: LabRandom)? = nil) throws(AttackMetricsError) {
        let curve = try ROCCurve(scores: scores, isMember: isMember)
        self.curve = curve
        self.operatingPoints = targets.map { curve.operatingPoint(atFalsePositiveRate: $0) }
        self.auc = curve.auc
        self.advantage = curve.advantage
        self.balancedAccuracy = curve.balancedAccuracy
        let best = curve.bestThresholdIndex
        let predicted = curve.truePositives[best] + curve.falsePositives[best]
        self.positivePredictiveValue = predicted == 0 ? 0 : Double(curve.truePositives[best]) / Double(predicted)
        self.epsilon = try curve.empiricalEpsilon(confidence: confidence, delta: delta)
        if let bootstrap {
            self.intervals = try BootstrapIntervals(scores: scores, isMember: isMember, targets: targets,
                                                    replicates: bootstrap.replicates, confidence: confidence,
                                                    random: bootstrap.random)
        } else {
            self.intervals = nil
        }
    }

    /// The TPR at the given FPR target, if it was evaluated.
    public func truePositiveRate(atFalsePositiveRate target: Double) -> Double? {
        operatingPoints.first { $0.targetFalsePositiveRate == target }?.truePositiveRate
    }

    /// The metrics under DESIGN.md's names, prefixed by `part` ("lira" gives "lira.auc",
    /// "lira.tpr@0.001", …): auc, tpr@<fpr> per target, advantage, balanced_accuracy, ppv,
    /// epsilon, and with bootstrap intervals auc_low/auc_high and tpr@<fpr>_low/_high.
    public func metrics(part: String) -> [ReportedMetric] {
        var result = [ReportedMetric(name: "\(part).auc", value: auc)]
        for point in operatingPoints {
            result.append(ReportedMetric(name: "\(part).tpr@\(Self.label(point.targetFalsePositiveRate))", value: point.truePositiveRate))
        }
        result.append(ReportedMetric(name: "\(part).advantage", value: advantage))
        result.append(ReportedMetric(name: "\(part).balanced_accuracy", value: balancedAccuracy))
        result.append(ReportedMetric(name: "\(part).ppv", value: positivePredictiveValue))
        result.append(ReportedMetric(name: "\(part).epsilon", value: epsilon.epsilon))
        if let intervals {
            result.append(ReportedMetric(name: "\(part).auc_low", value: intervals.auc.lowerBound))
            result.append(ReportedMetric(name: "\(part).auc_high", value: intervals.auc.upperBound))
            for (target, range) in zip(intervals.targets, intervals.truePositiveRates) {
                result.append(ReportedMetric(name: "\(part).tpr@\(Self.label(target))_low", value: range.lowerBound))
                result.append(ReportedMetric(name: "\(part).tpr@\(Self.label(target))_high", value: range.upperBound))
            }
        }
        return result
    }

    /// "0.1", "0.01", "0.001", "0.0001", "0": the FPR as written in metric names (Swift's
    /// shortest round-trip form; rates below 1e-4 read like "1e-05").
    public static func label(_ rate: Double) -> String {
        rate == 0 ? "0" : "\(rate)"
    }
}
