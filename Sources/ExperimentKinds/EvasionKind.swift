import Datasets
import DriftDetection
import Evasion
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import ModelAccess
import ModelEndpoint
import ModelImport
import NeuralNetworks
import Tensors
import ThreatTraining

/// Kind `evasion`: trains a model (standard, PGD-adversarially trained, or defensively
/// distilled), attacks test inputs with FGSM and PGD at every budget of `attack.epsilons`, and
/// reports clean accuracy, robust accuracy, fooling rate and mean perturbation norm per attack and
/// ε (`pgd.robust_accuracy@0.3`), with a robustness curve (robust accuracy against ε).
///
/// ```yaml
/// kind: evasion
/// data: {dataset: mnist, limit: 10000, test_limit: 1000}
/// model: {architecture: cnn, channels: [16, 32], epochs: 5}
/// defence: {method: adversarial-training, epsilon: 0.3, steps: 10, step_size: 0.05, random_start: true,
///           epsilon_warmup_epochs: 1}
/// attack: {methods: [fgsm, pgd], norm: linf, epsilons: [0, 0.1, 0.2, 0.3], steps: 40, step_size: 0.01,
///          random_start: false, losses: [cross-entropy, margin], examples: 1000}
/// ```
///
/// `defence.epsilon_warmup_epochs` (default 0) ramps the training budget linearly from 0 to
/// `defence.epsilon` over that many epochs (`AdversarialTraining.epsilonWarmupEpochs`).
/// `defence.method: distillation` trains a teacher and a student at `defence.temperature` and
/// attacks the student as deployed (T = 1). `attack.losses` chooses what the attacks climb:
/// `cross-entropy` (of the logits, T = 1; parts `fgsm`, `pgd`, `square`), `margin` (C&W's logit margin;
/// parts `fgsm-margin`, `pgd-margin`) and `tempered-cross-entropy` (cross-entropy of z/T with the
/// distillation temperature; parts `fgsm-tempered`, `pgd-tempered`) — the last two are Carlini &
/// Wagner's evaluation that breaks distillation. `attack.targeted: true` aims every input at the
/// next class, (y + 1) mod classes; then the fooling rate is the targeted success rate.
///
/// The black-box attacks see the model only through `ModelAccess`'s probabilities or labels, and
/// report their success against the query budget: `attack.query_budgets` (default a quarter, half
/// and all of `attack.queries`).
///
/// `square` is the Square Attack (`attack.norm`: linf or l2), score-based: it reads only
/// probabilities, within `attack.queries` queries per example (1000) from windows of
/// `attack.square_fraction` (0.05) of the image; it adds per ε `median_queries`, `mean_queries`,
/// `median_perturbation` and per budget b `success_rate@ε@qb` (its loss is its own margin of
/// probabilities, whatever `attack.losses` says).
///
/// `hop_skip_jump` (HopSkipJump, linf or l2) and `boundary` (the Boundary attack, l2) are
/// decision-based: they read only predicted labels within `attack.queries` queries per input
/// (HopSkipJump in `attack.steps` rounds), and one run serves every ε (an input counts as broken at
/// ε when its closest adversarial input lies within ε); they add `median_distance`,
/// `median_queries`, `mean_queries` and per budget b `success_rate@qb` and `median_distance@qb`.
///
/// `transfer` buys the victim's labels of `attack.transfer_queries` held-out test rows (after the
/// attacked ones), trains a surrogate of the `model` architecture on them, runs
/// `attack.transfer_method` (pgd with `attack.steps`, `step_size`, `random_start`, or fgsm) on the
/// surrogate and sends the result to the victim: it adds `surrogate_queries`, `queries_per_input`
/// and per ε `success_rate`, `median_perturbation` and `agreement`.
///
/// `detector: {method: knn, k: 5, false_positive_rate: 0.05, reference: 1000}` judges the inputs
/// with `DriftDetection`'s k-NN outlier score, its threshold set on `reference` training rows:
/// `detector.clean_flagged` on the clean inputs and `<attack>.detected@ε` on each budget's
/// adversarial inputs (the cost of a filter that drops flagged inputs, and what it catches).
///
/// A model trained elsewhere is attacked as it is with `model: {checkpoint: model.safetensors,
/// layers: model-layers.json}` (`ImportedModelSpec`): nothing trains, so a `defence` is an error,
/// the data are not scaled, and the target is described by `target.test_accuracy` and
/// `target.test_loss` on the test part (its training data are unknown here).
///
/// A model behind a prediction endpoint (`model: {endpoint: "http://HOST:PORT", token_env: VAR}`,
/// `EndpointSpec`) is attacked over HTTP with the black-box methods only (`square`,
/// `hop_skip_jump`, `boundary`): part `target` reports `test_accuracy` from its answers and
/// `endpoint_queries`, the rows it answered for the whole trial; an endpoint that stops answering
/// fails the trial, naming the refusal.
public enum EvasionKind: ExperimentKind {
    public static let name = "evasion"
    public static let summary = "train (optionally adversarially or by distillation); attack with FGSM/PGD, or black-box (Square, HopSkipJump, Boundary, transfer) within a query budget, over ε; report robust accuracy curves"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles + (p.model.imported?.inputFiles ?? []) }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum MethodName: String, SpecEnum {
        case fgsm, pgd, square
        case hopSkipJump = "hop_skip_jump"
        case boundary, transfer
    }
    /// The white-box attack a transfer attack runs on its surrogate.
    public enum TransferMethodName: String, SpecEnum { case fgsm, pgd }
    public enum NormName: String, SpecEnum { case linf, l2 }
    public enum LossName: String, SpecEnum {
        case crossEntropy = "cross-entropy"
        case margin
        case temperedCrossEntropy = "tempered-cross-entropy"
    }
    public enum DefenceName: String, SpecEnum {
        case none
        case adversarialTraining = "adversarial-training"
        case distillation
    }

    public struct AttackSpec: Sendable, Equatable {
        public var methods: [MethodName]
        public var norm: NormName
        public var epsilons: [Double]
        public var steps: Int
        public var stepSize: Double
        public var randomStart: Bool
        public var losses: [LossName]
        public var targeted: Bool
        public var examples: Int?
        public var batchSize: Int
        public var clip: [Double]
        /// The Square Attack's query budget per example and initial window fraction.
        public var queries: Int = 1000
        public var squareFraction: Double = 0.05
        /// The query budgets (≤ `queries`) at which the black-box attacks' success rate and median
        /// perturbation are reported: a quarter, half and all of `queries` unless given.
        public var queryBudgets: [Int] = []
        /// The transfer attack's victim queries (the labelled attacker set) and its white-box attack.
        public var transferQueries: Int = 1000
        public var transferMethod: TransferMethodName = .pgd
    }

    public struct DefenceSpec: Sendable, Equatable {
        public var method: DefenceName
        public var temperature: Double
        public var norm: NormName
        public var epsilon: Double
        public var steps: Int
        public var stepSize: Double
        public var randomStart: Bool
        public var adversarialWeight: Double
        public var epsilonWarmupEpochs: Double
        public var canonical: String
    }

    public enum DetectorName: String, SpecEnum { case knn }

    /// An input detector judged on the clean and the adversarial inputs: the k-NN outlier score
    /// of `DriftDetection`, its threshold set for `falsePositiveRate` on `reference` rows of the
    /// training part.
    public struct DetectorSpec: Sendable, Equatable {
        public var method: DetectorName
        public var k: Int
        public var falsePositiveRate: Double
        public var reference: Int
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var defence: DefenceSpec
        public var attack: AttackSpec
        public var detector: DetectorSpec? = nil
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        var data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data, imports: .attacked)
        let defence: DefenceSpec = body.contains("defence") ? try DefenceSpec.decode(body.section("defence")) : .none
        if model.imported != nil || model.endpoint != nil {
            data = try ImportedModelSpec.data(data, section: body.section("data"), keepsEveryRecord: false)
            let source = model.endpoint == nil ? "model.checkpoint names a model trained outside the lab" : "model.endpoint names a model behind a prediction endpoint"
            if defence.method != .none {
                throw try body.section("defence").error("method", "\(defence.method.rawValue) trains the model, but \(source); "
                                                         + "attack it as it is (no defence), or train the defended model in the lab (model without checkpoint)")
            }
        }
        var detector: DetectorSpec?
        if body.contains("detector") {
            let d = try body.section("detector")
            detector = DetectorSpec(method: try d.optional("method", default: .knn), k: try d.optional("k", default: 5, in: 1...1000),
                                    falsePositiveRate: try d.optional("false_positive_rate", default: 0.05, in: 0...0.99),
                                    reference: try d.optional("reference", default: 1000, in: 2...100_000))
            if detector!.k >= detector!.reference { throw d.error("k", "must be smaller than reference (\(detector!.reference)), got \(detector!.k)") }
            try d.finish()
        }
        let attack = try AttackSpec.decode(body.section("attack"))
        if model.endpoint != nil, let bad = attack.methods.first(where: { $0 == .fgsm || $0 == .pgd || $0 == .transfer }) {
            throw try body.section("attack").error("methods", "'\(bad.rawValue)' needs \(bad == .transfer ? "the architecture of `model` for its surrogate" : "the model's gradients"), "
                                                   + "which a model behind model.endpoint does not give; its black-box attacks are square, hop_skip_jump and boundary")
        }
        if attack.methods.contains(.transfer) && model.imported != nil {
            throw try body.section("attack").error("methods", "transfer trains its surrogate with the architecture of `model`, which a model.checkpoint does not give here; "
                                                   + "attack a model trained in the lab, or leave transfer out")
        }
        return Parameters(data: data, model: model, defence: defence, attack: attack, detector: detector)
    }
}

