import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import NeuralNetworks
import Poisoning
import Tensors

/// Kind `poisoning`: flips a fraction of the training labels (at random, or from a source class
/// to a target class), then for each filter removes the examples it suspects before training,
/// and reports each filter's removal TPR and FPR and the test accuracy it recovers.
///
/// ```yaml
/// kind: poisoning
/// data: {dataset: mnist, limit: 5000, test_limit: 2000}
/// model: {architecture: mlp, hidden: [128], epochs: 10}
/// poison: {method: random, rate: 0.3}                       # or {method: targeted, source: 7, target: 1, rate: 0.5}
/// filters: {methods: [loss, knn, centroid], removal_fraction: 0.3, k: 10, folds: 2}
/// ```
///
/// Metrics: `clean.test_accuracy` (trained on the true labels), `poisoned.test_accuracy`,
/// `poison.flipped`; per filter `<filter>.removal_tpr`, `.removal_fpr`, `.removal_precision`,
/// `.removed`, `.test_accuracy` and `.accuracy_recovered` = (filtered − poisoned) / (clean −
/// poisoned). A targeted attack also reports `<model>.source_accuracy`, the test accuracy on the
/// source class (what the attacker wants to lower).
public enum PoisoningKind: ExperimentKind {
    public static let name = "poisoning"
    public static let summary = "flip training labels; filter the training set (loss, k-NN, centroid); report removal TPR/FPR and accuracy recovered"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum FlipMethod: String, SpecEnum { case random, targeted }
    public enum FilterName: String, SpecEnum { case loss, knn, centroid }

    public struct PoisonSpec: Sendable, Equatable {
        public var method: FlipMethod
        public var rate: Double
        public var source: Int
        public var target: Int
        public var canonical: String
    }

    public struct FilterSpec: Sendable, Equatable {
        public var methods: [FilterName]
        public var removalFraction: Double
        public var k: Int
        public var threshold: Double
        public var folds: Int
        /// The canonical JSON of the section, for cache keys.
        public var canonical: String
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var poison: PoisonSpec
        public var filters: FilterSpec
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data)
        let poisonReader = try body.section("poison")
        let method: FlipMethod = try poisonReader.optional("method", default: .random)
        let poison = PoisonSpec(method: method, rate: try poisonReader.optional("rate", default: 0.2, in: 0...1),
                                source: try poisonReader.optional("source", default: 0, in: 0...100_000),
                                target: try poisonReader.optional("target", default: 1, in: 0...100_000),
                                canonical: poisonReader.node.canonicalJSON)
        if method == .targeted && poison.source == poison.target {
            throw poisonReader.error("target", "must differ from source (\(poison.source))")
        }
        try poisonReader.finish()
        let f = try body.section("filters")
        let filters = FilterSpec(methods: try f.optional("methods", default: [.loss, .knn, .centroid]),
                                 removalFraction: try f.optional("removal_fraction", default: 0.2, in: 0...1),
                                 k: try f.optional("k", default: 10, in: 1...1000),
                                 threshold: try f.optional("threshold", default: 0.5, in: 0...0.999),
                                 folds: try f.optional("folds", default: 2, in: 1...20),
                                 canonical: f.node.canonicalJSON)
        try f.finish()
        return Parameters(data: data, model: model, poison: poison, filters: filters)
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        if p.poison.method == .targeted {
            for (key, value) in [("source", p.poison.source), ("target", p.poison.target)] where value >= train.classCount {
                throw DataSpecError("poison.\(key): class \(value) does not exist in a dataset of \(train.classCount) classes")
            }
        }
        var flipRandom = context.random.stream("poison")
        let flipped = p.poison.method == .random
            ? LabelFlipping.random(labels: train.intLabels, classCount: train.classCount, rate: p.poison.rate, random: &flipRandom)
            : LabelFlipping.targeted(labels: train.intLabels, source: p.poison.source, target: p.poison.target, rate: p.poison.rate,
                                     random: &flipRandom)
        let poisoned = LabeledData(features: train.features, sampleShape: train.sampleShape, labels: flipped.labels.map { Int32($0) },
                                   classCount: train.classCount, classNames: train.classNames, featureNames: train.featureNames)
        let testX = test.featureTensor, testY = test.intLabels
        let sourceIndices = testY.indices.filter { testY[$0] == p.poison.source }

