import Foundation
import LabRandom
import ModelAccess
import Tensors

/// The shadow-model attack (Shokri, Stronati, Song and Shmatikov, "Membership Inference Attacks
/// Against Machine Learning Models", IEEE S&P 2017).
///
/// Shadow models are trained like the target on data whose membership the attacker knows (here:
/// the reference models). Each shadow model's prediction vectors on its own IN and OUT examples,
/// labelled 1 and 0, form the attack training set; one binary attack model per class (§V.C: the
/// output distribution differs by class) learns to tell IN from OUT, and is then applied to the
/// target's prediction vectors of that class. The score is the attack model's log-odds of
/// "member" (logit₁ − logit₀), a monotone function of its membership probability.
///
/// The attack model is a binary classifier an `AttackModelTrainer` trains: Shokri et al.'s small
/// MLP (one hidden ReLU layer; `hiddenUnits: 0` makes it logistic regression), trained on a
/// PrivacyLab network by ThreatTraining's `ShadowModelAttack.NetworkTrainer`. Its features are the prediction vector as
/// Shokri et al. use it (`.probabilities`) or its logarithm (`.logProbabilities`, which spreads
/// out the confidences near 1 that separate members from non-members and trains more easily). A
/// class with no IN or no OUT observation falls back to one attack model trained on all classes.
///
/// Every random choice (subsampling, initialisation, batch order) comes from `random`: the
/// model of class c from "class/<c>", the fallback from "all-classes".
///
/// - Complexity: training cost of the attack models, O(epochs × observations × hidden × classes).
public enum ShadowModelAttack {
    public enum Features: String, Sendable, Hashable, Codable {
        case probabilities
        case logProbabilities = "log-probabilities"
    }

    /// How the attack models learn: a binary classifier of attack features, rows of
    /// `features(_:_:)` labelled 1 (member) or 0 (non-member), whose logit₁ − logit₀ is the
    /// membership score.
    ///
    /// Law: `train` is a function of its arguments (the same features, labels, options and random
    /// give the same model, bit for bit); every random choice comes from `random`.
    public protocol AttackModelTrainer: Sendable {
        /// A model trained on `features` [N, C] and `labels` (0 or 1), with the hyper-parameters
        /// of `options` (`hiddenUnits`, `epochs`, `batchSize`, `learningRate`), whose logits are
        /// [M, 2] for M feature rows.
        func train(features: Tensor, labels: [Int], options: Options, random: LabRandom) throws -> any LogitAccess
    }

    public struct Options: Sendable, Hashable, Codable {
        public var features: Features
        public var hiddenUnits: Int
        public var epochs: Int
        public var batchSize: Int
        public var learningRate: Float
        /// Observations kept per class (a uniform subsample when there are more).
        public var maximumObservationsPerClass: Int

        public init(features: Features = .probabilities, hiddenUnits: Int = 64, epochs: Int = 40,
                    batchSize: Int = 64, learningRate: Float = 0.001, maximumObservationsPerClass: Int = 4000) {
            self.features = features
            self.hiddenUnits = hiddenUnits
            self.epochs = epochs
            self.batchSize = batchSize
            self.learningRate = learningRate
            self.maximumObservationsPerClass = maximumObservationsPerClass
        }
    }

    /// Membership scores of the target's examples.
    /// - Parameters:
    ///   - targetLogits: the target's logits [N, C] on the audited examples, with their `labels`.
    ///   - shadowLogits: each shadow model's logits [M, C] on the same M observed examples, with
    ///     their `shadowLabels`.
    ///   - shadowMembership: K × M, whether each shadow model trained on each observed example.
    ///   - trainer: how the attack models learn.
    public static func scores(targetLogits: Tensor, labels: [Int], shadowLogits: [Tensor], shadowLabels: [Int],
                              shadowMembership: MembershipMatrix, options: Options = Options(),
                              trainer: some AttackModelTrainer, random: LabRandom) throws(MembershipInferenceError) -> [Double] {
        guard targetLogits.rank == 2, targetLogits.shape[0] == labels.count else {
            throw .shapeMismatch("shadow attack: target logits \(targetLogits.shape) for \(labels.count) labels")
        }
        let classes = targetLogits.shape[1], m = shadowLabels.count
        guard shadowLogits.count == shadowMembership.modelCount, shadowMembership.exampleCount == m,
              shadowLogits.allSatisfy({ $0.shape == [m, classes] }) else {
            throw .shapeMismatch("shadow attack: \(shadowLogits.count) shadow models' logits do not match the \(shadowMembership.modelCount)×\(shadowMembership.exampleCount) membership and \(classes) classes")
        }
        return try scores(targetFeatures: features(targetLogits, options.features), labels: labels,
                          shadowFeatures: shadowLogits.map { features($0, options.features) }, shadowLabels: shadowLabels,
                          shadowMembership: shadowMembership, classes: classes, options: options, trainer: trainer, random: random)
    }

