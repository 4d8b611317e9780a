import Tensors

/// A small deterministic generator for test inputs (SplitMix64), independent of LabRandom so
/// that the tensor tests stand alone.
struct TestGenerator {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [low, high).
    mutating func uniform(_ low: Float = -1, _ high: Float = 1) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }
    /// Distinct values at least 0.07 apart and 0.035 away from 0 (and from ±0.5), so that
    /// finite differences never cross a kink of ReLU, abs, clamp, max or max pooling.
    mutating func spacedTensor(_ shape: [Int]) -> Tensor {
        let n = Tensor.elementCount(shape)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(next() % UInt64(i + 1))) }
        return Tensor(shape: shape, scalars: order.map { Float($0 - n / 2) * 0.07 + 0.035 })
    }
    mutating func tensor(_ shape: [Int], _ low: Float = -1, _ high: Float = 1) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in uniform(low, high) })
    }
}

/// Central finite differences of a scalar function of several tensors, in Double where the
/// function is evaluated in Float.
func numericalGradients(_ f: ([Tensor]) -> Tensor, at inputs: [Tensor], step: Float = 1e-2) -> [[Float]] {
    inputs.indices.map { which in
        (0..<inputs[which].scalarCount).map { i in
            var plus = inputs, minus = inputs
            plus[which].withUnsafeMutableBufferPointer { $0[i] += step }
            minus[which].withUnsafeMutableBufferPointer { $0[i] -= step }
            // Evaluated with recording on: the function may itself take gradients.
            let fp = Double(f(plus).scalar)
            let fm = Double(f(minus).scalar)
            return Float((fp - fm) / (2 * Double(step)))
        }
    }
}

/// The analytic gradients from reverse mode.
func analyticGradients(_ f: ([Tensor]) -> Tensor, at inputs: [Tensor]) -> [[Float]] {
    let leaves = inputs.map { $0.requiringGradient() }
    return gradients(of: f(leaves), withRespectTo: leaves).map(\.scalars)
}

/// Largest |a − b| / (atol + rtol·|b|) over the elements; ≤ 1 means close.
func closeness(_ a: [Float], _ b: [Float], rtol: Float = 2e-2, atol: Float = 2e-3) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / (atol + rtol * abs(y))) }
    return worst
}

/// Reduces a tensor-valued function to a scalar with a fixed random projection, so that
/// every output element's gradient is checked.
func projected(_ op: @escaping ([Tensor]) -> Tensor, seed: UInt64 = 99) -> ([Tensor]) -> Tensor {
    var cache: Tensor?
    return { inputs in
        let y = op(inputs)
        if cache == nil || cache!.shape != y.shape {
            var g = TestGenerator(seed)
            cache = g.tensor(y.shape)
        }
        return (y * cache!).sum()
    }
}
