import Codecs
import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import ModelAccess
import ModelImport
import ModelInversion
import NeuralNetworks
import Tensors
import ThreatTraining

/// Kind `model-inversion`: what a model, or an update it shared, gives away about its training
/// data. The attack is chosen by `attack.method`:
///
/// ```yaml
/// # MI-Face against a softmax regression on the ORL faces, judged by an MLP evaluator
/// kind: model-inversion
/// data: {dataset: orl-faces, test_fraction: 0.3}
/// model: {architecture: logistic, epochs: 300, batch_size: 32, learning_rate: 0.001}
/// attack: {method: mi-face, start: zeros, max_iterations: 5000, patience: 100, learning_rate: 0.1,
///          evaluator: {architecture: mlp, hidden: [256], epochs: 100}}
///
/// # Gradient inversion of one client's update (dlg, idlg, inverting-gradients, analytic-fc)
/// data: {dataset: mnist, limit: 1000, test_limit: 1000}
/// attack: {method: dlg, network: {architecture: lenet, activation: sigmoid, init_scale: 0.5},
///          batch_size: 1, local_steps: 0, victims: 4, iterations: 300}
///
/// # Attribute inference on Adult
/// data: {dataset: adult, limit: 2000, test_limit: 2000}
/// model: {architecture: mlp, hidden: [64], epochs: 100}
/// attack: {method: attribute, attribute: marital-status}
/// ```
///
/// Gradient attacks draw `victims` client batches of `batch_size` from the test part (streams
/// `victims/<k>`; with `distinct_labels: true` each batch holds distinct classes); the victim network is untrained (its parameters from stream `network`) and
/// the client shares its gradient (`local_steps: 0`) or its weight delta after `local_steps`
/// full-batch SGD steps of `local_learning_rate`. Reconstructions are paired with the truth by
/// the PSNR-maximising assignment. Image grids (reconstruction beside the original) are stored
/// as artifacts with the role `image-grid/<name>/<columns>` and drawn as PNG in reports.
///
/// MI-Face can invert a classifier trained elsewhere: `model: {checkpoint: faces.safetensors,
/// layers: faces-layers.json}` (`ImportedModelSpec`; the data are not scaled, the evaluator
/// still trains in the lab, and the target is described by its test accuracy and loss).
/// Attribute inference, which compares the target's members with non-members, takes lab models only.
public enum ModelInversionKind: ExperimentKind {
    public static let name = "model-inversion"
    public static let summary = "model inversion: MI-Face on faces, gradient inversion (DLG, iDLG, Inverting Gradients, analytic), attribute inference"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles + (p.model?.imported?.inputFiles ?? []) }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum Method: String, SpecEnum {
        case miFace = "mi-face"
        case dlg, idlg
        case invertingGradients = "inverting-gradients"
        case analyticFC = "analytic-fc"
        case attribute
    }

    public enum StartName: String, SpecEnum {
        case zeros, constant
        /// For each target, the mean training face of every *other* subject.
        case meanOfOthers = "mean-of-others"
    }

    /// MI-Face's Process step: clamp each iterate to [0, 1], or descend unclamped and map the
    /// result onto [0, 1].
    public enum ProcessName: String, SpecEnum { case clamp, rescale }

    public enum NetworkArchitecture: String, SpecEnum { case lenet, mlp, logistic }
    public enum OptimizerName: String, SpecEnum { case lbfgs, adam }
    public enum UpdateModelName: String, SpecEnum {
        case unrolled
        case averagedGradient = "averaged-gradient"
        var model: GradientInversion.UpdateModel { self == .unrolled ? .unrolled : .averagedGradient }
    }

    public struct MIFaceSpec: Sendable {
        public var configuration: MIFace.Configuration
        public var startName: StartName
        public var evaluator: ModelSpec
    }

    public struct NetworkSpec: Sendable {
        public var architecture: NetworkArchitecture
        public var hidden: [Int]
        public var activation: ModelSpec.Activation
        /// Parameters uniform in ±init_scale, or PyTorch's default initialisation when 0.
        public var initScale: Double
    }

    public struct GradientSpec: Sendable {
        public var network: NetworkSpec
        public var batchSize: Int
        public var localSteps: Int
        public var localLearningRate: Double
        public var victims: Int
        /// Draw each victim batch with distinct labels (as GradInversion and others evaluate).
        public var distinctLabels: Bool
        public var attack: GradientInversion.Attack
    }

    public struct AttributeSpec: Sendable {
        public var attribute: String
        public var members: Int?
    }

    public enum AttackSpec: Sendable {
        case miFace(MIFaceSpec)
        case gradient(GradientSpec)
        case attribute(AttributeSpec)
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec?
        public var attack: AttackSpec
        public var canonical: String
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        var data = try DataSpec.decode(body.section("data"))
        let a = try body.section("attack")
        let method: Method = try a.required("method")
        let hasModel = body.contains("model")
        // Only MI-Face attacks a given model as it is; attribute inference needs the target's members.
        let model: ModelSpec? = hasModel ? try ModelSpec.decode(body.section("model"), for: data, imports: method == .miFace ? .attacked : .refused) : nil
        if model?.imported != nil { data = try ImportedModelSpec.data(data, section: body.section("data"), keepsEveryRecord: false) }
        let attack: AttackSpec
        switch method {
        case .miFace:
            guard let model else { throw body.error("model", "is required for method mi-face (the target classifier)") }
            var c = MIFace.Configuration()
            c.maxIterations = try a.optional("max_iterations", default: 5000, in: 1...1_000_000)
            c.patience = try a.optional("patience", default: 100, in: 1...1_000_000)
            c.costThreshold = try a.optional("cost_threshold", default: 0.0, in: 0...2)
            c.learningRate = Float(try a.optional("learning_rate", default: 0.1, in: 1e-8...1e6))
            let startName: StartName = try a.optional("start", default: .zeros)
            let value: Double = try a.optional("start_value", default: 0.5, in: 0...1)
            if startName == .constant { c.start = .constant(Float(value)) }
            // Process: clamp every iterate to the image range (the paper's), or descend unclamped
            // and map the result onto the image range (how reconstructions are displayed).
            let process: ProcessName = try a.optional("process", default: .clamp)
            if process == .rescale { c.rescaledRange = 0...1 }
            let tvWeight: Double = try a.optional("tv_weight", default: 0.0, in: 0...1e6)
            if tvWeight > 0 { c.totalVariation = .squared; c.totalVariationWeight = Float(tvWeight) }
            let evaluator = try ModelSpec.decode(a.section("evaluator"), for: data)
            guard model.imported != nil || evaluator.architecture != model.architecture else {
                throw a.error("evaluator", "the evaluation classifier must have another architecture than the target (both are \(model.architecture.rawValue))")
            }
            attack = .miFace(MIFaceSpec(configuration: c, startName: startName, evaluator: evaluator))
        case .dlg, .idlg, .invertingGradients, .analyticFC:
            if hasModel { throw body.error("model", "is not used by method \(method.rawValue); describe the victim network in attack.network") }
            let n = try a.section("network")
            let architecture: NetworkArchitecture = try n.optional("architecture", default: .lenet)
            let hidden: [Int] = try n.optional("hidden", default: architecture == .mlp ? [256] : [])
            if let bad = hidden.first(where: { $0 < 1 || $0 > 100_000 }) { throw n.error("hidden", "layer sizes must lie in 1…100000, got \(bad)") }
            let network = NetworkSpec(architecture: architecture, hidden: hidden,
                                      activation: try n.optional("activation", default: .sigmoid),
                                      initScale: try n.optional("init_scale", default: 0.5, in: 0...100))
            try n.finish()
            let batchSize: Int = try a.optional("batch_size", default: 1, in: 1...256)
            let localSteps: Int = try a.optional("local_steps", default: 0, in: 0...1000)
            let localRate: Double = try a.optional("local_learning_rate", default: 0.1, in: 1e-8...100)
            let victims: Int = try a.optional("victims", default: 4, in: 1...10_000)
            let distinctLabels: Bool = try a.optional("distinct_labels", default: false)
            let updateModel = (try a.optional("update_model", default: UpdateModelName.unrolled)).model
            let restarts: Int = try a.optional("restarts", default: 1, in: 1...1000)
            let gradientAttack: GradientInversion.Attack
            switch method {
            case .dlg, .idlg:
                let optimizer: OptimizerName = try a.optional("optimizer", default: .lbfgs)
                let iterations: Int = try a.optional("iterations", default: 300, in: 1...1_000_000)
                let opt: GradientInversion.Optimizer
                if optimizer == .lbfgs {
                    opt = .lbfgs(LBFGS.Configuration(maxIterations: iterations, maxEvaluations: iterations * 25,
                                                     lineSearch: try a.optional("line_search", default: true)))
                } else {
                    opt = .adam(learningRate: Float(try a.optional("learning_rate", default: 0.1, in: 1e-8...100)), iterations: iterations)
                }
                let c = GradientInversion.DLGConfiguration(optimizer: opt, updateModel: updateModel, restarts: restarts)
                gradientAttack = method == .dlg ? .dlg(c) : .idlg(c)
            case .invertingGradients:
                gradientAttack = .invertingGradients(GradientInversion.InvertingGradientsConfiguration(
                    iterations: try a.optional("iterations", default: 2000, in: 1...1_000_000),
                    learningRate: Float(try a.optional("learning_rate", default: 0.1, in: 1e-8...100)),
                    totalVariationWeight: Float(try a.optional("tv_weight", default: 1e-4, in: 0...1e6)),
                    restarts: restarts, signedGradients: try a.optional("signed", default: true), updateModel: updateModel))
            default:
                gradientAttack = .analyticFullyConnected
            }
            attack = .gradient(GradientSpec(network: network, batchSize: batchSize, localSteps: localSteps,
                                            localLearningRate: localRate, victims: victims, distinctLabels: distinctLabels,
                                            attack: gradientAttack))
        case .attribute:
            guard model != nil else { throw body.error("model", "is required for method attribute (the target classifier)") }
            attack = .attribute(AttributeSpec(attribute: try a.optional("attribute", default: "marital-status"),
                                              members: try a.optional("members")))
        }
        let canonical = a.node.canonicalJSON
        try a.finish()
        return Parameters(data: data, model: model, attack: attack, canonical: canonical)
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        switch p.attack {
        case let .miFace(spec): return try await runMIFace(p, spec, train: train, test: test, context: context)
        case let .gradient(spec): return try await runGradient(p, spec, test: test, context: context)
        case let .attribute(spec): return try await runAttribute(p, spec, train: train, test: test, context: context)
        }
    }

    /// What determines an image grid: part of its artifact key.
    struct ImageGridRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The grid's name (`reconstructions`).
        var grid: String
        /// The canonical JSON of the spec's `data`, `model` (when there is one) and `attack` sections.
        var data: String
        var model: String?
        var attack: String
    }

    /// Stores an image grid as an artifact whose role the reports draw as a PNG.
    static func imageGrid(name: String, images: [[Float]], height: Int, width: Int, columns: Int, p: Parameters,
                          context: TrialContext) async throws -> ArtifactReference {
        let values = images.flatMap { $0 }
        let recipe = ImageGridRecipe(seed: context.seed, grid: name, data: p.data.canonical, model: p.model?.canonical, attack: p.canonical)
        return try await context.cachedArray(role: "image-grid/\(name)/\(columns)", recipe: recipe) {
            NumpyArray(shape: [images.count, height, width], values: values)
        }.artifact
    }
}

