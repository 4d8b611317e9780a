#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A statistical lower bound on the ε of (ε, δ)-differential privacy implied by a membership
/// attack's error rates.
///
/// ## Method
///
/// If training is (ε, δ)-DP, every test of "x was in the training set" has false-positive rate
/// FPR and false-negative rate FNR = 1 − TPR with (Kairouz et al. 2015, hypothesis-testing view)
///
///     FPR + e^ε · FNR ≥ 1 − δ   and   FNR + e^ε · FPR ≥ 1 − δ,
///
/// so ε ≥ max( log((1 − δ − FPR) / FNR), log((1 − δ − FNR) / FPR) ). Observed rates are
/// estimates; following Jagielski, Ullman and Oprea ("Auditing Differentially Private Machine
/// Learning: How Private is Private SGD?", NeurIPS 2020, §3) and Nasr et al. ("Adversary
/// Instantiation: Lower Bounds for Differentially Private Machine Learning", IEEE S&P 2021), we
/// replace both by their Clopper–Pearson **upper** bounds FPR⁺ and FNR⁺ = 1 − TPR⁻ (each
/// one-sided at level 1 − α/2 with α = 1 − confidence, so by the union bound both hold at once
/// with probability ≥ confidence), which can only shrink each ratio:
///
///     ε_lb = max(0, log((1 − δ − FPR⁺) / FNR⁺), log((1 − δ − FNR⁺) / FPR⁺)).
///
/// With probability ≥ `confidence` over the draw of the audited examples, the training
/// procedure is not (ε, δ)-DP for any ε < ε_lb.
///
/// Caveats: the bound is valid for a threshold fixed before looking at the evaluated scores.
/// `ROCCurve.empiricalEpsilon` maximises it over all thresholds of the same data, which is
/// optimistic (a multiple-comparison effect); choose the threshold on held-out data when the
/// bound must be rigorous. It also assumes the audited examples' membership outcomes are
/// independent trials, which holds for one model per example (the canary setting) and only
/// approximately when many examples share one trained model.
public struct EmpiricalEpsilon: Sendable, Equatable {
    /// The lower bound on ε (≥ 0).
    public let epsilon: Double
    /// The Clopper–Pearson upper bound on the false-positive rate used.
    public let falsePositiveRateUpper: Double
    /// The Clopper–Pearson upper bound on the false-negative rate used (1 − TPR lower bound).
    public let falseNegativeRateUpper: Double
    /// The joint confidence of the bound.
    public let confidence: Double
    /// The δ the bound is stated for.
    public let delta: Double

    /// The bound from the counts of one threshold's confusion matrix.
    /// - Parameters:
    ///   - truePositives: members predicted members, out of `members`.
    ///   - falsePositives: non-members predicted members, out of `nonMembers`.
    ///   - confidence: joint confidence of the two Clopper–Pearson bounds (default 0.95).
    ///   - delta: the δ of (ε, δ)-DP (default 0).
    public init(truePositives: Int, members: Int, falsePositives: Int, nonMembers: Int,
                confidence: Double = 0.95, delta: Double = 0) throws(AttackMetricsError) {
        guard members >= 1, nonMembers >= 1, truePositives >= 0, truePositives <= members,
              falsePositives >= 0, falsePositives <= nonMembers else {
            throw .invalidParameter("empirical epsilon needs 0 ≤ TP ≤ members, 0 ≤ FP ≤ non-members, both classes non-empty; got TP \(truePositives)/\(members), FP \(falsePositives)/\(nonMembers)")
        }
        guard confidence > 0, confidence < 1 else {
            throw .invalidParameter("confidence must be in (0, 1), got \(confidence)")
        }
        guard delta >= 0, delta < 1 else { throw .invalidParameter("delta must be in [0, 1), got \(delta)") }
        let side = 1 - (1 - confidence) / 2
        let fprUpper = ClopperPearson.upperBound(successes: falsePositives, trials: nonMembers, confidence: side)
        let fnrUpper = ClopperPearson.upperBound(successes: members - truePositives, trials: members, confidence: side)
        var epsilon = 0.0
        let forward = (1 - delta - fprUpper) / fnrUpper
        let backward = (1 - delta - fnrUpper) / fprUpper
        if forward > 1 { epsilon = Swift.max(epsilon, log(forward)) }
        if backward > 1 { epsilon = Swift.max(epsilon, log(backward)) }
        self.epsilon = epsilon
        self.falsePositiveRateUpper = fprUpper
        self.falseNegativeRateUpper = fnrUpper
        self.confidence = confidence
        self.delta = delta
    }
}

extension ROCCurve {
    /// The largest `EmpiricalEpsilon` over the curve's thresholds (see its caveat: maximising
    /// over thresholds on the evaluated data is optimistic).
    ///
    /// Only the staircase's corners can attain the maximum (the bound grows with TP and shrinks
    /// with FP). Corners are visited in decreasing order of their plug-in bound (observed rates
    /// instead of confidence bounds), which is never below the Clopper–Pearson one, and the
    /// search stops once the plug-in bound cannot beat the best value found.
    /// - Complexity: O(points log points) plus one Clopper–Pearson bisection per visited corner.
    public func empiricalEpsilon(confidence: Double = 0.95, delta: Double = 0) throws(AttackMetricsError) -> EmpiricalEpsilon {
        var best = try EmpiricalEpsilon(truePositives: 0, members: memberCount, falsePositives: 0,
                                        nonMembers: nonMemberCount, confidence: confidence, delta: delta)
        let p = Double(memberCount), n = Double(nonMemberCount)
        var corners: [(index: Int, plugIn: Double)] = []
        for k in 0..<count {
            // A point with the same FP and more TP next, or the same TP and fewer FP before, dominates.
            if k + 1 < count && falsePositives[k + 1] == falsePositives[k] { continue }
            if k > 0 && truePositives[k - 1] == truePositives[k] { continue }
            let fpr = Double(falsePositives[k]) / n, fnr = 1 - Double(truePositives[k]) / p
            let plugIn = Swift.max(log((1 - delta - fpr) / fnr), log((1 - delta - fnr) / fpr))
            if plugIn > 0 || plugIn.isNaN { corners.append((k, plugIn.isNaN ? .infinity : plugIn)) }
        }
        corners.sort { $0.plugIn > $1.plugIn }
        for corner in corners {
            if corner.plugIn <= best.epsilon { break }
            let k = corner.index
            let candidate = try EmpiricalEpsilon(truePositives: truePositives[k], members: memberCount,
                                                 falsePositives: falsePositives[k], nonMembers: nonMemberCount,
                                                 confidence: confidence, delta: delta)
            if candidate.epsilon > best.epsilon { best = candidate }
        }
        return best
    }
}
