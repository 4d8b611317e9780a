import AttackMetrics
import LabRandom
import Tensors

/// Everything the attacks read about the audited records, whatever computed it: the target's
/// outputs, optionally reference models' outputs with which records each trained on, and
/// optionally population records for RMIA — with the ground truth `isMember`, used only to
/// evaluate the scores.
///
/// Records are columns: `labels[i]`, `isMember[i]`, the target's outputs on record i, each
/// reference model's outputs on record i and `referenceMembership[k, i]` all describe record i.
public struct AuditSignals: Sendable {
    /// The audited records' true labels.
    public let labels: [Int]
    /// Whether each audited record was in the target's training set (evaluation only: no attack
    /// reads it).
    public let isMember: [Bool]
    /// The target's outputs on the audited records (one model).
    public let target: PredictionOutputs
    /// Reference models' outputs on the audited records (K models), if any.
    public let references: PredictionOutputs?
    /// K × records: which reference models trained on each audited record.
    public let referenceMembership: MembershipMatrix?
    /// Records none of the audited ones, for RMIA's comparisons (and more shadow observations).
    public let population: PopulationSignals?
    /// Shadow models in Shokri et al.'s setting, if any: trained on records disjoint from the
    /// audited ones, observed on those records. Without them the shadow attack uses the
    /// reference models as shadow models.
    public let shadows: ShadowSignals?

    /// Shadow models' outputs on the M records they were trained or not trained on, with those
    /// records' labels and which shadow model trained on which record.
    public struct ShadowSignals: Sendable {
        public let labels: [Int]
        /// S models × M records, logits or probabilities.
        public let outputs: PredictionOutputs
        /// S × M.
        public let membership: MembershipMatrix

        public init(labels: [Int], outputs: PredictionOutputs, membership: MembershipMatrix) throws(MembershipInferenceError) {
            guard outputs.form != .losses else {
                throw .invalidParameter("shadow models' outputs must be logits or probabilities: the attack models read the prediction vector")
            }
            guard outputs.recordCount == labels.count, membership.modelCount == outputs.modelCount,
                  membership.exampleCount == labels.count, outputs.modelCount >= 1 else {
                throw .shapeMismatch("shadow outputs cover \(outputs.modelCount) × \(outputs.recordCount) records and membership \(membership.modelCount) × \(membership.exampleCount); expected S × \(labels.count), S ≥ 1")
            }
            self.labels = labels
            self.outputs = outputs
            self.membership = membership
        }
    }

    /// Population records z: their labels, the target's and the reference models' outputs on
    /// them, and which reference models trained on them.
    public struct PopulationSignals: Sendable {
        public let labels: [Int]
        public let target: PredictionOutputs
        public let references: PredictionOutputs
        public let referenceMembership: MembershipMatrix

        public init(labels: [Int], target: PredictionOutputs, references: PredictionOutputs,
                    referenceMembership: MembershipMatrix) throws(MembershipInferenceError) {
            let z = labels.count
            guard target.modelCount == 1, target.recordCount == z else {
                throw .shapeMismatch("population: the target's outputs cover \(target.modelCount) models × \(target.recordCount) records; expected 1 × \(z) (one per population label)")
            }
            guard references.recordCount == z, referenceMembership.modelCount == references.modelCount,
                  referenceMembership.exampleCount == z else {
                throw .shapeMismatch("population: reference outputs cover \(references.modelCount) × \(references.recordCount) records and membership \(referenceMembership.modelCount) × \(referenceMembership.exampleCount); expected K × \(z)")
            }
            guard references.queryCount == target.queryCount else {
                throw .shapeMismatch("population: the target answers \(target.queryCount) queries per record, the reference models \(references.queryCount)")
            }
            self.labels = labels
            self.target = target
            self.references = references
            self.referenceMembership = referenceMembership
        }
    }

    /// What an attack needs beyond the target's outputs.
    public enum Requirement: String, Sendable, Hashable {
        /// The target's outputs on every class (logits or probabilities), not losses alone.
        case targetClassOutputs
        /// Reference models' outputs and their membership.
        case references
        /// Reference models' outputs on every class (logits or probabilities).
        case referenceClassOutputs
        /// Query access to the model itself (signals are not enough).
        case model
    }

