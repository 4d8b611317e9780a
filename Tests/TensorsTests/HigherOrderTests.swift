import Testing
import Tensors

/// Second-order gradients: Hessian-vector products against finite differences of gradients,
/// and the gradient-matching loss of gradient-inversion attacks.
@Suite("Higher-order gradients")
struct HigherOrderTests {
    /// H(x)·v by double backward.
    func hessianVectorProduct(_ f: ([Tensor]) -> Tensor, at x: [Tensor], v: [Tensor]) -> [[Float]] {
        let leaves = x.map { $0.requiringGradient() }
        let g = gradients(of: f(leaves), withRespectTo: leaves, createGraph: true)
        var inner = Tensor(0)
        for (gi, vi) in zip(g, v) { inner = inner + Tensor.dot(gi, vi) }
        return gradients(of: inner, withRespectTo: leaves).map(\.scalars)
    }

    /// (∇f(x + h v) − ∇f(x − h v)) / 2h.
    func finiteDifferenceHVP(_ f: ([Tensor]) -> Tensor, at x: [Tensor], v: [Tensor], step: Float = 1e-2) -> [[Float]] {
        let plus = zip(x, v).map { $0 + $1 * step }
        let minus = zip(x, v).map { $0 - $1 * step }
        let gp = analyticGradients(f, at: plus), gm = analyticGradients(f, at: minus)
        return zip(gp, gm).map { a, b in zip(a, b).map { ($0 - $1) / (2 * step) } }
    }

    nonisolated(unsafe) static let functions: [(String, [[Int]], ([Tensor]) -> Tensor)] = [
        ("mlp with softmax cross-entropy", [[4, 3], [5, 3], [5], [3, 5]], { p in
            let h = Tensor.linear(p[0], weight: p[1], bias: p[2]).tanh()
            return Tensor.softmaxCrossEntropy(logits: Tensor.matmul(h, p[3], transposeB: true), labels: [0, 2, 1, 2]).mean()
        }),
        ("sigmoid, exp, log, division", [[6], [6]], { p in
            ((p[0].sigmoid() * p[1]).exp() / (p[1].squared() + 1)).log().sum() + (p[0] * p[1]).softplus().sum()
        }),
        ("conv net with average pooling", [[2, 1, 6, 6], [3, 1, 3, 3], [2, 12]], { p in
            let c = Tensor.conv2d(p[0], weight: p[1], padding: 1).sigmoid().avgPool2d(size: 3)
            return Tensor.softmaxCrossEntropy(logits: Tensor.matmul(c.flattenedBatch(), p[2], transposeB: true),
                                              labels: [1, 0]).sum()
        }),
        ("strided conv, softmax, slices", [[1, 2, 5, 5], [2, 2, 2, 2]], { p in
            let c = Tensor.conv2d(p[0], weight: p[1], stride: 2, padding: 1)
            return (c.flattenedBatch().softmax().slice(axis: 1, 2..<7).squared().sum() + c.mean().squared())
        }),
    ]

    @Test("Hessian-vector products match finite differences of gradients", arguments: 0..<functions.count)
    func hessianVector(_ index: Int) {
        let (name, shapes, f) = Self.functions[index]
        var generator = TestGenerator(UInt64(100 + index))
        let x = shapes.map { generator.tensor($0) }
        let v = shapes.map { generator.tensor($0) }
        let exact = hessianVectorProduct(f, at: x, v: v)
        let numeric = finiteDifferenceHVP(f, at: x, v: v)
        for i in x.indices {
            let score = closeness(exact[i], numeric[i], rtol: 3e-2, atol: 5e-3)
            #expect(score <= 1, "\(name): input \(i) exact \(exact[i].prefix(5)) vs numeric \(numeric[i].prefix(5))")
        }
    }

    @Test("gradient-matching loss ‖∇θ L(x̂) − g‖² is differentiable in x̂")
    func gradientMatching() {
        var generator = TestGenerator(7)
        let w1 = generator.tensor([6, 8]), b1 = generator.tensor([6]), w2 = generator.tensor([3, 6])
        let labels = [2, 0]
        func parameterGradients(_ x: Tensor, _ params: [Tensor]) -> [Tensor] {
            let logits = Tensor.matmul(Tensor.linear(x, weight: params[0], bias: params[1]).sigmoid(), params[2], transposeB: true)
            let loss = Tensor.softmaxCrossEntropy(logits: logits, labels: labels).mean()
            return gradients(of: loss, withRespectTo: params, createGraph: true)
        }
        let secret = generator.tensor([2, 8])
        let observed = parameterGradients(secret, [w1, b1, w2].map { $0.requiringGradient() }).map { $0.detached() }
        let matching: ([Tensor]) -> Tensor = { inputs in
            let g = parameterGradients(inputs[0], [w1, b1, w2].map { $0.requiringGradient() })
            var total = Tensor(0)
            for (a, b) in zip(g, observed) { total = total + (a - b).squared().sum() }
            return total
        }
        let guess = [generator.tensor([2, 8])]
        let analytic = analyticGradients(matching, at: guess)
        let numeric = numericalGradients(matching, at: guess, step: 5e-3)
        #expect(closeness(analytic[0], numeric[0], rtol: 3e-2, atol: 1e-4) <= 1,
                "analytic \(analytic[0].prefix(6)) vs numeric \(numeric[0].prefix(6))")
        // At the secret itself the matching loss and its gradient vanish.
        let atSecret = analyticGradients(matching, at: [secret])[0]
        #expect(atSecret.allSatisfy { abs($0) < 1e-5 })
    }
}
