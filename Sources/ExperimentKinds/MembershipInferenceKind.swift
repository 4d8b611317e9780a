import AttackMetrics
import Codecs
import DPTraining
import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import MembershipInference
import ModelAccess
import NeuralNetworks
import PrivacyAccounting
import Tensors
import ThreatTraining

/// Kind `membership-inference`: trains a target on half of a population sample, reference
/// models on random halves (online: each audited example IN for about half of them; offline:
/// none), and runs several attacks on the same models, reporting TPR at low FPR, AUC,
/// advantage and an empirical ε per attack (`lira.tpr@0.001`, …) and an overlaid log-log ROC.
///
/// ```yaml
/// kind: membership-inference
/// data: {dataset: location}
/// model: {architecture: mlp, hidden: [128], epochs: 30}
/// attack: {methods: [loss, lira, rmia], reference_models: 16, online: true}
/// ```
///
/// Every knob of the attacks is a key of `attack` (defaults in parentheses): `methods` (loss,
/// lira) — loss, confidence, entropy, modified_entropy, lira, lira_offline, lira_global,
/// lira_offline_global (LiRA with one global variance per side), rmia, rmia_offline, shadow,
/// label_only; `reference_models` (8), `online` (true), `members` and `non_members` (a quarter
/// of the data each); `augmentations` ([identity]: query views, also `flip`, `shift` or
/// `{shift: [dx, dy]}`); RMIA's `rmia_population` (1000), `offline_interpolation` a (0.3) and
/// `gamma` (1); `bootstrap` replicates (200; 0 for none), `confidence` (0.95) and `delta` (0) of the evaluation;
/// `label_only: {perturbations: 50, noise: 0.5}`; and `shadow:` for Shokri et al.'s attack in
/// its own setting — `models` (8) shadow models, each trained on a random half of the records
/// that are never audited (the design's pool, disjoint from the members and non-members), with
/// the target's recipe or `model:` keys that override it, plus the attack models' `features`,
/// `hidden_units`, `epochs`, `batch_size`, `learning_rate` and `observations_per_class`.
///
/// Every model is a cached artifact keyed by its exact training indices, data, model spec and
/// seed: a second attack, a second run, or a sweep over attack parameters reuses them; an online
/// design never reuses an offline one's references (their training sets differ).
///
/// A target trained elsewhere (issue #18) is named by `model.checkpoint` (a safetensors state
/// dict), `model.layers` (its layer list) and `model.members` (an `.npy` of one 0/1 per record:
/// which records trained it); the other `model` keys are then the recipe of the lab-trained
/// reference and shadow models (`ImportedModelSpec`):
///
/// ```yaml
/// kind: membership-inference
/// data: {features: records.npy, labels: labels.npy}
/// model: {checkpoint: target.safetensors, layers: target-layers.json, members: target-members.npy,
///         epochs: 30, batch_size: 128, optimizer: adam, learning_rate: 0.001}
/// attack: {methods: [loss, lira, rmia], reference_models: 16}
/// ```
///
/// The target is loaded, not trained, and sees every record of the data unsplit and unscaled
/// (`data.limit`, `data.test_fraction` and `data.scaling` are errors, as is `privacy`); the
/// audited members are drawn from the records marked 1 and the non-members from those marked 0
/// (`attack.members`, `attack.non_members`: half of each by default), the rest form the
/// reference pool (`runImported`). The content of the three files is part of the trial's key.
public enum MembershipInferenceKind: ExperimentKind {
    public static let name = "membership-inference"
    public static let summary = "train (or load from PyTorch) a target, train reference models; run membership-inference attacks; report TPR at low FPR"
    public static func inputFiles(of p: Parameters) -> [URL] {
        p.data.inputFiles + (p.model.imported?.inputFiles ?? []) + (p.model.endpoint?.members.map { [$0] } ?? [])
    }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public typealias MethodName = MembershipAttackName

    /// Shokri et al.'s shadow models: how many, and how they train.
    public struct ShadowSpec: Sendable, Equatable {
        public var models: Int
        /// The shadow models' recipe: the target's, with the keys of `attack.shadow.model` overriding it.
        public var model: ModelSpec
        public var attack: ShadowModelAttack.Options
    }