extension EvasionKind.AttackSpec {
    /// Reads an `attack:` section.
    public static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let methods: [EvasionKind.MethodName] = try r.optional("methods", default: [.fgsm, .pgd])
        guard !methods.isEmpty else { throw r.error("methods", "name at least one attack (fgsm, pgd)") }
        let epsilons: [Double] = try r.optional("epsilons", default: [0, 0.1, 0.2, 0.3])
        guard !epsilons.isEmpty else { throw r.error("epsilons", "give at least one budget") }
        if let bad = epsilons.first(where: { !($0 >= 0 && $0 <= 1000) }) { throw r.error("epsilons", "budgets must lie in [0, 1000], got \(bad)") }
        let losses: [EvasionKind.LossName] = try r.optional("losses", default: [.crossEntropy])
        guard !losses.isEmpty else { throw r.error("losses", "name at least one loss") }
        let clip: [Double] = try r.optional("clip", default: [0, 1])
        guard clip.count == 2, clip[0] < clip[1] else { throw r.error("clip", "expected [lower, upper] with lower < upper, got \(clip)") }
        let spec = Self(
            methods: methods, norm: try r.optional("norm", default: .linf), epsilons: epsilons,
            steps: try r.optional("steps", default: 40, in: 1...100_000),
            stepSize: try r.optional("step_size", default: 0.01, in: 1e-8...1000),
            randomStart: try r.optional("random_start", default: false),
            losses: losses, targeted: try r.optional("targeted", default: false),
            examples: try r.optional("examples").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 1 else { throw r.error("examples", "must be ≥ 1, got \(v)") }; return v },
            batchSize: try r.optional("batch_size", default: 32, in: 1...100_000),
            clip: clip,
            queries: try r.optional("queries", default: 1000, in: 1...1_000_000),
            squareFraction: try r.optional("square_fraction", default: 0.05, in: 0.0001...1),
            transferQueries: try r.optional("transfer_queries", default: 1000, in: 1...10_000_000),
            transferMethod: try r.optional("transfer_method", default: .pgd))
        var checked = spec
        let budgets: [Int] = try r.optional("query_budgets", default: [])
        if let bad = budgets.first(where: { !(1...spec.queries).contains($0) }) {
            throw r.error("query_budgets", "each budget must lie in [1, queries = \(spec.queries)], got \(bad)")
        }
        checked.queryBudgets = budgets.isEmpty
            ? Array(Set([max(1, spec.queries / 4), max(1, spec.queries / 2), spec.queries])).sorted()
            : Array(Set(budgets)).sorted()
        if methods.contains(.boundary) && spec.norm != .l2 { throw r.error("norm", "the Boundary attack is an L2 attack; use norm: l2") }
        try r.finish()
        return checked
    }
}

