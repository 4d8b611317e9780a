import Testing
import Tensors

/// `Tensor.linear` on mostly-zero inputs (the sparse-row kernel) against the dense formula, with
/// its gradients, for output widths that use the 64-wide blocks, single vectors and scalar tails.
@Suite("Sparse-row linear layer")
struct SparseLinearTests {
    /// A [rows, columns] input with about `density` of its entries non-zero.
    static func sparseInput(_ random: inout TestGenerator, rows: Int, columns: Int, density: Float) -> Tensor {
        Tensor(shape: [rows, columns], scalars: (0..<(rows * columns)).map { _ in
            random.uniform(0, 1) < density ? random.uniform(-1, 1) : 0
        })
    }

    @Test(arguments: [(300, 50, 75), (256, 784, 256), (400, 97, 8), (260, 64, 3)])
    func matchesDenseProductAndGradients(_ shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var random = TestGenerator(UInt64(m * 7 + n))
        let x = Self.sparseInput(&random, rows: m, columns: k, density: 0.2).requiringGradient()
        let weight = random.tensor([n, k]).requiringGradient(), bias = random.tensor([n]).requiringGradient()
        let upstream = random.tensor([m, n])

        let y = Tensor.linear(x, weight: weight, bias: bias)
        let (xs, ws, bs) = (x.scalars, weight.scalars, bias.scalars)
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for o in 0..<n {
            var total = bs[o]
            for j in 0..<k { total += xs[i * k + j] * ws[o * k + j] }
            expected[i * n + o] = total
        } }
        #expect(zip(y.scalars, expected).allSatisfy { abs($0 - $1) < 1e-4 }, "forward \(shape)")

        let grads = gradients(of: (y * upstream).sum(), withRespectTo: [x, weight, bias])
        let dx = Tensor.matmul(upstream, weight.detached()), dw = Tensor.matmul(upstream, x.detached(), transposeA: true)
        #expect(zip(grads[0].scalars, dx.scalars).allSatisfy { abs($0 - $1) < 1e-4 }, "input gradient \(shape)")
        #expect(zip(grads[1].scalars, dw.scalars).allSatisfy { abs($0 - $1) < 1e-4 }, "weight gradient \(shape)")
        #expect(zip(grads[2].scalars, upstream.sum(alongAxes: [0]).scalars).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    /// A dense input takes the GEMM route and a sparse one the sparse route; both agree.
    @Test func sparseAndDenseRoutesAgree() {
        var random = TestGenerator(99)
        let sparse = Self.sparseInput(&random, rows: 512, columns: 128, density: 0.1)
        let weight = random.tensor([40, 128])
        // The same rows with a tiny constant added are dense (GEMM route).
        let dense = sparse + 1e-30
        let a = Tensor.linear(sparse, weight: weight, bias: nil), b = Tensor.linear(dense, weight: weight, bias: nil)
        #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
    }
}