    public struct AttackSpec: Sendable, Equatable {
        public var methods: [MethodName]
        public var referenceModels: Int
        public var online: Bool
        public var members: Int?
        public var nonMembers: Int?
        public var rmiaPopulation: Int
        public var offlineInterpolation: Double
        public var gamma: Double
        public var augmentations: [AugmentationSpec]
        public var bootstrap: Int
        public var confidence: Double
        public var delta: Double
        public var shadow: ShadowSpec
        public var labelOnly: LabelOnlyAttack.Options
        /// The canonical JSON of the section, for cache keys.
        public var canonical: String
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var attack: AttackSpec
        /// When present, the target and the reference models train with DP-SGD (an audit of
        /// the recipe's ε).
        public var privacy: DPTrainingKind.PrivacySpec?
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        var data = try DataSpec.decode(body.section("data"))
        let model = try ModelSpec.decode(body.section("model"), for: data, imports: .audited)
        if model.imported != nil || model.endpoint != nil {
            data = try ImportedModelSpec.data(data, section: body.section("data"), keepsEveryRecord: true)
            if body.contains("privacy") {
                throw body.error("privacy", "trains the target with DP-SGD, but model.\(model.endpoint == nil ? "checkpoint" : "endpoint") names a target trained outside the lab; "
                                 + "audit a DP model by training it in the lab (model without checkpoint) or remove privacy")
            }
        }
        let r = try body.section("attack")
        let methods: [MethodName] = try r.optional("methods", default: [.loss, .lira])
        guard !methods.isEmpty else { throw r.error("methods", "needs at least one attack") }
        if model.endpoint != nil, let bad = methods.first(where: { $0 == .shadow || $0.rawValue.hasPrefix("lira") || $0.rawValue.hasPrefix("rmia") }) {
            throw r.error("methods", "'\(bad.rawValue)' trains reference or shadow models of the target's architecture, which the lab does not know for a target "
                          + "behind model.endpoint; use loss, confidence, entropy, modified_entropy or label_only")
        }
        let online: Bool = try r.optional("online", default: true)
        if !online, let bad = methods.first(where: { $0 == .lira || $0 == .liraGlobal || $0 == .rmia }) {
            let offline = bad == .liraGlobal ? "lira_offline_global" : "\(bad.rawValue)_offline"
            throw r.error("methods", "'\(bad.rawValue)' is an online attack but online is false; use '\(offline)'")
        }
        if r.contains("global_variance") {
            throw r.error("global_variance", "LiRA's variance mode is chosen per method: lira_global and lira_offline_global use one global variance per side, lira and lira_offline one per record")
        }
        let augmentations: [AugmentationSpec] = try r.optional("augmentations", default: [AugmentationSpec(.identity)])
        guard !augmentations.isEmpty else { throw r.error("augmentations", "needs at least one query view (identity for none)") }
        var shadowModels = 8
        var shadowModelNode: SpecNode?
        let shadowAttack = try AttackOptionsSpec.shadow(r) { (s: SpecReader) throws(SpecError) in
            shadowModels = try s.optional("models", default: 8, in: 1...1024)
            shadowModelNode = s.node("model")
        }
        let shadowModel = try Self.shadowModel(target: body.node("model"), override: shadowModelNode, file: r.file)
        let attack = AttackSpec(
            methods: methods,
            referenceModels: try r.optional("reference_models", default: 8, in: 1...1024),
            online: online,
            members: try r.optional("members").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 1 else { throw r.error("members", "must be ≥ 1, got \(v)") }; return v },
            nonMembers: try r.optional("non_members").map { (v: Int) throws(SpecError) -> Int in
                guard v >= 1 else { throw r.error("non_members", "must be ≥ 1, got \(v)") }; return v },
            rmiaPopulation: try r.optional("rmia_population", default: 1000, in: 1...1_000_000),
            offlineInterpolation: try r.optional("offline_interpolation", default: 0.3, in: 0...1),
            gamma: try r.optional("gamma", default: 1.0, in: 0.01...1000),
            augmentations: augmentations,
            bootstrap: try r.optional("bootstrap", default: 200, in: 0...10_000),
            confidence: try r.optional("confidence", default: 0.95, in: 0.5...0.999),
            delta: try r.optional("delta", default: 0.0, in: 0...0.5),
            shadow: ShadowSpec(models: shadowModels, model: shadowModel, attack: shadowAttack),
            labelOnly: try AttackOptionsSpec.labelOnly(r),
            canonical: r.node.canonicalJSON)
        if attack.bootstrap == 1 { throw r.error("bootstrap", "needs at least 2 replicates (or 0 for none)") }
        try r.finish()
        let privacy = body.contains("privacy") ? try DPTrainingKind.PrivacySpec.decode(body.section("privacy")) : nil
        return Parameters(data: data, model: model, attack: attack, privacy: privacy)
    }

    /// The shadow models' recipe: the target's `model:` mapping with `attack.shadow.model`'s
    /// keys replacing the same keys.
    static func shadowModel(target: SpecNode?, override: SpecNode?, file: String) throws(SpecError) -> ModelSpec {
        var entries: [SpecNode.Entry] = []
        if let target, case let .mapping(base) = target.value { entries = base }
        if let override {
            guard case let .mapping(replacements) = override.value else {
                throw SpecError(file: file, line: override.line, keyPath: "attack.shadow.model", message: "expected a mapping of model keys, got \(override.kindDescription)")
            }
            if let imported = replacements.first(where: { ImportedModelSpec.keys.contains($0.key) }) {
                throw SpecError(file: file, line: imported.value.line, keyPath: "attack.shadow.model.\(imported.key)",
                                message: "the shadow models train in the lab, with the target's architecture (or the lab architecture given here); only the target's model names a checkpoint")
            }
            for replacement in replacements {
                if let at = entries.firstIndex(where: { $0.key == replacement.key }) { entries[at] = replacement } else { entries.append(replacement) }
            }
        }
        let node = SpecNode(.mapping(entries), line: override?.line ?? target?.line)
        return try ModelSpec.decode(SpecReader(node, file: file, path: override == nil ? "model" : "attack.shadow.model"), imports: .audited)
    }

    static func method(_ name: MethodName, _ a: AttackSpec) -> AttackMethod {
        name.attackMethod(offlineInterpolation: a.offlineInterpolation, gamma: a.gamma, rmiaPopulation: a.rmiaPopulation,
                          shadow: a.shadow.attack, labelOnly: a.labelOnly)
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        if let imported = p.model.imported { return try await runImported(p, imported, context: context) }
        if let endpoint = p.model.endpoint { return try await runEndpoint(p, endpoint, context: context) }
        let (population, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let n = population.count
        let members = p.attack.members ?? n / 4
        let nonMembers = p.attack.nonMembers ?? n / 4
        guard members >= 1, nonMembers >= 1, members + nonMembers <= n else {
            throw RunnerError.trialFailed(index: context.trialIndex, parameters: "",
                                          reason: "attack.members (\(members)) and attack.non_members (\(nonMembers)) must be ≥ 1 and fit in the \(n) examples of the data")
        }
        var designStream = context.random.stream("design")
        let design = MembershipDesign.make(populationSize: n, targetMemberCount: members, targetNonMemberCount: nonMembers,
                                           referenceModels: p.attack.referenceModels, online: p.attack.online, using: &designStream)
        let layers = try p.model.layers(inputShape: population.sampleShape, classes: population.classCount)
        let recipe = SequentialRecipe(inputShape: population.sampleShape, layers: layers, configuration: p.model.training)
        let dataSpec = p.data, modelSpec = p.model, privacy = p.privacy
        // With DP, every model uses the σ calibrated for the target's training-set size.
        let dpConfiguration = try privacy.map { try DPTrainingKind.configuration(model: modelSpec, privacy: $0, datasetSize: members) }

        @Sendable func modelRecipe(_ stream: String, _ indices: [Int], model: ModelSpec = modelSpec) -> ModelRecipe {
            ModelRecipe(seed: context.seed, stream: stream, data: dataSpec.canonical, model: model.canonical, indices: indices,
                        privacy: privacy?.canonical)
        }
        let targetEpsilon = EpsilonBox()
        @Sendable func trainCached(_ stream: String, _ indices: [Int], role: String, training: SequentialRecipe = recipe,
                                   model: ModelSpec = modelSpec, dp: DPTrainingConfiguration? = dpConfiguration) async throws -> (Sequential, ArtifactReference) {
            let subset = population.subset(indices)
            let random = context.random
            let result = try await context.cachedModel(role: role, recipe: modelRecipe(stream, indices, model: model)) {
                guard let dp, let privacy else {
                    return (try training.train(inputs: subset.featureTensor, labels: subset.intLabels, random: random.stream(stream)),
                            PrivateTrainingRecord(epsilon: nil))
                }
                var model = try Sequential(inputShape: training.inputShape, layers: training.layers, random: random.stream("\(stream)/init"))
                var accountant = PrivacyAccountant(method: dp.accounting)
                let noise: PrivacyRandomness = privacy.noise == .secure ? .system() : .insecureSeeded(random.stream("\(stream)/dp-noise"))
                let report = try model.trainPrivately(inputs: subset.featureTensor, labels: subset.intLabels, configuration: dp,
                                                      accountant: &accountant, randomness: noise, dropout: random.stream("\(stream)/dropout"))
                return (model, PrivateTrainingRecord(epsilon: report.epsilon))
            }
            if role == "target-model", let epsilon = result.record.epsilon {
                targetEpsilon.set(epsilon)
            }
            return (result.model, result.artifact)
        }

        context.progress("training the target on \(members) members")
        let (target, targetArtifact) = try await trainCached("target", design.targetMembers, role: "target-model")
        let shadow = p.attack.shadow
        let shadowRecipe = try p.attack.methods.contains(.shadow)
            ? SequentialRecipe(inputShape: population.sampleShape,
                               layers: try shadow.model.layers(inputShape: population.sampleShape, classes: population.classCount),
                               configuration: shadow.model.training)
            : recipe
        let shadowDP = p.attack.methods.contains(.shadow)
            ? try privacy.map { try DPTrainingKind.configuration(model: shadow.model, privacy: $0, datasetSize: members) } : nil

        let memberData = population.subset(design.targetMembers)
        var metrics = [
            Metric(part: "target", "train_accuracy", target.accuracy(memberData.featureTensor, labels: memberData.intLabels)),
            Metric(part: "target", "test_accuracy", target.accuracy(test.featureTensor, labels: test.intLabels)),
            Metric(part: "target", "members", Double(members)),
            Metric(part: "target", "non_members", Double(nonMembers)),
        ]
        if let privacy, let epsilon = targetEpsilon.get() {
            metrics += [Metric(part: "dp", "epsilon", epsilon), Metric(part: "dp", "delta", privacy.delta)]
        }
        return try await audit(
            p, target: target, population: population, design: design, metrics: metrics, artifacts: [targetArtifact],
            train: { stream, indices, role, isShadow in
                isShadow ? try await trainCached(stream, indices, role: role, training: shadowRecipe, model: shadow.model, dp: shadowDP)
                         : try await trainCached(stream, indices, role: role)
            },
            recipe: { modelRecipe($0, $1) }, context: context)
    }

    /// Trains the reference (and shadow) models of `design`, runs the attacks on `target`, and
    /// reports `metrics` followed by each attack's, with each attack's scores and the audited
    /// records' indices stored as artifacts.
    /// - Parameters:
    ///   - train: trains (or finds in the cache) one model on population indices, drawing from
    ///     the stream it is given (`reference/<k>`, `shadow/<k>`); the last argument says it is
    ///     a shadow model of Shokri et al.'s attack.
    ///   - recipe: what determines a model trained on the given indices (an artifact computed
    ///     from the audited records is keyed by the recipe of a model trained on them).
    static func audit<Target: LogitAccess>(
        _ p: Parameters, target: Target, population: LabeledData, design: MembershipDesign, metrics leading: [Metric],
        artifacts leadingArtifacts: [ArtifactReference],
        train: @escaping @Sendable (_ stream: String, _ indices: [Int], _ role: String, _ shadow: Bool) async throws -> (Sequential, ArtifactReference),
        recipe: (_ stream: String, _ indices: [Int]) -> ModelRecipe, context: TrialContext
    ) async throws -> TrialOutcome {
        let methods = p.attack.methods.map { method($0, p.attack) }
        // The shadow attack has shadow models of its own; every other attack that needs models uses the references.
        let needsReferences = methods.contains { method in
            if case .shadowModels = method { return false }
            return method.needsReferenceModels
        }
        let sets = needsReferences ? ReferenceTraining.trainingSets(of: design) : []
        if needsReferences { context.progress("training \(sets.count) reference models (\(context.workers) at a time)") }
        // The library trains the models (`ReferenceTraining.train`, `MembershipAudit.trainShadowModels`);
        // the recipe finds each in the trial's cache, or trains and stores it.
        let referenceRecipe = CachedModelRecipe(shadow: false, random: context.random, train: train)
        let references = try await ReferenceTraining.train(recipe: referenceRecipe, population: population.examples, trainingSets: sets,
                                                           concurrency: context.workers, random: context.random)
        // Shokri et al.'s setting: shadow models train on random halves of the records that are
        // never audited, and the attack models learn from their outputs on those records.
        var shadows: MembershipAudit.ShadowModels<Sequential>?
        let shadowRecipe = CachedModelRecipe(shadow: true, random: context.random, train: train)
        if p.attack.methods.contains(.shadow) {
            let pool = design.referencePool
            guard pool.count >= 2 else {
                throw RunnerError.trialFailed(index: context.trialIndex, parameters: "",
                                              reason: "the shadow attack trains shadow models on records that are never audited, and only \(pool.count) remain: lower attack.members or attack.non_members")
            }
            context.progress("training \(p.attack.shadow.models) shadow models on halves of the \(pool.count) records never audited")
            shadows = try await MembershipAudit.trainShadowModels(recipe: shadowRecipe, population: population.examples, records: pool,
                                                                  count: p.attack.shadow.models, concurrency: context.workers, random: context.random)
        }
        context.progress("running \(p.attack.methods.map(\.rawValue).joined(separator: ", "))")
        let configuration = MembershipAudit.Configuration(
            methods: methods, queryAugmentations: p.attack.augmentations.map(\.augmentation),
            bootstrapReplicates: p.attack.bootstrap, confidence: p.attack.confidence, delta: p.attack.delta, concurrency: context.workers)
        let results = try await MembershipAudit.run(
            target: target, references: references, shadows: shadows,
            population: population.examples, design: design, configuration: configuration,
            attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: context.random.stream("audit"))

        var metrics = leading
        var series: [Series] = []
        var scoreArtifacts: [ArtifactReference] = []
        for (name, result) in zip(p.attack.methods, results) {
            // The scores and true membership of the audited examples, as .npy ([2, n]: scores, then 1 = member).
            let part = name.rawValue
            let values = result.scores + result.isMember.map { $0 ? 1.0 : 0.0 }
            let saved = try await context.cachedArray(
                role: "scores-\(part)",
                recipe: AuditedArrayRecipe(records: recipe("audit/\(part)", design.targetMembers + design.targetNonMembers), array: "scores",
                                           attack: p.attack.canonical, references: sets.count)
            ) { NumpyArray(shape: [2, result.scores.count], values: values) }
            scoreArtifacts.append(saved.artifact)
            metrics += result.evaluation.metrics(part: part).map { Metric(name: $0.name, value: $0.value) }
            let points = result.rocPoints(maximumCount: 300)
            series.append(Series(name: "membership.roc", label: part, x: points.map(\.falsePositiveRate), y: points.map(\.truePositiveRate),
                                 xLabel: "false positive rate", yLabel: "true positive rate", logX: true, logY: true))
        }
        // Which record each score describes: its index in the data the trial loaded.
        let candidates = design.candidates.indices
        let indices = try await context.cachedArray(
            role: "record-indices", recipe: AuditedArrayRecipe(records: recipe("audit/indices", candidates), array: "record-indices")
        ) { NumpyArray(shape: [candidates.count], values: candidates) }
        scoreArtifacts.append(indices.artifact)
        return TrialOutcome(metrics: metrics, series: series, artifacts: leadingArtifacts + referenceRecipe.artifacts(names: "reference", count: sets.count)
                                + shadowRecipe.artifacts(names: "shadow", count: shadows?.models.count ?? 0) + scoreArtifacts)
    }
}

