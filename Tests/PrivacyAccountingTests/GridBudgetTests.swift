import PrivacyAccounting
import Testing

/// Parameters that are valid but would need gigabytes to terabytes of PLD grid (or would not
/// fit an Int): one `AccountingError` naming the parameter and the limit, before allocating.
@Suite("PLD grid budget")
struct GridBudgetTests {
    @Test("a small σ is refused with the limit instead of a 40 GB to 800 TB allocation or a trap")
    func smallSigma() throws {
        // σ = 10⁻³ needs ≈ 5·10⁹ points at Δ = 10⁻⁴ (40 GB), σ = 10⁻⁶ ≈ 5·10¹⁵ (40 PB),
        // σ = 10⁻¹² more than Int.max.
        for sigma in [1e-3, 1e-6, 1e-12, 1e-300] {
            let phase = PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: sigma, steps: 100)
            let error = #expect(throws: AccountingError.self) { _ = try AccountingMethod.pld().epsilon(for: [phase], delta: 1e-5) }
            #expect(error?.parameter == "noise_multiplier", "\(String(describing: error))")
            #expect(error?.description.contains("\(PrivacyLossDistribution.maximumGridPoints) points") == true)
        }
        #expect(try PrivacyLossDistribution.gridPoints(samplingProbability: 1, noiseMultiplier: 1e-3) > Double(PrivacyLossDistribution.maximumGridPoints))
        #expect(try PrivacyLossDistribution.gridPoints(samplingProbability: 1, noiseMultiplier: 1) < Double(PrivacyLossDistribution.maximumGridPoints))
    }

    @Test("a tiny discretization is refused by name")
    func tinyDiscretization() {
        let phase = PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: 1, steps: 10)
        for spacing in [1e-9, 1e-300, Double.leastNonzeroMagnitude] {
            let error = #expect(throws: AccountingError.self) { _ = try AccountingMethod.pld(discretization: spacing).epsilon(for: [phase], delta: 1e-5) }
            #expect(error?.parameter == "discretization", "\(String(describing: error))")
        }
    }

    @Test("a composition too wide for the grid, or of nothing, throws instead of trapping")
    func composition() throws {
        let one = try PrivacyLossDistribution.poissonSubsampledGaussian(samplingProbability: 0.5, noiseMultiplier: 0.5,
                                                                          discretization: 1e-3)
        // Int.max steps: the full index range overflows Int and the kept one exceeds the grid.
        let error = #expect(throws: AccountingError.self) { _ = try one.composed(times: Int.max) }
        #expect(error?.parameter == "steps", "\(String(describing: error))")
        #expect(throws: AccountingError.self) { _ = try PrivacyLossDistribution.composition([]) }
        #expect(throws: AccountingError.self) { _ = try PrivacyLossDistribution.composition([(one, -1)]) }
        #expect(throws: AccountingError.self) {
            _ = try AccountingMethod.pld().epsilon(for: [PoissonGaussianSteps(samplingProbability: 0.5, noiseMultiplier: 1, steps: Int.max)], delta: 1e-5)
        }
        // Ordinary compositions are unaffected.
        #expect(try one.composed(times: 100).epsilon(delta: 1e-5) > 0)
    }

    @Test("RDP orders are bounded so an integer order cannot loop for ever or trap")
    func orders() {
        for order in [1e7, 1e300] {
            let error = #expect(throws: AccountingError.self) {
                _ = try RenyiDP.subsampledGaussian(samplingProbability: 0.01, noiseMultiplier: 1, orders: [order])
            }
            #expect(error?.parameter == "orders")
        }
    }
}