// MARK: - MI-Face

extension ModelInversionKind {
    static func runMIFace(_ p: Parameters, _ spec: MIFaceSpec, train: LabeledData, test: LabeledData,
                          context: TrialContext) async throws -> TrialOutcome {
        guard train.sampleShape.count == 3 else {
            throw DataSpecError("attack.method mi-face needs image data [C, H, W]; \(p.data.canonical) has samples of shape \(train.sampleShape)")
        }
        let model = p.model!
        if let imported = model.imported {
            // A model trained elsewhere, inverted as it is; the evaluator trains in the lab.
            let target = try imported.load(for: train, dataDescription: p.data.canonical)
            return try await invertFaces(target, metrics: target.testMetrics(test, part: "target"), artifacts: [],
                                         p, spec, train: train, test: test, context: context)
        }
        let target = try await TargetModel.train(data: p.data, model: model, train: train, stream: "target", context: context)
        return try await invertFaces(target.model, metrics: target.metrics(train: train, test: test, part: "target"),
                                     artifacts: [target.artifact], p, spec, train: train, test: test, context: context)
    }

    /// MI-Face on `target` (every class with training faces), judged by an evaluator trained in
    /// the lab; `metrics` and `artifacts` describe the target and come first.
    static func invertFaces<Model: ProbabilityAccess & InputGradientAccess>(
        _ target: Model, metrics targetMetrics: [Metric], artifacts targetArtifacts: [ArtifactReference], _ p: Parameters,
        _ spec: MIFaceSpec, train: LabeledData, test: LabeledData, context: TrialContext
    ) async throws -> TrialOutcome {
        let evaluator = try await TargetModel.train(data: p.data, model: spec.evaluator, train: train, stream: "evaluator",
                                                    context: context, role: "evaluator-model")
        let classes = train.classCount
        let means = ReconstructionEvaluation.classMeans(train.featureTensor, labels: train.intLabels, classCount: classes)
        let targets = (0..<classes).filter { means[$0] != nil }
        var configuration = spec.configuration
        if spec.startName == .meanOfOthers {
            let d = train.featureCount
            let labels = train.intLabels
            configuration.start = .perTarget(targets.map { t in
                var sum = [Double](repeating: 0, count: d)
                var count = 0
                for (i, y) in labels.enumerated() where y != t {
                    count += 1
                    let row = train.sample(i)
                    var j = 0
                    for v in row { sum[j] += Double(v); j += 1 }
                }
                return sum.map { Float($0 / Double(max(1, count))) }
            })
        }
        context.progress("MI-Face: inverting \(targets.count) classes")
        let reconstructions = try MIFace.invert(model: target, targets: targets, sampleShape: train.sampleShape,
                                                configuration: configuration)
        let summary = try ReconstructionEvaluation.evaluate(
            reconstructions: reconstructions.map(\.image), targets: targets, sampleShape: train.sampleShape,
            evaluator: evaluator.model, classMeans: means)
        var metrics = targetMetrics
        metrics += evaluator.metrics(train: train, test: test, part: "evaluator")
        metrics += [
            Metric(part: "mi_face", "top1_accuracy", summary.top1Accuracy),
            Metric(part: "mi_face", "top5_accuracy", summary.top5Accuracy),
            Metric(part: "mi_face", "nearest_mean_matches", Double(summary.nearestMeanMatches)),
            Metric(part: "mi_face", "targets", Double(targets.count)),
            Metric(part: "mi_face", "ssim_to_own_mean", summary.meanSSIMToOwnMean),
            Metric(part: "mi_face", "mean_confidence", reconstructions.map(\.confidence).reduce(0, +) / Double(max(1, reconstructions.count))),
            Metric(part: "mi_face", "mean_iterations", Double(reconstructions.map(\.iterations).reduce(0, +)) / Double(max(1, reconstructions.count))),
        ]
        // Grid: ten reconstructions, then a training face of each of those ten subjects.
        let (h, w) = (train.sampleShape[1], train.sampleShape[2])
        let plane = h * w
        var images: [[Float]] = []
        let labels = train.intLabels
        for start in stride(from: 0, to: targets.count, by: 10) {
            let chunk = Array(targets[start..<min(targets.count, start + 10)])
            for (k, _) in chunk.enumerated() { images.append(Array(reconstructions[start + k].image.prefix(plane))) }
            for t in chunk { images.append(Array(train.sample(labels.firstIndex(of: t)!).prefix(plane))) }
        }
        let grid = try await imageGrid(name: "mi-face.reconstructions", images: images, height: h, width: w, columns: 10, p: p, context: context)
        return TrialOutcome(metrics: metrics, series: [], artifacts: targetArtifacts + [evaluator.artifact, grid])
    }
}

