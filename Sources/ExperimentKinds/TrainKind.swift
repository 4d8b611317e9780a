import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import NeuralNetworks
import Tensors

/// Kind `train`: trains a model and reports its train and test accuracy and loss, and its
/// training curve.
///
/// The trained model is an artifact (role `target-model`) that later trials and kinds with the
/// same data, model and seed reuse.
public enum TrainKind: ExperimentKind {
    public static let name = "train"
    public static let summary = "train a model; report train/test accuracy and loss, and the loss curve"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        return Parameters(data: data, model: try ModelSpec.decode(body.section("model"), for: data))
    }

    public static func run(_ parameters: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await parameters.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let target = try await TargetModel.train(data: parameters.data, model: parameters.model, train: train,
                                                 stream: "target", context: context)
        var metrics = target.metrics(train: train, test: test, part: "target")
        metrics.append(Metric(part: "target", "parameters", Double(target.model.parameterCount)))
        return TrialOutcome(metrics: metrics, series: [target.lossCurve(name: "target.loss_curve")], artifacts: [target.artifact])
    }
}

/// What a model's training reported, kept with the cached model (its checkpoint's metadata).
public struct TrainingRecord: Codable, Sendable, Equatable {
    /// The mean training loss of each epoch.
    public var epochLosses: [Float]

    public init(epochLosses: [Float]) {
        self.epochLosses = epochLosses
    }
}

/// A model trained (or taken from the cache) for a trial, with its training history.
public struct TargetModel: Sendable {
    public var model: Sequential
    public var history: [Float]
    public var artifact: ArtifactReference

    /// Trains on `train` with streams `<stream>/init` and `<stream>/train`, through the cache.
    public static func train(data: DataSpec, model spec: ModelSpec, train: LabeledData, stream: String,
                             context: TrialContext, role: String = "target-model") async throws -> TargetModel {
        let layers = try spec.layers(inputShape: train.sampleShape, classes: train.classCount)
        let random = context.random
        let recipe = Recipe(seed: context.seed, stream: stream, data: data.canonical, model: spec.canonical, examples: train.count)
        let (model, record, artifact) = try await context.cachedModel(role: role, recipe: recipe) {
            var model = try Sequential(inputShape: train.sampleShape, layers: layers, random: random.stream("\(stream)/init"))
            let history = try model.train(inputs: train.featureTensor, labels: train.intLabels, configuration: spec.training,
                                          random: random.stream("\(stream)/train"))
            return (model, TrainingRecord(epochLosses: history.epochLosses))
        }
        return TargetModel(model: model, history: record.epochLosses, artifact: artifact)
    }

    /// What determines a model trained by `train`: part of its artifact key.
    struct Recipe: Encodable, Sendable {
        var seed: UInt64
        /// The streams it draws from: `<stream>/init`, `<stream>/train`.
        var stream: String
        /// The canonical JSON of the spec's `data` and `model` sections.
        var data: String
        var model: String
        /// How many examples it trains on.
        var examples: Int
    }

    /// Accuracy and mean loss on the training and test parts, named `<part>.train_accuracy`…
    public func metrics(train: LabeledData, test: LabeledData, part: String) -> [Metric] {
        let trainX = train.featureTensor, testX = test.featureTensor
        let trainLoss = model.perExampleLosses(trainX, labels: train.intLabels)
        let testLoss = model.perExampleLosses(testX, labels: test.intLabels)
        return [
            Metric(part: part, "train_accuracy", model.accuracy(trainX, labels: train.intLabels)),
            Metric(part: part, "test_accuracy", model.accuracy(testX, labels: test.intLabels)),
            Metric(part: part, "train_loss", trainLoss.reduce(0.0) { $0 + Double($1) } / Double(max(1, trainLoss.count))),
            Metric(part: part, "test_loss", testLoss.reduce(0.0) { $0 + Double($1) } / Double(max(1, testLoss.count))),
        ]
    }

    /// The mean training loss per epoch (kept in the cached checkpoint's metadata).
    public func lossCurve(name: String) -> Series {
        Series(name: name, x: history.indices.map { Double($0 + 1) }, y: history.map(Double.init), xLabel: "epoch", yLabel: "training loss")
    }
}

