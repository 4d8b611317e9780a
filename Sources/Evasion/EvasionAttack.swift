import LabRandom
import ModelAccess
import Tensors

/// A white-box evasion attack: given a model's logit gradients, moves each input within an
/// ε-ball (in `norm`) and the valid input range towards the attacker's goal.
///
/// Laws every attack keeps: ‖x′ᵢ − xᵢ‖ ≤ ε (up to Float32 rounding) and x′ lies in the domain;
/// the output has the shape of the input; with ε = 0 the input is returned unchanged.
public protocol EvasionAttack: Sendable {
    /// The norm of the perturbation budget.
    var norm: PerturbationNorm { get }
    /// The perturbation budget ε.
    var epsilon: Float { get }
    /// The same attack with another budget (for robustness curves over ε).
    func withEpsilon(_ epsilon: Float) -> Self
    /// Adversarial versions of `inputs` [N, …] against `model`.
    /// - Parameters:
    ///   - labels: the true labels (what an untargeted attack moves away from).
    ///   - random: the stream random starts draw from (unused by deterministic attacks).
    func perturb<M: LogitGradientAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M,
                                         random: LabRandom) -> Tensor
}

/// The fast gradient method: one step of size ε in the steepest-ascent direction of the loss,
/// x′ = clip(x + ε·sign(∇ₓL)) for L∞ (FGSM) or x′ = clip(x + ε·∇ₓL/‖∇ₓL‖₂) for L2 (FGM).
///
/// - Complexity: one forward and one backward pass.
/// - Paper: Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples", ICLR
///   2015.
/// - Caveat: an input whose gradient is exactly zero (saturated softmax at T = 1) does not move.
public struct FastGradientMethod: EvasionAttack, Hashable {
    public var norm: PerturbationNorm
    public var epsilon: Float
    public var loss: AttackLoss
    public var domain: InputDomain

    public init(norm: PerturbationNorm = .linf, epsilon: Float, loss: AttackLoss = .crossEntropy,
                domain: InputDomain = .unitInterval) {
        precondition(epsilon >= 0 && epsilon.isFinite, "FastGradientMethod: ε must be finite and ≥ 0, got \(epsilon)")
        self.norm = norm
        self.epsilon = epsilon
        self.loss = loss
        self.domain = domain
    }

    public func withEpsilon(_ epsilon: Float) -> FastGradientMethod {
        FastGradientMethod(norm: norm, epsilon: epsilon, loss: loss, domain: domain)
    }

    public func perturb<M: LogitGradientAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M,
                                                random: LabRandom) -> Tensor {
        guard epsilon > 0 else { return inputs.detached() }
        let origin = inputs.detached()
        let gradient = PerturbationKernels.objectiveGradient(model, at: origin, labels: labels, goal: goal, loss: loss).gradient
        var x = origin
        PerturbationKernels.ascend(&x, origin: origin, gradient: gradient, stepSize: epsilon, norm: norm,
                                   epsilon: epsilon, domain: domain)
        return x
    }
}

/// Projected gradient descent on the loss: from x⁰ (x itself, or a uniform random point of the
/// ball), repeat xᵗ⁺¹ = clip(Π_B(xᵗ + α·d(∇ₓL(xᵗ)))) for `steps` steps, with d = sign for L∞
/// and d = g/‖g‖₂ for L2, Π_B the projection onto the ε-ball around x and clip into the domain.
/// Returns the last iterate (as ART and Foolbox do without restarts).
///
/// - Complexity: `steps` forward and backward passes.
/// - Paper: Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards deep learning models resistant to
///   adversarial attacks", ICLR 2018 (MNIST: ε = 0.3, 40 steps of 0.01, random start).
/// - Caveat: the last iterate is not always the most adversarial one; a restarted or best-iterate
///   variant is a stronger attack.
public struct ProjectedGradientDescent: EvasionAttack, Hashable {
    public var norm: PerturbationNorm
    public var epsilon: Float
    /// α, the size of each step (in the attack's norm).
    public var stepSize: Float
    public var steps: Int
    /// Start from a uniformly random point of the ball instead of the input.
    public var randomStart: Bool
    public var loss: AttackLoss
    public var domain: InputDomain

    public init(norm: PerturbationNorm = .linf, epsilon: Float, stepSize: Float, steps: Int, randomStart: Bool = false,
                loss: AttackLoss = .crossEntropy, domain: InputDomain = .unitInterval) {
        precondition(epsilon >= 0 && epsilon.isFinite, "ProjectedGradientDescent: ε must be finite and ≥ 0, got \(epsilon)")
        precondition(stepSize > 0 && stepSize.isFinite, "ProjectedGradientDescent: step size must be positive, got \(stepSize)")
        precondition(steps >= 1, "ProjectedGradientDescent: needs at least one step, got \(steps)")
        self.norm = norm
        self.epsilon = epsilon
        self.stepSize = stepSize
        self.steps = steps
        self.randomStart = randomStart
        self.loss = loss
        self.domain = domain
    }

    /// Madry et al.'s MNIST attack: L∞, ε = 0.3, 40 steps of 0.01, random start.
    public static let madryMNIST = ProjectedGradientDescent(norm: .linf, epsilon: 0.3, stepSize: 0.01, steps: 40, randomStart: true)

    public func withEpsilon(_ epsilon: Float) -> ProjectedGradientDescent {
        var copy = self
        precondition(epsilon >= 0 && epsilon.isFinite, "ProjectedGradientDescent: ε must be finite and ≥ 0, got \(epsilon)")
        copy.epsilon = epsilon
        return copy
    }

    public func perturb<M: LogitGradientAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M,
                                                random: LabRandom) -> Tensor {
        let origin = inputs.detached()
        guard epsilon > 0 else { return origin }
        var stream = random.stream("pgd/start")
        var x = randomStart
            ? PerturbationKernels.randomStart(around: origin, norm: norm, epsilon: epsilon, domain: domain, random: &stream)
            : origin
        for _ in 0..<steps {
            let gradient = PerturbationKernels.objectiveGradient(model, at: x, labels: labels, goal: goal, loss: loss).gradient
            PerturbationKernels.ascend(&x, origin: origin, gradient: gradient, stepSize: stepSize, norm: norm,
                                       epsilon: epsilon, domain: domain)
        }
        return x
    }
}