    /// Membership scores from attack features computed beforehand (`features(_:_:)`): the
    /// target's [N × C] row-major, each shadow model's [M × C].
    static func scores(targetFeatures: [Float], labels: [Int], shadowFeatures: [[Float]], shadowLabels: [Int],
                       shadowMembership: MembershipMatrix, classes: Int, options: Options,
                       trainer: any AttackModelTrainer, random: LabRandom) throws(MembershipInferenceError) -> [Double] {
        let m = shadowLabels.count
        guard targetFeatures.count == labels.count * classes, shadowFeatures.count == shadowMembership.modelCount,
              shadowMembership.exampleCount == m, shadowFeatures.allSatisfy({ $0.count == m * classes }) else {
            throw .shapeMismatch("shadow attack: the features of \(shadowFeatures.count) shadow models do not match the \(shadowMembership.modelCount)×\(shadowMembership.exampleCount) membership and \(classes) classes")
        }
        guard options.epochs >= 1, options.batchSize >= 1, options.hiddenUnits >= 0, options.maximumObservationsPerClass >= 2 else {
            throw .invalidParameter("shadow attack: epochs, batch size and observations must be positive")
        }
        if let bad = (labels + shadowLabels).first(where: { $0 < 0 || $0 >= classes }) {
            throw .invalidParameter("shadow attack: label \(bad) outside the \(classes) classes")
        }
        // Observations grouped by class: (shadow model, example) pairs.
        var byClass = [[(model: Int, example: Int)]](repeating: [], count: classes)
        for k in 0..<shadowFeatures.count {
            for i in 0..<m { byClass[shadowLabels[i]].append((k, i)) }
        }

        func train(_ observations: [(model: Int, example: Int)], stream: LabRandom) throws(MembershipInferenceError) -> (any LogitAccess)? {
            var chosen = observations
            if chosen.count > options.maximumObservationsPerClass {
                var pick = stream.stream("subsample")
                chosen = pick.sampleWithoutReplacement(options.maximumObservationsPerClass, from: chosen.count).sorted().map { chosen[$0] }
            }
            var x = [Float](repeating: 0, count: chosen.count * classes)
            var y = [Int](repeating: 0, count: chosen.count)
            for (row, o) in chosen.enumerated() {
                for j in 0..<classes { x[row * classes + j] = shadowFeatures[o.model][o.example * classes + j] }
                y[row] = shadowMembership[o.model, o.example] ? 1 : 0
            }
            let members = y.reduce(0, +)
            guard members > 0, members < y.count else { return nil }
            do {
                return try trainer.train(features: Tensor(shape: [chosen.count, classes], scalars: x), labels: y, options: options,
                                         random: stream)
            } catch {
                throw .training("shadow attack model: \(error)")
            }
        }

        var fallback: (any LogitAccess)?? = nil   // trained on demand
        var scores = [Double](repeating: 0, count: labels.count)
        for c in 0..<classes {
            let rows = labels.indices.filter { labels[$0] == c }
            guard !rows.isEmpty else { continue }
            var model = try train(byClass[c], stream: random.stream("class/\(c)"))
            if model == nil {
                if fallback == nil { fallback = .some(try train(byClass.flatMap { $0 }, stream: random.stream("all-classes"))) }
                model = fallback!
            }
            guard let model else {
                throw .invalidParameter("shadow attack: the shadow models' observations contain no IN or no OUT example")
            }
            var x = [Float](repeating: 0, count: rows.count * classes)
            for (r, i) in rows.enumerated() {
                for j in 0..<classes { x[r * classes + j] = targetFeatures[i * classes + j] }
            }
            let out = model.logits(for: Tensor(shape: [rows.count, classes], scalars: x)).scalars
            for (r, i) in rows.enumerated() { scores[i] = Double(out[2 * r + 1]) - Double(out[2 * r]) }
        }
        return scores
    }

    /// The attack features of one model's outputs (query view `query`), row-major [N, C]:
    /// from logits exactly as `features(_:_:)` computes them; from probabilities p, the
    /// probabilities or log p (floored at −100) in Float.
    static func features(_ outputs: PredictionOutputs, query: Int, _ kind: Features) -> [Float] {
        precondition(outputs.modelCount == 1 && outputs.form != .losses, "shadow features need one model's logits or probabilities")
        let (n, c, q) = (outputs.recordCount, outputs.classCount, outputs.queryCount)
        var rows = [Float](repeating: 0, count: n * c)
        outputs.values.withUnsafeBufferPointer { v in
            for i in 0..<n {
                for j in 0..<c { rows[i * c + j] = Float(v[(i * q + query) * c + j]) }
            }
        }
        switch outputs.form {
        case .logits:
            return features(Tensor(shape: [n, c], scalars: rows), kind)
        case .probabilities, .losses:
            switch kind {
            case .probabilities: return rows
            case .logProbabilities: return rows.map { Swift.max(Foundation.log($0), -100) }
            }
        }
    }

    /// The attack features of each row of logits, row-major [N, C].
    static func features(_ logits: Tensor, _ kind: Features) -> [Float] {
        withoutGradients {
            switch kind {
            case .probabilities: return logits.softmax().scalars
            case .logProbabilities: return logits.logSoftmax().scalars.map { Swift.max($0, -100) }
            }
        }
    }
}
