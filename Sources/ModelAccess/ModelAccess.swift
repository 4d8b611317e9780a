import LabRandom
import Tensors

// How an attacker reaches a model, as capabilities the compiler composes: an attack asks for
// the weakest access it needs (`some LabelAccess` for a label-only attack, `some LogitAccess &
// LossAccess` for one that reads logits and losses), so it can be run against any model that
// offers it, a trained network or a stub with known answers.
//
// Inputs are batches [N, per-sample shape…]; answers are per example, in input order.

/// The weakest black-box access: the class the model predicts for each input.
public protocol LabelAccess: Sendable {
    /// The number of classes the model predicts among.
    var classCount: Int { get }

    /// The predicted class of each input, in `0..<classCount`.
    func predictedLabels(for inputs: Tensor) -> [Int]
}

/// Black-box access to the model's confidence: a probability vector per input.
public protocol ProbabilityAccess: LabelAccess {
    /// Class probabilities [N, classCount]; each row is non-negative and sums to 1.
    func probabilities(for inputs: Tensor) -> Tensor
}

/// Access to the model's pre-softmax scores (logits): the strongest black-box signal, from which
/// probabilities and numerically stable confidences (log-odds, losses) follow.
public protocol LogitAccess: ProbabilityAccess {
    /// Logits [N, classCount]; probabilities are their softmax.
    func logits(for inputs: Tensor) -> Tensor
}

/// Access to the training loss of each (input, label) pair.
public protocol LossAccess: Sendable {
    /// The per-example loss of each input against its label.
    func losses(for inputs: Tensor, labels: [Int]) -> [Float]
}

/// White-box access to the gradient of each example's loss with respect to its input (for
/// evasion and gradient-based attacks).
public protocol InputGradientAccess: LossAccess {
    /// ∂ lossᵢ / ∂ xᵢ for each example, with the shape of `inputs`.
    func inputGradients(for inputs: Tensor, labels: [Int]) -> Tensor
}

/// White-box access to vector–Jacobian products of the logits: the input gradient of any loss an
/// attacker computes from the logits (cross-entropy at a temperature, a targeted loss, the
/// Carlini–Wagner margin), not only of the training loss `InputGradientAccess` gives.
///
/// Law: for logits z = f(x) and the cotangent g = `lossGradient(z)` (∂L/∂z, shape [N, classes]),
/// the returned gradient is (∂z/∂x)ᵀ g, so with g = softmax(z) − onehot(y) it equals
/// `inputGradients(for: x, labels: y)` of a model whose loss is softmax cross-entropy.
public protocol LogitGradientAccess: LogitAccess {
    /// Computes the logits of `inputs` once, asks `lossGradient` for ∂L/∂z at those logits, and
    /// returns the logits with ∂L/∂x (the shape of `inputs`).
    /// - Complexity: one forward and one backward pass over the batch.
    func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor)
}

/// A way to train a model: what shadow and reference models need ("retrain on this data with this
/// seed stream, give me a model with the same access").
///
/// Laws: `train` is a function of (inputs, labels, random): the same arguments give the same
/// model, bit for bit, whatever runs beside it. Every random choice of the recipe (initial
/// parameters, batch order, dropout) comes from `random`.
public protocol TrainingRecipe: Sendable {
    associatedtype Model: Sendable

    /// Trains a fresh model on the examples.
    func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> Model
}

// MARK: - Defaults

extension ProbabilityAccess {
    /// The most probable class (the first on ties).
    public func predictedLabels(for inputs: Tensor) -> [Int] {
        probabilities(for: inputs).argmax(alongAxis: 1)
    }
}

extension LogitAccess {
    /// The softmax of the logits.
    public func probabilities(for inputs: Tensor) -> Tensor {
        withoutGradients { logits(for: inputs).softmax() }
    }

    /// The class of the largest logit (the first on ties).
    public func predictedLabels(for inputs: Tensor) -> [Int] {
        logits(for: inputs).argmax(alongAxis: 1)
    }
}

extension LossAccess where Self: LogitAccess {
    /// Softmax cross-entropy of the logits, log Σⱼ exp zⱼ − z_y, computed stably.
    public func losses(for inputs: Tensor, labels: [Int]) -> [Float] {
        withoutGradients { Tensor.softmaxCrossEntropy(logits: logits(for: inputs), labels: labels).scalars }
    }
}
