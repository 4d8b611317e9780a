#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The field's headline numbers: the true-positive rate an attack reaches while keeping its
/// false-positive rate at or under a small target (Carlini et al., "Membership Inference
/// Attacks From First Principles", IEEE S&P 2022, §III).
public struct OperatingPoint: Sendable, Equatable {
    /// The FPR budget asked for.
    public let targetFalsePositiveRate: Double
    /// The largest TPR among the curve's points whose FPR ≤ the target (no interpolation).
    public let truePositiveRate: Double
    /// The FPR actually reached at that point (≤ the target).
    public let falsePositiveRate: Double
    /// The threshold of that point: predict "member" when score ≥ threshold (+∞ predicts none).
    public let threshold: Double
    public let truePositives: Int
    public let falsePositives: Int
    /// ⌊target × non-members⌋: how many non-members the budget lets the attack misclassify.
    /// When it is 0 for a non-zero target, the evaluation has too few non-members to resolve the
    /// target and the value equals TPR at FPR 0.
    public let allowedFalsePositives: Int
    /// The number of non-members: the FPR resolution is 1 / nonMemberCount.
    public let nonMemberCount: Int

    /// Whether the evaluation has enough non-members to resolve the target: at least one false
    /// positive is allowed, i.e. nonMemberCount ≥ 1 / target (always true for target 0).
    public var isResolved: Bool { targetFalsePositiveRate == 0 || allowedFalsePositives >= 1 }

    /// Precision at this point, TP / (TP + FP); nil when nothing is predicted a member.
    /// It depends on the evaluation's member fraction (the prior), unlike TPR and FPR.
    public var positivePredictiveValue: Double? {
        truePositives + falsePositives == 0 ? nil : Double(truePositives) / Double(truePositives + falsePositives)
    }
}

extension ROCCurve {
    /// The FPR targets the field reports: 10%, 1%, 0.1%, 0.01% and 0%.
    public static let standardFalsePositiveRates: [Double] = [0.1, 0.01, 0.001, 0.0001, 0]

    /// The number of false positives a target FPR allows on this curve's non-members:
    /// ⌊target × nonMemberCount⌋, computed so that exact products (0.001 × 1000) are not lost
    /// to rounding.
    func allowedFalsePositives(for target: Double) -> Int {
        let product = target * Double(nonMemberCount)
        return Int((product + 1e-9 * Swift.max(1, product)).rounded(.down))
    }

    /// The operating point with the largest TPR whose FPR ≤ `target` (no interpolation; ties
    /// between points broken toward the smaller FPR).
    /// - Precondition: 0 ≤ target ≤ 1.
    public func operatingPoint(atFalsePositiveRate target: Double) -> OperatingPoint {
        precondition(target >= 0 && target <= 1, "ROCCurve: target FPR \(target) outside [0, 1]")
        let allowed = allowedFalsePositives(for: target)
        // FP counts are non-decreasing: the last point within budget has the largest TP.
        var best = 0
        for k in 0..<count where falsePositives[k] <= allowed {
            if truePositives[k] > truePositives[best] { best = k }
        }
        return OperatingPoint(
            targetFalsePositiveRate: target,
            truePositiveRate: Double(truePositives[best]) / Double(memberCount),
            falsePositiveRate: Double(falsePositives[best]) / Double(nonMemberCount),
            threshold: thresholds[best], truePositives: truePositives[best], falsePositives: falsePositives[best],
            allowedFalsePositives: allowed, nonMemberCount: nonMemberCount)
    }

    /// The best membership advantage over all thresholds: max_k (TPRₖ − FPRₖ) (Yeom et al.,
    /// "Privacy Risk in Machine Learning", CSF 2018, define the advantage of one attack as
    /// TPR − FPR; maximising over thresholds makes it the advantage of the best threshold, an
    /// optimistic figure when the threshold is chosen on the evaluated data). Always ≥ 0 (the
    /// endpoints give 0).
    public var advantage: Double {
        var best = 0.0
        let p = Double(memberCount), n = Double(nonMemberCount)
        for k in 0..<count {
            best = Swift.max(best, Double(truePositives[k]) / p - Double(falsePositives[k]) / n)
        }
        return best
    }

    /// The best balanced accuracy over all thresholds: max_k (TPRₖ + 1 − FPRₖ) / 2 =
    /// (1 + advantage) / 2. Unlike plain accuracy it does not reward guessing the majority class.
    public var balancedAccuracy: Double { (1 + advantage) / 2 }

    /// The point reaching `advantage` (the smallest threshold index among equals).
    public var bestThresholdIndex: Int {
        var best = 0, bestValue = -Double.infinity
        let p = Double(memberCount), n = Double(nonMemberCount)
        for k in 0..<count {
            let value = Double(truePositives[k]) / p - Double(falsePositives[k]) / n
            if value > bestValue { bestValue = value; best = k }
        }
        return best
    }
}
