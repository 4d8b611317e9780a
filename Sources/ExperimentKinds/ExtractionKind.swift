import AttackMetrics
import Datasets
import Evasion
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import MembershipInference
import ModelAccess
import ModelEndpoint
import ModelExtraction
import NeuralNetworks
import Tensors
import ThreatTraining

/// Kind `extraction`: trains a victim, hardens its answers under each output policy, steals it
/// with Knockoff Nets and Jacobian-based augmentation at several query budgets, and uses the
/// stolen models as shadow models for membership inference and as surrogates for a transfer
/// attack.
///
/// ```yaml
/// kind: extraction
/// data: {dataset: mnist, limit: 6000, test_limit: 1000}
/// victim: {architecture: mlp, hidden: [128], epochs: 10}        # a model section
/// surrogate: {architecture: mlp, hidden: [128], epochs: 30}     # default: the victim's section
/// transfer_data: {dataset: fashion-mnist, limit: 3000}          # optional knockoff pool (its training part)
/// extraction: {victim_examples: 2000, methods: [knockoff, jacobian], budgets: [100, 300, 1000],
///              targets: probabilities, sampling: random, round_size: 50, bandit_rate: 0.5,
///              seed_size: 100, lambda: 0.1, sign_flip_period: 3, reservoir_start: 3, reservoir_size: 400,
///              clip: [0, 1]}                                   # the input domain
/// outputs: [full, top-1, round-1, label-only]
/// membership: {examples: 300, attack_epochs: 40}               # optional
/// transfer_attack: {epsilon: 0.2, steps: 20, step_size: 0.02, examples: 300}   # optional
/// ```
///
/// The training part is split at random (stream "split"): the victim trains on its first
/// `victim_examples` rows; with `membership`, the next 2 × `membership.examples` rows are held out
/// (the audited non-members, then the shadow's OUT records: rows of the victim's distribution it
/// never saw, where the test part of MNIST would not do, its confidence profile differing from the
/// training part's); the attacker's pool is the rest, or the training part of
/// `transfer_data` when given (inputs of the same shape; its own labels are only the groups of
/// adaptive sampling). Knockoff (`sampling: random | adaptive`) queries the pool; Jacobian
/// augmentation starts from `seed_size` pool rows and stops at the largest budget.
///
/// Output policies (`OutputPolicy`): `full`, `top-k` (renormalised), `top-k-raw` (not),
/// `round-d` (d decimals), `label-only`. For each policy P, part `output/P` reports the utility of
/// the hardened answers on the test part: `accuracy` (of their argmax), `ece` (expected
/// calibration error, 15 bins, of the renormalised top probability) and `brier`. For each method
/// M, parts `M/P` report `fidelity@b` (agreement with the victim's unhardened labels on the test
/// part), `accuracy@b` (test accuracy) and `queries@b` (the queries the surrogate of budget b
/// used: Jacobian's rounds grow by steps, so it is the last round within b), and `queries` (all
/// the victim answered, counted by `QueryCountingModel`).
///
/// `membership` audits `examples` of the victim's training rows against as many held-out rows:
/// `mia-confidence/P` scores each by the hardened probability of its true class, and
/// `mia-stolen-shadow/P` runs Shokri et al.'s shadow attack (`ShadowModelAttack`, attack models of
/// `attack_epochs`) with the stolen model of the first method's largest budget under P as the
/// shadow model: its IN records are up to `examples` of its queries, its OUT records the second
/// held-out rows, grouped by its own predicted class; both sides' outputs are hardened by P.
/// Reported: `auc`, `tpr@0.01`, `tpr@0.001`.
///
/// `transfer_attack` runs L∞ PGD (no random start) on the first `examples` test rows against each
/// method's largest-budget stolen model under each policy, and reports on the victim
/// `transfer-M/P.success` (the share of the inputs the victim classified correctly that it
/// misclassifies after the attack) and `transfer-M/P.surrogate_success` (the same on the stolen
/// model itself); `transfer-whitebox.success` attacks the victim with its own gradients.
///
/// A live victim: `victim: {endpoint: "http://HOST:PORT", token_env: VAR}` (`EndpointSpec`)
/// steals the model behind a prediction endpoint (`privacy-lab serve`) over HTTP instead of
/// training one. Then `surrogate` is required, the whole training part is the attacker's pool
/// (`victim_examples` is not used), part `victim` reports `test_accuracy` and `test_queries` (the
/// endpoint's answers on the test part, which fidelity compares against), each policy hardens
/// the endpoint's answers further (a label-only token stays label-only), `membership` and the
/// white-box transfer baseline are refused (the victim's training rows and gradients are not
/// known), and an endpoint that stops answering (budget spent, client blocked) fails the trial
/// with its refusal and the number of queries it answered.
public enum ExtractionKind: ExperimentKind {
    public static let name = "extraction"
    public static let summary = "steal a victim (Knockoff, Jacobian augmentation) under output hardening; fidelity and accuracy vs queries; stolen models as shadows and surrogates"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles + (p.transferData?.inputFiles ?? []) }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints + (p.transferData?.inputFingerprints ?? []) }

    public enum MethodName: String, SpecEnum { case knockoff, jacobian }
    public enum SamplingName: String, SpecEnum { case random, adaptive }
    public enum TargetsName: String, SpecEnum { case labels, probabilities }

    public struct ExtractionSpec: Sendable, Equatable {
        public var victimExamples: Int
        public var methods: [MethodName]
        public var budgets: [Int]
        public var targets: TargetsName
        public var sampling: SamplingName
        public var roundSize: Int
        public var banditRate: Double
        public var seedSize: Int
        public var lambda: Double
        public var signFlipPeriod: Int?
        public var reservoirStart: Int?
        public var reservoirSize: Int?
        /// The input domain [lower, upper]: Jacobian's new points and the transfer attack's
        /// inputs are clipped to it.
        public var clip: [Double]
    }

    public struct MembershipSpec: Sendable, Equatable {
        public var examples: Int
        public var attackEpochs: Int
    }

    public struct TransferAttackSpec: Sendable, Equatable {
        public var epsilon: Double
        public var steps: Int
        public var stepSize: Double
        public var examples: Int
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        /// The victim's model section, or nil for a victim behind `endpoint`.
        public var victim: ModelSpec?
        public var endpoint: EndpointSpec?
        public var surrogate: ModelSpec
        public var transferData: DataSpec?
        public var extraction: ExtractionSpec
        public var outputs: [OutputPolicy]
        public var membership: MembershipSpec?
        public var transferAttack: TransferAttackSpec?
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let victimSection = try body.section("victim")
        var victim: ModelSpec?, endpoint: EndpointSpec?
        if victimSection.contains("endpoint") {
            endpoint = try EndpointSpec.decode(victimSection)
            guard body.contains("surrogate") else {
                throw body.error("victim", "names an endpoint, whose architecture the lab does not know: give the stolen model's in surrogate")
            }
            for key in ["membership"] where body.contains(key) {
                throw body.error(key, "audits the victim's training rows, which the lab does not know for a victim behind an endpoint")
            }
        } else {
            victim = try ModelSpec.decode(victimSection, for: data)
        }
        let surrogate = body.contains("surrogate") ? try ModelSpec.decode(body.section("surrogate"), for: data) : victim!
        let transferData = body.contains("transfer_data") ? try DataSpec.decode(body.section("transfer_data")) : nil
        let extraction = try ExtractionSpec.decode(body.section("extraction"))
        var outputs: [OutputPolicy] = [.full]
        if body.contains("outputs") {
            let names: [String] = try body.required("outputs")
            guard !names.isEmpty else { throw body.error("outputs", "name at least one output policy (full, top-k, top-k-raw, round-d, label-only)") }
            outputs = []
            for name in names {
                guard let policy = OutputPolicy(name: name) else {
                    throw body.error("outputs", "'\(name)' is not an output policy; use full, top-k or top-k-raw (k ≥ 1), round-d (0 ≤ d ≤ 8) or label-only")
                }
                if outputs.contains(policy) { throw body.error("outputs", "'\(name)' is named twice") }
                outputs.append(policy)
            }
        }
        var membership: MembershipSpec?
        if body.contains("membership") {
            let m = try body.section("membership")
            membership = MembershipSpec(examples: try m.optional("examples", default: 300, in: 10...100_000),
                                        attackEpochs: try m.optional("attack_epochs", default: 40, in: 1...10_000))
            try m.finish()
        }
        var transferAttack: TransferAttackSpec?
        if body.contains("transfer_attack") {
            let t = try body.section("transfer_attack")
            transferAttack = TransferAttackSpec(epsilon: try t.optional("epsilon", default: 0.2, in: 1e-6...1000),
                                                steps: try t.optional("steps", default: 20, in: 1...100_000),
                                                stepSize: try t.optional("step_size", default: 0.02, in: 1e-8...1000),
                                                examples: try t.optional("examples", default: 300, in: 1...100_000))
            try t.finish()
        }
        return Parameters(data: data, victim: victim, endpoint: endpoint, surrogate: surrogate, transferData: transferData, extraction: extraction,
                          outputs: outputs, membership: membership, transferAttack: transferAttack)
    }
}