// MARK: - Gradient inversion

extension ModelInversionKind {
    static func victimNetwork(_ spec: NetworkSpec, inputShape: [Int], classes: Int, random: LabRandom) throws -> Sequential {
        let act: Layer = spec.activation == .relu ? .relu : spec.activation == .tanh ? .tanh : .sigmoid
        var layers: [Layer]
        switch spec.architecture {
        case .lenet:
            layers = try VictimNetworks.lenetLayers(inputShape: inputShape, classes: classes, activation: act)
        case .mlp, .logistic:
            layers = inputShape.count > 1 ? [.flatten] : []
            var width = Tensor.elementCount(inputShape)
            for size in (spec.architecture == .mlp ? spec.hidden : []) {
                layers += [.dense(inputs: width, outputs: size), act]
                width = size
            }
            layers.append(.dense(inputs: width, outputs: classes))
        }
        if spec.initScale > 0 {
            return try VictimNetworks.uniformlyInitialized(inputShape: inputShape, layers: layers, scale: Float(spec.initScale), random: random)
        }
        return try Sequential(inputShape: inputShape, layers: layers, random: random)
    }

    static func runGradient(_ p: Parameters, _ spec: GradientSpec, test: LabeledData, context: TrialContext) async throws -> TrialOutcome {
        let random = context.random
        let model = try victimNetwork(spec.network, inputShape: test.sampleShape, classes: test.classCount, random: random.stream("network"))
        guard spec.batchSize <= test.count else {
            throw DataSpecError("attack.batch_size \(spec.batchSize) exceeds the \(test.count) test examples victims are drawn from")
        }
        let name = spec.attack.name
        let shape = test.sampleShape
        let (h, w) = shape.count == 3 ? (shape[1], shape[2]) : (1, Tensor.elementCount(shape))
        var psnr: [Double] = [], ssim: [Double] = [], labelAccuracy: [Double] = [], losses: [Double] = []
        var firstHistory: [Double] = []
        var grid: [[Float]] = []
        for k in 0..<spec.victims {
            var stream = random.stream("victims/\(k)")
            var indices: [Int]
            if spec.distinctLabels {
                indices = []
                var seen = Set<Int32>()
                for i in stream.permutation(test.count) where indices.count < spec.batchSize && seen.insert(test.labels[i]).inserted {
                    indices.append(i)
                }
                guard indices.count == spec.batchSize else {
                    throw DataSpecError("attack.distinct_labels: a batch of \(spec.batchSize) needs as many classes; the data have \(seen.count)")
                }
            } else {
                indices = stream.sampleWithoutReplacement(spec.batchSize, from: test.count)
            }
            let batch = test.subset(indices)
            let update = ClientUpdate.observe(model: model, inputs: batch.featureTensor, labels: batch.intLabels,
                                              localSteps: spec.localSteps == 0 ? nil : spec.localSteps,
                                              learningRate: Float(spec.localLearningRate))
            context.progress("\(name): victim \(k + 1)/\(spec.victims)")
            let result = try GradientInversion.invert(model: model, update: update, batchSize: spec.batchSize, attack: spec.attack,
                                                      random: random.stream("attack/\(k)"))
            let d = batch.featureCount
            let recon = (0..<spec.batchSize).map { Array(result.reconstructions.scalars[($0 * d)..<(($0 + 1) * d)]) }
            let truth = (0..<spec.batchSize).map { Array(batch.sample($0)) }
            let match = ReconstructionMatching.match(reconstructions: recon, originals: truth, height: h, width: w)
            psnr += match.psnr.map { min($0, 100) }
            ssim += match.ssim
            if !result.labels.isEmpty { labelAccuracy.append(LabelRecovery.accuracy(recovered: result.labels, truth: batch.intLabels)) }
            losses.append(result.loss)
            if k == 0 { firstHistory = result.lossHistory }
            if grid.count < 32 {
                for (i, r) in recon.enumerated() where grid.count < 32 { grid += [r, truth[match.assignment[i]]] }
            }
        }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        var metrics = [
            Metric(part: name, "psnr", mean(psnr)),
            Metric(part: name, "psnr_min", psnr.min() ?? 0),
            Metric(part: name, "ssim", mean(ssim)),
            Metric(part: name, "fraction_psnr_above_20db", Double(psnr.filter { $0 >= 20 }.count) / Double(max(1, psnr.count))),
            Metric(part: name, "final_loss", mean(losses)),
            Metric(part: "victim", "batch_size", Double(spec.batchSize)),
            Metric(part: "victim", "local_steps", Double(spec.localSteps)),
            Metric(part: "victim", "parameters", Double(model.parameterCount)),
        ]
        if !labelAccuracy.isEmpty { metrics.append(Metric(part: name, "label_accuracy", mean(labelAccuracy))) }
        var series: [Series] = []
        if firstHistory.count > 1 {
            series.append(Series(name: "\(name).loss", x: firstHistory.indices.map { Double($0 + 1) },
                                 y: firstHistory.map { max($0, 1e-12) }, xLabel: "iteration", yLabel: "matching loss", logY: true))
        }
        // Pairs (reconstruction, original) across; eight columns.
        let artifact = try await imageGrid(name: "\(name).reconstructions", images: grid, height: h, width: w, columns: 8, p: p, context: context)
        return TrialOutcome(metrics: metrics, series: series, artifacts: [artifact])
    }
}

