import Datasets
import Evasion
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import ModelAccess
import ModelExtraction
import NeuralNetworks
import QueryDetection
import Tensors

/// Kind `query-detection`: defences that watch the queries reaching a model. A model is trained
/// (or imported); black-box attacks then query it, one client stream per attacked input, and
/// benign clients send streams of distinct test inputs; every detector replays every stream as
/// the served model would see it and reports how many attack streams it catches, after how many
/// queries, and how many benign clients it flags.
///
/// ```yaml
/// kind: query-detection
/// data: {dataset: mnist, limit: 5000, test_limit: 2000}
/// model: {architecture: mlp, hidden: [128], epochs: 3}
/// attacks: {methods: [square, hop_skip_jump], inputs: 10, queries: 1000, epsilon: 0.1, steps: 10}
/// benign: {streams: 10, length: 500}
/// extraction: {methods: [jacobian, knockoff], clients: 5, queries: 1000, seed_size: 10, lambda: 0.1,
///              surrogate: {architecture: mlp, hidden: [128], epochs: 20}}      # optional
/// detectors:
///   knn: {k: 50, false_positive_rate: 0.001, calibration: 2000, pooling: 2, capacity: 10000}
///   blacklight: {quantization_step: 50, window: 50, top: 50, threshold: 25, value_range: 1}
///   prada: {delta: 0.9, minimum_distances: 100}
/// ```
///
/// `square` is the Square Attack (L∞, budget `attacks.epsilon`, probabilities only) and
/// `hop_skip_jump` HopSkipJump (L2, labels only, `attacks.steps` rounds); each spends at most
/// `attacks.queries` queries on each of `attacks.inputs` test inputs (the first ones the model
/// classifies correctly). A benign stream is `benign.length` distinct test inputs in random order.
/// Detectors listed under `detectors` run (default: all three): `knn` is Chen, Carlini and
/// Wagner's stateful k-NN detector, its threshold set on `calibration` training rows at
/// `false_positive_rate`, comparing images averaged over `pooling × pooling` blocks; `blacklight`
/// and `prada` are as in `QueryDetection`.
///
/// Metrics: per attack (`square`, `hop_skip_jump`) `success_rate`, `median_queries` (queries it
/// spent per input) and `median_perturbation` (L∞ or L2, over successes); per detector and attack
/// (`knn/square`) `detection_rate` (streams flagged), `median_queries_to_detection`,
/// `stopped_before_success` (streams flagged before the attack's first success, so a detector that
/// blocks the client stops it), `median_perturbation_when_blocked` (the smallest perturbation among
/// the adversarial answers the client had before its first flagged query: what it keeps if blocked
/// there; ∞ when it had none, the best of all its queries when never flagged) and
/// `flagged_query_rate`; per detector on benign streams (`knn/benign`) `false_positive_rate`
/// (clients flagged) and `flagged_query_rate`.
///
/// `extraction` adds model-stealing clients, the streams PRADA was made for: each of `clients`
/// attackers steals the model with `jacobian` (Papernot et al.'s augmentation from `seed_size`
/// training rows, step `lambda`, labels only, at most `queries` queries) or `knockoff` (`queries`
/// random training rows, their labels), training surrogates of `surrogate` (default: `model`;
/// required for an imported model). Per method `median_queries` and `median_fidelity` (the final
/// stolen model's agreement with the target on the test part); per detector and method the
/// same detection metrics as for the evasion attacks (without the ones about success). A median with
/// nothing to take it over (no success, no stream flagged) is left out.
public enum QueryDetectionKind: ExperimentKind {
    public static let name = "query-detection"
    public static let summary = "attack a model through its queries and replay each client's stream through stateful detectors (k-NN, Blacklight, PRADA)"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles + (p.model.imported?.inputFiles ?? []) }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum AttackName: String, SpecEnum {
        case square
        case hopSkipJump = "hop_skip_jump"
    }
    public enum DetectorName: String, SpecEnum, CaseIterable { case knn, blacklight, prada }

    public struct AttackSpec: Sendable, Equatable {
        public var methods: [AttackName]
        public var inputs: Int
        public var queries: Int
        public var epsilon: Double
        public var steps: Int
        public var clip: [Double]
    }

    public enum ExtractionName: String, SpecEnum { case jacobian, knockoff }

    public struct ExtractionSpec: Sendable, Equatable {
        public var methods: [ExtractionName]
        public var clients: Int
        public var queries: Int
        public var seedSize: Int
        public var lambda: Double
        public var surrogate: ModelSpec?
    }

    public struct BenignSpec: Sendable, Equatable {
        public var streams: Int
        public var length: Int
    }

    public struct KNNSpec: Sendable, Equatable {
        public var k: Int
        public var falsePositiveRate: Double
        public var calibration: Int
        public var pooling: Int
        public var capacity: Int
    }

    public struct BlacklightSpec: Sendable, Equatable {
        public var quantizationStep: Int
        public var window: Int
        public var top: Int
        public var threshold: Int
        public var valueRange: Double
    }

    public struct PRADASpec: Sendable, Equatable {
        public var delta: Double
        public var minimumDistances: Int
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var attacks: AttackSpec
        public var benign: BenignSpec
        public var knn: KNNSpec?
        public var blacklight: BlacklightSpec?
        public var prada: PRADASpec?
        public var extraction: ExtractionSpec?
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        var data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data, imports: .attacked)
        if model.imported != nil {
            data = try ImportedModelSpec.data(data, section: body.section("data"), keepsEveryRecord: false)
        }
        let a = try body.section("attacks")
        let methods: [AttackName] = try a.optional("methods", default: [.square, .hopSkipJump])
        if methods.isEmpty { throw a.error("methods", "name at least one attack (square, hop_skip_jump)") }
        let clip: [Double] = try a.optional("clip", default: [0, 1])
        if clip.count != 2 || !(clip[0] < clip[1]) || !clip.allSatisfy(\.isFinite) {
            throw a.error("clip", "is [lower, upper] of the inputs' values with lower < upper, got \(clip)")
        }
        let attacks = AttackSpec(methods: methods,
                                 inputs: try a.optional("inputs", default: 10, in: 1...10_000),
                                 queries: try a.optional("queries", default: 1000, in: 10...1_000_000),
                                 epsilon: try a.optional("epsilon", default: 0.1, in: 1e-6...1000),
                                 steps: try a.optional("steps", default: 10, in: 1...1000),
                                 clip: clip)
        try a.finish()
        let b = try body.section("benign")
        let benign = BenignSpec(streams: try b.optional("streams", default: 10, in: 1...10_000),
                                length: try b.optional("length", default: 500, in: 1...1_000_000))
        try b.finish()
        let (streamProduct, overflow) = attacks.inputs.multipliedReportingOverflow(by: attacks.queries)
        if overflow || streamProduct > 100_000_000 {
            throw a.error("queries", "inputs × queries = \(attacks.inputs) × \(attacks.queries) exceeds the 100,000,000 queries a trial replays")
        }
        var extraction: ExtractionSpec?
        if body.contains("extraction") {
            let e = try body.section("extraction")
            let methods: [ExtractionName] = try e.optional("methods", default: [.jacobian, .knockoff])
            if methods.isEmpty { throw e.error("methods", "name at least one extraction attack (jacobian, knockoff)") }
            let surrogate = e.contains("surrogate") ? try ModelSpec.decode(e.section("surrogate"), for: data) : nil
            if surrogate == nil && model.imported != nil {
                throw e.error("surrogate", "is required with an imported model: the stolen model's architecture (a model section)")
            }
            extraction = ExtractionSpec(methods: methods,
                                        clients: try e.optional("clients", default: 5, in: 1...1000),
                                        queries: try e.optional("queries", default: 1000, in: 10...100_000),
                                        seedSize: try e.optional("seed_size", default: 10, in: 1...100_000),
                                        lambda: try e.optional("lambda", default: 0.1, in: 1e-6...100),
                                        surrogate: surrogate)
            if extraction!.seedSize > extraction!.queries {
                throw e.error("seed_size", "the seed (\(extraction!.seedSize)) is queried first and cannot exceed queries (\(extraction!.queries))")
            }
            try e.finish()
        }
        var knn: KNNSpec? = nil, blacklight: BlacklightSpec? = nil, prada: PRADASpec? = nil
        let d = try body.section("detectors")
        let named = DetectorName.allCases.filter { d.contains($0.rawValue) }
        for name in named.isEmpty ? DetectorName.allCases : named {
            let s = try d.section(name.rawValue)
            switch name {
            case .knn:
                knn = KNNSpec(k: try s.optional("k", default: 50, in: 1...1000),
                              falsePositiveRate: try s.optional("false_positive_rate", default: 0.001, in: 0.0001...0.5),
                              calibration: try s.optional("calibration", default: 2000, in: 2...20_000),
                              pooling: try s.optional("pooling", default: 2, in: 1...64),
                              capacity: try s.optional("capacity", default: 10_000, in: 1...1_000_000))
                if knn!.k >= knn!.calibration { throw s.error("k", "must be smaller than calibration (\(knn!.calibration)), got \(knn!.k)") }
                if knn!.capacity < knn!.k { throw s.error("capacity", "must hold at least k (\(knn!.k)) queries, got \(knn!.capacity)") }
            case .blacklight:
                blacklight = BlacklightSpec(quantizationStep: try s.optional("quantization_step", default: 50, in: 1...255),
                                            window: try s.optional("window", default: 50, in: 1...1_000_000),
                                            top: try s.optional("top", default: 50, in: 1...10_000),
                                            threshold: try s.optional("threshold", default: 25, in: 1...10_000),
                                            valueRange: try s.optional("value_range", default: clip[1], in: 1e-6...1e6))
                if blacklight!.threshold > blacklight!.top { throw s.error("threshold", "cannot exceed top (\(blacklight!.top)), got \(blacklight!.threshold)") }
            case .prada:
                prada = PRADASpec(delta: try s.optional("delta", default: 0.9, in: 0.01...0.9999),
                                  minimumDistances: try s.optional("minimum_distances", default: 100, in: 3...1_000_000))
            }
            try s.finish()
        }
        try d.finish()
        return Parameters(data: data, model: model, attacks: attacks, benign: benign, knn: knn, blacklight: blacklight, prada: prada,
                          extraction: extraction)
    }
}