extension ExtractionKind.ExtractionSpec {
    /// Reads an `extraction:` section.
    public static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let methods: [ExtractionKind.MethodName] = try r.optional("methods", default: [.knockoff])
        guard !methods.isEmpty else { throw r.error("methods", "name at least one extraction method (knockoff, jacobian)") }
        if Set(methods).count != methods.count { throw r.error("methods", "a method is named twice: \(methods.map(\.rawValue))") }
        let budgets: [Int] = try r.optional("budgets", default: [100, 300, 1000])
        guard !budgets.isEmpty else { throw r.error("budgets", "give at least one query budget") }
        if let bad = budgets.first(where: { $0 < 1 || $0 > 1_000_000 }) { throw r.error("budgets", "budgets must lie in 1…1000000, got \(bad)") }
        guard zip(budgets, budgets.dropFirst()).allSatisfy({ $0 < $1 }) else { throw r.error("budgets", "list the budgets in ascending order without repeats, got \(budgets)") }
        let spec = Self(
            victimExamples: try r.optional("victim_examples", default: 2000, in: 10...10_000_000),
            methods: methods, budgets: budgets,
            targets: try r.optional("targets", default: .probabilities),
            sampling: try r.optional("sampling", default: .random),
            roundSize: try r.optional("round_size", default: 50, in: 1...100_000),
            banditRate: try r.optional("bandit_rate", default: 0.5, in: 1e-6...100),
            seedSize: try r.optional("seed_size", default: 100, in: 1...1_000_000),
            lambda: try r.optional("lambda", default: 0.1, in: 1e-6...100),
            signFlipPeriod: try r.optional("sign_flip_period").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 1 else { throw r.error("sign_flip_period", "τ must be ≥ 1, got \(v)") }; return v },
            reservoirStart: try r.optional("reservoir_start").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 0 else { throw r.error("reservoir_start", "σ must be ≥ 0, got \(v)") }; return v },
            reservoirSize: try r.optional("reservoir_size").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 1 else { throw r.error("reservoir_size", "κ must be ≥ 1, got \(v)") }; return v },
            clip: try r.optional("clip", default: [0, 1]))
        guard spec.clip.count == 2, spec.clip[0] < spec.clip[1] else { throw r.error("clip", "expected [lower, upper] with lower < upper, got \(spec.clip)") }
        if (spec.reservoirStart == nil) != (spec.reservoirSize == nil) {
            throw r.error(spec.reservoirStart == nil ? "reservoir_size" : "reservoir_start",
                          "reservoir sampling needs both reservoir_start (σ) and reservoir_size (κ)")
        }
        if methods.contains(.jacobian) && spec.seedSize > budgets.last! {
            throw r.error("seed_size", "the Jacobian seed set (\(spec.seedSize)) is larger than the largest budget (\(budgets.last!))")
        }
        try r.finish()
        return spec
    }
}

