import DPTraining
import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import NeuralNetworks
import PrivacyAccounting
import Tensors

/// Kind `dp-training`: trains a model with DP-SGD (Poisson sampling, per-example clipping,
/// Gaussian noise) and reports its accuracy with the ε the accountant proves.
///
/// ```yaml
/// kind: dp-training
/// data: {dataset: mnist, limit: 10000}
/// model: {architecture: mlp, hidden: [256], epochs: 5, batch_size: 256, optimizer: sgd, learning_rate: 0.5}
/// privacy: {epsilon: 2, delta: 1e-5, max_grad_norm: 1, accountant: rdp, noise: insecure-reproducible}
/// ```
///
/// `privacy.noise_multiplier` fixes σ; `privacy.epsilon` instead calibrates σ so that the planned
/// steps spend exactly that budget. `noise: secure` (the default) draws the noise from the OS
/// CSPRNG, so two runs differ; `noise: insecure-reproducible` draws it from the trial's seed for
/// bit-reproducible research runs, and the result records that it did (`dp.reproducible_noise`).
public enum DPTrainingKind: ExperimentKind {
    public static let name = "dp-training"
    public static let summary = "train with DP-SGD; report accuracy and the accountant's (ε, δ)"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum AccountantName: String, SpecEnum { case rdp, pld }
    public enum NoiseSource: String, SpecEnum {
        case secure
        case insecureReproducible = "insecure-reproducible"
    }

    public struct PrivacySpec: Sendable, Equatable {
        public var noiseMultiplier: Double?
        public var epsilon: Double?
        public var delta: Double
        public var maxGradNorm: Double
        public var accountant: AccountantName
        public var physicalBatch: Int
        public var budget: Double?
        public var noise: NoiseSource
        public var canonical: String
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var privacy: PrivacySpec
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data)
        return Parameters(data: data, model: model, privacy: try PrivacySpec.decode(body.section("privacy")))
    }

    /// The DP-SGD configuration of a model spec and privacy spec for `n` training examples, with
    /// σ calibrated to the target ε when one is given.
    public static func configuration(model: ModelSpec, privacy: PrivacySpec, datasetSize n: Int) throws -> DPTrainingConfiguration {
        let accounting: AccountingMethod = privacy.accountant == .rdp ? .rdp() : .pld()
        var configuration = DPTrainingConfiguration(
            epochs: model.training.epochs, expectedBatchSize: model.training.batchSize, maxPhysicalBatchSize: privacy.physicalBatch,
            learningRate: model.training.learningRate, schedule: model.training.schedule, optimizer: model.training.optimizer,
            noiseMultiplier: privacy.noiseMultiplier ?? 1, clipping: .flat(maxNorm: Float(privacy.maxGradNorm)),
            delta: privacy.delta, targetEpsilon: privacy.budget, accounting: accounting)
        if let epsilon = privacy.epsilon {
            configuration.noiseMultiplier = try accounting.noiseMultiplier(
                forEpsilon: epsilon, delta: privacy.delta, samplingProbability: configuration.samplingProbability(datasetSize: n),
                steps: configuration.plannedSteps(datasetSize: n))
        }
        return configuration
    }
}

extension DPTrainingKind.PrivacySpec {
    /// Reads a `privacy:` section.
    public static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let sigma: Double? = try r.optional("noise_multiplier")
        let epsilon: Double? = try r.optional("epsilon")
        guard (sigma == nil) != (epsilon == nil) else {
            throw r.error(sigma == nil ? "epsilon" : "noise_multiplier", "give exactly one of noise_multiplier and epsilon")
        }
        if let sigma, !(sigma > 0 && sigma <= 1e4) { throw r.error("noise_multiplier", "must lie in (0, 10000], got \(sigma)") }
        if let epsilon, !(epsilon > 0 && epsilon <= 1e4) { throw r.error("epsilon", "must lie in (0, 10000], got \(epsilon)") }
        let delta: Double = try r.optional("delta", default: 1e-5)
        guard delta > 0 && delta < 1 else { throw r.error("delta", "must lie in (0, 1), got \(delta)") }
        let accountant: DPTrainingKind.AccountantName = try r.optional("accountant", default: .rdp)
        if accountant == .pld, let sigma {
            // The PLD grid of the widest case (q = 1) must fit its memory budget; checked here,
            // before anything runs, instead of failing (or allocating gigabytes) mid-trial.
            let points = (try? PrivacyLossDistribution.gridPoints(samplingProbability: 1, noiseMultiplier: sigma)) ?? .infinity
            if points > Double(PrivacyLossDistribution.maximumGridPoints) {
                throw r.error("noise_multiplier", "with accountant: pld, σ = \(sigma) needs a privacy-loss grid of \(points) points at "
                              + "discretization \(PrivacyLossDistribution.defaultDiscretization), more than the limit of "
                              + "\(PrivacyLossDistribution.maximumGridPoints); use a larger σ or accountant: rdp")
            }
        }
        let privacy = Self(
            noiseMultiplier: sigma, epsilon: epsilon, delta: delta,
            maxGradNorm: try r.optional("max_grad_norm", default: 1.0, in: 1e-6...1e6),
            accountant: accountant,
            physicalBatch: try r.optional("physical_batch", default: 256, in: 1...100_000),
            budget: try r.optional("budget").map { (v: Double) throws(SpecError) -> Double in
                guard v > 0 else { throw r.error("budget", "must be positive, got \(v)") }; return v },
            noise: try r.optional("noise", default: DPTrainingKind.NoiseSource.secure),
            canonical: r.node.canonicalJSON)
        try r.finish()
        return privacy
    }
}

