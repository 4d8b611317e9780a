import Backdoors
import Codecs
import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import NeuralNetworks
import Tensors
import ThreatTraining

/// Kind `backdoor`: plants a backdoor in the training data once, trains the victim once, and runs
/// every `detect` step against that same poisoned set and model, reporting the (attack ×
/// defence) matrix of clean accuracy, attack success after mitigation and detection TPR/FPR.
///
/// ```yaml
/// kind: backdoor
/// data: {dataset: mnist}
/// model: {architecture: cnn, channels: [16, 32], hidden: [128], epochs: 4, batch_size: 64}
/// attack: {trigger: patch, pattern: checkerboard, size: 4, position: bottom-right,
///          targeting: all-to-one, target: 0, poison_rate: 0.1, rate_of: target-class}
/// detect:
///   - {method: activation-clustering, criterion: relative-size}          # reduction: pca (default) or whitened-pca
///   - {method: activation-clustering, criterion: exclusionary-reclassification}
///   - {method: spectral-signatures, expected_poison_fraction: 0.1, classes: target}
///   - {method: neural-cleanse, steps: 30, clean_model: true}
///   - {method: strip, overlays: 50, false_rejection_rate: 0.01}
///   - {method: fine-pruning, fine_tune_epochs: 2}
/// ```
///
/// The published test set is split (stream `defence/split`) into the defender's clean data
/// (`attack.defender_fraction`, default ½: Neural Cleanse's search and unlearning, STRIP's
/// overlays and calibration, fine-pruning) and an evaluation part on which every CA, ASR and
/// robust accuracy is measured. Artifacts: the poisoned features and labels (`poisoned-*`
/// arrays), the backdoored model, the clean reference model and every retrained model are
/// cached, so each defence, a second spec or a resumed run reuses them.
///
/// Metrics: `backdoor.clean_accuracy`, `backdoor.attack_success_rate`, `backdoor.robust_accuracy`;
/// per step (part `ac-size`, `ac-silhouette`, `ac-exclusion`, `ss`, `nc`, `strip`, `fp`, or the
/// step's `name`): `tpr`/`fpr` of poisoned training samples (inputs for STRIP), and the model's
/// `clean_accuracy`/`attack_success_rate`/`robust_accuracy` after mitigation.
public enum BackdoorKind: ExperimentKind {
    public static let name = "backdoor"
    public static let summary = "plant a BadNets/blended backdoor; run AC, SS, Neural Cleanse, STRIP, fine-pruning on the same model"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum TriggerName: String, SpecEnum { case patch, blend }
    public enum PatternName: String, SpecEnum { case solid, checkerboard }
    public enum PositionName: String, SpecEnum {
        case bottomRight = "bottom-right", bottomLeft = "bottom-left", topRight = "top-right", topLeft = "top-left"
    }
    public enum TargetingName: String, SpecEnum { case allToOne = "all-to-one", allToAll = "all-to-all" }
    public enum RateBase: String, SpecEnum { case trainingSet = "training-set", targetClass = "target-class" }
    public enum Method: String, SpecEnum {
        case activationClustering = "activation-clustering"
        case spectralSignatures = "spectral-signatures"
        case neuralCleanse = "neural-cleanse"
        case strip
        case finePruning = "fine-pruning"
    }
    public enum CriterionName: String, SpecEnum {
        case relativeSize = "relative-size", silhouette
        case exclusionaryReclassification = "exclusionary-reclassification"
    }
    public enum ClassesName: String, SpecEnum { case all, target }
    /// Activation Clustering's dimension reduction: `pca` (unscaled scores, ART's default and
    /// ours) or `whitened-pca` (the paper's FastICA, as far as 2-means can tell).
    public enum ReductionName: String, SpecEnum { case pca, whitenedPCA = "whitened-pca" }

