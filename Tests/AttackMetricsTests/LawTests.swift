import Foundation
import Testing
import AttackMetrics
import LabRandom

/// Laws of the metrics over many random score vectors.
@Suite("Laws of attack metrics")
struct LawTests {
    static func sample(_ random: inout LabRandom, count: Int, shift: Double, grid: Double?) -> ([Double], [Bool]) {
        var scores: [Double] = [], members: [Bool] = []
        for i in 0..<count {
            let member = i % 3 != 0
            var s = random.nextNormal() + (member ? shift : 0)
            if let grid { s = (s / grid).rounded() * grid }
            scores.append(s); members.append(member)
        }
        return (scores, members)
    }

    @Test("AUC is the Mann–Whitney probability, ties counting one half")
    func aucIsMannWhitney() throws {
        var random = LabRandom(seed: 11)
        for trial in 0..<20 {
            let (scores, members) = Self.sample(&random, count: 40 + trial, shift: 0.7, grid: trial % 2 == 0 ? 0.5 : nil)
            var wins = 0.0, pairs = 0.0
            for i in scores.indices where members[i] {
                for j in scores.indices where !members[j] {
                    pairs += 1
                    wins += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0)
                }
            }
            let curve = try ROCCurve(scores: scores, isMember: members)
            #expect(abs(curve.auc - wins / pairs) <= 1e-12)
        }
    }

    @Test("metrics are invariant under permutation and strictly increasing transforms")
    func invariance() throws {
        var random = LabRandom(seed: 12)
        let (scores, members) = Self.sample(&random, count: 500, shift: 1, grid: 0.25)
        let base = try AttackEvaluation(scores: scores, isMember: members)
        var order = Array(scores.indices)
        random.shuffle(&order)
        let permuted = try AttackEvaluation(scores: order.map { scores[$0] }, isMember: order.map { members[$0] })
        let transformed = try AttackEvaluation(scores: scores.map { 3 * $0 * $0 * $0 + 5 }, isMember: members)
        for other in [permuted, transformed] {
            #expect(other.auc == base.auc)
            #expect(other.advantage == base.advantage)
            #expect(other.operatingPoints.map(\.truePositiveRate) == base.operatingPoints.map(\.truePositiveRate))
            #expect(other.epsilon.epsilon == base.epsilon.epsilon)
        }
    }

    @Test("perfectly separating scores give AUC 1, TPR 1 at FPR 0, advantage 1; reversed give AUC 0")
    func perfectSeparation() throws {
        let scores = (0..<100).map { Double($0) }
        let members = (0..<100).map { $0 >= 50 }
        let good = try AttackEvaluation(scores: scores, isMember: members)
        #expect(good.auc == 1)
        #expect(good.truePositiveRate(atFalsePositiveRate: 0) == 1)
        #expect(good.advantage == 1 && good.balancedAccuracy == 1)
        #expect(good.positivePredictiveValue == 1)
        let bad = try ROCCurve(scores: scores.map { -$0 }, isMember: members)
        #expect(bad.auc == 0)
        #expect(bad.advantage == 0)
    }

    @Test("a constant score gives the diagonal: AUC ½ and TPR 0 below FPR 1")
    func constantScore() throws {
        let curve = try ROCCurve(scores: [Double](repeating: 2, count: 30), isMember: (0..<30).map { $0 % 2 == 0 })
        #expect(curve.count == 2)
        #expect(curve.auc == 0.5)
        #expect(curve.operatingPoint(atFalsePositiveRate: 0.1).truePositiveRate == 0)
        #expect(curve.operatingPoint(atFalsePositiveRate: 1).truePositiveRate == 1)
    }

    @Test("TPR at a target FPR is the largest TPR whose FPR fits, and it grows with the target")
    func operatingPointLaw() throws {
        var random = LabRandom(seed: 13)
        let (scores, members) = Self.sample(&random, count: 1200, shift: 0.8, grid: 0.01)
        let curve = try ROCCurve(scores: scores, isMember: members)
        // Brute force over thresholds: predict member when score ≥ t.
        let counts = Set(scores).map { t -> (tp: Int, fp: Int) in
            var tp = 0, fp = 0
            for (s, m) in zip(scores, members) where s >= t { if m { tp += 1 } else { fp += 1 } }
            return (tp, fp)
        }
        var previous = -1.0
        for target in [0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1] {
            let point = curve.operatingPoint(atFalsePositiveRate: target)
            var best = 0.0
            for (tp, fp) in counts where Double(fp) <= target * Double(curve.nonMemberCount) {
                best = max(best, Double(tp) / Double(curve.memberCount))
            }
            #expect(abs(point.truePositiveRate - best) <= 1e-12, "target \(target)")
            #expect(point.truePositiveRate >= previous)
            previous = point.truePositiveRate
        }
        // 400 non-members cannot resolve FPR 0.0001: no false positive is allowed.
        let fine = curve.operatingPoint(atFalsePositiveRate: 0.0001)
        #expect(fine.allowedFalsePositives == 0 && !fine.isResolved)
        #expect(fine.truePositiveRate == curve.operatingPoint(atFalsePositiveRate: 0).truePositiveRate)
    }

    @Test("balanced accuracy is (1 + advantage) / 2 and the best threshold reaches the advantage")
    func balancedAccuracy() throws {
        var random = LabRandom(seed: 14)
        let (scores, members) = Self.sample(&random, count: 400, shift: 1.2, grid: nil)
        let curve = try ROCCurve(scores: scores, isMember: members)
        let t = curve.thresholds[curve.bestThresholdIndex]
        let tp = zip(scores, members).filter { $0.1 && $0.0 >= t }.count
        let tn = zip(scores, members).filter { !$0.1 && $0.0 < t }.count
        let manual = (Double(tp) / Double(curve.memberCount) + Double(tn) / Double(curve.nonMemberCount)) / 2
        #expect(abs(curve.balancedAccuracy - manual) <= 1e-12)
        #expect(abs(curve.balancedAccuracy - (1 + curve.advantage) / 2) <= 1e-15)
    }

    @Test("log-log points are a monotone staircase within the resolution")
    func logLogPoints() throws {
        var random = LabRandom(seed: 15)
        let (scores, members) = Self.sample(&random, count: 2000, shift: 1, grid: nil)
        let curve = try ROCCurve(scores: scores, isMember: members)
        let points = curve.logLogPoints(maximumCount: 50)
        #expect(!points.isEmpty && points.count <= 50)
        #expect(points.last == ROCPoint(falsePositiveRate: 1, truePositiveRate: 1))
        for (a, b) in zip(points, points.dropFirst()) {
            #expect(a.falsePositiveRate <= b.falsePositiveRate && a.truePositiveRate <= b.truePositiveRate)
        }
        for p in points {
            #expect(p.falsePositiveRate >= 1 / Double(curve.nonMemberCount) && p.truePositiveRate > 0)
            #expect(curve.operatingPoint(atFalsePositiveRate: p.falsePositiveRate).truePositiveRate == p.truePositiveRate)
        }
    }

    @Test("bad input throws errors naming the problem")
    func badInput() {
        #expect(throws: AttackMetricsError.countMismatch(scores: 2, labels: 3)) {
            try ROCCurve(scores: [1, 2], isMember: [true, false, true])
        }
        #expect(throws: AttackMetricsError.missingClass(members: 2, nonMembers: 0)) {
            try ROCCurve(scores: [1, 2], isMember: [true, true])
        }
        #expect(throws: AttackMetricsError.nonNumericScore(index: 1)) {
            try ROCCurve(scores: [1, .nan], isMember: [true, false])
        }
    }
}