extension MembershipInferenceKind {
    /// What determines a target, reference or shadow model: part of its artifact key.
    struct ModelRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The streams it draws from (`target`, `reference/3`, `shadow/1`).
        var stream: String
        /// The canonical JSON of the spec's `data` and `model` sections (the shadow models' own
        /// `model`, when they have one).
        var data: String
        var model: String
        /// The SHA-256 of the population indices it trains on, as decimal text joined by commas.
        var trainingIndices: String
        /// The canonical JSON of the `privacy` section, when the models train with DP-SGD.
        var privacy: String?

        init(seed: UInt64, stream: String, data: String, model: String, indices: [Int], privacy: String?) {
            self.seed = seed
            self.stream = stream
            self.data = data
            self.model = model
            trainingIndices = SHA256.hash(utf8: indices.map(String.init).joined(separator: ",")).hex
            self.privacy = privacy
        }
    }

    /// What determines an array computed from the audited records (an attack's scores, the
    /// records' indices): part of its artifact key.
    struct AuditedArrayRecipe: Encodable, Sendable {
        /// The audited records, as the recipe of a model trained on them (its stream names the array).
        var records: ModelRecipe
        /// `scores` or `record-indices`.
        var array: String
        /// The canonical JSON of the `attack` section and the number of reference models (scores).
        var attack: String? = nil
        var references: Int? = nil
    }

    /// What a model's training reported: its ε when it trained with DP-SGD.
    struct PrivateTrainingRecord: Codable, Sendable {
        var epsilon: Double?
    }
}

