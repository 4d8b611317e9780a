import AttackMetrics
import Codecs
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import MembershipInference
import ThreatTraining

/// Kind `audit`: membership inference on signals computed elsewhere — a PyTorch model's logits,
/// probabilities or losses saved with `np.save` — with every attack the signals allow, every
/// leakage metric, bootstrap intervals, the empirical ε and the log-log ROC.
///
/// ```yaml
/// kind: audit
/// signals: {labels: y.npy, members: members.npy, target_logits: target.npy,
///           reference_logits: refs.npy, reference_members: ref_in.npy}
/// attack: {methods: [loss, lira, lira_offline, rmia]}
/// ```
///
/// `signals` names `.npy` files (relative to the spec, or absolute), or an `archive:` `.npz`
/// whose members carry these names (a key given as a file wins over the archive). N audited
/// records, C classes, K reference models, Z population records, Q query views (optional
/// axis; 1 without):
///
/// | key | shape | |
/// |---|---|---|
/// | `labels` | (N,) | integer labels in 0..<C |
/// | `members` | (N,) | ground truth, 0/1: used only to evaluate the attacks |
/// | `target_logits` / `target_probabilities` / `target_losses` | (N, C) or (N, Q, C); losses (N,) or (N, Q) | exactly one |
/// | `reference_logits` / `_probabilities` / `_losses` | (K, N, C) or (K, N, Q, C); losses (K, N) or (K, N, Q) | optional |
/// | `reference_members` | (K, N), 0/1 | with the references: which records each trained on |
/// | `population_labels` | (Z,) | optional, for RMIA: records none of the models audited… |
/// | `population_target_logits` / `_probabilities` / `_losses` | (Z, C) … | …with the target's outputs… |
/// | `population_reference_logits` / `_probabilities` / `_losses` | (K, Z, C) … | …and the references' |
/// | `population_reference_members` | (K, Z), 0/1 | optional; default: no reference model trained on them |
/// | `shadow_labels` | (M,) | optional, for Shokri et al.'s shadow attack in its own setting: records disjoint from the audited ones… |
/// | `shadow_logits` / `shadow_probabilities` | (S, M, C) or (S, M, Q, C) | …S shadow models' outputs on them… |
/// | `shadow_members` | (S, M), 0/1 | …and which shadow model trained on which |
///
/// Methods (`attack.methods`, default: every one the signals allow): `loss`, `confidence`,
/// `entropy`, `modified_entropy` (the entropies need logits or probabilities); `lira`,
/// `lira_offline`, `lira_global`, `lira_offline_global` (per-record or global variance) and
/// `rmia`, `rmia_offline` with references; `shadow` with the shadow files (then in the
/// default), or with reference logits or probabilities as the shadow models, observed on the
/// audited and population records (then only when asked for: it trains attack models). Online methods are in the default only when
/// every record is IN for at least one reference model. LiRA needs at least one OUT model per
/// record (online, also one IN); a record with fewer than two models on a side uses the global
/// variance for that side. Without population files, RMIA compares each record with all the
/// audited records — members and non-members alike, never looking at `members` (see
/// `MembershipAudit.run(signals:…)`).
///
/// `attack` holds every knob (defaults in parentheses): `methods`; RMIA's `rmia_population`
/// (all population records, the first ones when fewer), `offline_interpolation` a (0.3) and
/// `gamma` (1); the evaluation's `bootstrap` replicates (200; 0 for none), `confidence` (0.95)
/// and `delta` (0) of the empirical ε; `shadow: {features, hidden_units, epochs, batch_size,
/// learning_rate, observations_per_class}` for the shadow attack's attack models.
///
/// Every input is checked before any attack runs; a problem is one error naming the file and
/// the key: shapes that disagree, NaN or ±inf, labels that are not integers or lie outside the
/// classes, masks that are not 0/1, probabilities outside [0, 1] or rows that do not sum to 1,
/// negative losses, a record without the reference models a method needs, a file that is not
/// `.npy`, one larger than `maximumFileBytes` or with more than `maximumElements` elements.
public enum AuditKind: ExperimentKind {
    public static let name = "audit"
    public static let summary = "membership-inference audit of signals computed elsewhere (.npy logits, probabilities or losses)"

    /// The largest input file read (4 GiB).
    public static let maximumFileBytes = 4 << 30
    /// The most elements in one input array (2²⁹: 4 GiB as Double).
    public static let maximumElements = 1 << 29

    public typealias MethodName = MembershipAttackName

