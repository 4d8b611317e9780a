import Foundation
import LabRandom
import ModelAccess
import ModelExtraction
import NeuralNetworks
import Tensors
import Testing

/// An easy victim: an MLP on a mixture of four Gaussian classes in 12 dimensions, and the
/// attacker's natural pool (unlabelled draws from the same mixture).
enum Mixture {
    static let features = 12, classes = 4

    static func draw(_ n: Int, seed: UInt64) -> (x: Tensor, y: [Int]) {
        var r = LabRandom(seed: seed).stream("mixture")
        let y = (0..<n).map { _ in Int(r.nextDouble() * Double(classes)) % classes }
        let x = (0..<n * features).map { i in Float(r.nextNormal()) * 0.6 + (i % features == 3 * y[i / features] ? 1.5 : 0) }
        return (Tensor(shape: [n, features], scalars: x), y)
    }

    static let victim: Sequential = {
        let (x, y) = draw(400, seed: 50)
        var model = try! Sequential(inputShape: [features], layers: [.dense(inputs: features, outputs: 32), .relu, .dense(inputs: 32, outputs: classes)],
                                    random: LabRandom(seed: 51))
        _ = try! model.train(inputs: x, labels: y, configuration: TrainingConfiguration(epochs: 30, batchSize: 32, learningRate: 0.01), random: LabRandom(seed: 52))
        return model
    }()

    static let recipe = SequentialRecipe(inputShape: [features], layers: [.dense(inputs: features, outputs: 16), .relu, .dense(inputs: 16, outputs: classes)],
                                         configuration: TrainingConfiguration(epochs: 30, batchSize: 16, learningRate: 0.01))
    static let pool = draw(2000, seed: 53)
    static let test = draw(1000, seed: 54).x

    static func fidelity(_ model: Sequential) -> Double {
        ExtractionMetrics.agreement(model.predictedLabels(for: test), victim.predictedLabels(for: test))
    }
}

@Suite("Knockoff and Jacobian-augmentation extraction")
struct LearningExtractionTests {
    @Test("Knockoff's fidelity is far above chance (1/4) with 400 queries and higher than with 4, for every sampling and target form")
    func knockoffFidelity() throws {
        for (sampling, targets) in [(KnockoffExtraction.Sampling.random, SurrogateTargets.probabilities), (.random, .labels),
                                    (.adaptive(roundSize: 20, learningRate: 0.5), .probabilities)] {
            let stolen = try KnockoffExtraction(budgets: [4, 400], sampling: sampling, targets: targets)
                .extract(Mixture.victim, transferSet: Mixture.pool.x, groups: Mixture.pool.y, recipe: Mixture.recipe, random: LabRandom(seed: 60))
            let (few, many) = (Mixture.fidelity(stolen[0].model), Mixture.fidelity(stolen[1].model))
            #expect(many >= 0.85, "\(sampling) \(targets): fidelity \(many) with 400 queries")
            #expect(many > few + 0.05, "\(sampling) \(targets): \(few) with 4 queries, \(many) with 400")
            #expect(stolen.map(\.queries) == [4, 400] && stolen[1].trainingInputs.shape == [400, Mixture.features])
        }
    }

