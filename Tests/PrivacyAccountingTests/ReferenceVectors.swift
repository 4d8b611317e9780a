import Foundation
import PrivacyAccounting
import Testing

/// The figures `generate_vectors.py` computed with Google's dp-accounting.
struct ReferenceVectors: Decodable {
    struct Case: Decodable {
        let q: Double, sigma: Double, steps: Int, delta: Double
        let rdp_epsilon: Double, rdp_classic_epsilon: Double, pld_epsilon: Double
    }
    struct Curve: Decodable { let q: Double, sigma: Double, rdp: [Double?] }
    struct Phase: Decodable { let q: Double, sigma: Double, steps: Int }
    struct Composed: Decodable { let phases: [Phase], delta: Double, rdp_epsilon: Double, pld_epsilon: Double }
    struct Calibration: Decodable { let q: Double, steps: Int, epsilon: Double, delta: Double, rdp_sigma: Double }

    let version: Int
    let rdp_orders: [Double]
    let cases: [Case]
    let rdp_curves: [Curve]
    let composed: [Composed]
    let calibration: [Calibration]

    static let shared: ReferenceVectors = {
        let url = Bundle.module.url(forResource: "dp-accounting-v1", withExtension: "json", subdirectory: "Vectors")!
        let text = try! String(contentsOf: url, encoding: .utf8)
            .replacingOccurrences(of: "Infinity", with: "null")   // Python's json writes ∞ as Infinity
        return try! JSONDecoder().decode(ReferenceVectors.self, from: Data(text.utf8))
    }()
}

func relativeError(_ a: Double, _ b: Double) -> Double {
    if a == b { return 0 }
    return abs(a - b) / max(abs(a), abs(b))
}

@Suite("Accounting matches dp-accounting")
struct DPAccountingReferenceTests {
    let vectors = ReferenceVectors.shared

    @Test("the default orders are dp-accounting's")
    func orders() {
        #expect(vectors.version == 1)
        #expect(RenyiDP.defaultOrders == vectors.rdp_orders)
    }

    @Test("one-step RDP curves agree at every order to 1e-6 relative")
    func rdpCurves() throws {
        for curve in vectors.rdp_curves {
            let ours = try RenyiDP.subsampledGaussian(samplingProbability: curve.q, noiseMultiplier: curve.sigma)
            for (index, theirs) in curve.rdp.enumerated() {
                guard let theirs else {
                    #expect(ours[index] == .infinity, "q \(curve.q) σ \(curve.sigma) order \(vectors.rdp_orders[index])")
                    continue
                }
                #expect(relativeError(ours[index], theirs) < 1e-6,
                        "q \(curve.q) σ \(curve.sigma) order \(vectors.rdp_orders[index]): \(ours[index]) vs \(theirs)")
            }
        }
    }

    @Test("RDP ε (both conversions) within 1% on the (q, σ, steps) grid")
    func rdpEpsilon() throws {
        #expect(vectors.cases.count >= 50)
        for c in vectors.cases {
            let phases = [PoissonGaussianSteps(samplingProbability: c.q, noiseMultiplier: c.sigma, steps: c.steps)]
            let tight = try AccountingMethod.rdp().epsilon(for: phases, delta: c.delta)
            let classic = try AccountingMethod.rdp(conversion: .classic).epsilon(for: phases, delta: c.delta)
            #expect(relativeError(tight, c.rdp_epsilon) < 0.01, "q \(c.q) σ \(c.sigma) T \(c.steps): \(tight) vs \(c.rdp_epsilon)")
            #expect(relativeError(classic, c.rdp_classic_epsilon) < 0.01,
                    "classic q \(c.q) σ \(c.sigma) T \(c.steps): \(classic) vs \(c.rdp_classic_epsilon)")
            #expect(tight <= classic + 1e-12)
        }
    }

    @Test("PLD ε within 1% on the (q, σ, steps) grid")
    func pldEpsilon() throws {
        for c in vectors.cases {
            let phases = [PoissonGaussianSteps(samplingProbability: c.q, noiseMultiplier: c.sigma, steps: c.steps)]
            let ours = try AccountingMethod.pld().epsilon(for: phases, delta: c.delta)
            #expect(relativeError(ours, c.pld_epsilon) < 0.01, "q \(c.q) σ \(c.sigma) T \(c.steps): \(ours) vs \(c.pld_epsilon)")
        }
    }

    @Test("heterogeneous composition within 1% (RDP and PLD)")
    func composition() throws {
        for c in vectors.composed {
            let phases = c.phases.map { PoissonGaussianSteps(samplingProbability: $0.q, noiseMultiplier: $0.sigma, steps: $0.steps) }
            let rdp = try AccountingMethod.rdp().epsilon(for: phases, delta: c.delta)
            let pld = try AccountingMethod.pld().epsilon(for: phases, delta: c.delta)
            #expect(relativeError(rdp, c.rdp_epsilon) < 0.01, "\(rdp) vs \(c.rdp_epsilon)")
            #expect(relativeError(pld, c.pld_epsilon) < 0.01, "\(pld) vs \(c.pld_epsilon)")
            // The order of the phases does not matter.
            let reversed = try AccountingMethod.rdp().epsilon(for: phases.reversed(), delta: c.delta)
            #expect(relativeError(rdp, reversed) < 1e-12)
        }
    }

    @Test("calibrated σ within 1% of dp-accounting's, and it meets the target")
    func calibration() throws {
        for c in vectors.calibration {
            let sigma = try AccountingMethod.rdp().noiseMultiplier(forEpsilon: c.epsilon, delta: c.delta,
                                                                 samplingProbability: c.q, steps: c.steps)
            #expect(relativeError(sigma, c.rdp_sigma) < 0.01, "\(sigma) vs \(c.rdp_sigma)")
            let achieved = try AccountingMethod.rdp().epsilon(
                for: [PoissonGaussianSteps(samplingProbability: c.q, noiseMultiplier: sigma, steps: c.steps)], delta: c.delta)
            #expect(achieved <= c.epsilon)
            #expect(achieved > c.epsilon * 0.999)
        }
    }
}

@Suite("Published figures")
struct PublishedFigureTests {
    @Test("TF Privacy MNIST tutorial: q = 256/60000, σ = 1.1, 60 epochs, δ = 1e-5 gives ε = 3.01 (classic RDP)")
    func tfPrivacyMNIST() throws {
        let q = 256.0 / 60000
        let steps = Int((60 * 60000.0 / 256).rounded(.down))
        let method = AccountingMethod.rdp(conversion: .classic, orders: RenyiDP.tfPrivacyOrders)
        let epsilon = try method.epsilon(for: [PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: 1.1, steps: steps)],
                                         delta: 1e-5)
        #expect((epsilon * 100).rounded() / 100 == 3.01, "ε = \(epsilon)")
    }
}
