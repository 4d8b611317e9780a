/// Defensive distillation: a teacher is trained on the hard labels with its softmax at
/// temperature T, softmax(z/T); its soft labels softmax(z_teacher(x)/T) then train a student of
/// the same architecture, again at temperature T; the student is deployed at T = 1, i.e. its raw
/// logits z.
///
/// Training loss at temperature T against target distributions q: −(1/N) Σᵢ Σⱼ qᵢⱼ log softmax(zᵢ/T)ⱼ.
///
/// Why it looks robust, and is not: training at T makes the logits about T times larger, so at
/// T = 1 the softmax saturates and the cross-entropy gradient is exactly zero in Float32 —
/// gradient attacks on it stall. Attacking the logits (the margin loss) or the cross-entropy of
/// z/T restores the gradient and the attack succeeds (see `AttackLoss`).
/// The two trainings of a PrivacyLab network are `train(inputShape:layers:…)` in ThreatTraining.
/// - Complexity: two trainings.
/// - Papers: Papernot, McDaniel, Wu, Jha & Swami, "Distillation as a defense to adversarial
///   perturbations against deep neural networks", IEEE S&P 2016; Carlini & Wagner, "Defensive
///   distillation is not robust to adversarial examples", arXiv:1607.04311, 2016.
public struct DefensiveDistillation: Sendable, Hashable {
    public var temperature: Float

    public init(temperature: Float) {
        precondition(temperature > 0 && temperature.isFinite, "DefensiveDistillation: temperature must be positive, got \(temperature)")
        self.temperature = temperature
    }
}