    public struct AttackSpec: Sendable, Equatable {
        public var trigger: TriggerName
        public var pattern: PatternName
        public var size: Int
        public var position: PositionName
        public var margin: Int
        public var alpha: Double
        public var targeting: TargetingName
        public var target: Int
        public var poisonRate: Double
        public var rateOf: RateBase
        public var defenderFraction: Double
        public var canonical: String
    }

    /// One `detect` step.
    public struct DetectStep: Sendable, Equatable {
        public var method: Method
        public var part: String
        public var criterion: CriterionName
        public var threshold: Double?
        public var components: Int
        public var reduction: ReductionName
        public var expectedPoisonFraction: Double?
        public var removalFactor: Double
        public var classes: ClassesName
        public var retrain: Bool
        public var steps: Int
        public var batchSize: Int
        public var cleanSamples: Int?
        public var cleanModel: Bool
        public var unlearnEpochs: Int
        public var overlays: Int
        public var falseRejectionRate: Double
        public var maxAccuracyDrop: Double
        public var fineTuneEpochs: Int
        public var canonical: String
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var attack: AttackSpec
        public var detect: [DetectStep]
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data)
        let attack = try AttackSpec.decode(body.section("attack"))
        var steps: [DetectStep] = []
        if let node = body.node("detect") {
            guard case let .sequence(items) = node.value else {
                throw body.error("detect", "expected a list of detection steps ({method: …})")
            }
            for (index, item) in items.enumerated() {
                let reader = try SpecReader(item, file: body.file, path: "detect[\(index)]")
                steps.append(try DetectStep.decode(reader, attack: attack))
            }
        }
        let parts = steps.map(\.part)
        if let duplicate = parts.first(where: { p in parts.filter { $0 == p }.count > 1 }) {
            throw body.error("detect", "two steps report as '\(duplicate)'; give one of them another `name`")
        }
        return Parameters(data: data, model: model, attack: attack, detect: steps)
    }
}

extension BackdoorKind.AttackSpec {
    static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let trigger: BackdoorKind.TriggerName = try r.optional("trigger", default: .patch)
        let targeting: BackdoorKind.TargetingName = try r.optional("targeting", default: .allToOne)
        let rateOf: BackdoorKind.RateBase = try r.optional("rate_of", default: .trainingSet)
        if targeting == .allToAll && rateOf == .targetClass {
            throw r.error("rate_of", "'target-class' needs targeting: all-to-one")
        }
        let spec = Self(
            trigger: trigger,
            pattern: try r.optional("pattern", default: .checkerboard),
            size: try r.optional("size", default: 4, in: 1...256),
            position: try r.optional("position", default: .bottomRight),
            margin: try r.optional("margin", default: 1, in: 0...256),
            alpha: try r.optional("alpha", default: 0.2, in: 0.0...1.0),
            targeting: targeting,
            target: try r.optional("target", default: 0, in: 0...100_000),
            poisonRate: try r.optional("poison_rate", default: 0.1, in: 1e-6...0.99),
            rateOf: rateOf,
            defenderFraction: try r.optional("defender_fraction", default: 0.5, in: 0.05...0.95),
            canonical: r.node.canonicalJSON)
        try r.finish()
        return spec
    }

    /// The attack on data of this sample shape; the blend key comes from stream `attack/key`.
    func attack(sampleShape: [Int], classCount: Int, random: LabRandom) throws -> BackdoorAttack {
        guard target < classCount else {
            throw DataSpecError("attack.target: label \(target) is outside the data's 0..<\(classCount)")
        }
        let trigger: Trigger
        switch self.trigger {
        case .patch:
            let place: TriggerPosition = [.bottomRight: .bottomRight, .bottomLeft: .bottomLeft, .topRight: .topRight, .topLeft: .topLeft][position]!
            trigger = .patch(pattern == .solid ? .solid : .checkerboard, size: size, position: place, margin: margin, sampleShape: sampleShape)
        case .blend:
            var key = random.stream("attack/key")
            trigger = .randomBlend(alpha: Float(alpha), sampleShape: sampleShape, random: &key)
        }
        do { try trigger.validate() } catch { throw DataSpecError("attack: \(error.description)") }
        return BackdoorAttack(trigger: trigger,
                              targeting: targeting == .allToOne ? .allToOne(target: target) : .allToAll,
                              budget: rateOf == .targetClass ? .fractionOfTargetClass(poisonRate) : .fractionOfTrainingSet(poisonRate))
    }
}