/// A model behind a recorder: every row it is asked about, and the label it answered, in order —
/// the stream a served model would log for one client.
final class RecordedQueries<Model: ProbabilityAccess>: ProbabilityAccess, @unchecked Sendable {
    let model: Model
    private let lock = NSLock()
    private(set) var rows: [Float] = []
    private(set) var answers: [Int] = []

    init(_ model: Model) { self.model = model }
    var classCount: Int { model.classCount }

    func probabilities(for inputs: Tensor) -> Tensor {
        let p = model.probabilities(for: inputs)
        record(inputs, labels: p.argmaxRows())
        return p
    }

    func predictedLabels(for inputs: Tensor) -> [Int] {
        let labels = model.predictedLabels(for: inputs)
        record(inputs, labels: labels)
        return labels
    }

    private func record(_ inputs: Tensor, labels: [Int]) {
        lock.lock()
        rows += inputs.scalars
        answers += labels
        lock.unlock()
    }
}

extension Tensor {
    /// The index of the largest value of each row of a [n, classes] tensor (the first on ties).
    func argmaxRows() -> [Int] {
        let n = shape[0], c = shape[1], s = scalars
        return (0..<n).map { i in
            var best = 0
            for k in 1..<Swift.max(c, 1) where s[i * c + k] > s[i * c + best] { best = k }
            return best
        }
    }
}

