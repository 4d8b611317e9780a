import Testing
import Tensors

/// Finite-difference checks of every differentiable operation's gradient.
@Suite("Gradients agree with finite differences")
struct GradientTests {
    nonisolated(unsafe) static let cases: [(String, [[Int]], ([Tensor]) -> Tensor)] = [
        ("add broadcast", [[3, 4], [4]], { $0[0] + $0[1] }),
        ("sub broadcast", [[2, 3, 4], [3, 1]], { $0[0] - $0[1] }),
        ("mul broadcast", [[2, 3, 4], [1, 3, 1]], { $0[0] * $0[1] }),
        ("div", [[3, 4], [3, 4]], { $0[0] / ($0[1].squared() + 1) }),
        ("scalar ops", [[5]], { ($0[0] * 3 + 2) / 4 - 1 }),
        ("negation", [[5]], { -$0[0] }),
        ("exp", [[6]], { $0[0].exp() }),
        ("log", [[6]], { ($0[0].squared() + 0.5).log() }),
        ("sqrt", [[6]], { ($0[0].squared() + 0.5).squareRoot() }),
        ("pow", [[6]], { ($0[0].squared() + 0.5).raised(to: 1.5) }),
        ("abs", [[6]], { $0[0].absolute() }),
        ("relu", [[3, 5]], { $0[0].relu() }),
        ("sigmoid", [[3, 5]], { $0[0].sigmoid() }),
        ("tanh", [[3, 5]], { $0[0].tanh() }),
        ("softplus", [[3, 5]], { $0[0].softplus() }),
        ("clamp", [[8]], { $0[0].clamped(lower: -0.5, upper: 0.5) }),
        ("maximum", [[4, 3], [3]], { $0[0].maximum($0[1]) }),
        ("sum axes", [[2, 3, 4]], { $0[0].sum(alongAxes: [0, 2]) }),
        ("mean axes keep", [[2, 3, 4]], { $0[0].mean(alongAxes: [1], keepingDimensions: true) }),
        ("max axis", [[3, 5]], { $0[0].max(alongAxis: 1) }),
        ("broadcast to", [[3, 1]], { $0[0].broadcast(to: [2, 3, 4]) }),
        ("matmul", [[3, 4], [4, 5]], { Tensor.matmul($0[0], $0[1]) }),
        ("matmul Aᵀ", [[4, 3], [4, 5]], { Tensor.matmul($0[0], $0[1], transposeA: true) }),
        ("matmul Bᵀ", [[3, 4], [5, 4]], { Tensor.matmul($0[0], $0[1], transposeB: true) }),
        ("matmul AᵀBᵀ", [[4, 3], [5, 4]], { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }),
        ("linear", [[3, 4], [5, 4], [5]], { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }),
        ("softmax", [[3, 5]], { $0[0].softmax() }),
        ("log softmax", [[3, 5]], { $0[0].logSoftmax() }),
        ("cross entropy", [[4, 5]], { Tensor.softmaxCrossEntropy(logits: $0[0], labels: [0, 3, 4, 1]) }),
        ("reshape", [[2, 6]], { $0[0].reshaped(to: [3, 4]) }),
        ("permute", [[2, 3, 4]], { $0[0].permuted([2, 0, 1]) }),
        ("transpose", [[3, 4]], { $0[0].transposed() }),
        ("slice", [[4, 5]], { $0[0].slice(axis: 1, 1..<4) }),
        ("pad", [[2, 3]], { $0[0].padded(axis: 0, to: [5, 3], at: 2) }),
        ("gather rows", [[4, 3]], { $0[0].gatheringRows([3, 0, 3, 1]) }),
        ("scatter rows", [[3, 2]], { $0[0].scatteringRows([2, 0, 2], into: [4, 2]) }),
        ("concatenate", [[2, 3], [2, 2]], { Tensor.concatenate([$0[0], $0[1]], alongAxis: 1) }),
        ("conv2d", [[2, 2, 6, 5], [3, 2, 3, 3]], { Tensor.conv2d($0[0], weight: $0[1]) }),
        ("conv2d stride pad", [[2, 2, 7, 6], [3, 2, 3, 2]], { Tensor.conv2d($0[0], weight: $0[1], stride: 2, padding: 1) }),
        ("conv input grad", [[2, 3, 4, 3], [3, 2, 3, 3]], {
            Tensor.convolutionInputGradient($0[0], weight: $0[1], inputShape: [2, 2, 6, 5], stride: 1, padding: 0)
        }),
        ("conv weight grad", [[2, 2, 6, 5], [2, 3, 4, 3]], {
            Tensor.convolutionWeightGradient($0[0], outputGradient: $0[1], weightShape: [3, 2, 3, 3], stride: 1, padding: 0)
        }),
        ("max pool", [[2, 2, 4, 6]], { $0[0].maxPool2d(size: 2) }),
        ("max pool overlapping", [[1, 2, 5, 5]], { $0[0].maxPool2d(size: 3, stride: 2) }),
        ("avg pool", [[2, 2, 4, 6]], { $0[0].avgPool2d(size: 2) }),
        ("avg pool adjoint", [[2, 2, 2, 3]], { $0[0].avgPool2dAdjoint(size: 2, stride: 2, inputShape: [2, 2, 4, 6]) }),
    ]

    @Test("first-order gradient", arguments: 0..<cases.count)
    func firstOrder(_ index: Int) {
        let (name, shapes, op) = Self.cases[index]
        var generator = TestGenerator(UInt64(index) + 1)
        let kinked = ["abs", "relu", "clamp", "maximum", "max axis", "max pool", "max pool overlapping"].contains(name)
        // For two spaced inputs (maximum), the second is shifted so no pair of values ties.
        let inputs = shapes.enumerated().map { i, shape in
            kinked ? generator.spacedTensor(shape) + Float(i) * 0.02 : generator.tensor(shape)
        }
        let f = projected(op)
        let analytic = analyticGradients(f, at: inputs)
        let numeric = numericalGradients(f, at: inputs)
        for i in inputs.indices {
            let score = closeness(analytic[i], numeric[i])
            #expect(score <= 1, "\(name): input \(i) analytic \(analytic[i].prefix(6)) vs numeric \(numeric[i].prefix(6))")
        }
    }

    @Test("gradient accumulates over repeated use and unused targets get zeros")
    func accumulation() {
        let x = Tensor([1, 2, 3]).requiringGradient()
        let unused = Tensor([5, 6]).requiringGradient()
        let y = (x * x + x * 3).sum()
        let g = gradients(of: y, withRespectTo: [x, unused])
        #expect(g[0].scalars == [5, 7, 9])
        #expect(g[1].scalars == [0, 0])
    }

    @Test("no graph is recorded without gradients or inside withoutGradients")
    func recordingControl() {
        let x = Tensor([1, 2]).requiringGradient()
        #expect((x * 2).requiresGradient)
        #expect(!(Tensor([1, 2]) * 2).requiresGradient)
        withoutGradients { #expect(!(x * 2).requiresGradient) }
    }

    @Test("first-order gradients are detached unless a graph is created")
    func detachedByDefault() {
        let x = Tensor([0.5, -0.25]).requiringGradient()
        let y = (x.sigmoid() * x).sum()
        #expect(!gradients(of: y, withRespectTo: [x])[0].requiresGradient)
        #expect(gradients(of: y, withRespectTo: [x], createGraph: true)[0].requiresGradient)
    }
}
