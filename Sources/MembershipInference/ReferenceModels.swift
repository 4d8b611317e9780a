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
    /// Model k is called "<names>/<k>" (`reference/3`) and draws every random choice from
    /// `random.stream("<names>/<k>")` (with `SequentialRecipe`: "reference/<k>/init" and
    /// "reference/<k>/train"), so the models are bit-identical whatever `concurrency` is and
    /// whichever finishes first. Each model is asked of the recipe by its name and indices
    /// (`TrainingRecipe.train(subset:of:name:random:)`), so a caching recipe can return a model
    /// it trained before.
    /// - Parameters:
    ///   - concurrency: how many models train at once (≥ 1).
    ///   - names: the models' family name ("reference"; "shadow" for Shokri et al.'s shadow models).
    /// - Complexity: K trainings, `concurrency` at a time.
    public static func train<Recipe: TrainingRecipe>(
        recipe: Recipe, population: LabeledExamples, trainingSets: [[Int]], concurrency: Int, random: LabRandom,
        names: String = "reference"
    ) async throws -> ReferenceModels<Recipe.Model> {
        let models = try await ParallelMap.map(count: trainingSets.count, concurrency: concurrency) { k in
            try await recipe.train(subset: trainingSets[k], of: population, name: "\(names)/\(k)", random: random)
        }
        return ReferenceModels(models: models, trainingSets: trainingSets)
    }
}
