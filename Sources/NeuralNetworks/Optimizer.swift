#if canImport(Glibc)
import Glibc
#endif
import Tensors

/// Updates parameters from their gradients, one step at a time.
///
/// An optimizer owns its state (momentum, moment estimates) for one list of parameters and
/// must always be stepped with parameters and gradients in the same order and shapes.
/// Decorators (differential privacy, for one) wrap an optimizer rather than subclass it.
public protocol Optimizer: Sendable {
    /// One update of `parameters` in place with `gradients` at the given learning rate.
    mutating func step(parameters: inout [Tensor], gradients: [Tensor], learningRate: Float)
}

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
    /// The update of `count` parameters in one pass over raw buffers (vectorisable).
    @inline(never)
    static func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ count: Int, beta1: Float, beta2: Float, epsilon: Float,
                       stepSize: Float, inverseSqrtCorrection2: Float, l2: Float, shrink: Float) {
        let (c1, c2) = (1 - beta1, 1 - beta2)
        typealias V = SIMD8<Float>
        let width = V.scalarCount
        var i = 0
        // Eight lanes at a time (the loop vectoriser does not prove these buffers disjoint).
        let (vb1, vb2, vc1, vc2) = (V(repeating: beta1), V(repeating: beta2), V(repeating: c1), V(repeating: c2))
        let (vStep, vCorr, vEps, vL2, vShrink) = (V(repeating: stepSize), V(repeating: inverseSqrtCorrection2),
                                                  V(repeating: epsilon), V(repeating: l2), V(repeating: shrink))
        let (rp, rg, rm, rv) = (UnsafeMutableRawPointer(p), UnsafeRawPointer(g), UnsafeMutableRawPointer(m), UnsafeMutableRawPointer(v))
        while i + width <= count {
            let offset = i * 4
            let pi = rp.loadUnaligned(fromByteOffset: offset, as: V.self) * vShrink
            let d = rg.loadUnaligned(fromByteOffset: offset, as: V.self) + vL2 * pi
            let mi = vb1 * rm.loadUnaligned(fromByteOffset: offset, as: V.self) + vc1 * d
            let vi = vb2 * rv.loadUnaligned(fromByteOffset: offset, as: V.self) + vc2 * d * d
            rm.storeBytes(of: mi, toByteOffset: offset, as: V.self)
            rv.storeBytes(of: vi, toByteOffset: offset, as: V.self)
            rp.storeBytes(of: pi - vStep * mi / (vi.squareRoot() * vCorr + vEps), toByteOffset: offset, as: V.self)
            i += width
        }
        while i < count {
            let pi = p[i] * shrink
            let d = g[i] + l2 * pi
            let mi = beta1 * m[i] + c1 * d
            let vi = beta2 * v[i] + c2 * d * d
            m[i] = mi
            v[i] = vi
            p[i] = pi - stepSize * mi / (vi.squareRoot() * inverseSqrtCorrection2 + epsilon)
            i += 1
        }
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
