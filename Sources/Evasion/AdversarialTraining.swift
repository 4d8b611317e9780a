import LabRandom
import ModelAccess
import Tensors

/// Adversarial training: each mini-batch is replaced (or mixed) with adversarial examples made by
/// `attack` against the current parameters before the gradient step, i.e. a stochastic approximation
/// of the saddle-point problem minθ E₍ₓ,ᵧ₎[ max_{‖δ‖≤ε} L(θ, x + δ, y) ].
///
/// With `adversarialWeight` = 1 the loss is the adversarial loss alone (Madry et al.); with w < 1 it
/// is (1 − w)·L(x) + w·L(x′) (Goodfellow et al. 2015 used w = ½).
///
/// With `epsilonWarmupEpochs` = W > 0 the budget grows linearly over the first W epochs: the
/// attack of optimizer step t (0-based, B steps per epoch) uses ε_t = ε·min(1, (t + 1)/(W·B)), then
/// ε. Trained against the full ε = 0.3 from the first step, MNIST CNNs can collapse to one class
/// for every input (mean loss ln 10; the lab measured it for a small CNN and for Wong, Rice &
/// Kolter's 2020 network, which with a two-epoch ramp keeps 90% robust accuracy at ε = 0.3); the
/// ramp lets the network learn the clean task first (the ε schedule of Gowal et al. 2018 for
/// certified training). Only ε changes; the attack's step size and step count stay as given.
///
/// Every random choice comes from `random`: the order of epoch e from "epochs/e/shuffle", dropout
/// from "epochs/e/dropout", the attack's random start for batch b from "epochs/e/attack/b".
/// This type holds the defence and its ε schedule; the training loop of a PrivacyLab network,
/// `train(_:inputs:labels:configuration:random:progress:)`, is in ThreatTraining.
/// - Complexity: per batch, the attack's cost (`steps` forward/backward passes for PGD) plus one
///   or two training passes.
/// - Paper: Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards deep learning models resistant to
///   adversarial attacks", ICLR 2018.
/// - Caveat: robustness is only claimed for the threat model trained against; evaluate with a
///   stronger attack (more steps, restarts) than the one used in training.
public struct AdversarialTraining<Attack: EvasionAttack>: Sendable {
    public var attack: Attack
    public var adversarialWeight: Float
    /// W, the number of epochs (fractions allowed) over which ε ramps up from 0; 0 = no ramp.
    public var epsilonWarmupEpochs: Double

    public init(attack: Attack, adversarialWeight: Float = 1, epsilonWarmupEpochs: Double = 0) {
        precondition(adversarialWeight >= 0 && adversarialWeight <= 1,
                     "AdversarialTraining: the adversarial weight must lie in [0, 1], got \(adversarialWeight)")
        precondition(epsilonWarmupEpochs >= 0 && epsilonWarmupEpochs.isFinite,
                     "AdversarialTraining: the ε warm-up must be finite and ≥ 0 epochs, got \(epsilonWarmupEpochs)")
        self.attack = attack
        self.adversarialWeight = adversarialWeight
        self.epsilonWarmupEpochs = epsilonWarmupEpochs
    }

    /// The budget of optimizer step `step` (0-based) when an epoch has `batchesPerEpoch` steps:
    /// ε·min(1, (step + 1)/(W·batchesPerEpoch)), or ε without a warm-up.
    public func epsilon(atStep step: Int, batchesPerEpoch: Int) -> Float {
        let rampSteps = epsilonWarmupEpochs * Double(Swift.max(1, batchesPerEpoch))
        guard rampSteps > 0 else { return attack.epsilon }
        return attack.epsilon * Float(Swift.min(1, Double(step + 1) / rampSteps))
    }
}
