import AttackMetrics
import LabRandom
import MembershipInference
import ModelAccess
import Tensors
import Testing

/// A model that is not a `Sequential`: record i (its single feature is i) gets a logit margin on
/// its class, 3 larger when the model trained on it, plus the model's own noise.
struct MemorizingModel: LogitAccess {
    let classes: Int
    let trainedOn: Set<Int>
    let noise: [Float]
    var classCount: Int { classes }

    func logits(for inputs: Tensor) -> Tensor {
        let records = inputs.scalars.map { Int($0) }
        var out = [Float](repeating: 0, count: records.count * classes)
        for (row, i) in records.enumerated() {
            out[row * classes + i % classes] = 1 + noise[i] + (trainedOn.contains(i) ? 3 : 0)
        }
        return Tensor(shape: [records.count, classes], scalars: out)
    }
}

/// Trains `MemorizingModel`s; refuses labels that are not the records' own.
struct MemorizingRecipe: TrainingRecipe {
    struct WrongLabel: Error {}
    let classes: Int
    let populationSize: Int

    func model(trainedOn records: Set<Int>, random: LabRandom) -> MemorizingModel {
        var r = random.stream("noise")
        return MemorizingModel(classes: classes, trainedOn: records, noise: (0..<populationSize).map { _ in Float(0.5 * r.nextNormal()) })
    }

    func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> MemorizingModel {
        let records = inputs.scalars.map { Int($0) }
        guard records.count == labels.count, zip(records, labels).allSatisfy({ $0 % classes == $1 }) else { throw WrongLabel() }
        return model(trainedOn: Set(records), random: random)
    }
}

/// A linear attack model that is not a network: logit₁ − logit₀ = Σⱼ dⱼ·(xⱼ − mⱼ), with d the
/// difference of the members' and non-members' mean features and m their midpoint.
struct MeanDifferenceTrainer: ShadowModelAttack.AttackModelTrainer {
    struct Linear: LogitAccess {
        let direction: [Float], midpoint: [Float]
        var classCount: Int { 2 }
        func logits(for inputs: Tensor) -> Tensor {
            let width = direction.count, x = inputs.scalars, n = x.count / width
            var out = [Float](repeating: 0, count: 2 * n)
            for i in 0..<n {
                for j in 0..<width { out[2 * i + 1] += direction[j] * (x[i * width + j] - midpoint[j]) }
            }
            return Tensor(shape: [n, 2], scalars: out)
        }
    }

    func train(features: Tensor, labels: [Int], options: ShadowModelAttack.Options, random: LabRandom) throws -> any LogitAccess {
        let width = features.shape[1], x = features.scalars
        var sums = [[Float]](repeating: [Float](repeating: 0, count: width), count: 2)
        var counts = [Float](repeating: 0, count: 2)
        for (i, y) in labels.enumerated() {
            counts[y] += 1
            for j in 0..<width { sums[y][j] += x[i * width + j] }
        }
        let means = (0..<2).map { y in sums[y].map { $0 / Swift.max(1, counts[y]) } }
        return Linear(direction: (0..<width).map { means[1][$0] - means[0][$0] },
                      midpoint: (0..<width).map { (means[1][$0] + means[0][$0]) / 2 })
    }
}

/// The audit on models and attack models that are not PrivacyLab networks: it reaches them only
/// through `ModelAccess` (logits, a training recipe) and the shadow attack's trainer protocol.
@Suite("Membership audit through ModelAccess")
struct MembershipModelAccessTests {
    static let size = 240, classes = 3

    static var population: LabeledExamples {
        LabeledExamples(inputs: Tensor(shape: [size, 1], scalars: (0..<size).map(Float.init)), labels: (0..<size).map { $0 % classes })
    }

    static func design(online: Bool) -> MembershipDesign {
        var random = LabRandom(seed: 5).stream("design")
        return MembershipDesign.make(populationSize: size, targetMemberCount: 60, targetNonMemberCount: 60,
                                     referenceModels: 6, online: online, using: &random)
    }

    @Test("reference models of a recipe that is not a network train on exactly the design's halves, with their records' labels")
    func referenceTraining() async throws {
        let design = Self.design(online: true)
        let sets = ReferenceTraining.trainingSets(of: design)
        let recipe = MemorizingRecipe(classes: Self.classes, populationSize: Self.size)
        let references = try await ReferenceTraining.train(recipe: recipe, population: Self.population, trainingSets: sets,
                                                           concurrency: 2, random: LabRandom(seed: 6))
        #expect(references.count == 6)
        for k in 0..<6 { #expect(references.models[k].trainedOn == Set(sets[k])) }
    }

    @Test("every attack separates members of a memorizing target; the shadow attack learns with a trainer that is not a network")
    func audit() async throws {
        let design = Self.design(online: true)
        let recipe = MemorizingRecipe(classes: Self.classes, populationSize: Self.size)
        let target = recipe.model(trainedOn: Set(design.targetMembers), random: LabRandom(seed: 7).stream("target"))
        let methods: [AttackMethod] = [.loss, .lira(online: true), .rmia(online: true, populationSize: 60),
                                       .shadowModels(ShadowModelAttack.Options(hiddenUnits: 0, epochs: 1))]
        let results = try await MembershipAudit.run(
            target: target, recipe: recipe, population: Self.population, design: design,
            configuration: MembershipAudit.Configuration(methods: methods), attackModelTrainer: MeanDifferenceTrainer(),
            random: LabRandom(seed: 8))
        #expect(results.map(\.name) == ["loss", "lira", "rmia", "shadow"])
        for result in results {
            #expect(result.evaluation.auc > 0.95, "\(result.name): AUC \(result.evaluation.auc)")
        }
        // Without a trainer of its attack models, the shadow attack is refused before any training.
        await #expect(throws: MembershipInferenceError.self) {
            try await MembershipAudit.run(target: target, recipe: recipe, population: Self.population, design: design,
                                          configuration: MembershipAudit.Configuration(methods: [.shadowModels()]),
                                          random: LabRandom(seed: 8))
        }
    }
}