extension EvasionKind.DefenceSpec {
    static let none = Self(method: .none, temperature: 1, norm: .linf, epsilon: 0, steps: 1, stepSize: 1, randomStart: false,
                           adversarialWeight: 1, epsilonWarmupEpochs: 0, canonical: "none")

    /// Reads a `defence:` section.
    public static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let method: EvasionKind.DefenceName = try r.optional("method", default: .none)
        let spec = Self(
            method: method,
            temperature: try r.optional("temperature", default: method == .distillation ? 100 : 1, in: 1e-3...1e6),
            norm: try r.optional("norm", default: .linf),
            epsilon: try r.optional("epsilon", default: 0.3, in: 0...1000),
            steps: try r.optional("steps", default: 7, in: 1...10_000),
            stepSize: try r.optional("step_size", default: 0.1, in: 1e-8...1000),
            randomStart: try r.optional("random_start", default: true),
            adversarialWeight: try r.optional("adversarial_weight", default: 1.0, in: 0...1),
            epsilonWarmupEpochs: try r.optional("epsilon_warmup_epochs", default: 0.0, in: 0...100_000),
            canonical: r.node.canonicalJSON)
        try r.finish()
        return spec
    }
}

extension EvasionKind {
    static func norm(_ name: NormName) -> PerturbationNorm { name == .linf ? .linf : .l2 }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        var evaluated = test
        if let examples = p.attack.examples, examples < test.count { evaluated = test.prefix(examples) }
        let detector = try p.detector.map { d in try knnDetector(d, train: train, context: context) }
        if let endpoint = p.model.endpoint {
            // A model behind a prediction endpoint: only its answers, over HTTP.
            let remote = try endpoint.connect()
            guard remote.inputShape.reduce(1, *) == test.sampleShape.reduce(1, *), remote.classCount == test.classCount else {
                throw EndpointError("\(endpoint.url.absoluteString) takes inputs of shape \(remote.inputShape) and answers \(remote.classCount) classes; "
                                    + "the data's rows have shape \(test.sampleShape) and \(test.classCount) classes")
            }
            let labels = remote.predictedLabels(for: test.featureTensor)
            try remote.checkNotRefused("the target's test accuracy")
            var metrics = [Metric(part: "target", "test_accuracy", Double(zip(labels, test.intLabels).filter { $0 == $1 }.count) / Double(max(1, test.count)))]
            let (attackMetrics, series) = try attack(remote, gradients: nil, p, evaluated: evaluated, detector: detector, context: context)
            try remote.checkNotRefused("the black-box attacks")
            metrics += attackMetrics
            metrics.append(Metric(part: "target", "endpoint_queries", Double(remote.queries)))
            var seen = Set<String>()
            return TrialOutcome(metrics: metrics.filter { seen.insert($0.name).inserted }, series: series, artifacts: [])
        }
        if let imported = p.model.imported {
            // A model trained elsewhere: attacked as it is; its training data are unknown here,
            // so only the test part's accuracy and loss describe it.
            let model = try imported.load(for: test, dataDescription: p.data.canonical)
            var metrics = model.testMetrics(test, part: "target")
            let (attackMetrics, series) = try attack(model, gradients: model, p, evaluated: evaluated, detector: detector, context: context)
            metrics += attackMetrics
            var seen = Set<String>()
            return TrialOutcome(metrics: metrics.filter { seen.insert($0.name).inserted }, series: series, artifacts: [])
        }
        let target = try await defendedModel(p, train: train, context: context)
        var metrics = target.metrics(train: train, test: test, part: "target")
        var transfer: TransferSetting?
        if p.attack.methods.contains(.transfer) {
            // The attacker's own data: test rows the attack does not evaluate, labelled by the victim.
            let held = test.count - evaluated.count
            guard held >= p.attack.transferQueries else {
                throw DataSpecError("attack.transfer_queries: \(p.attack.transferQueries) victim queries need as many test rows beyond the \(evaluated.count) attacked "
                                    + "(attack.examples); the data give \(held): lower transfer_queries or examples, or raise data.test_limit")
            }
            let recipe = SequentialRecipe(inputShape: train.sampleShape, layers: try p.model.layers(inputShape: train.sampleShape, classes: train.classCount),
                                          configuration: p.model.training)
            transfer = TransferSetting(attackerSet: test.subset(Array(evaluated.count..<(evaluated.count + p.attack.transferQueries))), recipe: recipe)
        }
        let (attackMetrics, series) = try attack(target.model, gradients: target.model, p, evaluated: evaluated, detector: detector, transfer: transfer, context: context)
        metrics += attackMetrics
        var seen = Set<String>()
        metrics = metrics.filter { seen.insert($0.name).inserted }
        return TrialOutcome(metrics: metrics, series: series + [target.lossCurve(name: "target.loss_curve")], artifacts: [target.artifact])
    }

    /// Every attack of `p.attack` at every budget on the `evaluated` examples: the metrics per
    /// attack and ε, `target.clean_accuracy`, `target.attacked_examples`, and a robustness curve
    /// per attack. White-box attacks (FGSM, PGD, transfer's victim-side checks aside) use
    /// `gradients`, the same model with its gradients; black-box ones only `model`'s answers.
    static func attack<Model: ProbabilityAccess>(_ model: Model, gradients: (any LogitGradientAccess)?, _ p: Parameters, evaluated: LabeledData,
                                                 detector: KNNOutlierDetector? = nil,
                                                   transfer: TransferSetting? = nil,
                                                   context: TrialContext) throws -> (metrics: [Metric], series: [Series]) {
        var metrics: [Metric] = []
        let x = evaluated.featureTensor, y = evaluated.intLabels
        if let detector {
            let flags = try detector.flags(x.scalars.map(Double.init))
            metrics.append(Metric(part: "detector", "clean_flagged", Double(flags.filter { $0 }.count) / Double(flags.count)))
            metrics.append(Metric(part: "detector", "threshold", detector.threshold))
        }
        let goal: AttackGoal = p.attack.targeted ? .nextClass(of: y, classCount: model.classCount) : .untargeted
        let domain = InputDomain(lower: Float(p.attack.clip[0]), upper: Float(p.attack.clip[1]))
        let epsilons = p.attack.epsilons.map { Float($0) }
        var series: [Series] = []
        metrics.append(Metric(part: "target", "attacked_examples", Double(evaluated.count)))
        for loss in p.attack.losses {
            let attackLoss: AttackLoss
            let suffix: String
            switch loss {
            case .crossEntropy: (attackLoss, suffix) = (.crossEntropy, "")
            case .margin: (attackLoss, suffix) = (.margin, "-margin")
            case .temperedCrossEntropy:
                (attackLoss, suffix) = (.crossEntropy(temperature: Float(p.defence.method == .distillation ? p.defence.temperature : 1)), "-tempered")
            }
            for method in p.attack.methods {
                let part = method.rawValue + suffix
                let random = context.random.stream("attack/\(part)")
                // The adversarial inputs of each budget, in input order, when a detector judges them.
                var adversarial = [[Float]](repeating: [], count: detector == nil ? 0 : epsilons.count)
                let observe: ((Int, Tensor) -> Void)? = detector == nil ? nil : { index, chunk in adversarial[index] += chunk.scalars }
                let curve: RobustnessCurve
                switch method {
                case .fgsm:
                    guard let gradients else { throw DataSpecError("attack.methods: fgsm needs the model's gradients") }
                    curve = robustnessCurve(of: gradients, against: FastGradientMethod(norm: norm(p.attack.norm), epsilon: 0, loss: attackLoss, domain: domain),
                                            epsilons: epsilons, inputs: x, labels: y, goal: goal, batchSize: p.attack.batchSize, random: random,
                                            observe: observe)
                case .square:
                    // Black-box: the attack reads only the probabilities; its queries are reported.
                    let square = SquareAttack(norm: norm(p.attack.norm), epsilon: 0, maximumQueries: p.attack.queries,
                                              initialFraction: Float(p.attack.squareFraction), domain: domain)
                    let clean = model.predictedLabels(for: x)
                    var results: [RobustnessResult] = []
                    for (index, epsilon) in epsilons.enumerated() {
                        let run = square.withEpsilon(epsilon).run(x, labels: y, goal: goal, model: model, random: random.stream("epsilons/\(index)"))
                        observe?(index, run.adversarial)
                        let adversarial = model.predictedLabels(for: run.adversarial)
                        let cleanCorrect = (0..<y.count).map { clean[$0] == y[$0] }
                        let adversarialCorrect = (0..<y.count).map { adversarial[$0] == y[$0] }
                        let success = (0..<y.count).map { i in goal.target(i).map { adversarial[i] == $0 } ?? !(cleanCorrect[i] && adversarialCorrect[i]) }
                        let result = RobustnessResult(norm: square.norm, epsilon: epsilon, cleanCorrect: cleanCorrect, adversarialCorrect: adversarialCorrect,
                                                      success: success, perturbationNorms: square.norm.perExample(withoutGradients { run.adversarial - x }))
                        results.append(result)
                        let at = "@\(p.attack.epsilons[index])"
                        let queries = run.queries.map(Double.init).sorted()
                        metrics.append(Metric(part: part, "median_queries" + at, queries[queries.count / 2]))
                        metrics.append(Metric(part: part, "mean_queries" + at, queries.reduce(0, +) / Double(queries.count)))
                        // Success against the budget: an attacked example stops once it succeeds, so it
                        // succeeded within b queries when it succeeded having spent at most b.
                        for budget in p.attack.queryBudgets {
                            let fooled = (0..<y.count).filter { cleanCorrect[$0] && success[$0] && run.queries[$0] <= budget }
                            metrics.append(Metric(part: part, "success_rate\(at)@q\(budget)",
                                                  Double(fooled.count) / Double(max(1, cleanCorrect.filter { $0 }.count))))
                        }
                        metrics.append(Metric(part: part, "median_perturbation" + at, result.medianPerturbationNorm))
                    }
                    curve = RobustnessCurve(results: results)
                case .hopSkipJump, .boundary:
                    // Decision-based: one run per input finds its closest adversarial input from labels
                    // alone; a budget ε counts the inputs it brought within ε (in the attack's norm).
                    let run = method == .hopSkipJump
                        ? HopSkipJump(norm: norm(p.attack.norm), iterations: p.attack.steps, maximumQueries: p.attack.queries, domain: domain)
                            .run(x, labels: y, goal: goal, model: model, random: random)
                        : BoundaryAttack(iterations: p.attack.queries, maximumQueries: p.attack.queries, domain: domain)
                            .run(x, labels: y, goal: goal, model: model, random: random)
                    let (found, decisionCurve) = decisionBased(run, model: model, x: x, y: y, goal: goal, epsilons: epsilons, observe: observe)
                    metrics += found.map { Metric(part: part, $0.name, $0.value) }
                    metrics += budgetMetrics(run, clean: decisionCurve.results.first?.cleanCorrect ?? [], budgets: p.attack.queryBudgets)
                        .map { Metric(part: part, $0.name, $0.value) }
                    curve = decisionCurve
                case .transfer:
                    guard let transfer else { throw DataSpecError("attack.methods: transfer needs a model trained in the lab") }
                    let (transferCurve, found) = try transferAttack(transfer, victim: model, p, x: x, y: y, goal: goal, domain: domain,
                                                                   random: random, observe: observe)
                    metrics += found.map { Metric(part: part, $0.name, $0.value) }
                    curve = transferCurve
                case .pgd:
                    guard let gradients else { throw DataSpecError("attack.methods: pgd needs the model's gradients") }
                    let pgd = ProjectedGradientDescent(norm: norm(p.attack.norm), epsilon: 0, stepSize: Float(p.attack.stepSize),
                                                       steps: p.attack.steps, randomStart: p.attack.randomStart, loss: attackLoss, domain: domain)
                    curve = robustnessCurve(of: gradients, against: pgd, epsilons: epsilons, inputs: x, labels: y, goal: goal,
                                            batchSize: p.attack.batchSize, random: random, observe: observe)
                }
                for (epsilon, result) in zip(p.attack.epsilons, curve.results) {
                    let at = "@\(epsilon)"
                    metrics += [
                        Metric(part: part, "robust_accuracy" + at, result.robustAccuracy),
                        Metric(part: part, "adversarial_accuracy" + at, result.adversarialAccuracy),
                        Metric(part: part, "fooling_rate" + at, result.foolingRate),
                        Metric(part: part, "mean_perturbation" + at, result.meanPerturbationNorm),
                    ]
                }
                if let detector {
                    for (epsilon, inputs) in zip(p.attack.epsilons, adversarial) {
                        let flags = try detector.flags(inputs.map(Double.init))
                        metrics.append(Metric(part: part, "detected@\(epsilon)", Double(flags.filter { $0 }.count) / Double(max(1, flags.count))))
                    }
                }
                if let first = curve.results.first { metrics.append(Metric(part: "target", "clean_accuracy", first.cleanAccuracy)) }
                series.append(Series(name: "evasion.robustness_curve", label: part, x: p.attack.epsilons, y: curve.robustAccuracies,
                                     xLabel: "ε (\(p.attack.norm.rawValue))", yLabel: "robust accuracy"))
            }
        }
        return (metrics, series)
    }

    /// What determines a model trained adversarially or by distillation: part of its artifact key.
    struct DefendedModelRecipe: Encodable, Sendable {
        var seed: UInt64
        var stream: String
        /// The canonical JSON of the spec's `data`, `model` and `defence` sections.
        var data: String
        var model: String
        var defence: String
        var examples: Int
    }

    /// The model to attack: trained normally (shared with `train` and other kinds through the
    /// cache), adversarially, or by distillation.
    static func defendedModel(_ p: Parameters, train: LabeledData, context: TrialContext) async throws -> TargetModel {
        switch p.defence.method {
        case .none:
            return try await TargetModel.train(data: p.data, model: p.model, train: train, stream: "target", context: context)
        case .adversarialTraining, .distillation:
            let layers = try p.model.layers(inputShape: train.sampleShape, classes: train.classCount)
            let random = context.random
            let d = p.defence
            let recipe = DefendedModelRecipe(seed: context.seed, stream: "target", data: p.data.canonical, model: p.model.canonical,
                                             defence: d.canonical, examples: train.count)
            let configuration = p.model.training
            let (model, record, artifact) = try await context.cachedModel(role: "target-model", recipe: recipe) {
                let x = train.featureTensor, y = train.intLabels
                if d.method == .distillation {
                    let (_, student) = try DefensiveDistillation(temperature: Float(d.temperature)).train(
                        inputShape: train.sampleShape, layers: layers, inputs: x, labels: y, configuration: configuration,
                        random: random.stream("target"))
                    return (student, TrainingRecord(epochLosses: []))
                }
                var model = try Sequential(inputShape: train.sampleShape, layers: layers, random: random.stream("target/init"))
                let attack = ProjectedGradientDescent(norm: norm(d.norm), epsilon: Float(d.epsilon), stepSize: Float(d.stepSize), steps: d.steps,
                                                      randomStart: d.randomStart)
                let losses = try AdversarialTraining(attack: attack, adversarialWeight: Float(d.adversarialWeight),
                                                  epsilonWarmupEpochs: d.epsilonWarmupEpochs)
                    .train(&model, inputs: x, labels: y, configuration: configuration, random: random.stream("target/train"))
                return (model, TrainingRecord(epochLosses: losses))
            }
            return TargetModel(model: model, history: record.epochLosses, artifact: artifact)
        }
    }
}