    /// Checks that every part describes the same records and models.
    public init(labels: [Int], isMember: [Bool], target: PredictionOutputs, references: PredictionOutputs? = nil,
                referenceMembership: MembershipMatrix? = nil, population: PopulationSignals? = nil,
                shadows: ShadowSignals? = nil) throws(MembershipInferenceError) {
        let n = labels.count
        guard isMember.count == n else { throw .shapeMismatch("\(isMember.count) membership labels for \(n) records") }
        guard target.modelCount == 1, target.recordCount == n else {
            throw .shapeMismatch("the target's outputs cover \(target.modelCount) models × \(target.recordCount) records; expected 1 × \(n)")
        }
        guard (references == nil) == (referenceMembership == nil) else {
            throw .shapeMismatch("reference outputs and reference membership come together")
        }
        if let references, let referenceMembership {
            guard references.recordCount == n, referenceMembership.modelCount == references.modelCount,
                  referenceMembership.exampleCount == n else {
                throw .shapeMismatch("reference outputs cover \(references.modelCount) × \(references.recordCount) records and membership \(referenceMembership.modelCount) × \(referenceMembership.exampleCount); expected K × \(n)")
            }
            guard references.queryCount == target.queryCount else {
                throw .shapeMismatch("the target answers \(target.queryCount) queries per record, the reference models \(references.queryCount)")
            }
            if references.form != .losses, target.form != .losses, references.classCount != target.classCount {
                throw .shapeMismatch("the target has \(target.classCount) classes, the reference models \(references.classCount)")
            }
        }
        if let population {
            guard let references, population.references.modelCount == references.modelCount else {
                throw .shapeMismatch("population outputs need the same reference models as the audited records")
            }
            guard population.target.queryCount == target.queryCount, population.target.classCount == target.classCount,
                  population.target.form == target.form, population.references.form == references.form,
                  population.references.classCount == references.classCount else {
                throw .shapeMismatch("population outputs must have the same form, queries and classes as the audited records' outputs")
            }
        }
        self.labels = labels
        self.isMember = isMember
        self.target = target
        self.references = references
        self.referenceMembership = referenceMembership
        if let shadows, shadows.outputs.classCount != target.classCount || shadows.outputs.queryCount != target.queryCount {
            throw .shapeMismatch("shadow outputs have \(shadows.outputs.classCount) classes and \(shadows.outputs.queryCount) queries; the target \(target.classCount) and \(target.queryCount)")
        }
        self.population = population
        self.shadows = shadows
    }

    /// What `method` needs that these signals lack (empty when it can run).
    public func missing(for method: AttackMethod) -> [Requirement] {
        var missing: [Requirement] = []
        switch method {
        case .loss, .confidence:
            break
        case .entropy, .modifiedEntropy:
            if target.form == .losses { missing.append(.targetClassOutputs) }
        case .lira, .rmia:
            if references == nil { missing.append(.references) }
        case .shadowModels:
            if target.form == .losses { missing.append(.targetClassOutputs) }
            if shadows != nil { break }
            if references == nil { missing.append(.references) } else if references?.form == .losses { missing.append(.referenceClassOutputs) }
        case .labelOnly:
            missing.append(.model)
        }
        return missing
    }
}

