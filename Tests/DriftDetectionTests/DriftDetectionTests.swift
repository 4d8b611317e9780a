import DriftDetection
import Foundation
import LabRandom
import Testing
import TestSupport

/// Normal rows [rows × features], shifted by `shift` in every feature.
func normalRows(_ rows: Int, _ features: Int, shift: Double = 0, seed: UInt64) -> [Double] {
    var r = LabRandom(seed: seed).stream("rows")
    return (0..<rows * features).map { _ in r.nextNormal() + shift }
}

@Suite("Kolmogorov–Smirnov statistic and distribution")
struct KolmogorovSmirnovTests {
    @Test("the two-sample statistic is the largest gap of the empirical CDFs, ties counted together")
    func statistic() {
        #expect(KolmogorovSmirnov.statistic([1, 2, 3], [1, 2, 3]) == 0)
        #expect(KolmogorovSmirnov.statistic([1, 2, 3], [4, 5]) == 1)
        // a = {1, 2, 2, 4}, b = {2, 3}: the gaps after 1, 2, 3 are 1/4, 3/4 − 1/2, 3/4 − 1; splitting
        // the tied 2s (a's before b's) would see 2/4 − 0 = 1/2 after a's 2s.
        #expect(abs(KolmogorovSmirnov.statistic([1, 2, 2, 4], [2, 3]) - 0.25) < 1e-15)
        #expect(abs(KolmogorovSmirnov.statistic([0, 0, 0, 1], [0, 1, 1, 1]) - 0.5) < 1e-15)
    }

    @Test("closed forms: P(D₁ > x) = 2(1 − x), the one-sided tail of n = 1 is 1 − x, and the tails' limits")
    func closedForms() {
        for x in stride(from: 0.55, through: 0.95, by: 0.1) {
            #expect(abs(KolmogorovSmirnov.twoSidedSurvival(n: 1, x: x) - 2 * (1 - x)) < 1e-14)
            #expect(abs(KolmogorovSmirnov.oneSidedSurvival(n: 1, x: x) - (1 - x)) < 1e-14)
        }
        #expect(KolmogorovSmirnov.twoSidedSurvival(n: 50, x: 0) == 1)
        #expect(KolmogorovSmirnov.twoSidedSurvival(n: 50, x: 1) == 0)
        #expect(KolmogorovSmirnov.twoSidedSurvival(n: 50, x: 0.005) == 1)
        // Decreasing in x.
        let values = stride(from: 0.01, through: 0.6, by: 0.01).map { KolmogorovSmirnov.twoSidedSurvival(n: 400, x: $0) }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test("the regions' methods agree where they meet: Durbin's exact matrix against Pelz–Good and the doubled one-sided tail")
    func regionsAgree() {
        // Pelz–Good's expansion is accurate to about 1e-6 at n = 1000.
        for x in [0.03, 0.04, 0.05] {
            let exact = KolmogorovSmirnov.durbinMatrixCDF(n: 1000, x: x)
            #expect(abs(exact - KolmogorovSmirnov.pelzGoodCDF(n: 1000, x: x)) < 2e-6, "x = \(x)")
        }
        // Far in the tail both sides cannot pass at once: P(D > x) ≈ 2·P(D⁺ ≥ x).
        let exactTail = 1 - KolmogorovSmirnov.durbinMatrixCDF(n: 100, x: 0.2)
        #expect(abs(exactTail - 2 * KolmogorovSmirnov.oneSidedSurvival(n: 100, x: 0.2)) < 1e-6)
    }

    @Test("P(Dₙ > x) equals SciPy's kstwo.sf in every region of (n, x) within 1e-6",
          .enabled(if: SciPy.python != nil, "set PRIVACY_LAB_PYTHON to a Python with SciPy"))
    func matchesSciPy() throws {
        var cases: [(Int, Double)] = []
        for n in [1, 2, 5, 10, 37, 100, 140, 141, 500, 1000, 5000, 120_000] {
            for x in [0.001, 0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95] {
                cases.append((n, x))
            }
        }
        let input = cases.map { "\($0.0) \($0.1)" }.joined(separator: "\n")
        let reference = try SciPy.run("""
            import sys
            from scipy.stats import kstwo
            for line in sys.stdin:
                n, x = line.split()
                print(repr(float(kstwo.sf(float(x), int(n)))))
            """, input: input)
        #expect(reference.count == cases.count)
        var worst = 0.0
        for ((n, x), expected) in zip(cases, reference) {
            let ours = KolmogorovSmirnov.twoSidedSurvival(n: n, x: x)
            worst = max(worst, abs(ours - expected))
            #expect(abs(ours - expected) < 1e-6, "n = \(n), x = \(x): \(ours) against SciPy's \(expected)")
        }
        #expect(worst < 1e-6)
    }
}

@Suite("Feature drift (Kolmogorov–Smirnov per feature)")
struct FeatureDriftTests {
    @Test("p-values equal SciPy's ks_2samp(method='asymp') per feature within 1e-6, as Alibi Detect's KSDrift reports them",
          .enabled(if: SciPy.python != nil, "set PRIVACY_LAB_PYTHON to a Python with SciPy"))
    func matchesAlibiDetectsKS() throws {
        let features = 6
        let reference = normalRows(1000, features, seed: 1)
        var shifted = normalRows(700, features, seed: 2)
        for i in stride(from: 0, to: shifted.count, by: features) { shifted[i] += 0.4; shifted[i + 3] *= 1.5 }
        let test = try FeatureDriftTest(reference: reference, features: features)
        let result = try test.test(shifted)
        func rows(_ v: [Double]) -> String {
            stride(from: 0, to: v.count, by: features).map { v[$0..<$0 + features].map { "\($0)" }.joined(separator: " ") }.joined(separator: ";")
        }
        let expected = try SciPy.run("""
            import sys, numpy as np
            from scipy.stats import ks_2samp
            a, b = sys.stdin.read().split("|")
            parse = lambda s: np.array([[float(v) for v in r.split()] for r in s.split(";")])
            a, b = parse(a), parse(b)
            for f in range(a.shape[1]):
                d, p = ks_2samp(a[:, f], b[:, f], alternative="two-sided", method="asymp")
                print(repr(float(d)), repr(float(p)))
            """, input: rows(reference) + "|" + rows(shifted))
        #expect(expected.count == 2 * features)
        for f in 0..<features {
            #expect(abs(result.statistics[f] - expected[2 * f]) < 1e-12)
            #expect(abs(result.pValues[f] - expected[2 * f + 1]) < 1e-6, "feature \(f)")
        }
        #expect(result.drift && result.driftedFeatures.contains(0) && result.driftedFeatures.contains(3))
    }