    /// The input arrays a spec can name, by their key under `signals`.
    public enum Field: String, CaseIterable, Sendable, Hashable {
        case labels, members
        case targetLogits = "target_logits", targetProbabilities = "target_probabilities", targetLosses = "target_losses"
        case referenceLogits = "reference_logits", referenceProbabilities = "reference_probabilities", referenceLosses = "reference_losses"
        case referenceMembers = "reference_members"
        case populationLabels = "population_labels"
        case populationTargetLogits = "population_target_logits", populationTargetProbabilities = "population_target_probabilities"
        case populationTargetLosses = "population_target_losses"
        case populationReferenceLogits = "population_reference_logits"
        case populationReferenceProbabilities = "population_reference_probabilities"
        case populationReferenceLosses = "population_reference_losses"
        case populationReferenceMembers = "population_reference_members"
        case shadowLabels = "shadow_labels"
        case shadowLogits = "shadow_logits", shadowProbabilities = "shadow_probabilities"
        case shadowMembers = "shadow_members"

        static let targets: [Field] = [.targetLogits, .targetProbabilities, .targetLosses]
        static let references: [Field] = [.referenceLogits, .referenceProbabilities, .referenceLosses]
        static let populationTargets: [Field] = [.populationTargetLogits, .populationTargetProbabilities, .populationTargetLosses]
        static let populationReferences: [Field] = [.populationReferenceLogits, .populationReferenceProbabilities, .populationReferenceLosses]
        static let shadows: [Field] = [.shadowLogits, .shadowProbabilities]

        var form: PredictionOutputs.Form? {
            switch self {
            case .targetLogits, .referenceLogits, .populationTargetLogits, .populationReferenceLogits, .shadowLogits: return .logits
            case .targetProbabilities, .referenceProbabilities, .populationTargetProbabilities, .populationReferenceProbabilities,
                 .shadowProbabilities: return .probabilities
            case .targetLosses, .referenceLosses, .populationTargetLosses, .populationReferenceLosses: return .losses
            default: return nil
            }
        }
    }

    /// Where each input array comes from: its own `.npy` file, or a member of the archive.
    public struct SignalFiles: Sendable, Equatable {
        public var files: [Field: URL]
        public var archive: URL?

        /// The fields present, when known without reading the archive.
        var knownFields: Set<Field> { Set(files.keys) }
    }

    public struct AttackSpec: Sendable, Equatable {
        /// nil: every method the signals allow.
        public var methods: [MethodName]?
        /// How many population records RMIA compares with (the first ones); nil: all.
        public var rmiaPopulation: Int?
        public var offlineInterpolation: Double
        public var gamma: Double
        public var bootstrap: Int
        public var confidence: Double
        public var delta: Double
        public var shadow: ShadowModelAttack.Options
        /// The canonical JSON of the section, for cache keys.
        public var canonical: String
    }

    public struct Parameters: Sendable {
        public var signals: SignalFiles
        public var attack: AttackSpec
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let s = try body.section("signals")
        var files: [Field: URL] = [:]
        for field in Field.allCases {
            if let url = try s.optionalInputFile(field.rawValue) { files[field] = url }
        }
        let archive = try s.optionalInputFile("archive")
        try s.finish()
        let signals = SignalFiles(files: files, archive: archive)
        if archive == nil {
            do { try checkFields(Set(files.keys)) } catch { throw s.error(error.key, error.message) }
        }

        let r = try body.section("attack")
        let methods: [MethodName]? = try r.optional("methods")
        if let methods, methods.isEmpty { throw r.error("methods", "needs at least one attack (or leave it out to run every attack the signals allow)") }
        if let methods, methods.contains(.labelOnly) {
            throw r.error("methods", "'label_only' queries the model with perturbed inputs, and an audit of saved signals has no model to query; "
                          + "run it with the membership-inference kind")
        }
        let population: Int? = try r.optional("rmia_population")
        if let population, population < 1 { throw r.error("rmia_population", "must be ≥ 1, got \(population)") }
        let attack = AttackSpec(
            methods: methods,
            rmiaPopulation: population,
            offlineInterpolation: try r.optional("offline_interpolation", default: 0.3, in: 0...1),
            gamma: try r.optional("gamma", default: 1.0, in: 0.01...1000),
            bootstrap: try r.optional("bootstrap", default: 200, in: 0...10_000),
            confidence: try r.optional("confidence", default: 0.95, in: 0.5...0.999),
            delta: try r.optional("delta", default: 0.0, in: 0...0.5),
            shadow: try AttackOptionsSpec.shadow(r),
            canonical: r.node.canonicalJSON)
        if attack.bootstrap == 1 { throw r.error("bootstrap", "needs at least 2 replicates (or 0 for none)") }
        try r.finish()
        if archive == nil, let methods {
            for method in methods {
                if let missing = missingFields(for: method, present: Set(files.keys)) {
                    throw r.error("methods", "'\(method.rawValue)' needs \(missing)")
                }
            }
        }
        return Parameters(signals: signals, attack: attack)
    }