@Suite("Clopper–Pearson and empirical ε")
struct EpsilonTests {
    @Test("Clopper–Pearson bounds cover the true rate at least as often as promised")
    func coverage() {
        var random = LabRandom(seed: 21)
        let n = 60, p = 0.1, trials = 2000
        var covered = 0
        for _ in 0..<trials {
            var k = 0
            for _ in 0..<n where random.nextBernoulli(p) { k += 1 }
            if ClopperPearson.upperBound(successes: k, trials: n, confidence: 0.9) >= p { covered += 1 }
        }
        // Exact coverage is ≥ 0.9 for every p; 2000 draws put the estimate within ±0.02.
        #expect(Double(covered) / Double(trials) >= 0.88)
    }

    @Test("ε lower bound is 0 for a useless attack, grows with separation and with more samples")
    func epsilonLaws() throws {
        let chance = try EmpiricalEpsilon(truePositives: 500, members: 1000, falsePositives: 500, nonMembers: 1000)
        #expect(chance.epsilon == 0)
        let weak = try EmpiricalEpsilon(truePositives: 300, members: 1000, falsePositives: 100, nonMembers: 1000)
        let strong = try EmpiricalEpsilon(truePositives: 600, members: 1000, falsePositives: 10, nonMembers: 1000)
        #expect(strong.epsilon > weak.epsilon && weak.epsilon > 0)
        let moreData = try EmpiricalEpsilon(truePositives: 6000, members: 10000, falsePositives: 100, nonMembers: 10000)
        #expect(moreData.epsilon > strong.epsilon)
        // The bound never exceeds the plug-in value at the observed rates.
        #expect(strong.epsilon < log(0.6 / 0.01))
        #expect(throws: AttackMetricsError.self) {
            try EmpiricalEpsilon(truePositives: 5, members: 4, falsePositives: 0, nonMembers: 4)
        }
    }

    @Test("bootstrap intervals are deterministic for a stream, contain the estimate, narrow with more data")
    func bootstrap() throws {
        var random = LabRandom(seed: 22)
        let (scores, members) = LawTests.sample(&random, count: 600, shift: 1, grid: nil)
        let stream = LabRandom(seed: 5).stream("bootstrap")
        let a = try BootstrapIntervals(scores: scores, isMember: members, replicates: 100, random: stream)
        let b = try BootstrapIntervals(scores: scores, isMember: members, replicates: 100, random: stream)
        #expect(a == b)
        let auc = try ROCCurve(scores: scores, isMember: members).auc
        #expect(a.auc.contains(auc))
        #expect(a.auc.upperBound - a.auc.lowerBound > 0)
        let (bigScores, bigMembers) = LawTests.sample(&random, count: 6000, shift: 1, grid: nil)
        let big = try BootstrapIntervals(scores: bigScores, isMember: bigMembers, replicates: 100, random: stream)
        #expect(big.auc.upperBound - big.auc.lowerBound < a.auc.upperBound - a.auc.lowerBound)
        let other = try BootstrapIntervals(scores: scores, isMember: members, replicates: 100, random: LabRandom(seed: 6))
        #expect(other != a)
    }

    @Test("metric names follow DESIGN.md")
    func names() throws {
        let evaluation = try AttackEvaluation(scores: [0.1, 0.4, 0.35, 0.8], isMember: [false, false, true, true])
        let names = evaluation.metrics(part: "lira").map(\.name)
        #expect(Array(names.prefix(6)) == ["lira.auc", "lira.tpr@0.1", "lira.tpr@0.01", "lira.tpr@0.001", "lira.tpr@0.0001", "lira.tpr@0"])
        #expect(names.contains("lira.advantage") && names.contains("lira.epsilon"))
        var random = LabRandom(seed: 23)
        let (scores, members) = LawTests.sample(&random, count: 300, shift: 1, grid: nil)
        let withIntervals = try AttackEvaluation(scores: scores, isMember: members, bootstrap: (replicates: 50, random: LabRandom(seed: 24)))
        let metrics = withIntervals.metrics(part: "rmia")
        let low = try #require(metrics.first { $0.name == "rmia.auc_low" }), high = try #require(metrics.first { $0.name == "rmia.auc_high" })
        #expect(low.value <= withIntervals.auc && withIntervals.auc <= high.value)
        #expect(metrics.contains { $0.name == "rmia.tpr@0.01_high" })
    }
}

@Suite("Empirical ε over a curve")
struct CurveEpsilonTests {
    @Test("the pruned search over corners equals the bound maximised over every point")
    func prunedSearch() throws {
        var random = LabRandom(seed: 25)
        for trial in 0..<10 {
            let (scores, members) = LawTests.sample(&random, count: 300 + 50 * trial, shift: 0.5 * Double(trial), grid: trial % 2 == 0 ? 0.1 : nil)
            let curve = try ROCCurve(scores: scores, isMember: members)
            var best = 0.0
            for k in 0..<curve.count {
                let e = try EmpiricalEpsilon(truePositives: curve.truePositives[k], members: curve.memberCount,
                                             falsePositives: curve.falsePositives[k], nonMembers: curve.nonMemberCount,
                                             confidence: 0.9, delta: 1e-5)
                best = max(best, e.epsilon)
            }
            #expect(try curve.empiricalEpsilon(confidence: 0.9, delta: 1e-5).epsilon == best, "trial \(trial)")
        }
    }
}