// MARK: - Black-box attacks' tables

extension EvasionKind {
    /// What a transfer attack needs beyond the victim: the attacker's unlabelled rows (labelled by
    /// the victim, one query each) and the recipe that trains the surrogate on them.
    struct TransferSetting {
        var attackerSet: LabeledData
        var recipe: SequentialRecipe
    }

    /// The robustness curve of a decision-based run (an input counts as broken at ε when its
    /// closest adversarial input lies within ε), with `median_distance`, `median_queries` and
    /// `mean_queries`.
    static func decisionBased<Model: LabelAccess>(_ run: DecisionBasedResult, model: Model, x: Tensor, y: [Int], goal: AttackGoal, epsilons: [Float],
                                                  observe: ((Int, Tensor) -> Void)?) -> (metrics: [(name: String, value: Double)], curve: RobustnessCurve) {
        let clean = model.predictedLabels(for: x)
        let cleanCorrect = (0..<y.count).map { clean[$0] == y[$0] }
        let d = x.scalarCount / max(1, y.count)
        var results: [RobustnessResult] = []
        for (index, epsilon) in epsilons.enumerated() {
            let within = run.distances.map { $0 <= epsilon }
            let chosen = Tensor(shape: x.shape, scalars: (0..<y.count).flatMap { i -> ArraySlice<Float> in
                within[i] ? run.adversarial.scalars[i * d..<(i + 1) * d] : x.scalars[i * d..<(i + 1) * d]
            })
            observe?(index, chosen)
            let predicted = model.predictedLabels(for: chosen)
            let adversarialCorrect = (0..<y.count).map { predicted[$0] == y[$0] }
            let success = (0..<y.count).map { i in goal.target(i).map { predicted[i] == $0 } ?? !(cleanCorrect[i] && adversarialCorrect[i]) }
            results.append(RobustnessResult(norm: run.norm, epsilon: epsilon, cleanCorrect: cleanCorrect, adversarialCorrect: adversarialCorrect,
                                            success: success, perturbationNorms: run.norm.perExample(withoutGradients { chosen - x })))
        }
        let found = run.distances.filter { $0.isFinite && $0 > 0 }.sorted()
        let queries = run.queries.map(Double.init).sorted()
        return ([("median_distance", found.isEmpty ? .infinity : Double(found[found.count / 2])),
                 ("median_queries", queries[queries.count / 2]),
                 ("mean_queries", queries.reduce(0, +) / Double(queries.count))],
                RobustnessCurve(results: results))
    }

