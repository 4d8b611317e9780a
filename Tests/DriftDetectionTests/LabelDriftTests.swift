import DriftDetection
import Foundation
import Testing

@Suite("χ² test of predicted-class histograms")
struct LabelDriftTests {
    @Test("the χ² tail has its closed forms: e^(−x/2) for k = 2, erfc(√(x/2)) for k = 1, e^(−x/2)(1 + x/2) for k = 4, on both sides of the series/fraction split")
    func closedForms() {
        for x in stride(from: 0.05, through: 60, by: 0.35) {
            #expect(abs(ChiSquared.survival(x, degreesOfFreedom: 2) - exp(-x / 2)) <= 1e-12 * max(1, exp(-x / 2)) + 1e-15, "k=2 x=\(x)")
            let k1 = erfc((x / 2).squareRoot())
            #expect(abs(ChiSquared.survival(x, degreesOfFreedom: 1) - k1) <= 1e-10 * k1 + 1e-15, "k=1 x=\(x)")
            let k4 = exp(-x / 2) * (1 + x / 2)
            #expect(abs(ChiSquared.survival(x, degreesOfFreedom: 4) - k4) <= 1e-10 * k4 + 1e-15, "k=4 x=\(x)")
        }
        #expect(ChiSquared.survival(0, degreesOfFreedom: 3) == 1 && ChiSquared.survival(-1, degreesOfFreedom: 3) == 1)
        #expect(ChiSquared.survival(.infinity, degreesOfFreedom: 3) == 0 && ChiSquared.survival(.nan, degreesOfFreedom: 3).isNaN)
        // Decreasing in x for a fixed k, increasing in k for a fixed x.
        for k in [1, 3, 9, 20] {
            let tail = stride(from: 0.5, through: 80, by: 0.5).map { ChiSquared.survival($0, degreesOfFreedom: k) }
            #expect(zip(tail, tail.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(ChiSquared.survival(10, degreesOfFreedom: k) < ChiSquared.survival(10, degreesOfFreedom: k + 1))
        }
    }

    @Test("proportional histograms give χ² = 0 and p = 1; a shifted one drifts; classes seen in neither sample add no degree of freedom")
    func homogeneity() throws {
        let test = try LabelDriftTest(referenceCounts: [100, 200, 300, 0], significance: 0.01)
        let same = try test.test(counts: [50, 100, 150, 0])
        #expect(same.statistic == 0 && same.pValue == 1 && !same.drift && same.degreesOfFreedom == 2)
        let shifted = try test.test(counts: [10, 20, 20, 150])
        #expect(shifted.drift && shifted.pValue < 1e-10 && shifted.degreesOfFreedom == 3)
        // By hand for two classes: reference [30, 10], tested [10, 30]: every expected count is 20,
        // χ² = 4 · 10² / 20 = 20 with 1 degree of freedom.
        let two = try LabelDriftTest(referenceCounts: [30, 10]).test(counts: [10, 30])
        #expect(abs(two.statistic - 20) < 1e-12 && abs(two.pValue - erfc((10.0).squareRoot())) < 1e-12)
        #expect(try LabelDriftTest(referenceCounts: [5, 0]).test(counts: [7, 0]).pValue == 1)
        #expect(try LabelDriftTest.counts([0, 2, 2, 1], classes: 3) == [1, 1, 2])
    }

    @Test("bad counts are refused with the problem named")
    func refusals() throws {
        #expect(throws: DriftError.self) { try LabelDriftTest(referenceCounts: []) }
        #expect(throws: DriftError.self) { try LabelDriftTest(referenceCounts: [0, 0]) }
        #expect(throws: DriftError.self) { try LabelDriftTest(referenceCounts: [1, -1]) }
        #expect(throws: DriftError.self) { try LabelDriftTest(referenceCounts: [1, 1], significance: 1) }
        let test = try LabelDriftTest(referenceCounts: [1, 1])
        #expect(throws: DriftError.featureCount(reference: 2, tested: 3)) { try test.test(counts: [1, 1, 1]) }
        #expect(throws: DriftError.self) { try test.test(counts: [0, 0]) }
        #expect { try LabelDriftTest.counts([0, 3], classes: 2) } throws: { "\($0)".contains("outside 0..<2") }
    }
}
