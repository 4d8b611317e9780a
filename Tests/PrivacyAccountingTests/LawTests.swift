import Foundation
import PrivacyAccounting
import Testing

@Suite("Accounting laws and input checks")
struct AccountingLawTests {
    @Test("ε grows with steps and q, falls with σ; zero steps cost nothing", arguments: [AccountingMethod.rdp(), .pld()])
    func monotone(method: AccountingMethod) throws {
        func eps(_ q: Double, _ s: Double, _ t: Int) throws -> Double {
            try method.epsilon(for: [PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: s, steps: t)], delta: 1e-5)
        }
        #expect(try eps(0.01, 1, 0) == 0)
        #expect(try eps(0.01, 1, 100) < eps(0.01, 1, 200))
        #expect(try eps(0.01, 1, 100) < eps(0.02, 1, 100))
        #expect(try eps(0.01, 1, 100) > eps(0.01, 1.5, 100))
    }

    @Test("PLD is never looser than RDP by more than its grid error, and Balle 2020 never looser than classic")
    func ordering() throws {
        for (q, s, t) in [(0.01, 1.0, 1000), (0.004, 1.1, 3000), (0.1, 2.0, 100)] {
            let phases = [PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: s, steps: t)]
            let pld = try AccountingMethod.pld().epsilon(for: phases, delta: 1e-5)
            let rdp = try AccountingMethod.rdp().epsilon(for: phases, delta: 1e-5)
            let classic = try AccountingMethod.rdp(conversion: .classic).epsilon(for: phases, delta: 1e-5)
            #expect(pld <= rdp)
            #expect(rdp <= classic)
        }
    }

    @Test("q = 1 PLD equals the analytic Gaussian mechanism composed T times")
    func gaussianComposition() throws {
        // T Gaussian steps of σ are one Gaussian of σ/√T; its exact δ(ε) is Balle & Wang's formula.
        let pld = try PrivacyLossDistribution.composed([PoissonGaussianSteps(samplingProbability: 1, noiseMultiplier: 2, steps: 16)])
        let one = try PrivacyLossDistribution.poissonSubsampledGaussian(samplingProbability: 1, noiseMultiplier: 0.5)
        #expect(try pld.delta(epsilon: 1) == one.delta(epsilon: 1))
        // δ at ε = 1 for σ_eff = 0.5: Φ(−εσ + 1/(2σ)) − e^ε Φ(−εσ − 1/(2σ)).
        func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
        let exact = phi(-0.5 + 1) - exp(1.0) * phi(-0.5 - 1)
        #expect(relativeError(try pld.delta(epsilon: 1), exact) < 1e-3)
        #expect(try pld.delta(epsilon: 1) >= exact * (1 - 1e-9))   // pessimistic
    }

    @Test("the stateful accountant equals the pure computation and merges repeated steps")
    func accountant() throws {
        var accountant = PrivacyAccountant(method: .rdp())
        for _ in 0..<50 { try accountant.record(samplingProbability: 0.01, noiseMultiplier: 1.2) }
        try accountant.record(samplingProbability: 0.02, noiseMultiplier: 1.5, steps: 25)
        #expect(accountant.history.count == 2)
        #expect(accountant.stepCount == 75)
        let direct = try AccountingMethod.rdp().epsilon(for: [
            PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: 1.2, steps: 50),
            PoissonGaussianSteps(samplingProbability: 0.02, noiseMultiplier: 1.5, steps: 25),
        ], delta: 1e-6)
        #expect(try accountant.epsilon(delta: 1e-6) == direct)
    }

    @Test("maximum steps under a budget is the last step count within it")
    func maximumSteps() throws {
        let method = AccountingMethod.rdp()
        let t = try method.maximumSteps(forEpsilon: 2, delta: 1e-5, samplingProbability: 0.01, noiseMultiplier: 1, limit: 100_000)
        func eps(_ t: Int) throws -> Double {
            try method.epsilon(for: [PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: 1, steps: t)], delta: 1e-5)
        }
        #expect(try eps(t) <= 2)
        #expect(try eps(t + 1) > 2)
    }

    @Test("bad inputs throw errors naming the parameter")
    func badInput() {
        func parameter(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let error as AccountingError { return error.parameter } catch { return "other" }
        }
        let ok = PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: 1, steps: 10)
        for bad in [0.0, 1.0, -1e-5, 2, .nan] {
            #expect(parameter { _ = try AccountingMethod.rdp().epsilon(for: [ok], delta: bad) } == "delta")
            #expect(parameter { _ = try AccountingMethod.pld().epsilon(for: [ok], delta: bad) } == "delta")
        }
        for bad in [0.0, -1, .nan, .infinity] {
            let phase = PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: bad, steps: 10)
            #expect(parameter { _ = try AccountingMethod.rdp().epsilon(for: [phase], delta: 1e-5) } == "noise_multiplier")
        }
        for bad in [0.0, -0.1, 1.5, .nan] {
            let phase = PoissonGaussianSteps(samplingProbability: bad, noiseMultiplier: 1, steps: 10)
            #expect(parameter { _ = try AccountingMethod.pld().epsilon(for: [phase], delta: 1e-5) } == "sampling_probability")
        }
        let negative = PoissonGaussianSteps(samplingProbability: 0.01, noiseMultiplier: 1, steps: -1)
        #expect(parameter { _ = try AccountingMethod.rdp().epsilon(for: [negative], delta: 1e-5) } == "steps")
        #expect(parameter { _ = try AccountingMethod.rdp().noiseMultiplier(forEpsilon: -1, delta: 1e-5, samplingProbability: 0.01, steps: 10) } == "epsilon")
        var accountant = PrivacyAccountant()
        #expect(parameter { try accountant.record(samplingProbability: 0.01, noiseMultiplier: 0) } == "noise_multiplier")
        #expect(parameter { _ = try RenyiDP.subsampledGaussian(samplingProbability: 0.1, noiseMultiplier: 1, orders: [0.5]) } == "orders")
    }
}
