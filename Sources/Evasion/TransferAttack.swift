import LabRandom
import ModelAccess
import Tensors

/// A transfer attack: adversarial inputs made white-box on a surrogate model and sent to the
/// victim, which is queried only for labels.
///
/// The surrogate is any model with input gradients: one trained here on the victim's answers
/// (`trainSurrogate`: the victim labels a held-out attacker set, one query per row, and a
/// `TrainingRecipe` trains a fresh model on those labels), or a model stolen by an extraction
/// attack. The white-box attack (FGSM, PGD, …) runs on the surrogate with the true labels; each
/// adversarial input then costs one query of the victim, which decides success.
///
/// Laws: the adversarial inputs keep the white-box attack's laws (‖x′ − x‖ ≤ ε in its norm, x′ in
/// the domain); `success[i]` exactly when the victim errs on x′ᵢ (untargeted) or answers the target.
///
/// - Paper: N. Papernot, P. McDaniel, I. Goodfellow, S. Jha, Z. B. Celik and A. Swami, "Practical
///   Black-Box Attacks against Machine Learning", AsiaCCS 2017 (a surrogate trained on the
///   victim's labels; without their Jacobian augmentation).
/// - Caveat: success depends on how well the surrogate agrees with the victim; `agreement` reports
///   it on the adversarial inputs.
public struct TransferAttack<Attack: EvasionAttack>: Sendable {
    public var attack: Attack

    public init(_ attack: Attack) { self.attack = attack }

    /// What one transfer found: the adversarial inputs, whether each fooled the victim, the
    /// victim queries the attack itself made (one per input), and the share of adversarial inputs
    /// on which surrogate and victim give the same label.
    public struct Result: Sendable {
        public var adversarial: Tensor
        public var success: [Bool]
        public var queries: [Int]
        public var agreement: Double
    }

    /// A surrogate trained on the victim's labels of `inputs` (one victim query per row).
    /// - Returns: the surrogate and the victim queries spent (`inputs.shape[0]`).
    public static func trainSurrogate<Victim: LabelAccess, Recipe: TrainingRecipe>(
        on inputs: Tensor, victim: Victim, recipe: Recipe, random: LabRandom
    ) throws -> (surrogate: Recipe.Model, queries: Int) {
        let answers = victim.predictedLabels(for: inputs)
        return (try recipe.train(inputs: inputs, labels: answers, random: random), inputs.shape[0])
    }

    /// Attacks `surrogate` white-box and judges the result on `victim` (one query per input).
    public func run<Surrogate: LogitGradientAccess, Victim: LabelAccess>(
        _ inputs: Tensor, labels: [Int], goal: AttackGoal, surrogate: Surrogate, victim: Victim, random: LabRandom
    ) -> Result {
        let n = inputs.shape[0]
        let adversarial = attack.perturb(inputs, labels: labels, goal: goal, model: surrogate, random: random)
        let answers = victim.predictedLabels(for: adversarial)
        let success = (0..<n).map { i in goal.target(i).map { answers[i] == $0 } ?? (answers[i] != labels[i]) }
        let mine = surrogate.predictedLabels(for: adversarial)
        let agree = zip(mine, answers).filter { $0 == $1 }.count
        return Result(adversarial: adversarial, success: success, queries: [Int](repeating: 1, count: n),
                      agreement: Double(agree) / Double(max(1, n)))
    }
}
