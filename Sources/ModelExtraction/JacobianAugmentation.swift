import LabRandom
import ModelAccess
import Tensors

/// Jacobian-based dataset augmentation: a surrogate grown from a small seed set by querying the
/// victim where the surrogate's decision changes fastest.
///
/// Round ρ = 0, 1, …, `rounds` − 1: the victim labels the new inputs of S_ρ (S_0 is the seed set),
/// a fresh surrogate F_ρ is trained on S_ρ (stream "round/<ρ>"), and unless ρ is the last round
/// S_{ρ+1} = S_ρ ∪ { clip(x + λ_ρ · sign(∂F_ρ(x)_{Õ(x)} / ∂x)) : x ∈ S_ρ }, where Õ(x) is the
/// victim's label of x and F(x)_y the surrogate's softmax probability of class y. Options, as
/// published:
/// - periodic step size λ_ρ = λ · (−1)^⌊ρ/τ⌋ (`signFlipPeriod` τ; nil: λ_ρ = λ), which keeps the
///   new points from drifting far off the data;
/// - reservoir sampling (`reservoir`: from round σ on, only κ points of S_ρ, drawn at random from
///   stream "reservoir/<ρ>", are augmented), so queries grow by κ per round instead of doubling;
/// - `maximumQueries`: augmentation stops when the victim has answered that many inputs (the last
///   new points are the first of the round's).
///
/// Laws: the victim is asked only about the seed set and each round's new points, once each, so
/// the queries of round ρ's surrogate are |S_ρ|; each surrogate is a function of the seed set, the
/// victim and `random`.
///
/// - Complexity: Σρ |S_ρ| victim queries; `rounds` surrogate trainings and one input-gradient pass
///   of each augmented set.
/// - Paper: N. Papernot, P. McDaniel, I. Goodfellow, S. Jha, Z. B. Celik and A. Swami, "Practical
///   Black-Box Attacks against Machine Learning", AsiaCCS 2017, Algorithm 1 and §6 (periodic step
///   size, reservoir sampling).
public struct JacobianAugmentation: Sendable, Hashable {
    public struct Reservoir: Sendable, Hashable {
        /// σ: the first round whose augmentation uses the reservoir.
        public var startRound: Int
        /// κ: points augmented per round from then on.
        public var size: Int
        public init(startRound: Int, size: Int) {
            self.startRound = startRound
            self.size = size
        }
    }

    public enum JacobianError: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case let .invalid(why): return "Jacobian augmentation: \(why)" }
        }
    }

    public var rounds: Int
    public var lambda: Float
    public var signFlipPeriod: Int?
    public var reservoir: Reservoir?
    public var maximumQueries: Int?
    public var targets: SurrogateTargets
    /// New points are clipped to [lower, upper].
    public var lower: Float
    public var upper: Float

    public init(rounds: Int, lambda: Float = 0.1, signFlipPeriod: Int? = nil, reservoir: Reservoir? = nil, maximumQueries: Int? = nil,
                targets: SurrogateTargets = .labels, lower: Float = 0, upper: Float = 1) {
        self.rounds = rounds
        self.lambda = lambda
        self.signFlipPeriod = signFlipPeriod
        self.reservoir = reservoir
        self.maximumQueries = maximumQueries
        self.targets = targets
        self.lower = lower
        self.upper = upper
    }

    /// λ_ρ: λ with the sign flipped every τ rounds.
    public func stepSize(round: Int) -> Float {
        guard let tau = signFlipPeriod else { return lambda }
        return (round / tau) % 2 == 0 ? lambda : -lambda
    }

    /// Steals `victim` from the `seed` inputs [N, per-sample shape…].
    /// - Returns: the surrogate of every round, with the queries spent until it was trained.
    /// - Throws: `JacobianError` for bad options or an empty seed set; the recipe's errors.
    public func extract<Victim: ProbabilityAccess, Recipe: SoftTargetTrainingRecipe>(
        _ victim: Victim, seed: Tensor, recipe: Recipe, random: LabRandom
    ) throws -> [StolenModel<Recipe.Model>] where Recipe.Model: DifferentiableModel {
        guard rounds >= 1 else { throw JacobianError.invalid("needs at least one round, got \(rounds)") }
        guard seed.rank >= 2, seed.shape[0] >= 1 else { throw JacobianError.invalid("the seed set is empty") }
        guard lambda.isFinite, lambda > 0 else { throw JacobianError.invalid("λ must be positive, got \(lambda)") }
        if let tau = signFlipPeriod, tau < 1 { throw JacobianError.invalid("the sign-flip period τ must be ≥ 1, got \(tau)") }
        if let r = reservoir, r.startRound < 0 || r.size < 1 { throw JacobianError.invalid("the reservoir needs σ ≥ 0 and κ ≥ 1, got σ = \(r.startRound), κ = \(r.size)") }
        if let m = maximumQueries, m < seed.shape[0] {
            throw JacobianError.invalid("the query budget \(m) is smaller than the seed set (\(seed.shape[0]))")
        }
        var inputs = seed
        var answers = Answers(victim, seed)
        var stolen: [StolenModel<Recipe.Model>] = []
        for round in 0..<rounds {
            let model = try recipe.trainSurrogate(inputs: inputs, answers: answers, targets: targets, random: random.stream("round/\(round)"))
            stolen.append(StolenModel(queries: inputs.shape[0], model: model, trainingInputs: inputs))
            let remaining = (maximumQueries ?? .max) - inputs.shape[0]
            guard round + 1 < rounds, remaining > 0 else { break }
            var augmented = Array(0..<inputs.shape[0])
            if let r = reservoir, round >= r.startRound, r.size < augmented.count {
                var draw = random.stream("reservoir/\(round)")
                augmented = draw.sampleWithoutReplacement(r.size, from: augmented.count).sorted()
            }
            augmented = Array(augmented.prefix(remaining))
            let labels = answers.labels
            let fresh = Self.step(model, inputs.gatheringRows(augmented), labels: augmented.map { labels[$0] },
                                  lambda: stepSize(round: round), lower: lower, upper: upper)
            answers.append(Answers(victim, fresh))
            inputs = concatenated(inputs, fresh)
        }
        return stolen
    }

    /// clip(x + λ · sign(∂ softmax(F(x))_y / ∂x)) for each row, in chunks of 256 rows.
    static func step<Model: DifferentiableModel>(_ model: Model, _ x: Tensor, labels: [Int], lambda: Float, lower: Float, upper: Float) -> Tensor {
        var out: [Float] = []
        out.reserveCapacity(x.scalarCount)
        let n = x.shape[0]
        for start in stride(from: 0, to: n, by: 256) {
            let range = start..<min(n, start + 256)
            let chunk = rows(x, range).detached().requiringGradient()
            let p = model.logits(for: chunk, parameters: model.parameters).softmax()
            let selected = (p * Tensor.oneHot(Array(labels[range]), classCount: model.classCount)).sum()
            let g = gradients(of: selected, withRespectTo: [chunk])[0].scalars
            let values = chunk.scalars
            for i in values.indices {
                let s: Float = g[i] > 0 ? 1 : (g[i] < 0 ? -1 : 0)
                out.append(min(upper, max(lower, values[i] + lambda * s)))
            }
        }
        return Tensor(shape: x.shape, scalars: out)
    }
}
