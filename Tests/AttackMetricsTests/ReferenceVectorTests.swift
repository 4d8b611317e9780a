import Foundation
import Testing
import AttackMetrics

/// The vectors written by scripts/attack_metrics_reference.py (scikit-learn and SciPy).
struct ReferenceVectors: Decodable {
    struct ROCCase: Decodable {
        struct Point: Decodable {
            let target: Double
            let tpr: Double
            let allowed_false_positives: Int
        }
        let name: String
        let scores: [Double]
        let is_member: [Bool]
        let fpr: [Double]
        let tpr: [Double]
        let thresholds_after_infinity: [Double]
        let auc: Double
        let operating_points: [Point]
        let advantage: Double
    }
    struct BoundCase: Decodable {
        let successes: Int, trials: Int
        let confidence: Double, upper: Double, lower: Double
    }
    struct EpsilonCase: Decodable {
        let true_positives: Int, members: Int, false_positives: Int, non_members: Int
        let confidence: Double, delta: Double, epsilon: Double, fpr_upper: Double, fnr_upper: Double
    }
    let format: String
    let version: Int
    let roc: [ROCCase]
    let clopper_pearson: [BoundCase]
    let epsilon: [EpsilonCase]

    static let shared: ReferenceVectors = {
        let url = Bundle.module.url(forResource: "Fixtures/attack-metrics-v1", withExtension: "json")!
        return try! JSONDecoder().decode(ReferenceVectors.self, from: Data(contentsOf: url))
    }()
}

@Suite("Agreement with scikit-learn and SciPy")
struct ReferenceVectorTests {
    @Test("the vector file is the version these tests read")
    func format() {
        #expect(ReferenceVectors.shared.format == "privacylab.attack-metrics-vectors")
        #expect(ReferenceVectors.shared.version == 1)
        #expect(ReferenceVectors.shared.roc.count >= 7)
    }

    @Test("ROC points and thresholds equal roc_curve(drop_intermediate=False)",
          arguments: ReferenceVectors.shared.roc.map(\.name))
    func rocCurve(name: String) throws {
        let c = ReferenceVectors.shared.roc.first { $0.name == name }!
        let curve = try ROCCurve(scores: c.scores, isMember: c.is_member)
        #expect(curve.count == c.fpr.count)
        #expect(curve.thresholds.first == .infinity)
        #expect(Array(curve.thresholds.dropFirst()) == c.thresholds_after_infinity)
        for (ours, theirs) in zip(curve.falsePositiveRates, c.fpr) { #expect(abs(ours - theirs) <= 1e-12) }
        for (ours, theirs) in zip(curve.truePositiveRates, c.tpr) { #expect(abs(ours - theirs) <= 1e-12) }
    }

    @Test("AUC equals roc_auc_score", arguments: ReferenceVectors.shared.roc.map(\.name))
    func auc(name: String) throws {
        let c = ReferenceVectors.shared.roc.first { $0.name == name }!
        let curve = try ROCCurve(scores: c.scores, isMember: c.is_member)
        #expect(abs(curve.auc - c.auc) <= 1e-12, "\(name): ours \(curve.auc), scikit-learn \(c.auc)")
    }

    @Test("TPR at FPR targets and the resolution they allow", arguments: ReferenceVectors.shared.roc.map(\.name))
    func operatingPoints(name: String) throws {
        let c = ReferenceVectors.shared.roc.first { $0.name == name }!
        let curve = try ROCCurve(scores: c.scores, isMember: c.is_member)
        for expected in c.operating_points {
            let point = curve.operatingPoint(atFalsePositiveRate: expected.target)
            #expect(abs(point.truePositiveRate - expected.tpr) <= 1e-12, "\(name) at FPR \(expected.target)")
            #expect(point.falsePositiveRate <= expected.target)
            #expect(point.allowedFalsePositives == expected.allowed_false_positives)
            #expect(point.isResolved == (expected.target == 0 || expected.allowed_false_positives >= 1))
        }
        #expect(abs(curve.advantage - c.advantage) <= 1e-12)
    }

    @Test("Clopper–Pearson bounds equal SciPy's beta quantiles")
    func clopperPearson() {
        for c in ReferenceVectors.shared.clopper_pearson {
            let upper = ClopperPearson.upperBound(successes: c.successes, trials: c.trials, confidence: c.confidence)
            let lower = ClopperPearson.lowerBound(successes: c.successes, trials: c.trials, confidence: c.confidence)
            #expect(abs(upper - c.upper) <= 1e-10 * max(1, c.upper), "upper \(c.successes)/\(c.trials)")
            #expect(abs(lower - c.lower) <= 1e-10 * max(1e-3, c.lower), "lower \(c.successes)/\(c.trials)")
        }
    }

    @Test("empirical ε lower bounds equal the SciPy computation")
    func epsilon() throws {
        for c in ReferenceVectors.shared.epsilon {
            let bound = try EmpiricalEpsilon(truePositives: c.true_positives, members: c.members,
                                             falsePositives: c.false_positives, nonMembers: c.non_members,
                                             confidence: c.confidence, delta: c.delta)
            #expect(abs(bound.epsilon - c.epsilon) <= 1e-9, "TP \(c.true_positives) FP \(c.false_positives)")
            #expect(abs(bound.falsePositiveRateUpper - c.fpr_upper) <= 1e-10)
            #expect(abs(bound.falseNegativeRateUpper - c.fnr_upper) <= 1e-10)
        }
    }
}
