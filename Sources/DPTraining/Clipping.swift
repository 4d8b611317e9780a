import LabRandom
import NeuralNetworks

/// How per-sample gradients are bounded before they are summed.
///
/// Clipping bounds each example's contribution, the L2 sensitivity S of the summed gradient;
/// the Gaussian noise is then σ·S per coordinate.
public enum ClippingStrategy: Sendable, Equatable, Codable {
    /// Scale each example's whole gradient g to g·min(1, C/‖g‖) (Abadi et al. 2016). S = C.
    case flat(maxNorm: Float)
    /// Scale each parameter tensor's gradient separately to norm ≤ Cₚ (McMahan et al. 2018).
    /// S = √(Σ Cₚ²).
    case perParameter(maxNorms: [Float])

    /// The L2 sensitivity of the clipped sum to one example.
    public var sensitivity: Double {
        switch self {
        case let .flat(c): return Double(c)
        case let .perParameter(cs): return cs.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
    }

    /// The clipping factors `[p][n]` for per-sample squared norms `[p][n]`:
    /// min(1, C/(‖g‖ + 10⁻⁶)), the 10⁻⁶ guarding a zero gradient (as Opacus).
    public func factors(squaredNorms norms: [[Float]]) -> [[Float]] {
        guard let first = norms.first else { return [] }
        let n = first.count
        switch self {
        case let .flat(c):
            var factor = [Float](repeating: 0, count: n)
            for i in 0..<n {
                var total: Float = 0
                for p in norms.indices { total += norms[p][i] }
                factor[i] = Swift.min(1, c / (total.squareRoot() + 1e-6))
            }
            return norms.map { _ in factor }
        case let .perParameter(cs):
            precondition(cs.count == norms.count, "ClippingStrategy: \(cs.count) bounds for \(norms.count) parameter tensors")
            return norms.indices.map { p in norms[p].map { Swift.min(1, cs[p] / ($0.squareRoot() + 1e-6)) } }
        }
    }

    func validate(parameterCount: Int) throws(DPTrainingError) {
        switch self {
        case let .flat(c):
            guard c > 0, c.isFinite else { throw .invalidConfiguration("max_grad_norm must be a finite number > 0, got \(c)") }
        case let .perParameter(cs):
            guard cs.count == parameterCount else {
                throw .invalidConfiguration("per-parameter clipping needs \(parameterCount) bounds, got \(cs.count)")
            }
            guard cs.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .invalidConfiguration("per-parameter clipping bounds must be finite numbers > 0, got \(cs)")
            }
        }
    }
}

/// Poisson sampling: every example joins a batch independently with probability q, so batch
/// sizes are Binomial(N, q) — the sampling the accountant's subsampled-Gaussian analysis assumes
/// (a shuffled fixed-size batch does not match it).
public struct PoissonSampler: Sendable, Equatable {
    public let samplingProbability: Double

    public init(samplingProbability: Double) {
        precondition(samplingProbability > 0 && samplingProbability <= 1, "PoissonSampler: q must lie in (0, 1]")
        self.samplingProbability = samplingProbability
    }

    /// The indices of one batch out of 0..<populationSize, in increasing order.
    ///
    /// Draws the gaps between included indices, which are geometric: gap = ⌊log U / log(1 − q)⌋
    /// with U uniform in (0, 1]; identical in law to N Bernoulli(q) draws.
    /// - Complexity: O(batch size) draws.
    public func sample(populationSize n: Int, using random: inout PrivacyRandomness) -> [Int] {
        if samplingProbability == 1 { return Array(0..<n) }
        var result: [Int] = []
        result.reserveCapacity(Int(Double(n) * samplingProbability * 1.2) + 8)
        let logKeep = log1p(-samplingProbability)
        var index = -1
        while true {
            let gap = (log(random.nextOpenUnit()) / logKeep).rounded(.down)
            if gap >= Double(n) { break }
            index += Int(gap) + 1
            if index >= n { break }
            result.append(index)
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
