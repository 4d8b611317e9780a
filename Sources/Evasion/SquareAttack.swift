import LabRandom
import ModelAccess
import Tensors

/// The Square Attack (L∞ or L2): a score-based black-box attack that needs only the model's class
/// probabilities. Each step proposes a change confined to random square windows and keeps it when
/// the margin loss p_y − max_{k≠y} p_k (targeted: max_{k≠t} p_k − p_t) falls; the window's area
/// shrinks on a fixed schedule as the query budget is spent. An example stops, and stops costing
/// queries, once it is misclassified (reaches its target).
///
/// - L∞: starts from vertical stripes of ±ε; a step sets one window to a fresh ±ε per channel.
/// - L2: starts from a 5 × 5 grid of tiles, each a centred pattern η (concentric squares of
///   weight Σ_{k ≥ ring} 1/(k+1)², opposite signs on its two halves) with a random sign per channel,
///   scaled to ‖δ‖₂ = ε. A step picks two windows W₁, W₂ of one size, and per channel replaces δ on
///   W₁ ∪ W₂ by a new pattern on W₁ alone: η (random sign and orientation) plus δ_{W₁}/‖δ_{W₁}‖,
///   rescaled to norm (ε_unused²/c + ‖δ_{W₁∪W₂}‖²)^½ with ε_unused² = max(ε² − ‖δ‖², 0), so the
///   perturbation's mass moves between windows while ‖δ‖₂ stays at ε; then x + δ is clipped into
///   the domain (which only shrinks ‖δ‖₂) and projected onto the ε-ball against rounding.
///
/// Every query is counted: one per example for the initial stripes and one per step while it is
/// still being attacked.
///
/// - Paper: M. Andriushchenko, F. Croce, N. Flammarion and M. Hein, "Square Attack: a
///   query-efficient black-box adversarial attack via random search", ECCV 2020.
public struct SquareAttack: EvasionAttack, Hashable {
    public var norm: PerturbationNorm
    public var epsilon: Float
    /// Queries allowed per example, the initial one included (≥ 1).
    public var maximumQueries: Int
    /// The share of the image's pixels the first windows cover (the paper's p_init).
    public var initialFraction: Float
    public var domain: InputDomain

    public init(norm: PerturbationNorm = .linf, epsilon: Float, maximumQueries: Int = 1000, initialFraction: Float = 0.05,
                domain: InputDomain = .unitInterval) {
        precondition(epsilon >= 0, "SquareAttack: ε must be ≥ 0")
        precondition(maximumQueries >= 1, "SquareAttack: at least one query")
        precondition(initialFraction > 0 && initialFraction <= 1, "SquareAttack: the initial fraction lies in (0, 1]")
        self.norm = norm
        self.epsilon = epsilon
        self.maximumQueries = maximumQueries
        self.initialFraction = initialFraction
        self.domain = domain
    }

    public func withEpsilon(_ epsilon: Float) -> SquareAttack {
        var copy = self
        copy.epsilon = epsilon
        return copy
    }

    /// What one run found: the adversarial inputs, and for each example the queries it cost and
    /// whether it succeeded.
    public struct Result: Sendable {
        public var adversarial: Tensor
        public var queries: [Int]
        public var success: [Bool]
    }

    public func perturb<M: LogitGradientAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Tensor {
        run(inputs, labels: labels, goal: goal, model: model, random: random).adversarial
    }

    /// The window's share of the pixels at step `step` of `steps`: the initial fraction, halved at
    /// 0.1%, 0.5%, 2%, 5%, 10%, 20%, 40%, 60% and 80% of the budget.
    public static func fractionForTesting(_ initial: Float, step: Int, of steps: Int) -> Float { fraction(initial, step: step, of: steps) }

    static func fraction(_ initial: Float, step: Int, of steps: Int) -> Float {
        let progress = Int(Double(step) / Double(max(1, steps)) * 10_000)
        let bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000, 10_000]
        guard progress > bounds[0] else { return initial }
        for (halvings, upper) in bounds.dropFirst().enumerated() where progress <= upper {
            return initial / Float(1 << (halvings + 1))
        }
        return initial
    }

    /// Attacks every input with only `model`'s probabilities.
    /// - Precondition: inputs [N, C, H, W] or [N, F] (a row of F features is a 1 × F image).
    public func run<M: ProbabilityAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Result {
        let n = inputs.shape[0]
        let sample = Array(inputs.shape.dropFirst())
        let (c, h, w) = sample.count == 3 ? (sample[0], sample[1], sample[2]) : (1, 1, sample.reduce(1, *))
        let size = c * h * w
        let x = inputs.scalars
        let clip = domain.clamp
        if norm == .l2 {
            return runL2(inputs, labels: labels, goal: goal, model: model, random: random)
        }

        /// The margin loss of each row of probabilities: < 0 once the attack has succeeded.
        func losses(_ batch: [Float], rows: [Int]) -> [Float] {
            Self.marginLosses(batch, rows: rows, sample: sample, labels: labels, goal: goal, model: model)
        }

        var stream = random
        // Vertical stripes: one ±ε per (example, channel, column).
        var best = [Float](repeating: 0, count: n * size)
        for i in 0..<n {
            for ch in 0..<c {
                for col in 0..<w {
                    let sign: Float = stream.nextBernoulli(0.5) ? 1 : -1
                    for row in 0..<h {
                        let at = i * size + (ch * h + row) * w + col
                        best[at] = clip(x[at] + sign * epsilon)
                    }
                }
            }
        }
        var loss = losses(best, rows: Array(0..<n))
        var queries = [Int](repeating: 1, count: n)
        let steps = maximumQueries - 1
        for step in 0..<steps {
            let active = (0..<n).filter { loss[$0] >= 0 }
            if active.isEmpty { break }
            let p = Self.fraction(initialFraction, step: step, of: steps)
            var side = Int((Float(h * w) * p).squareRoot().rounded())
            side = max(1, min(side, h > 1 ? h - 1 : 1, w > 1 ? w - 1 : 1))
            var candidate = [Float](repeating: 0, count: active.count * size)
            for (r, i) in active.enumerated() {
                let top = h - side > 0 ? stream.nextInt(below: h - side + 1) : 0
                let left = w - side > 0 ? stream.nextInt(below: w - side + 1) : 0
                for k in 0..<size { candidate[r * size + k] = best[i * size + k] }
                for ch in 0..<c {
                    // A fresh ±ε for the window; redrawn while it would leave the window unchanged.
                    var value: [Float] = []
                    for _ in 0..<16 {
                        let sign: Float = stream.nextBernoulli(0.5) ? 1 : -1
                        value = []
                        var changes = false
                        for row in top..<top + side {
                            for col in left..<left + side {
                                let at = (ch * h + row) * w + col
                                let v = clip(x[i * size + at] + sign * epsilon)
                                value.append(v)
                                if abs(v - best[i * size + at]) >= 1e-7 { changes = true }
                            }
                        }
                        if changes { break }
                    }
                    var k = 0
                    for row in top..<top + side {
                        for col in left..<left + side {
                            candidate[r * size + (ch * h + row) * w + col] = value[k]
                            k += 1
                        }
                    }
                }
            }
            let newLoss = losses(candidate, rows: active)
            for (r, i) in active.enumerated() {
                queries[i] += 1
                if newLoss[r] < loss[i] {
                    loss[i] = newLoss[r]
                    for k in 0..<size { best[i * size + k] = candidate[r * size + k] }
                }
            }
        }
        return Result(adversarial: Tensor(shape: inputs.shape, scalars: best), queries: queries, success: loss.map { $0 < 0 })
    }
}