    @Test("a shifted feature drifts; the same distribution does not; Benjamini–Hochberg's threshold is α·i/F")
    func detection() throws {
        let features = 4
        let test = try FeatureDriftTest(reference: normalRows(800, features, seed: 3), features: features)
        let same = try test.test(normalRows(500, features, seed: 4))
        #expect(!same.drift && same.threshold == 0.05 / 4)
        var shifted = normalRows(500, features, seed: 5)
        for i in stride(from: 1, to: shifted.count, by: features) { shifted[i] += 0.5 }
        let moved = try test.test(shifted)
        #expect(moved.drift && moved.driftedFeatures == [1])
        let fdr = try FeatureDriftTest(reference: normalRows(800, features, seed: 3), features: features, correction: .falseDiscoveryRate)
        let result = try fdr.test(shifted)
        #expect(result.drift && result.driftedFeatures == [1] && result.threshold == 0.05 * 1 / 4)
    }

    @Test("bad data is refused with the problem named")
    func badInput() throws {
        #expect(throws: DriftError.empty("the reference")) { try FeatureDriftTest(reference: [], features: 2) }
        #expect(throws: DriftError.nonFinite(sample: "the reference", row: 1, feature: 0)) {
            try FeatureDriftTest(reference: [0, 1, .nan, 2], features: 2)
        }
        #expect(throws: DriftError.parameter("significance must lie in (0, 1), got 1.0")) {
            try FeatureDriftTest(reference: [0, 1], features: 2, significance: 1)
        }
        let test = try FeatureDriftTest(reference: normalRows(10, 3, seed: 6), features: 3)
        #expect(throws: DriftError.featureCount(reference: 3, tested: 4)) { try test.test([1, 2, 3, 4]) }
        #expect(throws: DriftError.nonFinite(sample: "the tested data", row: 0, feature: 2)) { try test.test([1, 2, .infinity]) }
        #expect("\(DriftError.featureCount(reference: 3, tested: 4))".contains("the reference has 3 features per row"))
    }
}

@Suite("MMD drift (kernel two-sample test)")
struct MMDDriftTests {
    @Test("bandwidth and MMD² equal Alibi Detect's recipe computed in NumPy; a shift drifts and a control does not",
          .enabled(if: SciPy.python != nil, "set PRIVACY_LAB_PYTHON to a Python with NumPy"))
    func matchesAlibiDetectsMMD() throws {
        let features = 5
        let reference = normalRows(300, features, seed: 7)
        let shifted = normalRows(200, features, shift: 0.3, seed: 8)
        let test = try MMDDriftTest(reference: reference, features: features, permutations: 200)
        let result = try test.test(shifted, random: LabRandom(seed: 9))
        func rows(_ v: [Double]) -> String {
            stride(from: 0, to: v.count, by: features).map { v[$0..<$0 + features].map { "\($0)" }.joined(separator: " ") }.joined(separator: ";")
        }
        // Alibi Detect's MMDDrift: sigma by sigma_median on (x_ref, x_ref), the pooled kernel matrix with
        // its diagonal zeroed, mmd2_from_kernel_matrix without permutation.
        let expected = try SciPy.run("""
            import sys, numpy as np
            a, b = sys.stdin.read().split("|")
            parse = lambda s: np.array([[float(v) for v in r.split()] for r in s.split(";")])
            x, y = parse(a), parse(b)
            d2 = lambda p, q: ((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)
            dxx = d2(x, x); n = x.shape[0]
            sigma = (0.5 * np.sort(dxx.flatten())[n + (n * n - n) // 2 - 1]) ** 0.5
            z = np.concatenate([x, y]); k = np.exp(-d2(z, z) / (2 * sigma ** 2)); np.fill_diagonal(k, 0)
            m = y.shape[0]
            mmd2 = k[:n, :n].sum() / (n * (n - 1)) + k[n:, n:].sum() / (m * (m - 1)) - 2 * k[n:, :n].mean()
            print(repr(float(sigma)), repr(float(mmd2)))
            """, input: rows(reference) + "|" + rows(shifted))
        #expect(expected.count == 2)
        #expect(abs(test.sigma - expected[0]) < 1e-9 * expected[0])
        #expect(abs(result.mmd2 - expected[1]) < 1e-9)
        #expect(result.drift && result.pValue < 0.01 && result.mmd2 > result.threshold)
    }