extension BackdoorKind.DetectStep {
    static func decode(_ r: SpecReader, attack: BackdoorKind.AttackSpec) throws(SpecError) -> Self {
        let method: BackdoorKind.Method = try r.required("method")
        let criterion: BackdoorKind.CriterionName = try r.optional("criterion", default: .relativeSize)
        let defaultPart: String
        switch method {
        case .activationClustering:
            defaultPart = ["relative-size": "ac-size", "silhouette": "ac-silhouette", "exclusionary-reclassification": "ac-exclusion"][criterion.rawValue]!
        case .spectralSignatures: defaultPart = "ss"
        case .neuralCleanse: defaultPart = "nc"
        case .strip: defaultPart = "strip"
        case .finePruning: defaultPart = "fp"
        }
        let classes: BackdoorKind.ClassesName = try r.optional("classes", default: .all)
        if classes == .target && attack.targeting != .allToOne {
            throw r.error("classes", "'target' needs an all-to-one attack")
        }
        let step = Self(
            method: method,
            part: try r.optional("name", default: defaultPart),
            criterion: criterion,
            threshold: try r.optional("threshold"),
            components: try r.optional("components", default: 10, in: 1...10_000),
            reduction: try r.optional("reduction", default: .pca),
            expectedPoisonFraction: try r.optional("expected_poison_fraction").map { (v: Double) throws(SpecError) -> Double in
                guard v > 0 && v < 1 else { throw r.error("expected_poison_fraction", "must lie in (0, 1), got \(v)") }; return v },
            removalFactor: try r.optional("removal_factor", default: 1.5, in: 0.01...100),
            classes: classes,
            retrain: try r.optional("retrain", default: true),
            steps: try r.optional("steps", default: 1000, in: 1...1_000_000),
            batchSize: try r.optional("batch_size", default: 32, in: 1...100_000),
            cleanSamples: try r.optional("clean_samples").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 10 else { throw r.error("clean_samples", "must be ≥ 10, got \(v)") }; return v },
            cleanModel: try r.optional("clean_model", default: false),
            unlearnEpochs: try r.optional("unlearn_epochs", default: 1, in: 0...1000),
            overlays: try r.optional("overlays", default: 100, in: 1...10_000),
            falseRejectionRate: try r.optional("false_rejection_rate", default: 0.01, in: 0.0...0.99),
            maxAccuracyDrop: try r.optional("max_accuracy_drop", default: 0.04, in: 0.0...1.0),
            fineTuneEpochs: try r.optional("fine_tune_epochs", default: 2, in: 0...1000),
            canonical: r.node.canonicalJSON)
        if method != .activationClustering, r.contains("criterion") { throw r.error("criterion", "only activation-clustering has a criterion") }
        if method != .activationClustering, r.contains("reduction") { throw r.error("reduction", "only activation-clustering has a reduction") }
        try r.finish()
        return step
    }
}

// MARK: - Running

