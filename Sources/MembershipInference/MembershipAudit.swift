import AttackMetrics
import LabRandom
import ModelAccess
import Tensors

/// One attack's outcome on the audited examples.
public struct AttackResult: Sendable {
    public let method: AttackMethod
    /// The score of each audited example (higher = more likely a member), in the order of
    /// `MembershipDesign.candidates`.
    public let scores: [Double]
    /// The true membership of each audited example.
    public let isMember: [Bool]
    public let evaluation: AttackEvaluation

    /// The attack's part name (`lira`, `loss`, …).
    public var name: String { method.name }

    /// The metrics under their experiment names (`lira.auc`, `lira.tpr@0.001`, …).
    public var metrics: [ReportedMetric] { evaluation.metrics(part: name) }

    /// Log-log ROC points for plotting.
    public func rocPoints(maximumCount: Int = 200) -> [ROCPoint] { evaluation.curve.logLogPoints(maximumCount: maximumCount) }
}

/// Runs several membership-inference attacks on one target model with one set of reference
/// models, the way the field measures them: every attack scores the same audited examples (the
/// target's members and non-members of a `MembershipDesign`), and each is evaluated with TPR at
/// low FPR, AUC, advantage and an empirical ε.
///
/// The audit queries each model once per query augmentation on the audited examples and on a
/// population sample (for RMIA), then hands the outputs to `run(signals:configuration:random:)`,
/// the entry point for outputs computed elsewhere: every attack but label-only consumes only
/// those outputs. Reference models are trained (or loaded by the caller's cache) once and shared
/// by all attacks; the shadow attack uses dedicated shadow models when given (`ShadowModels`).
///
/// The shadow attack's attack models learn with `attackModelTrainer` (ThreatTraining's
/// `ShadowModelAttack.NetworkTrainer` trains Shokri et al.'s MLP); the other attacks need none.
///
/// Streams: the RMIA population sample from `random.stream("audit/population")`, the shadow attack
/// models from "shadow", label-only noise from "label-only", bootstrap replicates from
/// "bootstrap/<attack name>"; reference training (in `run(target:recipe:…)`) from
/// "reference/<k>".
public enum MembershipAudit {
    public struct Configuration: Sendable, Hashable, Codable {
        public var methods: [AttackMethod]
        /// Views of each example to query (Carlini et al. 2022 §IV.B); `[.identity]` for none.
        public var queryAugmentations: [QueryAugmentation]
        /// Bootstrap replicates for confidence intervals; 0 for none.
        public var bootstrapReplicates: Int
        /// Confidence of the ε bound and bootstrap intervals.
        public var confidence: Double
        /// The δ of the empirical ε bound.
        public var delta: Double
        /// How many models train or answer queries at once.
        public var concurrency: Int

        public init(methods: [AttackMethod], queryAugmentations: [QueryAugmentation] = [.identity],
                    bootstrapReplicates: Int = 0, confidence: Double = 0.95, delta: Double = 0, concurrency: Int = 1) {
            self.methods = methods
            self.queryAugmentations = queryAugmentations
            self.bootstrapReplicates = bootstrapReplicates
            self.confidence = confidence
            self.delta = delta
            self.concurrency = concurrency
        }
    }