extension MembershipAudit {
    /// Runs membership-inference attacks on signals computed elsewhere and evaluates each one:
    /// the same mechanism `run(target:references:…)` uses after it has queried its models.
    ///
    /// Each method's scores (higher = more likely a member) come from:
    /// - loss, confidence, entropy, modified entropy: the target's signal, averaged over queries
    ///   and negated where members have lower values (`ThresholdAttack`);
    /// - LiRA: the target's and references' scaled logits φ with the references' membership;
    /// - RMIA: the target's and references' confidences p_y on the audited records and on the
    ///   population records z. Without population records, RMIA compares each audited record
    ///   with all audited records — members and non-members alike, chosen without looking at
    ///   `isMember`, so no ground truth leaks. (For a fixed set of z the score is a
    ///   non-decreasing function of the ratio Pr(f(x)|θ)/Pr(x), so the choice of z changes
    ///   only the resolution of the ranking, not its order.) The first `populationSize` records
    ///   of the population are used;
    /// - the shadow attack: the shadow models' outputs on their own records when `shadows` is
    ///   given (Shokri et al.'s setting); else the references serve as shadow models, observed on
    ///   the audited and population records (first query) with their membership.
    ///
    /// The shadow attack's attack models learn with `attackModelTrainer`, which only that attack
    /// needs. Streams: shadow attack models from `random.stream("audit/shadow")`, bootstrap
    /// replicates from "audit/bootstrap/<attack name>".
    /// - Throws: `MembershipInferenceError` when a method needs what the signals lack (see
    ///   `AuditSignals.missing(for:)`) or a record lacks OUT (online: IN) references;
    ///   `AttackMetricsError` for degenerate evaluations (no members or no non-members).
    public static func run(signals: AuditSignals, configuration: Configuration,
                           attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)? = nil, random: LabRandom) throws -> [AttackResult] {
        let cache = SignalCache(signals)
        var results: [AttackResult] = []
        for method in configuration.methods {
            let scores = try attackScores(method, cache: cache, attackModelTrainer: attackModelTrainer, random: random)
            results.append(try evaluate(method, scores: scores, isMember: signals.isMember, configuration: configuration, random: random))
        }
        return results
    }

    /// One attack's evaluation, with bootstrap intervals from "audit/bootstrap/<name>".
    static func evaluate(_ method: AttackMethod, scores: [Double], isMember: [Bool], configuration: Configuration,
                         random: LabRandom) throws -> AttackResult {
        let bootstrap = configuration.bootstrapReplicates > 0
            ? (replicates: configuration.bootstrapReplicates, random: random.stream("audit/bootstrap/\(method.name)")) : nil
        let evaluation = try AttackEvaluation(scores: scores, isMember: isMember, confidence: configuration.confidence,
                                              delta: configuration.delta, bootstrap: bootstrap)
        return AttackResult(method: method, scores: scores, isMember: isMember, evaluation: evaluation)
    }

    /// Signal matrices computed once per run and shared by the attacks that read them.
    final class SignalCache {
        let signals: AuditSignals
        private var computed: [String: SignalMatrix] = [:]

        init(_ signals: AuditSignals) { self.signals = signals }

        enum Source: String { case target, references, populationTarget, populationReferences }

        func matrix(_ source: Source, _ signal: PredictionSignal) throws(MembershipInferenceError) -> SignalMatrix {
            let key = "\(source.rawValue)/\(signal.rawValue)"
            if let known = computed[key] { return known }
            let value: SignalMatrix
            switch source {
            case .target: value = try signals.target.signals(signal, labels: signals.labels)
            case .references: value = try signals.references!.signals(signal, labels: signals.labels)
            case .populationTarget: value = try signals.population!.target.signals(signal, labels: signals.population!.labels)
            case .populationReferences: value = try signals.population!.references.signals(signal, labels: signals.population!.labels)
            }
            computed[key] = value
            return value
        }
    }

    /// The scores of one attack that reads only signals.
    static func attackScores(_ method: AttackMethod, cache: SignalCache, attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)?,
                             random: LabRandom) throws -> [Double] {
        let signals = cache.signals
        if let requirement = signals.missing(for: method).first {
            let reason = switch requirement {
            case .targetClassOutputs: "the target's logits or probabilities (losses alone do not give it)"
            case .references: "reference models' outputs and which records they trained on"
            case .referenceClassOutputs: "the reference models' logits or probabilities (losses alone do not give it)"
            case .model: "query access to the model (signals alone do not give it)"
            }
            throw MembershipInferenceError.invalidParameter("\(method.name) needs \(reason)")
        }
        let n = signals.labels.count
        switch method {
        case .loss, .confidence, .entropy, .modifiedEntropy:
            let signal: PredictionSignal = switch method {
            case .loss: .loss
            case .confidence: .confidence
            case .entropy: .entropy
            default: .modifiedEntropy
            }
            let matrix = try cache.matrix(.target, signal)
            var total = [Double](repeating: 0, count: n)
            for i in 0..<n {
                for j in 0..<matrix.queryCount { total[i] += matrix[0, i, j] }
            }
            return total.map { (signal.increasesWithMembership ? 1 : -1) * $0 / Double(matrix.queryCount) }
        case let .lira(online, globalVariance):
            return try LiRA.scores(target: cache.matrix(.target, .scaledLogit), reference: cache.matrix(.references, .scaledLogit),
                                   membership: signals.referenceMembership!,
                                   options: LiRA.Options(mode: online ? .online : .offline, globalVariance: globalVariance))
        case let .rmia(online, a, gamma, size):
            let populationTarget: SignalMatrix, populationReference: SignalMatrix, populationMembership: MembershipMatrix
            if let population = signals.population {
                populationTarget = try cache.matrix(.populationTarget, .confidence)
                populationReference = try cache.matrix(.populationReferences, .confidence)
                populationMembership = population.referenceMembership
            } else {
                populationTarget = try cache.matrix(.target, .confidence)
                populationReference = try cache.matrix(.references, .confidence)
                populationMembership = signals.referenceMembership!
            }
            let zColumns = Array(0..<Swift.min(Swift.max(size, 0), populationTarget.exampleCount))
            guard !zColumns.isEmpty else {
                throw MembershipInferenceError.invalidParameter("RMIA needs population records; none were given")
            }
            return try RMIA.scores(
                target: cache.matrix(.target, .confidence), reference: cache.matrix(.references, .confidence),
                membership: signals.referenceMembership!,
                populationTarget: populationTarget.selecting(examples: zColumns),
                populationReference: populationReference.selecting(examples: zColumns),
                populationMembership: populationMembership.selecting(examples: zColumns),
                options: RMIA.Options(mode: online ? .online : .offline, gamma: gamma, offlineInterpolation: a, populationSize: size))
        case let .shadowModels(options):
            guard let attackModelTrainer else { throw missingAttackModelTrainer }
            // Observations: the shadow models on their own records, or each reference model on the
            // audited then the population records (first query).
            var observed: PredictionOutputs
            var observedLabels: [Int]
            var observedMembership: MembershipMatrix
            if let shadows = signals.shadows {
                observed = shadows.outputs
                observedLabels = shadows.labels
                observedMembership = shadows.membership
            } else {
                observed = signals.references!
                observedLabels = signals.labels
                observedMembership = signals.referenceMembership!
            }
            if signals.shadows == nil, let population = signals.population {
                observed = try observed.appending(records: population.references)
                observedLabels += population.labels
                observedMembership = observedMembership.appending(examples: population.referenceMembership)
            }
            return try ShadowModelAttack.scores(
                targetFeatures: ShadowModelAttack.features(signals.target, query: 0, options.features), labels: signals.labels,
                shadowFeatures: (0..<observed.modelCount).map { ShadowModelAttack.features(observed.selecting(models: [$0]), query: 0, options.features) },
                shadowLabels: observedLabels, shadowMembership: observedMembership, classes: signals.target.classCount,
                options: options, trainer: attackModelTrainer, random: random.stream("audit/shadow"))
        case .labelOnly:
            throw MembershipInferenceError.invalidParameter("label_only needs query access to the model")
        }
    }
}

extension MembershipMatrix {
    /// This membership followed by `other`'s examples (same models).
    public func appending(examples other: MembershipMatrix) -> MembershipMatrix {
        precondition(other.modelCount == modelCount, "MembershipMatrix: cannot join \(modelCount) models with \(other.modelCount)")
        var out: [Bool] = []
        out.reserveCapacity(bits.count + other.bits.count)
        for m in 0..<modelCount {
            out.append(contentsOf: bits[(m * exampleCount)..<((m + 1) * exampleCount)])
            out.append(contentsOf: other.bits[(m * other.exampleCount)..<((m + 1) * other.exampleCount)])
        }
        return MembershipMatrix(modelCount: modelCount, exampleCount: exampleCount + other.exampleCount, bits: out)
    }
}