extension ExtractionKind {
    /// The most rounds Jacobian augmentation may run (without a reservoir, S doubles each round).
    static let maximumJacobianRounds = 64

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let e = p.extraction
        if let endpoint = p.endpoint {
            return try await runAgainstEndpoint(p, endpoint, train: train, test: test, context: context)
        }
        guard let victimSpec = p.victim else { throw DataSpecError("victim: a model section or an endpoint is required") }
        guard train.count > e.victimExamples else {
            throw DataSpecError("extraction.victim_examples: \(e.victimExamples) rows asked for the victim, the training part has \(train.count) (the rest is the attacker's pool)")
        }
        // The training part: the victim's rows, then (for membership) the audited non-members and
        // the shadow's OUT records, then the attacker's pool.
        let held = p.membership.map { 2 * $0.examples } ?? 0
        guard train.count > e.victimExamples + held else {
            throw DataSpecError("extraction.victim_examples: \(e.victimExamples) rows for the victim and \(held) held out for membership leave no pool in the training part's \(train.count) rows")
        }
        var split = context.random.stream("split")
        let order = split.permutation(train.count)
        let victimRows = train.subset(Array(order.prefix(e.victimExamples)))
        let heldOut = train.subset(Array(order.dropFirst(e.victimExamples).prefix(held)))
        var pool = train.subset(Array(order.dropFirst(e.victimExamples + held)))
        if let transfer = p.transferData {
            pool = try await transfer.load(from: context.dataDirectory, cache: context.datasets, random: context.random.stream("transfer-data")).train
            guard pool.sampleShape == train.sampleShape else {
                throw DataSpecError("transfer_data: its inputs have shape \(pool.sampleShape), the victim takes \(train.sampleShape)")
            }
        }
        let largest = e.budgets.last!
        if e.methods.contains(.knockoff) && pool.count < largest {
            throw DataSpecError("extraction.budgets: the knockoff pool has \(pool.count) inputs, fewer than the largest budget \(largest)")
        }
        if e.methods.contains(.jacobian) && pool.count < e.seedSize {
            throw DataSpecError("extraction.seed_size: \(e.seedSize) seed inputs asked, the pool has \(pool.count)")
        }
        if let m = p.membership, victimRows.count < m.examples {
            throw DataSpecError("membership.examples: \(m.examples) members asked, the victim trains on \(victimRows.count) rows")
        }

