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

    /// Trains the model called `name` (`reference/3`, `shadow/1`) of a set of models on the
    /// examples `indices` of `population`, drawing from `random.stream(name)`: what attacks that
    /// train many models call, so that a recipe can find a model it trained before (the runner's
    /// cache keys a model by its name, its indices and the recipe) instead of training it again.
    ///
    /// Law: the result equals `train(inputs:labels:random:)` on the subset with
    /// `random.stream(name)`, which is what the default implementation does.
    func train(subset indices: [Int], of population: LabeledExamples, name: String, random: LabRandom) async throws -> Model
}

extension TrainingRecipe {
    public func train(subset indices: [Int], of population: LabeledExamples, name: String, random: LabRandom) async throws -> Model {
        let data = population.subset(indices)
        return try train(inputs: data.inputs, labels: data.labels, random: random.stream(name))
    }
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

// MARK: - White-box access

/// White-box access to the activations of the model's named internal layers (feature-space
/// attacks, representation-based backdoor detectors, layer-wise membership signals).
///
/// Law: the activations at the last layer name are the logits, when the model also offers
/// `LogitAccess`. Operations are recorded on the autodiff tape whenever `inputs` requires a
/// gradient, so an attack can differentiate a function of the activations with respect to the
/// input; wrap plain queries in `withoutGradients`.
public protocol ActivationAccess: Sendable {
    /// The names of the layers whose outputs can be read, in the order they are computed.
    var layerNames: [String] { get }

    /// The output of the layer called `name` for each input, [N, that layer's output shape…],
    /// in evaluation mode.
    /// - Throws: `ModelAccessError.unknownLayer` for a name not in `layerNames`,
    ///   `.inputShape` for inputs the model does not take.
    /// - Complexity: a forward pass through the layers up to and including `name`.
    func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor
}

/// White-box access to the model's trained parameters and the gradients of its training loss
/// with respect to them (gradient-based membership signals, gradient inversion, influence).
///
/// Laws: `parameters[i]` is called `parameterNames[i]`; the loss of `lossAndParameterGradients`
/// is the mean of `losses(for:labels:)` over the batch, in evaluation mode, and `gradients[i]`
/// has the shape of `parameters[i]`.
public protocol ParameterAccess: LossAccess {
    /// One name per trained parameter tensor (not the running statistics of normalization
    /// layers, which are not trained by gradient descent).
    var parameterNames: [String] { get }

    /// The trained parameter tensors, in the order of `parameterNames`.
    var parameters: [Tensor] { get }

    /// The mean loss of a batch and its gradient with respect to each parameter tensor.
    /// - Complexity: one forward and one backward pass over the batch.
    func lossAndParameterGradients(for inputs: Tensor, labels: [Int]) -> (meanLoss: Float, gradients: [Tensor])
}

/// A model whose forward pass can be run with any parameter values and differentiated: what
/// attacks need to take gradients through the model with respect to its parameters, its inputs,
/// or both, to any order.
///
/// Laws: `logits(for: x, parameters: parameters)` equals `logits(for: x)`; the result is
/// recorded on the autodiff tape for every argument tensor that requires a gradient (inputs,
/// parameters), in evaluation mode (no dropout; normalization layers use their running
/// statistics).
public protocol DifferentiableModel: ParameterAccess, LogitAccess {
    /// The per-sample shape of the inputs the forward pass takes ([features], or [C, H, W] for
    /// images).
    var inputShape: [Int] { get }

    /// The logits [N, classCount] of `inputs` with `parameters` (shapes as `self.parameters`)
    /// in place of the model's own.
    /// - Complexity: one forward pass; recording keeps its intermediate tensors for a backward
    ///   pass.
    func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor
}

/// A white-box query the model cannot answer.
public enum ModelAccessError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No layer has this name.
    case unknownLayer(name: String, available: [String])
    /// The inputs are not a batch of the model's per-sample shape.
    case inputShape(expected: [Int], got: [Int])
    /// Parameter values that do not have the shapes of the model's parameters.
    case parameterShapes(expected: [[Int]], got: [[Int]])

    public var description: String {
        switch self {
        case let .unknownLayer(name, available):
            let list = available.count <= 12 ? available.joined(separator: ", ")
                : available.prefix(6).joined(separator: ", ") + ", …, " + available.suffix(3).joined(separator: ", ")
            return "no layer is named '\(name)'; the layers are \(list)"
        case let .inputShape(expected, got):
            return "the model takes inputs of per-sample shape \(expected), got a batch of shape \(got)"
        case let .parameterShapes(expected, got):
            return "the model has \(expected.count) parameter tensors of shapes \(expected), got \(got.count) of shapes \(got)"
        }
    }
}

// MARK: - White-box defaults

extension ParameterAccess {
    /// The gradient of the batch's mean loss with respect to each parameter tensor.
    public func parameterGradients(for inputs: Tensor, labels: [Int]) -> [Tensor] {
        lossAndParameterGradients(for: inputs, labels: labels).gradients
    }

    /// The number of scalar parameters.
    public var parameterScalarCount: Int { parameters.reduce(0) { $0 + $1.scalarCount } }
}

extension DifferentiableModel {
    /// The mean softmax cross-entropy of the batch and its parameter gradients, through the
    /// differentiable forward.
    public func lossAndParameterGradients(for inputs: Tensor, labels: [Int]) -> (meanLoss: Float, gradients: [Tensor]) {
        let leaves = parameters.map { $0.detached().requiringGradient() }
        let loss = Tensor.softmaxCrossEntropy(logits: logits(for: inputs.detached(), parameters: leaves), labels: labels).mean()
        return (loss.scalar, gradients(of: loss, withRespectTo: leaves))
    }
}

extension InputGradientAccess where Self: DifferentiableModel {
    /// ∂ lossᵢ / ∂ xᵢ of the softmax cross-entropy through the differentiable forward (examples
    /// do not interact in evaluation mode, so the gradient of the summed loss is per example).
    public func inputGradients(for inputs: Tensor, labels: [Int]) -> Tensor {
        let x = inputs.detached().requiringGradient()
        let total = Tensor.softmaxCrossEntropy(logits: logits(for: x, parameters: parameters), labels: labels).sum()
        return gradients(of: total, withRespectTo: [x])[0]
    }
}

extension LogitGradientAccess where Self: DifferentiableModel {
    /// The logits and (∂z/∂x)ᵀ·`lossGradient(z)` through the differentiable forward.
    public func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor) {
        let x = inputs.detached().requiringGradient()
        let outputs = logits(for: x, parameters: parameters)
        let values = outputs.detached()
        return (values, gradients(of: outputs, withRespectTo: [x], seed: lossGradient(values))[0])
    }
}

// MARK: - Training on soft targets

/// A training recipe that can also learn from target distributions (a victim's probability
/// vectors, a teacher's softened outputs): what model extraction from probabilities needs.
///
/// Laws: as `TrainingRecipe` (a function of its arguments; every random choice from `random`);
/// the loss is the cross-entropy −Σⱼ tⱼ log softmax(z)ⱼ averaged over examples, so one-hot
/// targets train as `train(inputs:labels:random:)` does.
public protocol SoftTargetTrainingRecipe: TrainingRecipe {
    /// Trains a fresh model on `inputs` with target rows `targets` [N, classes], each
    /// non-negative and summing to 1.
    func train(inputs: Tensor, targets: Tensor, random: LabRandom) throws -> Model
}
