import AttackMetrics
import LabRandom
import ModelAccess
import Tensors

/// Reference (shadow) models and the population indices each was trained on.
///
/// In the IN/OUT design of LiRA and RMIA, reference model k trains on a random half of the data
/// the attacker holds: online, the audited candidates are part of that data, so each candidate is
/// IN for about half of the models; offline, the models train on halves of the reference pool
/// only and no candidate is ever IN. `AttackMetrics.MembershipDesign` draws these halves
/// (`referenceMasks`); `trainingSets` lists them.
public struct ReferenceModels<Model: Sendable>: Sendable {
    public let models: [Model]
    /// For each model, the population indices it was trained on (sorted).
    public let trainingSets: [[Int]]

    public init(models: [Model], trainingSets: [[Int]]) {
        precondition(models.count == trainingSets.count, "ReferenceModels: \(models.count) models, \(trainingSets.count) training sets")
        self.models = models
        self.trainingSets = trainingSets
    }

    public var count: Int { models.count }

    /// Which models trained on each of `examples` (population indices).
    public func membership(of examples: [Int], populationSize: Int) -> MembershipMatrix {
        MembershipMatrix(trainingSets: trainingSets, examples: examples, populationSize: populationSize)
    }
}

/// Training many models in parallel, deterministically.
public enum ReferenceTraining {
    /// The training sets of a design's reference models: model k trains on
    /// `design.referenceMasks.members(ofModel: k)`.
    public static func trainingSets(of design: MembershipDesign) -> [[Int]] {
        (0..<design.referenceMasks.modelCount).map { design.referenceMasks.members(ofModel: $0) }
    }

    /// Trains `recipe` once per training set on the population's examples.
    ///
    /// Model k draws every random choice from `random.stream("reference/<k>")` (with
    /// `SequentialRecipe`: "reference/<k>/init" and "reference/<k>/train"), so the models are
    /// bit-identical whatever `concurrency` is and whichever finishes first.
    /// - Parameters:
    ///   - concurrency: how many models train at once (≥ 1).
    /// - Complexity: K trainings, `concurrency` at a time.
    public static func train<Recipe: TrainingRecipe>(
        recipe: Recipe, population: LabeledExamples, trainingSets: [[Int]], concurrency: Int, random: LabRandom
    ) async throws -> ReferenceModels<Recipe.Model> {
        let models = try await ParallelMap.map(count: trainingSets.count, concurrency: concurrency) { k in
            let data = population.subset(trainingSets[k])
            return try recipe.train(inputs: data.inputs, labels: data.labels, random: random.stream("reference/\(k)"))
        }
        return ReferenceModels(models: models, trainingSets: trainingSets)
    }
}