extension BackdoorKind {
    /// Everything the steps share: the poisoned set, the backdoored model, the defender's clean
    /// data and the evaluation part.
    /// What determines the poisoned training set's features or labels: part of their artifact keys.
    struct PoisonedSetRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The canonical JSON of the spec's `data` and `attack` sections.
        var data: String
        var attack: String
        /// `features` or `labels`.
        var part: String
    }

    /// What determines a victim model: part of its artifact key.
    struct ModelRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The canonical JSON of the spec's `data` and `model` sections.
        var data: String
        var model: String
        /// `poisoned` (with the `attack` section's canonical JSON) or `clean`.
        var trainingSet: String
        var attack: String? = nil
        /// A model retrained after a detection step: the step's canonical JSON and the SHA-256
        /// of the rows it removed (decimal text joined by commas).
        var retrainAfter: String? = nil
        var removedRows: String? = nil
    }

    struct Setting: @unchecked Sendable {
        var p: Parameters
        var attack: BackdoorAttack
        var poisoned: PoisonedDataset
        var model: Sequential
        var recipe: SequentialRecipe
        var defender: LabeledData
        var evaluation: LabeledData
        var train: LabeledData
        var context: TrialContext
        var baseRecipe: ModelRecipe

        func evaluate(_ m: Sequential, part: String) -> [Metric] {
            let e = BackdoorMetrics.evaluate(m, attack: attack, test: evaluation.examples, classCount: evaluation.classCount)
            return [Metric(part: part, "clean_accuracy", e.cleanAccuracy), Metric(part: part, "attack_success_rate", e.attackSuccessRate),
                    Metric(part: part, "robust_accuracy", e.robustAccuracy)]
        }

        var targetLabel: Int? { if case let .allToOne(t) = attack.targeting { return t } else { return nil } }

        func defenderSlice(_ limit: Int?) -> LabeledData { limit.map { defender.prefix($0) } ?? defender }

        /// A model trained by the recipe on `rows` of the poisoned set, through the cache.
        func retrained(rows removed: [Int], step: DetectStep) async throws -> (Sequential, ArtifactReference) {
            let kept = poisoned.removing(removed).data
            let random = context.random
            let recipe = self.recipe
            var key = baseRecipe
            key.retrainAfter = step.canonical
            key.removedRows = SHA256.hash(utf8: removed.map(String.init).joined(separator: ",")).hex
            let (model, artifact) = try await context.cachedModel(role: "\(step.part)-retrained-model", recipe: key) {
                try recipe.train(inputs: kept.inputs, labels: kept.labels, random: random.stream("retrain/\(step.part)"))
            }
            return (model, artifact)
        }
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let random = context.random
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: random)
        guard train.sampleShape.count == 3 else {
            throw DataSpecError("data: backdoor triggers need image data [C, H, W]; \(p.data.canonical) has samples of shape \(train.sampleShape)")
        }
        let attack = try p.attack.attack(sampleShape: train.sampleShape, classCount: train.classCount, random: random)
        // The defender's clean data and the evaluation part of the test set.
        var splitter = random.stream("defence/split")
        let order = splitter.permutation(test.count)
        let defenderCount = max(1, min(test.count - 1, Int((p.attack.defenderFraction * Double(test.count)).rounded())))
        let defender = test.subset(Array(order[0..<defenderCount]))
        let evaluation = test.subset(Array(order[defenderCount...]))

        // The poisoned training set, as cached arrays.
        let poisonedSet = { (part: String) in PoisonedSetRecipe(seed: context.seed, data: p.data.canonical, attack: p.attack.canonical, part: part) }
        let poisonRandom = random.stream("attack/poison")
        let shape = train.sampleShape, width = train.featureCount, n = train.count
        let (features, featuresArtifact) = try await context.cachedArray(role: "poisoned-features", recipe: poisonedSet("features")) {
            var r = poisonRandom
            let set = try attack.poison(train.examples, classCount: train.classCount, random: &r)
            return NumpyArray(shape: [n] + shape, values: set.data.inputs.scalars)
        }
        let (labelTable, labelsArtifact) = try await context.cachedArray(role: "poisoned-labels", recipe: poisonedSet("labels")) {
            var r = poisonRandom
            let set = try attack.poison(train.examples, classCount: train.classCount, random: &r)
            var table = [Double](repeating: 0, count: 3 * n)
            for i in 0..<n {
                table[3 * i] = Double(set.data.labels[i]); table[3 * i + 1] = Double(set.originalLabels[i]); table[3 * i + 2] = set.isPoisoned[i] ? 1 : 0
            }
            return NumpyArray(shape: [n, 3], values: table)
        }
        let table = labelTable.doubles()
        guard features.count == n * width, table.count == 3 * n else {
            throw RunnerError.artifact(file: featuresArtifact.key, reason: "cached poisoned set has the wrong size")
        }
        let poisoned = PoisonedDataset(
            data: LabeledData(features: features.floats(), sampleShape: shape,
                              labels: (0..<n).map { Int32(table[3 * $0]) }, classCount: train.classCount, classNames: train.classNames).examples,
            isPoisoned: (0..<n).map { table[3 * $0 + 2] != 0 },
            originalLabels: (0..<n).map { Int(table[3 * $0 + 1]) })

        // The backdoored model.
        let layers = try p.model.layers(inputShape: shape, classes: train.classCount)
        let recipe = SequentialRecipe(inputShape: shape, layers: layers, configuration: p.model.training)
        let modelRecipe = ModelRecipe(seed: context.seed, data: p.data.canonical, model: p.model.canonical, trainingSet: "poisoned",
                                      attack: p.attack.canonical)
        let poisonedData = poisoned.data
        let (model, modelArtifact) = try await context.cachedModel(role: "backdoored-model", recipe: modelRecipe) {
            try recipe.train(inputs: poisonedData.inputs, labels: poisonedData.labels, random: random.stream("victim"))
        }
        context.progress("backdoored model trained")
        let setting = Setting(p: p, attack: attack, poisoned: poisoned, model: model, recipe: recipe, defender: defender,
                              evaluation: evaluation, train: train, context: context, baseRecipe: modelRecipe)
        var metrics = setting.evaluate(model, part: "backdoor")
        metrics += [Metric(part: "backdoor", "poisoned_samples", Double(poisoned.poisonedRows.count)),
                    Metric(part: "backdoor", "training_samples", Double(n))]
        var series: [Series] = []
        var artifacts = [featuresArtifact, labelsArtifact, modelArtifact]

        var representations: Tensor? = nil
        for step in p.detect {
            context.progress("detect: \(step.part)")
            switch step.method {
            case .activationClustering, .spectralSignatures:
                if representations == nil {
                    guard model.representationWidth > 0 else {
                        throw DataSpecError("detect: \(step.method.rawValue) needs a model with a hidden layer before its last dense layer")
                    }
                    representations = try model.representations(for: poisoned.data.inputs)
                }
                let flagged: [Int]
                if step.method == .activationClustering {
                    let criterion: ActivationClustering.Criterion
                    switch step.criterion {
                    case .relativeSize: criterion = .relativeSize(threshold: step.threshold ?? 0.35)
                    case .silhouette: criterion = .silhouette(threshold: step.threshold ?? 0.15)
                    case .exclusionaryReclassification: criterion = .exclusionaryReclassification(ratio: step.threshold ?? 1)
                    }
                    let ac = ActivationClustering(components: step.components, criterion: criterion,
                                                  reduction: step.reduction == .pca ? .principalComponents : .whitenedPrincipalComponents)
                    let report = try ac.detect(representations: representations!, inputs: poisoned.data.inputs,
                                               labels: poisoned.data.labels, classCount: train.classCount, recipe: recipe,
                                               random: random.stream("detect/\(step.part)"))
                    flagged = report.flaggedRows
                    metrics.append(Metric(part: step.part, "poisoned_classes", Double(report.poisonedClasses.count)))
                    if let t = setting.targetLabel, let c = report.classes.first(where: { $0.label == t }) {
                        metrics += [Metric(part: step.part, "target_flagged", report.poisonedClasses.contains(t) ? 1 : 0),
                                    Metric(part: step.part, "target_relative_size", c.relativeSize),
                                    Metric(part: step.part, "target_silhouette", c.silhouette)]
                    }
                } else {
                    let fraction = step.expectedPoisonFraction ?? p.attack.poisonRate
                    let ss = SpectralSignatures(expectedPoisonFraction: fraction, removalFactor: step.removalFactor,
                                                classes: step.classes == .target ? .labels([setting.targetLabel!]) : .all)
                    flagged = try ss.detect(representations: representations!, labels: poisoned.data.labels,
                                            classCount: train.classCount, random: random.stream("detect/\(step.part)")).flaggedRows
                }
                let rates = poisoned.detectionRates(flagged: flagged)
                metrics += [Metric(part: step.part, "tpr", rates.truePositiveRate), Metric(part: step.part, "fpr", rates.falsePositiveRate),
                            Metric(part: step.part, "removed", Double(flagged.count))]
                if step.retrain {
                    let (retrained, artifact) = try await setting.retrained(rows: flagged, step: step)
                    artifacts.append(artifact)
                    metrics += setting.evaluate(retrained, part: step.part)
                }
            case .neuralCleanse:
                let clean = setting.defenderSlice(step.cleanSamples)
                let nc = NeuralCleanse(steps: step.steps, batchSize: step.batchSize, anomalyThreshold: step.threshold ?? 2)
                let report = try nc.scan(model: model, inputs: clean.featureTensor, random: random.stream("detect/\(step.part)")) {
                    context.progress("neural cleanse: label \($0.label) mask L1 \($0.maskNorm)")
                }
                metrics += [Metric(part: step.part, "flagged_labels", Double(report.flaggedLabels.count)),
                            Metric(part: step.part, "max_anomaly_index", report.anomalyIndices.max() ?? 0)]
                if let t = setting.targetLabel {
                    metrics += [Metric(part: step.part, "target_anomaly_index", report.anomalyIndices[t]),
                                Metric(part: step.part, "target_flagged", report.flaggedLabels.contains(t) ? 1 : 0),
                                Metric(part: step.part, "tpr", report.flaggedLabels.contains(t) ? 1 : 0),
                                Metric(part: step.part, "fpr", Double(report.flaggedLabels.filter { $0 != t }.count) / Double(max(1, train.classCount - 1)))]
                }
                series.append(Series(name: "\(step.part).mask_norms", label: "backdoored", x: report.maskNorms.indices.map(Double.init),
                                     y: report.maskNorms, xLabel: "label", yLabel: "reversed mask L1 norm"))
                if step.unlearnEpochs > 0 {
                    var configuration = p.model.training
                    configuration.epochs = step.unlearnEpochs
                    let flaggedTriggers = report.triggers.filter { report.flaggedLabels.contains($0.label) }
                    let repaired = try NeuralCleanse.unlearn(model: model, triggers: flaggedTriggers, inputs: clean.featureTensor,
                                                             labels: clean.intLabels, configuration: configuration,
                                                             random: random.stream("detect/\(step.part)"))
                    metrics += setting.evaluate(repaired, part: step.part)
                }
                if step.cleanModel {
                    let trainData = train
                    let cleanRecipe = ModelRecipe(seed: context.seed, data: p.data.canonical, model: p.model.canonical, trainingSet: "clean")
                    let (cleanModel, artifact) = try await context.cachedModel(role: "clean-model", recipe: cleanRecipe) {
                        try recipe.train(inputs: trainData.featureTensor, labels: trainData.intLabels, random: random.stream("victim"))
                    }
                    artifacts.append(artifact)
                    let cleanReport = try nc.scan(model: cleanModel, inputs: clean.featureTensor, random: random.stream("detect/\(step.part)/clean"))
                    metrics += [Metric(part: step.part, "clean_model_flagged_labels", Double(cleanReport.flaggedLabels.count)),
                                Metric(part: step.part, "clean_model_max_anomaly_index", cleanReport.anomalyIndices.max() ?? 0)]
                    series.append(Series(name: "\(step.part).mask_norms", label: "clean", x: cleanReport.maskNorms.indices.map(Double.init),
                                         y: cleanReport.maskNorms, xLabel: "label", yLabel: "reversed mask L1 norm"))
                }
            case .strip:
                // Half of the defender's data calibrates, half serves as overlays.
                let half = setting.defender.count / 2
                let calibration = setting.defender.prefix(half)
                let pool = setting.defender.subset(Array(half..<setting.defender.count))
                let strip = STRIP(overlays: step.overlays, falseRejectionRate: step.falseRejectionRate)
                let r = random.stream("detect/\(step.part)")
                let limit = step.cleanSamples ?? Int.max
                let cal = calibration.prefix(limit)
                let cleanEntropy = try strip.entropies(model: model, inputs: cal.features, pool: pool.features, sampleShape: shape, random: r.stream("calibrate"))
                let threshold = try strip.threshold(cleanEntropies: cleanEntropy)
                let triggered = attack.triggeredTestSet(evaluation.examples, classCount: evaluation.classCount)
                let triggeredCount = min(limit, triggered.trueLabels.count)
                let triggeredEntropy = try strip.entropies(model: model, inputs: Array(triggered.features[0..<(triggeredCount * width)]),
                                                           pool: pool.features, sampleShape: shape, random: r.stream("triggered"))
                let evalClean = evaluation.prefix(limit)
                let evalEntropy = try strip.entropies(model: model, inputs: evalClean.features, pool: pool.features, sampleShape: shape, random: r.stream("clean"))
                let detected = triggeredEntropy.filter { $0 < threshold }.count
                let rejected = evalEntropy.filter { $0 < threshold }.count
                metrics += [Metric(part: step.part, "tpr", Double(detected) / Double(max(1, triggeredCount))),
                            Metric(part: step.part, "fpr", Double(rejected) / Double(max(1, evalClean.count))),
                            Metric(part: step.part, "threshold", threshold)]
                // With rejection: an attack succeeds only when accepted; a clean input counts only when accepted and right.
                let triggeredPredictions = model.predictions(Tensor(shape: [triggeredCount] + shape, scalars: Array(triggered.features[0..<(triggeredCount * width)])))
                var hits = 0
                for i in 0..<triggeredCount where triggeredEntropy[i] >= threshold && triggeredPredictions[i] == triggered.targetLabels[i] { hits += 1 }
                let cleanPredictions = model.predictions(evalClean.featureTensor)
                var correct = 0
                for i in 0..<evalClean.count where evalEntropy[i] >= threshold && cleanPredictions[i] == Int(evalClean.labels[i]) { correct += 1 }
                metrics += [Metric(part: step.part, "clean_accuracy", Double(correct) / Double(max(1, evalClean.count))),
                            Metric(part: step.part, "attack_success_rate", Double(hits) / Double(max(1, triggeredCount)))]
            case .finePruning:
                let clean = setting.defenderSlice(step.cleanSamples)
                let fp = FinePruning(maximumAccuracyDrop: step.maxAccuracyDrop)
                let pruned = try fp.prune(model: model, cleanInputs: clean.featureTensor, cleanLabels: clean.intLabels)
                metrics += [Metric(part: step.part, "pruned_channels", Double(pruned.prunedChannels.count))]
                metrics += setting.evaluate(pruned.model, part: step.part + "-pruned")
                var configuration = p.model.training
                configuration.epochs = step.fineTuneEpochs
                let tuned = try FinePruning.fineTune(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                                     configuration: configuration, random: random.stream("detect/\(step.part)"))
                metrics += setting.evaluate(tuned, part: step.part)
            }
        }
        return TrialOutcome(metrics: metrics, series: series, artifacts: artifacts)
    }
}