/// What DP-SGD training reported, kept with the cached model (its checkpoint's metadata): the
/// part of `DPTrainingReport` the trial's metrics need.
public struct DPTrainingRecord: Codable, Sendable, Equatable {
    public var epochLosses: [Float]
    public var epsilon: Double
    public var steps: Int
    public var samplingProbability: Double
    public var clippedFraction: Double
    public var stoppedByBudget: Bool
    public var insecureRandomness: Bool

    public init(_ report: DPTrainingReport) {
        epochLosses = report.epochLosses
        epsilon = report.epsilon
        steps = report.steps
        samplingProbability = report.samplingProbability
        clippedFraction = report.clippedFraction
        stoppedByBudget = report.stoppedByBudget
        insecureRandomness = report.insecureRandomness
    }
}

extension DPTrainingKind {
    /// What determines a model trained with DP-SGD: part of its artifact key.
    struct ModelRecipe: Encodable, Sendable {
        var seed: UInt64
        var stream: String
        /// The canonical JSON of the spec's `data`, `model` and `privacy` sections.
        var data: String
        var model: String
        var privacy: String
        /// σ, as calibrated for the training set.
        var noiseMultiplier: Double
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let layers = try p.model.layers(inputShape: train.sampleShape, classes: train.classCount)
        let configuration = try Self.configuration(model: p.model, privacy: p.privacy, datasetSize: train.count)
        let accounting = configuration.accounting
        let finalConfiguration = configuration
        let random = context.random
        let recipe = ModelRecipe(seed: context.seed, stream: "target", data: p.data.canonical, model: p.model.canonical,
                                 privacy: p.privacy.canonical, noiseMultiplier: configuration.noiseMultiplier)
        let (model, record, artifact) = try await context.cachedModel(role: "target-model", recipe: recipe) {
            var model = try Sequential(inputShape: train.sampleShape, layers: layers, random: random.stream("target/init"))
            var accountant = PrivacyAccountant(method: accounting)
            let randomness: PrivacyRandomness = p.privacy.noise == .secure ? .system() : .insecureSeeded(random.stream("target/dp-noise"))
            let report = try model.trainPrivately(inputs: train.featureTensor, labels: train.intLabels, configuration: finalConfiguration,
                                                  accountant: &accountant, randomness: randomness, dropout: random.stream("target/dropout"))
            return (model, DPTrainingRecord(report))
        }
        let dp = record
        let target = TargetModel(model: model, history: dp.epochLosses, artifact: artifact)
        var metrics = target.metrics(train: train, test: test, part: "target")
        metrics += [
            Metric(part: "dp", "epsilon", dp.epsilon), Metric(part: "dp", "delta", p.privacy.delta),
            Metric(part: "dp", "noise_multiplier", configuration.noiseMultiplier), Metric(part: "dp", "steps", Double(dp.steps)),
            Metric(part: "dp", "sampling_rate", dp.samplingProbability), Metric(part: "dp", "clipped_fraction", dp.clippedFraction),
            Metric(part: "dp", "stopped_by_budget", dp.stoppedByBudget ? 1 : 0), Metric(part: "dp", "reproducible_noise", dp.insecureRandomness ? 1 : 0),
        ]
        return TrialOutcome(metrics: metrics, series: [target.lossCurve(name: "target.loss_curve")], artifacts: [artifact])
    }
}