    @Test("the victim answers exactly the largest budget's queries, counted at the API, for both samplings")
    func knockoffBudget() throws {
        for sampling in [KnockoffExtraction.Sampling.random, .adaptive(roundSize: 7, learningRate: 0.5)] {
            let counted = QueryCountingModel(Mixture.victim)
            let stolen = try KnockoffExtraction(budgets: [10, 55, 123], sampling: sampling)
                .extract(counted, transferSet: Mixture.pool.x, groups: Mixture.pool.y, recipe: Mixture.recipe, random: LabRandom(seed: 61))
            #expect(counted.queries == 123)
            #expect(stolen.map(\.queries) == [10, 55, 123])
        }
        #expect(throws: KnockoffExtraction.KnockoffError.transferSetTooSmall(size: 2000, budget: 2001)) {
            try KnockoffExtraction(budgets: [2001]).extract(Mixture.victim, transferSet: Mixture.pool.x, recipe: Mixture.recipe, random: LabRandom(seed: 1))
        }
        #expect(throws: KnockoffExtraction.KnockoffError.budgets([50, 20])) {
            try KnockoffExtraction(budgets: [50, 20]).extract(Mixture.victim, transferSet: Mixture.pool.x, recipe: Mixture.recipe, random: LabRandom(seed: 1))
        }
    }

    @Test("Jacobian augmentation doubles the set each round, grows by κ under the reservoir, stops at the budget; the victim answers exactly that many")
    func jacobianQueries() throws {
        let seed = Mixture.pool.x.gatheringRows(Array(0..<10))
        let cases: [(JacobianAugmentation, [Int])] = [
            (JacobianAugmentation(rounds: 4), [10, 20, 40, 80]),
            (JacobianAugmentation(rounds: 5, reservoir: .init(startRound: 1, size: 5)), [10, 20, 25, 30, 35]),
            (JacobianAugmentation(rounds: 10, maximumQueries: 50), [10, 20, 40, 50]),
        ]
        for (var attack, expected) in cases {
            attack.lower = -10
            attack.upper = 10
            let counted = QueryCountingModel(Mixture.victim)
            let stolen = try attack.extract(counted, seed: seed, recipe: Mixture.recipe, random: LabRandom(seed: 62))
            #expect(stolen.map(\.queries) == expected)
            #expect(counted.queries == expected.last!)
        }
    }

    @Test("each new point moves every coordinate by 0 or ±λ (the sign of the surrogate's gradient), clipped to the domain; λ flips every τ rounds")
    func jacobianStep() throws {
        let seed = Mixture.pool.x.gatheringRows(Array(0..<20))
        let attack = JacobianAugmentation(rounds: 2, lambda: 0.25, lower: -1, upper: 1)
        let clipped = Tensor(shape: seed.shape, scalars: seed.scalars.map { min(1, max(-1, $0)) })
        let stolen = try attack.extract(Mixture.victim, seed: clipped, recipe: Mixture.recipe, random: LabRandom(seed: 63))
        let grown = stolen[1].trainingInputs.scalars, d = Mixture.features
        #expect(Array(grown.prefix(20 * d)) == clipped.scalars)
        var moved = 0
        for i in 0..<(20 * d) {
            let (before, after) = (grown[i], grown[20 * d + i])
            #expect(after >= -1 && after <= 1)
            let delta = abs(after - before)
            #expect(delta < 1e-6 || abs(delta - 0.25) < 1e-5 || after == 1 || after == -1)
            if delta > 1e-6 { moved += 1 }
        }
        #expect(moved > 10 * d)
        let flipping = JacobianAugmentation(rounds: 1, lambda: 0.1, signFlipPeriod: 2)
        #expect((0..<6).map { flipping.stepSize(round: $0) } == [0.1, 0.1, -0.1, -0.1, 0.1, 0.1])
    }

    @Test("extraction is a function of its seed: the same stream gives the same surrogates bit for bit, another one different ones")
    func determinism() throws {
        func knockoff(_ seed: UInt64) throws -> [Float] {
            try KnockoffExtraction(budgets: [60], sampling: .adaptive(roundSize: 10, learningRate: 0.5))
                .extract(Mixture.victim, transferSet: Mixture.pool.x, groups: Mixture.pool.y, recipe: Mixture.recipe, random: LabRandom(seed: seed))[0]
                .model.parameters.flatMap(\.scalars)
        }
        func jacobian(_ seed: UInt64) throws -> [Float] {
            try JacobianAugmentation(rounds: 3, reservoir: .init(startRound: 1, size: 4), lower: -10, upper: 10)
                .extract(Mixture.victim, seed: Mixture.pool.x.gatheringRows(Array(0..<8)), recipe: Mixture.recipe, random: LabRandom(seed: seed))
                .last!.model.parameters.flatMap(\.scalars)
        }
        #expect(try knockoff(70) == knockoff(70))
        #expect(try knockoff(70) != knockoff(71))
        #expect(try jacobian(72) == jacobian(72))
        #expect(try jacobian(72) != jacobian(73))
    }

    @Test("hardened answers still steal: label-only and top-1 answers reach high fidelity with 400 queries")
    func hardenedVictims() throws {
        for policy: OutputPolicy in [.labelOnly, .topK(1, renormalized: true), .rounded(decimals: 1)] {
            let stolen = try KnockoffExtraction(budgets: [400]).extract(HardenedModel(Mixture.victim, policy: policy), transferSet: Mixture.pool.x,
                                                                        recipe: Mixture.recipe, random: LabRandom(seed: 64))
            #expect(Mixture.fidelity(stolen[0].model) >= 0.8, "\(policy)")
        }
    }
}
