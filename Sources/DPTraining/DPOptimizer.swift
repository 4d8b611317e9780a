import LabRandom
import NeuralNetworks
import Tensors

/// DP-SGD as a decorator of any optimizer: the wrapped optimizer receives the noisy mean of the
/// clipped per-sample gradients instead of the plain mean gradient.
///
/// One logical step (Abadi et al. 2016), possibly over several physical batches:
/// 1. for each physical batch, clip every example's gradient (`ClippingStrategy`) and add the
///    clipped sum into an accumulator (`accumulate`);
/// 2. add N(0, (σS)²) to every coordinate of the sum, divide by the *expected* batch size qN
///    (fixed, so that the division leaks nothing about the sampled batch size), and step the
///    wrapped optimizer (`step`).
///
/// - Caveat (floating point, Mironov 2012): a Gaussian drawn in floating point has gaps and
///   irregular low-order bits that can, in principle, reveal the unnoised value. Here each noise
///   value is drawn in double precision on a 53-bit grid (ziggurat over ChaCha), added to the
///   clipped sum in double, and the result rounded once to Float32, whose spacing (2⁻²⁴ relative)
///   is ~2²⁹ times coarser than the noise's grid — the released values carry no trace of the
///   double grid. This is a mitigation, not a proof: a formally floating-point-safe mechanism
///   would sample a discrete Gaussian (Canonne, Kamath & Steinke 2020) on a fixed lattice, which
///   PrivacyLab does not implement.
public struct DPOptimizer: Sendable {
    /// The optimizer being decorated.
    public var base: any Optimizer
    /// σ: noise standard deviation over the sensitivity.
    public let noiseMultiplier: Double
    public let clipping: ClippingStrategy
    /// qN, the divisor of the noisy sum.
    public let expectedBatchSize: Double
    /// Where the noise comes from.
    public var randomness: PrivacyRandomness
    private var accumulated: [Tensor]?
    /// Examples accumulated in the current logical step.
    public private(set) var pendingExamples = 0
    /// Examples whose gradients were scaled down, and examples seen, since creation.
    public private(set) var clippedCount = 0, seenCount = 0

    public init(wrapping base: any Optimizer, noiseMultiplier: Double, clipping: ClippingStrategy,
                expectedBatchSize: Double, randomness: PrivacyRandomness = .system()) {
        precondition(noiseMultiplier >= 0 && expectedBatchSize > 0, "DPOptimizer: σ ≥ 0 and a positive expected batch size")
        self.base = base
        self.noiseMultiplier = noiseMultiplier
        self.clipping = clipping
        self.expectedBatchSize = expectedBatchSize
        self.randomness = randomness
    }

    /// Clips the per-sample gradients of one physical batch and adds their sum to the step.
    public mutating func accumulate(_ pass: PerSampleGradientPass) {
        guard pass.batchSize > 0 else { return }
        let factors = clipping.factors(squaredNorms: pass.squaredNorms())
        for n in 0..<pass.batchSize where factors.contains(where: { $0[n] < 1 }) { clippedCount += 1 }
        seenCount += pass.batchSize
        let sum = pass.weightedGradientSum(weights: factors)
        if var total = accumulated {
            for p in total.indices { PerSampleArithmetic.add(&total[p], sum[p]) }
            accumulated = total
        } else {
            accumulated = sum
        }
        pendingExamples += pass.batchSize
    }

    /// The noisy mean gradient of the accumulated step (zeros plus noise for an empty batch), and
    /// the accumulator reset.
    public mutating func privatizedGradients(shapes: [[Int]]) -> [Tensor] {
        var gradients = accumulated ?? shapes.map { Tensor(zeros: $0) }
        let std = noiseMultiplier * clipping.sensitivity
        let scale = 1 / expectedBatchSize
        for p in gradients.indices {
            gradients[p].withUnsafeMutableBufferPointer { g in
                if std > 0 {
                    randomness.addGaussianNoise(to: g, standardDeviation: std, scale: scale)
                } else {
                    for i in g.indices { g[i] = Float(Double(g[i]) * scale) }
                }
            }
        }
        accumulated = nil
        pendingExamples = 0
        return gradients
    }

    /// Ends a logical step: noise, normalization and one step of the wrapped optimizer.
    public mutating func step(parameters: inout [Tensor], learningRate: Float) {
        let gradients = privatizedGradients(shapes: parameters.map(\.shape))
        base.step(parameters: &parameters, gradients: gradients, learningRate: learningRate)
    }
}

enum PerSampleArithmetic {
    static func add(_ a: inout Tensor, _ b: Tensor) {
        b.withUnsafeBufferPointer { y in
            a.withUnsafeMutableBufferPointer { x in for i in x.indices { x[i] += y[i] } }
        }
    }
}