    /// Trains the design's reference models with `recipe` (in parallel, streams "reference/<k>"),
    /// then runs the attacks.
    public static func run<Target: LogitAccess, Recipe: TrainingRecipe>(
        target: Target, recipe: Recipe, population: LabeledExamples, design: MembershipDesign,
        configuration: Configuration, attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)? = nil, random: LabRandom
    ) async throws -> [AttackResult] where Recipe.Model: LogitAccess {
        try checkTrainers(configuration, attackModelTrainer)
        let needsReferences = configuration.methods.contains { $0.needsReferenceModels }
        let references = try await ReferenceTraining.train(
            recipe: recipe, population: population,
            trainingSets: needsReferences ? ReferenceTraining.trainingSets(of: design) : [],
            concurrency: configuration.concurrency, random: random)
        return try await run(target: target, references: references, population: population, design: design,
                             configuration: configuration, attackModelTrainer: attackModelTrainer, random: random)
    }

    /// Runs the attacks with reference models trained beforehand (for example loaded from a cache).
    /// - Parameters:
    ///   - target: the audited model, trained on `design.targetMembers`.
    ///   - references: models trained on the design's halves (`ReferenceTraining.trainingSets(of:)`);
    ///     may be empty when no attack needs them.
    ///   - population: the examples the design's indices refer to.
    ///   - attackModelTrainer: how the shadow attack's attack models learn (needed by that attack
    ///     only).
    /// - Returns: one result per method, in order.
    /// - Throws: `MembershipInferenceError` when an attack cannot run on this design (an online
    ///   attack on an offline design, no reference models), `AttackMetricsError` for degenerate
    ///   evaluations.
    public static func run<Target: LogitAccess, Reference: LogitAccess>(
        target: Target, references: ReferenceModels<Reference>, population: LabeledExamples, design: MembershipDesign,
        configuration: Configuration, attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)? = nil, random: LabRandom
    ) async throws -> [AttackResult] {
        try await run(target: target, references: references, shadows: ShadowModels<Reference>?.none, population: population,
                      design: design, configuration: configuration, attackModelTrainer: attackModelTrainer, random: random)
    }

    /// Shadow models in Shokri et al.'s setting: trained on population records disjoint from the
    /// audited ones (`models.trainingSets`, population indices), and observed on `records`
    /// (each IN or OUT for each shadow model).
    public struct ShadowModels<Model: Sendable>: Sendable {
        public let models: ReferenceModels<Model>
        public let records: [Int]

        public init(models: ReferenceModels<Model>, records: [Int]) {
            self.models = models
            self.records = records
        }
    }

    /// Trains `count` shadow models on balanced random halves of `records` (population indices
    /// never audited): the halves from `random.stream("shadow-design")`, model k called
    /// `shadow/<k>` and drawing from `random.stream("shadow/<k>")` (see `ReferenceTraining.train`).
    /// - Throws: `MembershipInferenceError.invalidParameter` for fewer than two records or no models.
    public static func trainShadowModels<Recipe: TrainingRecipe>(
        recipe: Recipe, population: LabeledExamples, records: [Int], count: Int, concurrency: Int, random: LabRandom
    ) async throws -> ShadowModels<Recipe.Model> {
        guard records.count >= 2, count >= 1 else {
            throw MembershipInferenceError.invalidParameter(
                "shadow models train on halves of at least 2 records never audited (got \(records.count)), and at least one is needed (got \(count))")
        }
        var design = random.stream("shadow-design")
        let masks = MembershipMasks.balanced(modelCount: count, examples: records, using: &design)
        let sets = (0..<count).map { masks.members(ofModel: $0) }
        let models = try await ReferenceTraining.train(recipe: recipe, population: population, trainingSets: sets,
                                                       concurrency: concurrency, random: random, names: "shadow")
        return ShadowModels(models: models, records: records)
    }

    /// Runs the attacks with reference models and, for the shadow attack, dedicated shadow
    /// models (`shadows`, nil to let the references serve as shadow models).
    /// - Throws: as `run(target:references:…)`, and when a shadow record is an audited one.
    public static func run<Target: LogitAccess, Reference: LogitAccess, Shadow: LogitAccess>(
        target: Target, references: ReferenceModels<Reference>, shadows: ShadowModels<Shadow>?, population: LabeledExamples,
        design: MembershipDesign, configuration: Configuration, attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)? = nil,
        random: LabRandom
    ) async throws -> [AttackResult] {
        try checkTrainers(configuration, attackModelTrainer)
        guard population.count == design.populationSize else {
            throw MembershipInferenceError.shapeMismatch("the design covers \(design.populationSize) examples, the population has \(population.count)")
        }
        guard !configuration.queryAugmentations.isEmpty else {
            throw MembershipInferenceError.invalidParameter("at least one query augmentation (.identity) is needed")
        }
        guard configuration.concurrency >= 1 else {
            throw MembershipInferenceError.invalidParameter("concurrency must be at least 1, got \(configuration.concurrency)")
        }
        for method in configuration.methods {
            if case .shadowModels = method, shadows != nil { continue }
            if method.needsReferenceModels && references.count == 0 {
                throw MembershipInferenceError.invalidParameter("\(method.name) needs reference models, none were given")
            }
            if method.needsOnlineDesign && !design.online {
                throw MembershipInferenceError.invalidParameter("\(method.name) is an online attack; the design is offline (no reference model trains on the audited examples)")
            }
        }
        let (candidates, isMember) = design.candidates
        // The population sample z for RMIA (and extra shadow observations): from the pool, never audited.
        let populationCount = configuration.methods.reduce(0) { count, method in
            if case let .rmia(_, _, _, size) = method { return Swift.max(count, size) }
            return count
        }
        var populationStream = random.stream("audit/population")
        let zCount = Swift.min(populationCount, design.referencePool.count)
        let zIndices = populationStream.sampleWithoutReplacement(zCount, from: design.referencePool.count)
            .sorted().map { design.referencePool[$0] }
        let queried = candidates + zIndices
        let data = population.subset(queried)
        let labels = data.labels
        let views = try configuration.queryAugmentations.map { augmentation throws(MembershipInferenceError) in
            try augmentation.apply(data.inputs)
        }

        // Logits of every model on every view: [model][view] → [queried, C].
        let targetLogits = views.map { target.logits(for: $0) }
        let referenceLogits = try await ParallelMap.map(count: references.count, concurrency: configuration.concurrency) { k in
            views.map { references.models[k].logits(for: $0) }
        }
        let membership = references.membership(of: queried, populationSize: population.count)
        let n = candidates.count
        let candidateColumns = Array(0..<n), populationColumns = Array(n..<queried.count)
        if populationColumns.isEmpty, configuration.methods.contains(where: { if case .rmia = $0 { return true } else { return false } }) {
            throw MembershipInferenceError.invalidParameter("RMIA needs population examples; the design's reference pool is empty")
        }

        // From here on, the attacks read only the models' outputs: the signals entry point.
        let targetOutputs = try PredictionOutputs(logits: [targetLogits])
        let referenceOutputs = references.count > 0 ? try PredictionOutputs(logits: referenceLogits) : nil
        let populationSignals = try referenceOutputs.flatMap { outputs -> AuditSignals.PopulationSignals? in
            guard !populationColumns.isEmpty else { return nil }
            return try AuditSignals.PopulationSignals(
                labels: Array(labels[n...]), target: targetOutputs.selecting(records: populationColumns),
                references: outputs.selecting(records: populationColumns),
                referenceMembership: membership.selecting(examples: populationColumns))
        }
        var shadowSignals: AuditSignals.ShadowSignals?
        if let shadows, configuration.methods.contains(where: { if case .shadowModels = $0 { return true } else { return false } }) {
            let audited = Set(candidates)
            if let overlap = shadows.records.first(where: audited.contains) {
                throw MembershipInferenceError.invalidParameter("shadow models must be observed on records disjoint from the audited ones; record \(overlap) is audited")
            }
            let shadowData = population.subset(shadows.records)
            let shadowView = try configuration.queryAugmentations[0].apply(shadowData.inputs)
            let shadowLogits = try await ParallelMap.map(count: shadows.models.count, concurrency: configuration.concurrency) { k in
                [shadows.models.models[k].logits(for: shadowView)]
            }
            shadowSignals = try AuditSignals.ShadowSignals(
                labels: shadowData.labels, outputs: PredictionOutputs(logits: shadowLogits),
                membership: shadows.models.membership(of: shadows.records, populationSize: population.count))
        }
        let signals = try AuditSignals(
            labels: Array(labels[0..<n]), isMember: isMember, target: targetOutputs.selecting(records: candidateColumns),
            references: referenceOutputs?.selecting(records: candidateColumns),
            referenceMembership: referenceOutputs == nil ? nil : membership.selecting(examples: candidateColumns),
            population: populationSignals, shadows: shadowSignals)
        let cache = SignalCache(signals)

        var results: [AttackResult] = []
        for method in configuration.methods {
            let scores: [Double]
            if case let .labelOnly(options) = method {
                scores = try LabelOnlyAttack.scores(model: target, inputs: views[0].slice(axis: 0, 0..<n),
                                                    labels: Array(labels[0..<n]), options: options,
                                                    random: random.stream("audit/label-only"))
            } else {
                scores = try attackScores(method, cache: cache, attackModelTrainer: attackModelTrainer, random: random)
            }
            results.append(try evaluate(method, scores: scores, isMember: isMember, configuration: configuration, random: random))
        }
        return results
    }

    /// The error of a shadow attack run without a trainer of its attack models.
    static let missingAttackModelTrainer = MembershipInferenceError.invalidParameter(
        "the shadow attack needs a trainer of its attack models (attackModelTrainer: ThreatTraining's ShadowModelAttack.NetworkTrainer(), for one)")

    /// Checks, before any model is trained or queried, that the attacks that learn have a trainer.
    static func checkTrainers(_ configuration: Configuration,
                              _ attackModelTrainer: (any ShadowModelAttack.AttackModelTrainer)?) throws(MembershipInferenceError) {
        if attackModelTrainer == nil, configuration.methods.contains(where: { if case .shadowModels = $0 { return true } else { return false } }) {
            throw missingAttackModelTrainer
        }
    }
}