        func evaluate(_ model: Sequential, part: String) -> [Metric] {
            var metrics = [Metric(part: part, "test_accuracy", model.accuracy(testX, labels: testY))]
            if p.poison.method == .targeted && !sourceIndices.isEmpty {
                metrics.append(Metric(part: part, "source_accuracy",
                                      model.accuracy(testX.gatheringRows(sourceIndices), labels: sourceIndices.map { testY[$0] })))
            }
            return metrics
        }

        let clean = try await TargetModel.train(data: p.data, model: p.model, train: train, stream: "target", context: context)
        let poisonedModel = try await trainModel(p, data: poisoned, tag: "poisoned", context: context)
        var metrics = evaluate(clean.model, part: "clean") + evaluate(poisonedModel.model, part: "poisoned")
        metrics.append(Metric(part: "poison", "flipped", Double(flipped.flippedCount)))
        metrics.append(Metric(part: "poison", "rate", p.poison.rate))
        let cleanAccuracy = metrics[0].value
        let poisonedAccuracy = metrics.first { $0.name == "poisoned.test_accuracy" }!.value
        var artifacts = [clean.artifact, poisonedModel.artifact]

        let layers = try p.model.layers(inputShape: train.sampleShape, classes: train.classCount)
        let recipe = SequentialRecipe(inputShape: train.sampleShape, layers: layers, configuration: p.model.training)
        for name in p.filters.methods {
            let filter: any TrainingSetFilter
            switch name {
            case .loss: filter = LossFilter(recipe: recipe, removalFraction: p.filters.removalFraction, folds: p.filters.folds)
            case .knn: filter = KNNLabelConsistencyFilter(k: p.filters.k, threshold: p.filters.threshold)
            case .centroid: filter = CentroidOutlierFilter(removalFraction: p.filters.removalFraction)
            }
            let decision = try filter.filter(inputs: poisoned.featureTensor, labels: flipped.labels, classCount: train.classCount,
                                             random: context.random.stream("filters/\(name.rawValue)"))
            let report = RemovalReport(removed: decision.removed, poisoned: flipped.flipped)
            let kept = poisoned.subset(decision.keptIndices)
            guard kept.count > 0 else { throw DataSpecError("filters.\(name.rawValue) removed every training example") }
            let filtered = try await trainModel(p, data: kept, tag: "filtered/\(name.rawValue)", context: context,
                                                filter: name.rawValue)
            artifacts.append(filtered.artifact)
            let part = name.rawValue
            let accuracy = filtered.model.accuracy(testX, labels: testY)
            metrics += [
                Metric(part: part, "removal_tpr", report.truePositiveRate), Metric(part: part, "removal_fpr", report.falsePositiveRate),
                Metric(part: part, "removal_precision", report.precision), Metric(part: part, "removed", Double(report.removed)),
            ]
            metrics += evaluate(filtered.model, part: part)
            metrics.append(Metric(part: part, "accuracy_recovered",
                                  RemovalReport.accuracyRecovered(clean: cleanAccuracy, poisoned: poisonedAccuracy, filtered: accuracy)))
        }
        return TrialOutcome(metrics: metrics, artifacts: artifacts)
    }

    /// What determines a model trained on poisoned or filtered data: part of its artifact key.
    struct ModelRecipe: Encodable, Sendable {
        var seed: UInt64
        var stream: String
        /// The canonical JSON of the spec's `data`, `model` and `poison` sections.
        var data: String
        var model: String
        var poison: String
        /// `poisoned`, or `filtered/<filter>`.
        var trainingSet: String
        /// The filter that removed examples, and the canonical JSON of the `filters` section.
        var filter: String?
        var filters: String?
        var examples: Int
    }

    /// A model trained on (possibly poisoned or filtered) data, through the cache.
    static func trainModel(_ p: Parameters, data: LabeledData, tag: String, context: TrialContext, filter: String? = nil) async throws -> TargetModel {
        let layers = try p.model.layers(inputShape: data.sampleShape, classes: data.classCount)
        let random = context.random
        let recipe = ModelRecipe(seed: context.seed, stream: "target", data: p.data.canonical, model: p.model.canonical,
                                 poison: p.poison.canonical, trainingSet: tag, filter: filter, filters: filter.map { _ in p.filters.canonical },
                                 examples: data.count)
        let configuration = p.model.training
        let (model, artifact) = try await context.cachedModel(role: "\(tag)-model", recipe: recipe) {
            var model = try Sequential(inputShape: data.sampleShape, layers: layers, random: random.stream("target/init"))
            _ = try model.train(inputs: data.featureTensor, labels: data.intLabels, configuration: configuration, random: random.stream("target/train"))
            return model
        }
        return TargetModel(model: model, history: [], artifact: artifact)
    }
}