    @Test("the same distribution gives a large p-value, and the test is deterministic for a seed")
    func control() throws {
        let test = try MMDDriftTest(reference: normalRows(200, 3, seed: 10), features: 3, permutations: 100)
        let a = try test.test(normalRows(150, 3, seed: 11), random: LabRandom(seed: 12))
        let b = try test.test(normalRows(150, 3, seed: 11), random: LabRandom(seed: 12))
        #expect(a == b)
        #expect(!a.drift && a.pValue > 0.05)
        // Permuted MMD² of a pooled sample of one distribution are centred near 0; the unbiased estimate can be negative.
        #expect(abs(a.mmd2) < 0.02)
    }

    @Test("sizes are checked by product before the kernel matrix is allocated, and bad data is named")
    func badInput() throws {
        #expect(throws: DriftError.parameter("the reference needs at least 2 rows, got 1")) { try MMDDriftTest(reference: [1, 2], features: 2) }
        #expect(throws: DriftError.parameter("permutations must lie in 1…100000, got 0")) {
            try MMDDriftTest(reference: [1, 2, 3, 4], features: 2, permutations: 0)
        }
        let test = try MMDDriftTest(reference: normalRows(20, 2, seed: 13), features: 2)
        #expect(throws: DriftError.featureCount(reference: 2, tested: 3)) { try test.test([1, 2, 3], random: LabRandom(seed: 1)) }
        // 6,000 tested rows of one feature: (20 + 6000)² > 2²⁵ entries, refused without building it.
        let big = [Double](repeating: 0.5, count: 6000)
        let wide = try MMDDriftTest(reference: normalRows(20, 1, seed: 14), features: 1)
        #expect(throws: DriftError.tooLarge("20 reference and 6000 tested rows need a kernel matrix of more than 33554432 entries")) {
            try wide.test(big, random: LabRandom(seed: 1))
        }
        #expect(throws: DriftError.parameter("the reference's rows are mostly identical: the median heuristic gives a bandwidth of 0; give sigma")) {
            try MMDDriftTest(reference: [Double](repeating: 1, count: 10), features: 1)
        }
    }
}

@Suite("k-NN outlier detector")
struct KNNOutlierDetectorTests {
    @Test("the threshold flags the chosen share of the reference; fresh clean rows near it, far rows always")
    func calibration() throws {
        let detector = try KNNOutlierDetector(reference: normalRows(400, 4, seed: 20), features: 4, k: 5, falsePositiveRate: 0.1)
        let clean = try detector.flags(normalRows(2000, 4, seed: 21))
        let rate = Double(clean.filter { $0 }.count) / Double(clean.count)
        #expect(rate > 0.05 && rate < 0.16, "clean flagged \(rate)")
        let far = try detector.flags(normalRows(50, 4, shift: 6, seed: 22))
        #expect(far.allSatisfy { $0 })
        // The score is the mean distance to the k nearest rows: a copy of a reference row is nearer than the others.
        let strict = try KNNOutlierDetector(reference: [0, 0, 1, 0, 0, 1, 5, 5], features: 2, k: 1, falsePositiveRate: 0)
        #expect(try strict.scores([0, 0, 3, 0]) == [0, 2])
        #expect(strict.threshold == (41.0).squareRoot())  // (5, 5) to its nearest other row; a rate of 0 flags no reference row
    }

    @Test("bad parameters and rows are named")
    func badInput() throws {
        #expect(throws: DriftError.parameter("k must lie in 1…2 for a reference of 3 rows, got 3")) {
            try KNNOutlierDetector(reference: [0, 1, 2], features: 1, k: 3)
        }
        let d = try KNNOutlierDetector(reference: normalRows(10, 2, seed: 23), features: 2, k: 2)
        #expect(throws: DriftError.featureCount(reference: 2, tested: 3)) { try d.scores([1, 2, 3]) }
    }
}