    /// Per query budget b: `success_rate@qb`, the share of the inputs the model got right for which
    /// an adversarial input was found within b queries, and `median_distance@qb`, the median
    /// distance (in the attack's norm) of those found (∞ when none).
    static func budgetMetrics(_ run: DecisionBasedResult, clean: [Bool], budgets: [Int]) -> [(name: String, value: Double)] {
        let correct = clean.indices.filter { clean[$0] }
        return budgets.flatMap { budget -> [(name: String, value: Double)] in
            let reached = run.distances(withinQueries: budget)
            let found = correct.map { reached[$0] }.filter { $0.isFinite }.sorted()
            return [("success_rate@q\(budget)", Double(found.count) / Double(max(1, correct.count))),
                    ("median_distance@q\(budget)", found.isEmpty ? .infinity : Double(found[found.count / 2]))]
        }
    }

    /// The transfer attack at every ε: a surrogate trained on the victim's labels of the attacker
    /// set, FGSM or PGD on it, success judged by the victim. Adds `surrogate_queries` (the victim
    /// labels bought), `queries_per_input`, and per ε `success_rate`, `median_perturbation` and
    /// `agreement` (surrogate and victim give the same label to the adversarial input).
    static func transferAttack<Model: LabelAccess>(_ setting: TransferSetting, victim: Model, _ p: Parameters, x: Tensor, y: [Int],
                                                           goal: AttackGoal, domain: InputDomain, random: LabRandom,
                                                           observe: ((Int, Tensor) -> Void)?) throws -> (RobustnessCurve, [(name: String, value: Double)]) {
        let (surrogate, bought) = try TransferAttack<ProjectedGradientDescent>.trainSurrogate(
            on: setting.attackerSet.featureTensor, victim: victim, recipe: setting.recipe, random: random.stream("surrogate"))
        var found: [(name: String, value: Double)] = [("surrogate_queries", Double(bought)), ("queries_per_input", 1)]
        let clean = victim.predictedLabels(for: x)
        let cleanCorrect = (0..<y.count).map { clean[$0] == y[$0] }
        var results: [RobustnessResult] = []
        let a = p.attack
        for (index, epsilon) in a.epsilons.enumerated() {
            let stream = random.stream("epsilons/\(index)")
            let e = Float(epsilon)
            let run: (adversarial: Tensor, agreement: Double)
            switch a.transferMethod {
            case .fgsm:
                let r = TransferAttack(FastGradientMethod(norm: norm(a.norm), epsilon: e, domain: domain))
                    .run(x, labels: y, goal: goal, surrogate: surrogate, victim: victim, random: stream)
                run = (r.adversarial, r.agreement)
            case .pgd:
                let r = TransferAttack(ProjectedGradientDescent(norm: norm(a.norm), epsilon: e, stepSize: Float(a.stepSize), steps: a.steps,
                                                                randomStart: a.randomStart, domain: domain))
                    .run(x, labels: y, goal: goal, surrogate: surrogate, victim: victim, random: stream)
                run = (r.adversarial, r.agreement)
            }
            observe?(index, run.adversarial)
            let predicted = victim.predictedLabels(for: run.adversarial)
            let adversarialCorrect = (0..<y.count).map { predicted[$0] == y[$0] }
            let success = (0..<y.count).map { i in goal.target(i).map { predicted[i] == $0 } ?? !(cleanCorrect[i] && adversarialCorrect[i]) }
            let result = RobustnessResult(norm: norm(a.norm), epsilon: e, cleanCorrect: cleanCorrect, adversarialCorrect: adversarialCorrect,
                                          success: success, perturbationNorms: norm(a.norm).perExample(withoutGradients { run.adversarial - x }))
            results.append(result)
            found += [("success_rate@\(epsilon)", result.foolingRate), ("median_perturbation@\(epsilon)", result.medianPerturbationNorm),
                      ("agreement@\(epsilon)", run.agreement)]
        }
        return (RobustnessCurve(results: results), found)
    }
}

extension EvasionKind {
    /// The k-NN outlier detector on `spec.reference` rows of the training part (drawn from the
    /// trial's stream "detector/reference").
    static func knnDetector(_ spec: DetectorSpec, train: LabeledData, context: TrialContext) throws -> KNNOutlierDetector {
        guard train.count > spec.k else {
            throw DataSpecError("detector.k: \(spec.k) neighbours need more training rows than the \(train.count) the data give")
        }
        var draw = context.random.stream("detector/reference")
        let rows = Array(draw.permutation(train.count).prefix(spec.reference))
        return try KNNOutlierDetector(reference: train.doubleRows(rows), features: train.featureCount, k: spec.k,
                                      falsePositiveRate: spec.falsePositiveRate)
    }
}