extension QueryDetectionKind {
    /// The extraction clients' streams through every detector (see the kind's documentation).
    static func extractionMetrics<Model: ProbabilityAccess>(_ model: Model, _ p: Parameters, _ e: ExtractionSpec, detectors: [Detector],
                                                           train: LabeledData, test: LabeledData, clean: [Int],
                                                           context: TrialContext) throws -> [Metric] {
        let spec = e.surrogate ?? p.model
        let recipe = SequentialRecipe(inputShape: train.sampleShape, layers: try spec.layers(inputShape: train.sampleShape, classes: train.classCount),
                                      configuration: spec.training)
        guard train.count >= e.queries else {
            throw DataSpecError("extraction.queries: \(e.queries) pool rows asked per client, the data's training part has \(train.count)")
        }
        let pool = train.featureTensor, xTest = test.featureTensor
        func median(_ v: [Double]) -> Double? {
            let s = v.sorted()
            guard !s.isEmpty else { return nil }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        var metrics: [Metric] = []
        for method in e.methods {
            context.progress("\(method.rawValue): \(e.clients) extraction clients of up to \(e.queries) queries each")
            var outcomes = [[StreamOutcome]](repeating: [], count: detectors.count)
            var queries: [Double] = [], fidelities: [Double] = []
            for c in 0..<e.clients {
                let recorder = RecordedQueries(model)
                let random = context.random.stream("extraction/\(method.rawValue)/\(c)")
                var draw = random.stream("pool")
                let stolen: StolenModel<Sequential>
                switch method {
                case .jacobian:
                    let seed = pool.gatheringRows(Array(draw.permutation(train.count).prefix(e.seedSize)))
                    stolen = try JacobianAugmentation(rounds: ExtractionKind.maximumJacobianRounds, lambda: Float(e.lambda), maximumQueries: e.queries,
                                                      targets: .labels, lower: Float(p.attacks.clip[0]), upper: Float(p.attacks.clip[1]))
                        .extract(recorder, seed: seed, recipe: recipe, random: random).last!
                case .knockoff:
                    let transfer = pool.gatheringRows(Array(draw.permutation(train.count).prefix(e.queries)))
                    stolen = try KnockoffExtraction(budgets: [e.queries], sampling: .random, targets: .labels)
                        .extract(recorder, transferSet: transfer, recipe: recipe, random: random).last!
                }
                queries.append(Double(recorder.answers.count))
                let predicted = stolen.model.predictedLabels(for: xTest)
                fidelities.append(Double(zip(predicted, clean).filter { $0 == $1 }.count) / Double(max(1, clean.count)))
                for (k, detector) in detectors.enumerated() { outcomes[k].append(try detector.replay(recorder.rows, recorder.answers)) }
            }
            let part = method.rawValue
            metrics.append(Metric(part: part, "median_queries", median(queries)!))
            metrics.append(Metric(part: part, "median_fidelity", median(fidelities)!))
            for (k, detector) in detectors.enumerated() {
                let summary = DetectionSummary(outcomes[k])
                let dpart = "\(detector.name.rawValue)/\(part)"
                metrics.append(Metric(part: dpart, "detection_rate", summary.detectionRate))
                if let m = summary.medianQueriesToDetection { metrics.append(Metric(part: dpart, "median_queries_to_detection", m)) }
                metrics.append(Metric(part: dpart, "flagged_query_rate", summary.flaggedQueryRate))
            }
        }
        return metrics
    }

    enum Detector {
        case knn(StatefulKNNDetector), blacklight(Blacklight), prada(PRADA)
        var name: DetectorName {
            switch self { case .knn: .knn; case .blacklight: .blacklight; case .prada: .prada }
        }
        func replay(_ rows: [Float], _ answers: [Int]) throws -> StreamOutcome {
            switch self {
            case .knn(var d): return try d.replay(queries: rows, answers: answers)
            case .blacklight(var d): return try d.replay(queries: rows, answers: answers)
            case .prada(var d): return try d.replay(queries: rows, answers: answers)
            }
        }
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        if let imported = p.model.imported {
            let model = try imported.load(for: test, dataDescription: p.data.canonical)
            return try await evaluate(model, p, train: train, test: test, metrics: model.testMetrics(test, part: "target"), artifacts: [], context: context)
        }
        let target = try await TargetModel.train(data: p.data, model: p.model, train: train, stream: "target", context: context)
        return try await evaluate(target.model, p, train: train, test: test, metrics: target.metrics(train: train, test: test, part: "target"),
                                  artifacts: [target.artifact], context: context)
    }

    static func detectors(_ p: Parameters, train: LabeledData, context: TrialContext) throws -> [Detector] {
        let width = train.featureCount
        var out: [Detector] = []
        if let s = p.knn {
            let shape = train.sampleShape
            let encoder: QueryEncoder = shape.count == 3 && s.pooling > 1
                ? .averagePooling(height: shape[1], width: shape[2], channels: shape[0], factor: s.pooling)
                : .identity(width: width)
            guard train.count >= s.calibration else {
                throw DataSpecError("detectors.knn.calibration: \(s.calibration) rows asked, the data's training part has \(train.count)")
            }
            var draw = context.random.stream("detectors/knn/calibration")
            let rows = Array(draw.permutation(train.count).prefix(s.calibration)).flatMap { i in train.features[i * width..<(i + 1) * width] }
            let threshold = try StatefulKNNDetector.calibrate(benign: rows, k: s.k, falsePositiveRate: s.falsePositiveRate, encoder: encoder)
            out.append(.knn(try StatefulKNNDetector(k: s.k, threshold: threshold, capacity: s.capacity, encoder: encoder)))
        }
        if let s = p.blacklight {
            guard s.window <= width else {
                throw DataSpecError("detectors.blacklight.window: \(s.window) values, but an input has \(width)")
            }
            out.append(.blacklight(try Blacklight(inputWidth: width, quantizationStep: s.quantizationStep, window: s.window, top: s.top,
                                                  threshold: s.threshold, valueRange: Float(s.valueRange))))
        }
        if let s = p.prada {
            out.append(.prada(try PRADA(inputWidth: width, delta: s.delta, minimumDistances: s.minimumDistances)))
        }
        return out
    }

    static func evaluate<Model: ProbabilityAccess>(_ model: Model, _ p: Parameters, train: LabeledData, test: LabeledData, metrics base: [Metric],
                                                   artifacts: [ArtifactReference], context: TrialContext) async throws -> TrialOutcome {
        let detectors = try detectors(p, train: train, context: context)
        var metrics = base
        let width = test.featureCount
        let x = test.featureTensor, y = test.intLabels
        let clean = model.predictedLabels(for: x)
        let correct = (0..<test.count).filter { clean[$0] == y[$0] }
        guard correct.count >= p.attacks.inputs else {
            throw DataSpecError("attacks.inputs: \(p.attacks.inputs) correctly classified test inputs asked, the model classifies \(correct.count) correctly")
        }
        let chosen = Array(correct.prefix(p.attacks.inputs))
        let domain = InputDomain(lower: Float(p.attacks.clip[0]), upper: Float(p.attacks.clip[1]))
        func median(_ v: [Double]) -> Double? {
            let s = v.sorted()
            guard !s.isEmpty else { return nil }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }

        for method in p.attacks.methods {
            context.progress("\(method.rawValue): attacking \(chosen.count) inputs, one client stream each")
            var outcomes = [[StreamOutcome]](repeating: [], count: detectors.count)
            var successes = 0, queries: [Double] = [], perturbations: [Double] = []
            var stopped = [Int](repeating: 0, count: detectors.count)
            var heldWhenBlocked = [[Double]](repeating: [], count: detectors.count)
            for (n, i) in chosen.enumerated() {
                let input = Tensor(shape: [1] + Array(x.shape.dropFirst()), scalars: Array(x.scalars[i * width..<(i + 1) * width]))
                let recorder = RecordedQueries(model)
                let random = context.random.stream("attacks/\(method.rawValue)/\(n)")
                // Queries until the attack first held an adversarial input: after that, blocking
                // the client no longer stops it.
                let success: Bool, spent: Int, untilSuccess: Int?, perturbation: Double
                switch method {
                case .square:
                    let run = SquareAttack(epsilon: Float(p.attacks.epsilon), maximumQueries: p.attacks.queries, domain: domain)
                        .run(input, labels: [y[i]], goal: .untargeted, model: recorder, random: random)
                    success = run.success[0]
                    spent = recorder.answers.count
                    untilSuccess = success ? recorder.answers.firstIndex(where: { $0 != y[i] }).map { $0 + 1 } : nil
                    perturbation = Double(PerturbationNorm.linf.perExample(withoutGradients { run.adversarial - input })[0])
                case .hopSkipJump:
                    let run = HopSkipJump(iterations: p.attacks.steps, maximumQueries: p.attacks.queries, domain: domain)
                        .run(input, labels: [y[i]], goal: .untargeted, model: recorder, random: random)
                    success = run.success[0]
                    spent = recorder.answers.count
                    untilSuccess = success ? recorder.answers.firstIndex(where: { $0 != y[i] }).map { $0 + 1 } : nil
                    perturbation = Double(run.distances[0])
                }
                if success { successes += 1; perturbations.append(perturbation) }
                queries.append(Double(spent))
                // The attacker's best adversarial input after each query: the smallest perturbation
                // (in the attack's norm) among the queries answered with another label so far.
                let norm: PerturbationNorm = method == .square ? .linf : .l2
                var best = [Double](repeating: .infinity, count: recorder.answers.count + 1)
                for j in 0..<recorder.answers.count {
                    best[j + 1] = best[j]
                    if recorder.answers[j] != y[i] {
                        let q = Tensor(shape: input.shape, scalars: Array(recorder.rows[j * width..<(j + 1) * width]))
                        best[j + 1] = min(best[j], Double(norm.perExample(withoutGradients { q - input })[0]))
                    }
                }
                for (k, detector) in detectors.enumerated() {
                    let outcome = try detector.replay(recorder.rows, recorder.answers)
                    outcomes[k].append(outcome)
                    if let first = outcome.firstDetection, first < (untilSuccess ?? Int.max) { stopped[k] += 1 }
                    // Blocked at its first flagged query, the client keeps what the queries before it found.
                    heldWhenBlocked[k].append(best[(outcome.firstDetection ?? recorder.answers.count + 1) - 1])
                }
            }
            let part = method.rawValue
            metrics.append(Metric(part: part, "success_rate", Double(successes) / Double(chosen.count)))
            metrics.append(Metric(part: part, "median_queries", median(queries)!))
            // Undefined medians (no success, no detection) are left out rather than stored.
            if let m = median(perturbations) { metrics.append(Metric(part: part, "median_perturbation", m)) }
            for (k, detector) in detectors.enumerated() {
                let summary = DetectionSummary(outcomes[k])
                let dpart = "\(detector.name.rawValue)/\(part)"
                metrics.append(Metric(part: dpart, "detection_rate", summary.detectionRate))
                if let m = summary.medianQueriesToDetection { metrics.append(Metric(part: dpart, "median_queries_to_detection", m)) }
                metrics.append(Metric(part: dpart, "stopped_before_success", Double(stopped[k]) / Double(chosen.count)))
                metrics.append(Metric(part: dpart, "median_perturbation_when_blocked", median(heldWhenBlocked[k])!))
                metrics.append(Metric(part: dpart, "flagged_query_rate", summary.flaggedQueryRate))
            }
        }

        if let e = p.extraction {
            metrics += try extractionMetrics(model, p, e, detectors: detectors, train: train, test: test, clean: clean, context: context)
        }

        context.progress("benign: \(p.benign.streams) client streams of \(p.benign.length) distinct test inputs")
        guard test.count >= p.benign.length else {
            throw DataSpecError("benign.length: streams of \(p.benign.length) distinct inputs asked, the data's test part has \(test.count)")
        }
        var benign = [[StreamOutcome]](repeating: [], count: detectors.count)
        for s in 0..<p.benign.streams {
            var draw = context.random.stream("benign/\(s)")
            let order = Array(draw.permutation(test.count).prefix(p.benign.length))
            let rows = order.flatMap { i in test.features[i * width..<(i + 1) * width] }
            let answers = order.map { clean[$0] }
            for (k, detector) in detectors.enumerated() { benign[k].append(try detector.replay(rows, answers)) }
        }
        for (k, detector) in detectors.enumerated() {
            let summary = DetectionSummary(benign[k])
            let dpart = "\(detector.name.rawValue)/benign"
            metrics.append(Metric(part: dpart, "false_positive_rate", summary.detectionRate))
            metrics.append(Metric(part: dpart, "flagged_query_rate", summary.flaggedQueryRate))
        }
        return TrialOutcome(metrics: metrics, series: [], artifacts: artifacts)
    }
}
