#if canImport(Glibc)
import Glibc
#endif

/// Updates parameters from their gradients, one step at a time (the optimizers that train
/// networks, and that attacks use on the inputs they optimise).
///
/// An optimizer owns its state (momentum, moment estimates) for one list of parameters and
/// must always be stepped with parameters and gradients in the same order and shapes.
/// Decorators (differential privacy, for one) wrap an optimizer rather than subclass it.
public protocol Optimizer: Sendable {
    /// One update of `parameters` in place with `gradients` at the given learning rate.
    mutating func step(parameters: inout [Tensor], gradients: [Tensor], learningRate: Float)
}

/// Stochastic gradient descent, as PyTorch's `torch.optim.SGD` defines it:
/// g ← g + λθ;  b ← μb + g (b = g at the first step);  d = g + μb (Nesterov) or b;  θ ← θ − η·d.
public struct SGD: Optimizer {
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    var buffers: [[Float]] = []

    public init(momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(momentum >= 0 && weightDecay >= 0, "SGD: momentum and weight decay must be non-negative")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs a positive momentum")
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public mutating func step(parameters: inout [Tensor], gradients: [Tensor], learningRate: Float) {
        precondition(parameters.count == gradients.count, "SGD: \(parameters.count) parameters, \(gradients.count) gradients")
        let first = buffers.isEmpty
        if first && momentum > 0 { buffers = parameters.map { [Float](repeating: 0, count: $0.scalarCount) } }
        for index in parameters.indices {
            let gradient = gradients[index]
            precondition(gradient.shape == parameters[index].shape,
                         "SGD: gradient \(gradient.shape) for parameter \(parameters[index].shape)")
            let (mu, wd, nesterov) = (momentum, weightDecay, self.nesterov)
            gradient.withUnsafeBufferPointer { g in
                parameters[index].withUnsafeMutableBufferPointer { p in
                    if mu == 0 {
                        for i in p.indices { p[i] -= learningRate * (g[i] + wd * p[i]) }
                    } else {
                        buffers[index].withUnsafeMutableBufferPointer { b in
                            for i in p.indices {
                                let d = g[i] + wd * p[i]
                                b[i] = first ? d : mu * b[i] + d
                                p[i] -= learningRate * (nesterov ? d + mu * b[i] : b[i])
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adam, as PyTorch's `torch.optim.Adam` (and `AdamW` when the decay is decoupled) defines it:
/// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂ / (√v̂ + ε), with bias corrections
/// m̂ = m / (1−β₁ᵗ), v̂ = v / (1−β₂ᵗ).
public struct Adam: Optimizer {
    /// The update of `count` parameters in one pass over raw buffers (a vectorised kernel).
    @inline(__always)
    static func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ count: Int, beta1: Float, beta2: Float, epsilon: Float,
                       stepSize: Float, inverseSqrtCorrection2: Float, l2: Float, shrink: Float) {
        FusedKernels.adamUpdate(parameters: p, gradients: g, firstMoments: m, secondMoments: v, count: count,
                                beta1: beta1, beta2: beta2, epsilon: epsilon, stepSize: stepSize,
                                inverseSqrtCorrection2: inverseSqrtCorrection2, l2: l2, shrink: shrink)
    }

    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var decoupledWeightDecay: Bool
    var firstMoments: [[Float]] = []
    var secondMoments: [[Float]] = []
    /// The number of steps taken.
    public private(set) var stepCount = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                decoupledWeightDecay: Bool = false) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2) && epsilon > 0 && weightDecay >= 0,
                     "Adam: betas must lie in [0, 1), epsilon be positive and weight decay non-negative")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public mutating func step(parameters: inout [Tensor], gradients: [Tensor], learningRate: Float) {
        precondition(parameters.count == gradients.count, "Adam: \(parameters.count) parameters, \(gradients.count) gradients")
        if firstMoments.isEmpty {
            firstMoments = parameters.map { [Float](repeating: 0, count: $0.scalarCount) }
            secondMoments = firstMoments
        }
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = Float(1 - pow(Double(beta1), t))
        let correction2 = Float(1 - pow(Double(beta2), t))
        let stepSize = learningRate / correction1
        let inverseSqrtCorrection2 = 1 / correction2.squareRoot()
        let shrink = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
        let l2 = decoupledWeightDecay ? 0 : weightDecay
        for index in parameters.indices {
            let gradient = gradients[index]
            precondition(gradient.shape == parameters[index].shape,
                         "Adam: gradient \(gradient.shape) for parameter \(parameters[index].shape)")
            gradient.withUnsafeBufferPointer { g in
                parameters[index].withUnsafeMutableBufferPointer { p in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            Adam.update(p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, p.count,
                                        beta1: beta1, beta2: beta2, epsilon: epsilon, stepSize: stepSize,
                                        inverseSqrtCorrection2: inverseSqrtCorrection2, l2: l2, shrink: shrink)
                        }
                    }
                }
            }
        }
    }
}
