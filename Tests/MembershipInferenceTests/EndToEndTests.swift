import Foundation
import Testing
import AttackMetrics
import Datasets
import LabRandom
import MembershipInference
import NeuralNetworks
import Tensors
import ThreatTraining

/// The whole pipeline on a generated Gaussian mixture: an overfit MLP target, 8 reference
/// models trained in parallel on random halves (online design), every attack.
@Suite("End to end on generated data")
struct EndToEndTests {
    static let methods: [AttackMethod] = [
        .loss, .confidence, .entropy, .modifiedEntropy, .lira(online: true), .lira(online: true, globalVariance: true),
        .lira(online: false), .rmia(online: true, populationSize: 200), .rmia(online: false, populationSize: 200),
        .shadowModels(ShadowModelAttack.Options(features: .logProbabilities, hiddenUnits: 32, epochs: 20)),
        .labelOnly(LabelOnlyAttack.Options(perturbations: 30, noiseStandardDeviation: 0.4)),
    ]

    struct Setup {
        let population: LabeledData
        let design: MembershipDesign
        let recipe: SequentialRecipe
        let target: Sequential
        let root: LabRandom
    }

    static func setup(seed: UInt64) throws -> Setup {
        let root = LabRandom(seed: seed)
        var dataStream = root.stream("data")
        let population = SyntheticDatasets.gaussianMixture(samples: 1000, features: 30, classes: 4, separation: 2.5, using: &dataStream)
        var designStream = root.stream("design")
        let design = MembershipDesign.make(populationSize: 1000, targetMemberCount: 400, targetNonMemberCount: 400,
                                           referenceModels: 8, online: true, using: &designStream)
        let recipe = SequentialRecipe(
            inputShape: [30], layers: [.dense(inputs: 30, outputs: 64), .relu, .dense(inputs: 64, outputs: 4)],
            configuration: TrainingConfiguration(epochs: 30, batchSize: 32, learningRate: 0.005))
        let members = population.subset(design.targetMembers)
        let target = try recipe.train(inputs: members.featureTensor, labels: members.intLabels, random: root.stream("target"))
        return Setup(population: population, design: design, recipe: recipe, target: target, root: root)
    }

    static func audit(_ s: Setup, concurrency: Int) async throws -> [AttackResult] {
        try await MembershipAudit.run(
            target: s.target, recipe: s.recipe, population: s.population.examples, design: s.design,
            configuration: MembershipAudit.Configuration(methods: methods, concurrency: concurrency),
            attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: s.root)
    }

    @Test("LiRA online reaches at least the loss attack's TPR at 1% FPR; every attack beats chance; results are deterministic across concurrency")
    func endToEnd() async throws {
        let s = try Self.setup(seed: 2026)
        let trainAccuracy = s.target.accuracy(s.population.subset(s.design.targetMembers).featureTensor,
                                              labels: s.population.subset(s.design.targetMembers).intLabels)
        let testAccuracy = s.target.accuracy(s.population.subset(s.design.targetNonMembers).featureTensor,
                                             labels: s.population.subset(s.design.targetNonMembers).intLabels)
        #expect(trainAccuracy > testAccuracy + 0.05, "the target must overfit for the test to mean anything")

        let one = try await Self.audit(s, concurrency: 1)
        let two = try await Self.audit(s, concurrency: 2)
        #expect(one.map(\.scores) == two.map(\.scores))
        #expect(one.map(\.name) == Self.methods.map(\.name))

        let loss = try #require(one.first { $0.method == .loss })
        let lira = try #require(one.first { $0.method == .lira(online: true) })
        #expect(lira.evaluation.truePositiveRate(atFalsePositiveRate: 0.01)! >= loss.evaluation.truePositiveRate(atFalsePositiveRate: 0.01)!)
        for result in one {
            #expect(result.evaluation.auc > 0.5, "\(result.name)")
            #expect(result.scores.count == 800)
        }
        var summary = "train accuracy \(trainAccuracy), test accuracy \(testAccuracy)\n"
        for result in one {
            let e = result.evaluation
            summary += "\(result.name)\(result.method == .lira(online: true, globalVariance: true) ? "(global σ)" : ""): auc \(e.auc) "
                + "tpr@0.1 \(e.truePositiveRate(atFalsePositiveRate: 0.1)!) tpr@0.01 \(e.truePositiveRate(atFalsePositiveRate: 0.01)!) "
                + "tpr@0 \(e.truePositiveRate(atFalsePositiveRate: 0)!) eps \(e.epsilon.epsilon)\n"
        }
        print(summary)
        // Metric names as the runner reports them.
        #expect(lira.metrics.map(\.name).contains("lira.tpr@0.001"))
    }

    @Test("reference models follow the design's halves and are identical at any concurrency")
    func referenceModels() async throws {
        let s = try Self.setup(seed: 7)
        let sets = ReferenceTraining.trainingSets(of: s.design)
        #expect(sets.count == 8)
        for column in s.design.candidates.indices.prefix(50) {
            #expect(sets.filter { $0.contains(column) }.count == 4)   // online: every example IN for half the models
        }
        let small = Array(sets.prefix(3))
        let a = try await ReferenceTraining.train(recipe: s.recipe, population: s.population.examples, trainingSets: small, concurrency: 1, random: s.root)
        let b = try await ReferenceTraining.train(recipe: s.recipe, population: s.population.examples, trainingSets: small, concurrency: 3, random: s.root)
        #expect(a.models.map { $0.parameters.map(\.scalars) } == b.models.map { $0.parameters.map(\.scalars) })
        let direct = s.population.subset(small[2])
        let model2 = try s.recipe.train(inputs: direct.featureTensor, labels: direct.intLabels, random: s.root.stream("reference/2"))
        #expect(a.models[2].parameters.map(\.scalars) == model2.parameters.map(\.scalars))
        let order = try await ParallelMap.map(count: 20, concurrency: 4) { $0 * $0 }
        #expect(order == (0..<20).map { $0 * $0 })
    }

    @Test("an online attack on an offline design is refused with a clear error")
    func offlineDesignRefusesOnline() async throws {
        let s = try Self.setup(seed: 8)
        var stream = s.root.stream("offline-design")
        let offline = MembershipDesign.make(populationSize: 1000, targetMemberCount: 400, targetNonMemberCount: 400,
                                            referenceModels: 2, online: false, using: &stream)
        await #expect(throws: MembershipInferenceError.self) {
            try await MembershipAudit.run(target: s.target, references: ReferenceModels<Sequential>(models: [s.target, s.target], trainingSets: [[], []]),
                                          population: s.population.examples, design: offline,
                                          configuration: .init(methods: [.lira(online: true)]), random: s.root)
        }
    }
}
