import ModelAccess
import Tensors

/// What an honest-but-curious federated server sees of one client's round: the gradient the
/// client computed, or the change of the weights after its local training.
///
/// Conventions (the federated module produces these):
/// - `gradient`: ∇θ of the client's **mean** softmax cross-entropy over its batch of B
///   examples, evaluated at the global parameters θ the server sent (one tensor per parameter,
///   in the order of the model's `ParameterAccess.parameters`).
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
    public func validate(for model: some ParameterAccess) throws(InversionError) {
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