    public static func inputFiles(of parameters: Parameters) -> [URL] {
        Field.allCases.compactMap { parameters.signals.files[$0] } + (parameters.signals.archive.map { [$0] } ?? [])
    }

    /// A problem with the set of signal keys: the key to point at and what is wrong.
    struct FieldError: Error { var key: String; var message: String }

    /// Checks which keys are present together: labels, members and one target output; at most
    /// one reference output, with its membership; population files all together.
    static func checkFields(_ present: Set<Field>) throws(FieldError) {
        func names(_ fields: [Field]) -> String { fields.map(\.rawValue).joined(separator: ", ") }
        for required in [Field.labels, .members] where !present.contains(required) {
            throw FieldError(key: required.rawValue, message: "is required (an .npy file of \(required == .labels ? "the N audited records' labels" : "0/1 ground-truth membership of the N records"))")
        }
        for group in [Field.targets, Field.references, Field.populationTargets, Field.populationReferences, Field.shadows] {
            let given = group.filter(present.contains)
            if given.count > 1 { throw FieldError(key: given[1].rawValue, message: "give only one of \(names(group))") }
        }
        guard Field.targets.contains(where: present.contains) else {
            throw FieldError(key: Field.targetLogits.rawValue, message: "one of \(names(Field.targets)) is required")
        }
        let hasReferences = Field.references.contains(where: present.contains)
        if hasReferences != present.contains(.referenceMembers) {
            throw hasReferences
                ? FieldError(key: Field.referenceMembers.rawValue, message: "is required with reference outputs: a (K, N) 0/1 array of which records each reference model trained on")
                : FieldError(key: Field.referenceMembers.rawValue, message: "needs reference outputs (one of \(names(Field.references)))")
        }
        let population: [[Field]] = [[.populationLabels], Field.populationTargets, Field.populationReferences]
        let populationGiven = population.map { $0.contains(where: present.contains) }
        if populationGiven.contains(true) || present.contains(.populationReferenceMembers) {
            if let missing = population.indices.first(where: { !populationGiven[$0] }) {
                throw FieldError(key: population[missing][0].rawValue,
                                 message: "population records need population_labels, one of \(names(Field.populationTargets)) and one of \(names(Field.populationReferences))")
            }
            guard hasReferences else {
                throw FieldError(key: Field.populationLabels.rawValue, message: "population records are used only with reference models (give \(names(Field.references)) and reference_members)")
            }
        }
        let shadow: [[Field]] = [[.shadowLabels], Field.shadows, [.shadowMembers]]
        let shadowGiven = shadow.map { $0.contains(where: present.contains) }
        if shadowGiven.contains(true), let missing = shadow.indices.first(where: { !shadowGiven[$0] }) {
            throw FieldError(key: shadow[missing][0].rawValue,
                             message: "shadow models need shadow_labels (M,), one of \(names(Field.shadows)) (S, M, C) and shadow_members (S, M)")
        }
    }

    /// What `method` needs that `present` lacks, as a phrase naming the keys; nil when it can run.
    static func missingFields(for method: MethodName, present: Set<Field>) -> String? {
        let classTarget = present.contains(.targetLogits) || present.contains(.targetProbabilities)
        let references = Field.references.contains(where: present.contains)
        let classReferences = present.contains(.referenceLogits) || present.contains(.referenceProbabilities)
        switch method {
        case .loss, .confidence:
            return nil
        case .labelOnly:
            return "a model to query (the membership-inference kind runs label_only)"
        case .entropy, .modifiedEntropy:
            return classTarget ? nil : "signals.target_logits or signals.target_probabilities (losses alone do not give the prediction vector)"
        case .lira, .liraOffline, .liraGlobal, .liraOfflineGlobal, .rmia, .rmiaOffline:
            return references ? nil : "reference models' outputs: signals.reference_logits (or reference_probabilities / reference_losses) and signals.reference_members"
        case .shadow:
            if !classTarget { return "signals.target_logits or signals.target_probabilities" }
            if present.contains(.shadowLabels) { return nil }
            return classReferences ? nil : "shadow models' outputs (signals.shadow_labels, shadow_logits or shadow_probabilities, shadow_members), or signals.reference_logits or signals.reference_probabilities with signals.reference_members"
        }
    }

    static func method(_ name: MethodName, _ a: AttackSpec) -> AttackMethod {
        name.attackMethod(offlineInterpolation: a.offlineInterpolation, gamma: a.gamma, rmiaPopulation: a.rmiaPopulation ?? Int.max,
                          shadow: a.shadow, labelOnly: LabelOnlyAttack.Options())
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        context.progress("reading the signals")
        let inputs = try AuditInputs.load(p.signals)
        let present = inputs.present
        var names: [MethodName]
        if let chosen = p.attack.methods {
            for name in chosen {
                if let missing = missingFields(for: name, present: present) {
                    throw AuditInputError(file: inputs.source(of: .labels), field: "attack.methods", message: "'\(name.rawValue)' needs \(missing)")
                }
                try inputs.checkReferenceCounts(for: name)
            }
            names = chosen
        } else {
            // The shadow attack trains attack models: in the default only with shadow models' outputs.
            names = MethodName.allCases.filter {
                ($0 != .shadow || present.contains(.shadowLabels)) && missingFields(for: $0, present: present) == nil
            }
            let skipped = names.filter { (try? inputs.checkReferenceCounts(for: $0)) == nil }
            if !skipped.isEmpty {
                context.progress("not running \(skipped.map(\.rawValue).joined(separator: ", ")): some records lack the reference models they need")
            }
            names.removeAll { skipped.contains($0) }
        }
        let configuration = MembershipAudit.Configuration(
            methods: names.map { method($0, p.attack) }, bootstrapReplicates: p.attack.bootstrap,
            confidence: p.attack.confidence, delta: p.attack.delta, concurrency: context.workers)
        context.progress("running \(names.map(\.rawValue).joined(separator: ", ")) on \(inputs.signals.labels.count) records")
        let results = try MembershipAudit.run(signals: inputs.signals, configuration: configuration,
                                              attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: context.random.stream("audit"))

        let n = inputs.signals.labels.count
        let members = inputs.signals.isMember.filter { $0 }.count
        var metrics = [
            Metric(part: "audit", "records", Double(n)),
            Metric(part: "audit", "members", Double(members)),
            Metric(part: "audit", "non_members", Double(n - members)),
            Metric(part: "audit", "reference_models", Double(inputs.signals.references?.modelCount ?? 0)),
        ]
        if let population = inputs.signals.population { metrics.append(Metric(part: "audit", "population", Double(population.labels.count))) }
        if let shadows = inputs.signals.shadows {
            metrics += [Metric(part: "audit", "shadow_models", Double(shadows.outputs.modelCount)),
                        Metric(part: "audit", "shadow_records", Double(shadows.labels.count))]
        }
        if let accuracy = inputs.targetAccuracy() {
            metrics += [Metric(part: "target", "train_accuracy", accuracy.members), Metric(part: "target", "test_accuracy", accuracy.nonMembers)]
        }
        // The signal files' digests are in every artifact key the trial makes (`ArtifactKey.inputs`).
        let recipe = { (array: String) in
            OutputRecipe(seed: context.seed, attack: p.attack.canonical, methods: names.map(\.rawValue), array: array)
        }
        var series: [Series] = []
        var artifacts: [ArtifactReference] = []
        let indices = try await context.cachedArray(role: "record-indices", recipe: recipe("record-indices")) {
            NumpyArray(shape: [n], values: Array(0..<n))
        }
        artifacts.append(indices.artifact)
        for (name, result) in zip(names, results) {
            let part = name.rawValue
            metrics += result.evaluation.metrics(part: part).map { Metric(name: $0.name, value: $0.value) }
            let values = result.scores + result.isMember.map { $0 ? 1.0 : 0.0 }
            let saved = try await context.cachedArray(role: "scores-\(part)", recipe: recipe("scores/\(part)")) {
                NumpyArray(shape: [2, n], values: values)
            }
            artifacts.append(saved.artifact)
            let points = result.rocPoints(maximumCount: 300)
            series.append(Series(name: "membership.roc", label: part, x: points.map(\.falsePositiveRate), y: points.map(\.truePositiveRate),
                                 xLabel: "false positive rate", yLabel: "true positive rate", logX: true, logY: true))
        }
        return TrialOutcome(metrics: metrics, series: series, artifacts: artifacts)
    }
}

extension AuditKind {
    /// What determines an array an audit stores (besides its signal files): part of its artifact key.
    struct OutputRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The canonical JSON of the `attack` section, and the methods run.
        var attack: String
        var methods: [String]
        /// `record-indices` or `scores/<method>`.
        var array: String
    }
}

/// A problem with one of an audit's input files: `<file> (signals.<field>): <message>`.
public struct AuditInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    /// The spec key (`target_logits`, or `attack.methods` for a method the files do not allow).
    public let field: String
    public let message: String

    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        "\(file) (\(field.contains(".") ? field : "signals." + field)): \(message)"
    }
}
