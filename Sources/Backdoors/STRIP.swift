import LabRandom
import ModelAccess
import Tensors

/// STRIP (Gao et al. 2019, "STRIP: A defence against trojan attacks on deep neural networks"):
/// run-time detection of triggered inputs by their low prediction entropy under
/// superimposition.
///
/// An input x is superimposed with `overlays` clean images xᵢ drawn from a held-out pool:
/// x ⊕ xᵢ = clip(x + w·xᵢ, low, high) (the paper adds the two images, w = 1). Its score is the
/// mean Shannon entropy H = −Σ_c p_c log p_c of the model's predictions on the blends. A trigger
/// keeps forcing the target class whatever is added, so triggered inputs have low entropy; a
/// clean input's prediction is shaken. The decision threshold is the `falseRejectionRate`
/// quantile of the entropies of clean inputs: inputs below it are rejected as triggered.
///
/// Laws: entropies lie in [0, log K]; at the calibrated threshold, at most ⌈FRR·n⌉ of the
/// calibration inputs are rejected.
/// - Complexity: overlays forward passes per input.
public struct STRIP: Sendable, Equatable {
    public var overlays: Int
    public var overlayWeight: Float
    public var falseRejectionRate: Double
    public var low: Float
    public var high: Float

    public init(overlays: Int = 100, overlayWeight: Float = 1, falseRejectionRate: Double = 0.01, low: Float = 0, high: Float = 1) {
        self.overlays = overlays
        self.overlayWeight = overlayWeight
        self.falseRejectionRate = falseRejectionRate
        self.low = low
        self.high = high
    }

    /// The mean superimposition entropy of each input (rows of `inputs`, per-sample shape
    /// `sampleShape`), overlaying images from `pool` (rows of the same shape) chosen by `random`.
    public func entropies(model: some ProbabilityAccess, inputs: [Float], pool: [Float], sampleShape: [Int],
                          random: LabRandom) throws(BackdoorError) -> [Double] {
        guard overlays >= 1 else { throw .invalidParameter("STRIP needs at least one overlay, got \(overlays)") }
        let width = sampleShape.reduce(1, *)
        let n = inputs.count / width, poolCount = pool.count / width
        guard poolCount >= 1 else { throw .insufficientData("STRIP needs a pool of clean overlay images") }
        var stream = random
        var result = [Double](repeating: 0, count: n)
        let chunk = max(1, 2048 / overlays)       // inputs per batched forward pass
        var start = 0
        while start < n {
            let end = min(n, start + chunk)
            let rows = (end - start) * overlays
            var picks = [Int](repeating: 0, count: rows)
            for i in 0..<rows { picks[i] = stream.nextInt(below: poolCount) }
            let blended = Tensor(shape: [rows] + sampleShape) { out in
                inputs.withUnsafeBufferPointer { x in
                    pool.withUnsafeBufferPointer { p in
                        for r in 0..<rows {
                            let base = (start + r / overlays) * width, over = picks[r] * width, o = r * width
                            for j in 0..<width { out[o + j] = min(high, max(low, x[base + j] + overlayWeight * p[over + j])) }
                        }
                    }
                }
            }
            let probabilities = model.probabilities(for: blended)
            let k = probabilities.shape[1]
            probabilities.withUnsafeBufferPointer { pr in
                for r in 0..<rows {
                    var h = 0.0
                    for c in 0..<k { let q = Double(pr[r * k + c]); if q > 0 { h -= q * log(q) } }
                    result[start + r / overlays] += h / Double(overlays)
                }
            }
            start = end
        }
        return result
    }

    /// The rejection threshold: the `falseRejectionRate` quantile of clean entropies (inputs
    /// with entropy strictly below it are rejected).
    public func threshold(cleanEntropies: [Double]) throws(BackdoorError) -> Double {
        guard falseRejectionRate >= 0 && falseRejectionRate < 1 else {
            throw .invalidParameter("false rejection rate must lie in [0, 1), got \(falseRejectionRate)")
        }
        guard !cleanEntropies.isEmpty else { throw .insufficientData("STRIP needs clean inputs to set its threshold") }
        let sorted = cleanEntropies.sorted()
        let allowed = Int((falseRejectionRate * Double(sorted.count)).rounded(.down))
        return sorted[min(allowed, sorted.count - 1)]
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