// MARK: - Attribute inference

extension ModelInversionKind {
    static func runAttribute(_ p: Parameters, _ spec: AttributeSpec, train: LabeledData, test: LabeledData,
                             context: TrialContext) async throws -> TrialOutcome {
        guard let names = train.featureNames else {
            throw DataSpecError("attack.method attribute needs a tabular dataset with named one-hot columns (adult); \(p.data.canonical) has none")
        }
        let attribute: AttributeInference.Attribute
        do {
            attribute = try .oneHot(named: spec.attribute, featureNames: names, features: train.features)
        } catch {
            throw DataSpecError("attack.attribute: \(error)")
        }
        let target = try await TargetModel.train(data: p.data, model: p.model!, train: train, stream: "target", context: context)
        // The prior is the attribute's distribution in data the attacker may see: the test part.
        let width = train.featureCount
        let prior = attribute.prior(from: test.features, width: width)
        var metrics = target.metrics(train: train, test: test, part: "target")
        let groups: [(String, LabeledData)] = [("members", spec.members.map { train.prefix($0) } ?? train), ("non_members", test)]
        for method in AttributeInference.Method.allCases {
            let part = "attribute." + method.rawValue.replacingOccurrences(of: "-", with: "_")
            for (group, data) in groups {
                let truth = attribute.values(in: data.features, width: width)
                let guesses = try AttributeInference.infer(model: target.model, records: data.featureTensor, labels: data.intLabels,
                                                           attribute: attribute, prior: prior, method: method)
                metrics.append(Metric(name: "\(part).\(group)_accuracy", value: AttributeInference.accuracy(guesses, truth: truth)))
            }
        }
        // Advantage over the prior baseline, per group.
        for (group, _) in groups {
            let base = metrics.first { $0.name == "attribute.prior.\(group)_accuracy" }!.value
            for method in AttributeInference.Method.allCases where method != .prior {
                let part = "attribute." + method.rawValue.replacingOccurrences(of: "-", with: "_")
                let acc = metrics.first { $0.name == "\(part).\(group)_accuracy" }!.value
                metrics.append(Metric(name: "\(part).\(group)_advantage", value: acc - base))
            }
        }
        metrics.append(Metric(part: "attribute", "values", Double(attribute.valueNames.count)))
        return TrialOutcome(metrics: metrics, series: [], artifacts: [target.artifact])
    }
}
