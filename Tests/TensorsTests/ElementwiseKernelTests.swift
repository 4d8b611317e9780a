import Foundation
import Testing
import Tensors

/// The vectorised exp / tanh / sigmoid kernels against double-precision references: error in
/// units in the last place of the float result, over a dense sweep and at the edges.
@Suite("Element-wise kernels")
struct ElementwiseKernelTests {
    /// The error of `value` in ulps of the correctly rounded float of `exact`.
    static func ulps(_ value: Float, _ exact: Double) -> Double {
        let rounded = Float(exact)
        if rounded == value { return 0 }
        let spacing = Double(rounded.ulp == 0 ? Float.leastNonzeroMagnitude : rounded.ulp)
        return abs(Double(value) - exact) / spacing
    }

    static func sweep(from low: Float, to high: Float, count: Int) -> [Float] {
        (0..<count).map { low + (high - low) * Float($0) / Float(count - 1) }
    }

    @Test("exp is within 2 ulp over the normal range")
    func expAccuracy() {
        let xs = Self.sweep(from: -87.3, to: 88.7, count: 200_003) + [0, -0, 1e-7, -1e-7, 1, -1]
        let ys = Tensor(shape: [xs.count], scalars: xs).exp().scalars
        var worst = 0.0
        for (x, y) in zip(xs, ys) { worst = max(worst, Self.ulps(y, Foundation.exp(Double(x)))) }
        #expect(worst <= 2, "worst exp error \(worst) ulp")
    }

    @Test("exp edges: overflow to +inf, underflow to 0, NaN kept")
    func expEdges() {
        let xs: [Float] = [89, 1000, .infinity, -88, -104, -.infinity, .nan]
        let ys = Tensor(shape: [xs.count], scalars: xs).exp().scalars
        #expect(ys[0] == .infinity && ys[1] == .infinity && ys[2] == .infinity)
        #expect(ys[3] >= 0 && ys[3] < 1e-37 && ys[4] == 0 && ys[5] == 0)
        #expect(ys[6].isNaN)
    }

    @Test("tanh is within 2 ulp, odd, saturates at ±1 and keeps NaN")
    func tanhAccuracy() {
        let xs = Self.sweep(from: -12, to: 12, count: 120_001) + [1e-20, -1e-20, 0.624, 0.625, 0.626, 40, -40]
        let ys = Tensor(shape: [xs.count], scalars: xs).tanh().scalars
        var worst = 0.0
        for (x, y) in zip(xs, ys) { worst = max(worst, Self.ulps(y, Foundation.tanh(Double(x)))) }
        #expect(worst <= 2, "worst tanh error \(worst) ulp")
        let negated = Tensor(shape: [xs.count], scalars: xs.map { -$0 }).tanh().scalars
        #expect(zip(ys, negated).allSatisfy { $0 == -$1 })
        let edges = Tensor(shape: [3], scalars: [.infinity, -.infinity, .nan]).tanh().scalars
        #expect(edges[0] == 1 && edges[1] == -1 && edges[2].isNaN)
    }

    @Test("sigmoid is within 3 ulp and never overflows")
    func sigmoidAccuracy() {
        let xs = Self.sweep(from: -80, to: 30, count: 110_001)
        let ys = Tensor(shape: [xs.count], scalars: xs).sigmoid().scalars
        var worst = 0.0
        for (x, y) in zip(xs, ys) { worst = max(worst, Self.ulps(y, 1 / (1 + Foundation.exp(-Double(x))))) }
        #expect(worst <= 3, "worst sigmoid error \(worst) ulp")
        let edges = Tensor(shape: [2], scalars: [-1000, 1000]).sigmoid().scalars
        #expect(edges[0] == 0 && edges[1] == 1)
    }

    @Test("tanh and sigmoid gradients match their closed forms")
    func fusedBackward() throws {
        let x = Tensor(shape: [5], scalars: [-3, -0.5, 0, 0.7, 2]).requiringGradient()
        let (gt, gs) = (gradients(of: x.tanh().sum(), withRespectTo: [x])[0].scalars,
                        gradients(of: x.sigmoid().sum(), withRespectTo: [x])[0].scalars)
        for (i, v) in x.scalars.enumerated() {
            let t = Foundation.tanh(Double(v)), s = 1 / (1 + Foundation.exp(-Double(v)))
            #expect(abs(Double(gt[i]) - (1 - t * t)) < 1e-6)
            #expect(abs(Double(gs[i]) - s * (1 - s)) < 1e-6)
        }
    }
}