/// The recipe of the reference and shadow models of a trial: each model, asked for by its name
/// (`reference/3`) and training indices, is the trial's cached artifact, trained by `train` when the
/// cache does not hold it. It records the artifact of every model it returns, for the trial's outcome.
///
/// The cache keys a model by the trial's seed and the model's name, so the recipe caches only models
/// drawn from the trial's own stream (`random`); asked with another stream, it trains uncached.
struct CachedModelRecipe: TrainingRecipe {
    typealias Model = Sequential
    /// Trains (or finds in the cache) one model: its stream name, population indices, cache role,
    /// and whether it is a shadow model of Shokri et al.'s attack.
    typealias Train = @Sendable (_ stream: String, _ indices: [Int], _ role: String, _ shadow: Bool) async throws -> (Sequential, ArtifactReference)

    struct NotByName: Error, CustomStringConvertible {
        var description: String { "the trial's reference and shadow models are trained by name and training indices only" }
    }

    let shadow: Bool
    /// The trial's random root, from which the cached models draw.
    let random: LabRandom
    let train: Train
    private let recorded = ArtifactsBox()

    init(shadow: Bool, random: LabRandom, train: @escaping Train) {
        self.shadow = shadow
        self.random = random
        self.train = train
    }

    func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> Sequential { throw NotByName() }

