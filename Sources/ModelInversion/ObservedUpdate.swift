import LabRandom
import NeuralNetworks
import Tensors

/// What an honest-but-curious federated server sees of one client's round: the gradient the
/// client computed, or the change of the weights after its local training.
///
/// Conventions (the federated module produces these):
/// - `gradient`: ∇θ of the client's **mean** softmax cross-entropy over its batch of B
///   examples, evaluated at the global parameters θ the server sent (one tensor per parameter,
///   in `Sequential.parameters` order).
/// - `weightDelta`: θ_after − θ_before after the client took `localSteps` plain SGD steps
///   θ ← θ − η·∇θ L(θ; batch), each on its **whole** batch of B examples. With one step,
///   −delta / η is exactly the gradient.
public enum ObservedUpdate: Sendable {
    case gradient([Tensor])
    case weightDelta([Tensor], learningRate: Float, localSteps: Int)

    /// The tensors as observed.
    public var tensors: [Tensor] {
        switch self {
        case let .gradient(g): return g
        case let .weightDelta(d, _, _): return d
        }
    }

    /// The gradient the update stands for: itself, or −delta / (η·steps), the mean gradient
    /// over the local steps (exact for one step).
    public var averagedGradient: [Tensor] {
        switch self {
        case let .gradient(g): return g
        case let .weightDelta(d, eta, steps): return d.map { $0 * (-1 / (eta * Float(steps))) }
        }
    }

    /// Checks the tensors against the model's parameters and the step settings.
    public func validate(for model: Sequential) throws(InversionError) {
        let observed = tensors
        guard observed.count == model.parameters.count else {
            throw .observationMismatch("\(observed.count) tensors for a model of \(model.parameters.count) parameters (\(model.parameterNames.joined(separator: ", ")))")
        }
        for (i, (t, p)) in zip(observed, model.parameters).enumerated() where t.shape != p.shape {
            throw .observationMismatch("tensor \(i) (\(model.parameterNames[i])) has shape \(t.shape), the parameter has \(p.shape)")
        }
        for (i, t) in observed.enumerated() where !t.isFinite {
            throw .observationMismatch("tensor \(i) (\(model.parameterNames[i])) holds NaN or infinite values")
        }
        if case let .weightDelta(_, eta, steps) = self {
            guard eta > 0, eta.isFinite else { throw .observationMismatch("learning rate must be positive, got \(eta)") }
            guard steps >= 1 else { throw .observationMismatch("local steps must be ≥ 1, got \(steps)") }
        }
    }
}

/// The victim's side, for experiments and tests: what a client would share.
public enum ClientUpdate {
    /// The update of a client holding `inputs` / `labels` (one batch of B examples): the mean
    /// loss gradient at the model's parameters when `localSteps` is nil, else the weight delta
    /// after `localSteps` full-batch SGD steps of size `learningRate`.
    public static func observe(model: Sequential, inputs: Tensor, labels: [Int], localSteps: Int? = nil,
                               learningRate: Float = 0.1) -> ObservedUpdate {
        var none: LabRandom? = nil
        guard let steps = localSteps else {
            return .gradient(model.lossAndGradients(inputs, labels: labels, training: false, random: &none).gradients)
        }
        precondition(steps >= 1 && learningRate > 0, "ClientUpdate.observe: steps \(steps) and learning rate \(learningRate) must be positive")
        var parameters = model.parameters
        for _ in 0..<steps {
            let g = model.lossAndGradients(inputs, labels: labels, parameters: parameters, training: false, random: &none).gradients
            parameters = withoutGradients { zip(parameters, g).map { p, d in p - d * learningRate } }
        }
        return .weightDelta(withoutGradients { zip(parameters, model.parameters).map { after, before in after - before } },
                            learningRate: learningRate, localSteps: steps)
    }
}
