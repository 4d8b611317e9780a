import Tensors

/// The optimizers a training configuration can name.
public enum OptimizerConfiguration: Codable, Sendable, Equatable {
    /// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.
    case sgd(momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0)
    /// Adam (Kingma & Ba 2015); `decoupledWeightDecay` gives AdamW (Loshchilov & Hutter 2019).
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
              decoupledWeightDecay: Bool = false)

    /// A fresh optimizer with this configuration.
    public func makeOptimizer() -> any Optimizer {
        switch self {
        case let .sgd(momentum, nesterov, weightDecay):
            return SGD(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
        case let .adam(beta1, beta2, epsilon, weightDecay, decoupled):
            return Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                        decoupledWeightDecay: decoupled)
        }
    }
}