    func train(subset indices: [Int], of population: LabeledExamples, name: String, random: LabRandom) async throws -> Sequential {
        guard random == self.random else { throw NotByName() }
        // "reference/3" is stored as "reference-model-3".
        let role = name.replacingOccurrences(of: "/", with: "-model-")
        let (model, artifact) = try await train(name, indices, role, shadow)
        recorded.set(name, artifact)
        return model
    }

    /// The artifacts of models "<names>/0" … "<names>/<count − 1>", in that order.
    func artifacts(names: String, count: Int) -> [ArtifactReference] {
        (0..<count).compactMap { recorded.get("\(names)/\($0)") }
    }
}

/// The artifacts a `CachedModelRecipe` returned, by model name, shared by its copies.
final class ArtifactsBox: @unchecked Sendable {
    private var values: [String: ArtifactReference] = [:]
    private let lock = NSLock()
    func set(_ name: String, _ artifact: ArtifactReference) { lock.withLock { values[name] = artifact } }
    func get(_ name: String) -> ArtifactReference? { lock.withLock { values[name] } }
}

/// Carries the target's ε out of the cache's producer closure.
final class EpsilonBox: @unchecked Sendable {
    private var value: Double?
    private let lock = NSLock()
    func set(_ v: Double) { lock.withLock { value = v } }
    func get() -> Double? { lock.withLock { value } }
}