        context.progress("training the victim on \(victimRows.count) rows")
        let trained = try await TargetModel.train(data: p.data, model: victimSpec, train: victimRows, stream: "victim", context: context,
                                                  role: "victim-model")
        let victim = trained.model
        var metrics = trained.metrics(train: victimRows, test: test, part: "victim")
        let xTest = test.featureTensor, yTest = test.intLabels
        let victimTestLabels = victim.predictedLabels(for: xTest)
        let (stolenMetrics, series, finalStolen) = try steal(victim, p, train: train, pool: pool, test: test,
                                                             victimTestLabels: victimTestLabels, context: context)
        metrics += stolenMetrics
        if let m = p.membership {
            metrics += try membershipMetrics(m, victim: victim, victimRows: victimRows, heldOut: heldOut, outputs: p.outputs,
                                             shadows: finalStolen[e.methods[0]]!, context: context)
        }
        if let t = p.transferAttack {
            metrics += transferMetrics(t, p, victim: victim, whitebox: victim, test: test, stolen: finalStolen, context: context)
        }
        return TrialOutcome(metrics: metrics, series: series, artifacts: [])
    }

    /// A trial against a victim behind a prediction endpoint (see the kind's documentation).
    static func runAgainstEndpoint(_ p: Parameters, _ endpoint: EndpointSpec, train: LabeledData, test: LabeledData,
                                   context: TrialContext) async throws -> TrialOutcome {
        var pool = train
        if let transfer = p.transferData {
            pool = try await transfer.load(from: context.dataDirectory, cache: context.datasets, random: context.random.stream("transfer-data")).train
        }
        let victim = try endpoint.connect()
        let width = train.sampleShape.reduce(1, *)
        guard victim.inputShape.reduce(1, *) == width, pool.sampleShape == train.sampleShape else {
            throw EndpointError("\(endpoint.url.absoluteString) takes inputs of shape \(victim.inputShape), the data's rows have shape \(train.sampleShape)\(pool.sampleShape == train.sampleShape ? "" : " and transfer_data's \(pool.sampleShape)")")
        }
        guard victim.classCount == train.classCount else {
            throw EndpointError("\(endpoint.url.absoluteString) answers \(victim.classCount) classes, the data has \(train.classCount)")
        }
        let e = p.extraction
        if e.methods.contains(.knockoff) && pool.count < e.budgets.last! {
            throw DataSpecError("extraction.budgets: the knockoff pool has \(pool.count) inputs, fewer than the largest budget \(e.budgets.last!)")
        }
        if e.methods.contains(.jacobian) && pool.count < e.seedSize {
            throw DataSpecError("extraction.seed_size: \(e.seedSize) seed inputs asked, the pool has \(pool.count)")
        }
        context.progress("asking \(endpoint.url.absoluteString) (output \(victim.output)) about the \(test.count) test inputs")
        let victimTestLabels = victim.predictedLabels(for: test.featureTensor)
        try victim.checkNotRefused("the victim's test answers")
        var metrics = [Metric(part: "victim", "test_accuracy", ExtractionMetrics.agreement(victimTestLabels, test.intLabels)),
                       Metric(part: "victim", "test_queries", Double(victim.queries))]
        let (stolenMetrics, series, finalStolen) = try steal(victim, p, train: train, pool: pool, test: test,
                                                             victimTestLabels: victimTestLabels, context: context)
        try victim.checkNotRefused("extraction")
        metrics += stolenMetrics
        if let t = p.transferAttack {
            metrics += transferMetrics(t, p, victim: victim, whitebox: nil, test: test, stolen: finalStolen, context: context)
            try victim.checkNotRefused("the transfer attacks")
        }
        metrics.append(Metric(part: "victim", "endpoint_queries", Double(victim.queries)))
        return TrialOutcome(metrics: metrics, series: series, artifacts: [])
    }

    /// Steals `victim` with every method under every output policy: the metrics and series of
    /// each `M/P` part (and `output/P`), and each method's largest-budget stolen model per policy.
    static func steal(_ victim: some ProbabilityAccess, _ p: Parameters, train: LabeledData, pool: LabeledData, test: LabeledData,
                      victimTestLabels: [Int], context: TrialContext) throws
        -> (metrics: [Metric], series: [Series], stolen: [MethodName: [OutputPolicy: StolenModel<Sequential>]]) {
        let e = p.extraction
        let largest = e.budgets.last!
        let xTest = test.featureTensor, yTest = test.intLabels
        let recipe = SequentialRecipe(inputShape: train.sampleShape,
                                      layers: try p.surrogate.layers(inputShape: train.sampleShape, classes: train.classCount),
                                      configuration: p.surrogate.training)
        let targets: SurrogateTargets = e.targets == .labels ? .labels : .probabilities
        let poolInputs = pool.featureTensor

        var series: [Series] = []
        var metrics: [Metric] = []
        // The stolen model of each method's largest budget, per policy.
        var finalStolen: [MethodName: [OutputPolicy: StolenModel<Sequential>]] = [:]
        for policy in p.outputs {
            let hardened = HardenedModel(victim, policy: policy)
            metrics += utilityMetrics(hardened, inputs: xTest, labels: yTest, part: "output/\(policy)")
            for method in e.methods {
                let part = "\(method.rawValue)/\(policy)"
                context.progress("\(part): stealing with budgets \(e.budgets)")
                let counted = QueryCountingModel(hardened)
                let random = context.random.stream("extraction/\(part)")
                let stolen: [StolenModel<Sequential>]
                switch method {
                case .knockoff:
                    let sampling: KnockoffExtraction.Sampling = e.sampling == .random ? .random : .adaptive(roundSize: e.roundSize, learningRate: e.banditRate)
                    stolen = try KnockoffExtraction(budgets: e.budgets, sampling: sampling, targets: targets)
                        .extract(counted, transferSet: poolInputs, groups: pool.intLabels, recipe: recipe, random: random)
                case .jacobian:
                    var draw = random.stream("seed")
                    let seed = poolInputs.gatheringRows(Array(draw.permutation(pool.count).prefix(e.seedSize)))
                    let reservoir = e.reservoirStart.map { JacobianAugmentation.Reservoir(startRound: $0, size: e.reservoirSize!) }
                    stolen = try JacobianAugmentation(rounds: maximumJacobianRounds, lambda: Float(e.lambda), signFlipPeriod: e.signFlipPeriod,
                                                      reservoir: reservoir, maximumQueries: largest, targets: targets,
                                                      lower: Float(e.clip[0]), upper: Float(e.clip[1]))
                        .extract(counted, seed: seed, recipe: recipe, random: random)
                }
                var fidelities: [Double] = [], budgetsReached: [Double] = []
                for budget in e.budgets {
                    guard let model = stolen.last(where: { $0.queries <= budget }) else { continue }
                    let predicted = model.model.predictedLabels(for: xTest)
                    let fidelity = ExtractionMetrics.agreement(predicted, victimTestLabels)
                    metrics += [Metric(part: part, "fidelity@\(budget)", fidelity),
                                Metric(part: part, "accuracy@\(budget)", ExtractionMetrics.agreement(predicted, yTest)),
                                Metric(part: part, "queries@\(budget)", Double(model.queries))]
                    fidelities.append(fidelity)
                    budgetsReached.append(Double(budget))
                }
                metrics.append(Metric(part: part, "queries", Double(counted.queries)))
                series.append(Series(name: "extraction.fidelity", label: part, x: budgetsReached, y: fidelities,
                                     xLabel: "queries", yLabel: "fidelity", logX: true))
                finalStolen[method, default: [:]][policy] = stolen.last!
            }
        }

        return (metrics, series, finalStolen)
    }

    /// The transfer attacks of `transfer_attack` (see the kind's documentation): PGD on each
    /// stolen model, judged by `victim`'s labels; with `whitebox`, the victim's own gradients too.
    static func transferMetrics(_ t: TransferAttackSpec, _ p: Parameters, victim: some LabelAccess, whitebox: Sequential?, test: LabeledData,
                                stolen finalStolen: [MethodName: [OutputPolicy: StolenModel<Sequential>]], context: TrialContext) -> [Metric] {
        let e = p.extraction
        let xTest = test.featureTensor, yTest = test.intLabels
        var metrics: [Metric] = []
        let n = min(t.examples, test.count)
        let x = batchRows(xTest, 0..<n), y = Array(yTest.prefix(n))
        let pgd = ProjectedGradientDescent(norm: .linf, epsilon: Float(t.epsilon), stepSize: Float(t.stepSize), steps: t.steps,
                                           domain: InputDomain(lower: Float(e.clip[0]), upper: Float(e.clip[1])))
        func success(_ adversarial: Tensor, on model: some LabelAccess) -> Double {
            let clean = model.predictedLabels(for: x), after = model.predictedLabels(for: adversarial)
            let correct = (0..<n).filter { clean[$0] == y[$0] }
            return correct.isEmpty ? 0 : Double(correct.filter { after[$0] != y[$0] }.count) / Double(correct.count)
        }
        func attack(_ model: Sequential, stream: String) -> Tensor {
            var chunks: [Float] = []
            for start in stride(from: 0, to: n, by: 100) {
                let r = start..<min(n, start + 100)
                chunks += pgd.perturb(batchRows(x, r), labels: Array(y[r]), goal: .untargeted, model: model,
                                      random: context.random.stream("\(stream)/\(start)")).scalars
            }
            return Tensor(shape: x.shape, scalars: chunks)
        }
        context.progress("transfer attacks: PGD ε = \(t.epsilon) on \(n) test inputs")
        if let whitebox {
            metrics.append(Metric(part: "transfer-whitebox", "success", success(attack(whitebox, stream: "transfer/whitebox"), on: whitebox)))
        }
        for method in e.methods {
            for policy in p.outputs {
                let surrogate = finalStolen[method]![policy]!.model
                let adversarial = attack(surrogate, stream: "transfer/\(method.rawValue).\(policy)")
                metrics += [Metric(part: "transfer-\(method.rawValue)/\(policy)", "success", success(adversarial, on: victim)),
                            Metric(part: "transfer-\(method.rawValue)/\(policy)", "surrogate_success", success(adversarial, on: surrogate))]
            }
        }
        return metrics
    }

    /// Accuracy, expected calibration error (15 equal-width bins of the renormalised top
    /// probability) and Brier score of the hardened answers.
    static func utilityMetrics(_ model: some ProbabilityAccess, inputs: Tensor, labels: [Int], part: String) -> [Metric] {
        let p = model.probabilities(for: inputs).scalars, c = model.classCount, n = labels.count
        var correct = 0, brier = 0.0
        var binCount = [Int](repeating: 0, count: 15), binConfidence = [Double](repeating: 0, count: 15), binCorrect = [Int](repeating: 0, count: 15)
        for i in 0..<n {
            let row = p[i * c..<(i + 1) * c].map(Double.init)
            let sum = row.reduce(0, +)
            var best = 0
            for j in 1..<c where row[j] > row[best] { best = j }
            let q = row.map { sum > 0 ? $0 / sum : 0 }
            let hit = best == labels[i]
            if hit { correct += 1 }
            for j in 0..<c { brier += (q[j] - (j == labels[i] ? 1 : 0)) * (q[j] - (j == labels[i] ? 1 : 0)) }
            let bin = min(14, Int(q[best] * 15))
            binCount[bin] += 1
            binConfidence[bin] += q[best]
            binCorrect[bin] += hit ? 1 : 0
        }
        var ece = 0.0
        for b in 0..<15 where binCount[b] > 0 {
            ece += Double(binCount[b]) / Double(n) * abs(binConfidence[b] / Double(binCount[b]) - Double(binCorrect[b]) / Double(binCount[b]))
        }
        return [Metric(part: part, "accuracy", Double(correct) / Double(n)), Metric(part: part, "ece", ece),
                Metric(part: part, "brier", brier / Double(n))]
    }

    /// log of the rows renormalised to sum to 1 (floored at 1e-30): logits whose softmax is the
    /// renormalised answer, what the shadow attack reads.
    static func logLikelihoods(_ probabilities: Tensor) -> Tensor {
        let c = probabilities.shape[1]
        var v = probabilities.scalars
        for i in 0..<probabilities.shape[0] {
            let sum = v[i * c..<(i + 1) * c].reduce(0, +)
            for j in 0..<c { v[i * c + j] = Foundation.log(max(sum > 0 ? v[i * c + j] / sum : 0, 1e-30)) }
        }
        return Tensor(shape: probabilities.shape, scalars: v)
    }

    /// The membership attacks of each policy (see the kind's documentation).
    static func membershipMetrics(_ m: MembershipSpec, victim: Sequential, victimRows: LabeledData, heldOut: LabeledData, outputs: [OutputPolicy],
                                  shadows: [OutputPolicy: StolenModel<Sequential>], context: TrialContext) throws -> [Metric] {
        let members = victimRows.prefix(m.examples)
        let nonMembers = heldOut.prefix(m.examples)
        let audited = stacked(members.featureTensor, nonMembers.featureTensor)
        let labels = members.intLabels + nonMembers.intLabels
        let isMember = (0..<labels.count).map { $0 < m.examples }
        let outside = heldOut.subset(Array(m.examples..<(2 * m.examples))).featureTensor
        var metrics: [Metric] = []
        func report(_ scores: [Double], part: String) throws {
            let evaluation = try AttackEvaluation(scores: scores, isMember: isMember, targets: [0.01, 0.001])
            metrics += [Metric(part: part, "auc", evaluation.auc),
                        Metric(part: part, "tpr@0.01", evaluation.truePositiveRate(atFalsePositiveRate: 0.01) ?? 0),
                        Metric(part: part, "tpr@0.001", evaluation.truePositiveRate(atFalsePositiveRate: 0.001) ?? 0)]
        }
        for policy in outputs {
            context.progress("membership inference under \(policy)")
            let answers = HardenedModel(victim, policy: policy).probabilities(for: audited)
            let c = victim.classCount
            try report((0..<labels.count).map { Double(answers.scalars[$0 * c + labels[$0]]) }, part: "mia-confidence/\(policy)")
            // The stolen model as Shokri et al.'s shadow: IN = its queries, OUT = held-out rows never audited.
            let shadow = shadows[policy]!
            let inCount = min(m.examples, shadow.trainingInputs.shape[0])
            let observed = stacked(batchRows(shadow.trainingInputs, 0..<inCount), outside)
            let hardenedShadow = HardenedModel(shadow.model, policy: policy)
            let shadowMembership = MembershipMatrix(modelCount: 1, exampleCount: observed.shape[0],
                                                    bits: (0..<observed.shape[0]).map { $0 < inCount })
            let options = ShadowModelAttack.Options(features: .logProbabilities, epochs: m.attackEpochs)
            let scores = try ShadowModelAttack.scores(
                targetLogits: logLikelihoods(answers), labels: labels,
                shadowLogits: [logLikelihoods(hardenedShadow.probabilities(for: observed))], shadowLabels: shadow.model.predictedLabels(for: observed),
                shadowMembership: shadowMembership, options: options, trainer: ShadowModelAttack.NetworkTrainer(),
                random: context.random.stream("membership/\(policy)"))
            try report(scores, part: "mia-stolen-shadow/\(policy)")
        }
        return metrics
    }
}

/// Rows `range` of a batch, in order.
private func batchRows(_ t: Tensor, _ range: Range<Int>) -> Tensor {
    let d = t.shape.dropFirst().reduce(1, *)
    return Tensor(shape: [range.count] + t.shape.dropFirst(), scalars: Array(t.scalars[range.lowerBound * d..<range.upperBound * d]))
}

/// Two batches of one per-sample shape, one after the other.
private func stacked(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor(shape: [a.shape[0] + b.shape[0]] + a.shape.dropFirst(), scalars: a.scalars + b.scalars)
}
