import LabRandom
import NeuralNetworks
import Tensors
import Testing

/// Per-sample gradients against the slow oracle: one backward pass per example.
@Suite("Per-sample gradients")
struct PerSampleGradientTests {
    nonisolated(unsafe) static let architectures: [(String, [Int], [Layer])] = [
        ("mlp", [12], [.dense(inputs: 12, outputs: 9), .relu, .dense(inputs: 9, outputs: 4)]),
        ("mlp tanh sigmoid", [5], [.dense(inputs: 5, outputs: 7), .tanh, .dense(inputs: 7, outputs: 6), .sigmoid,
                                   .dense(inputs: 6, outputs: 3)]),
        ("cnn", [2, 8, 8], [.conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 1, padding: 1), .relu,
                            .maxPool2d(size: 2, stride: 2), .conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 0),
                            .flatten, .dense(inputs: 4, outputs: 3)]),
        // Few output pixels: the ghost norm path (P² ≤ O·Ck²); many: the materialized path.
        ("cnn wide", [1, 6, 6], [.conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 0), .avgPool2d(size: 2, stride: 2),
                                 .flatten, .dense(inputs: 16, outputs: 2)]),
    ]

    func setting(_ index: Int, batch: Int) throws -> (Sequential, Tensor, [Int]) {
        let (_, shape, layers) = Self.architectures[index]
        var random = LabRandom(seed: 40 + UInt64(index))
        let model = try Sequential(inputShape: shape, layers: layers, random: random.stream("model"))
        let x = randomTensor([batch] + shape, &random)
        let classes = model.outputShape[0]
        let labels = (0..<batch).map { _ in random.nextInt(below: classes) }
        return (model, x, labels)
    }

    /// Row n of every parameter's gradient, from a batch of one.
    func oracle(_ model: Sequential, _ x: Tensor, _ labels: [Int], _ n: Int, loss: Loss) -> [[Float]] {
        var none: LabRandom? = nil
        let (_, grads) = model.lossAndGradients(x.slice(axis: 0, n..<(n + 1)), labels: [labels[n]], loss: loss,
                                                training: false, random: &none)
        return grads.map(\.scalars)
    }

    @Test("batched per-sample gradients equal one backward per example", arguments: 0..<4)
    func matchesOracle(index: Int) throws {
        for loss in Loss.allCases {
            let (model, x, labels) = try setting(index, batch: 7)
            let perSample = model.perSampleGradients(x, labels: labels, loss: loss)
            #expect(perSample.count == model.parameters.count)
            for n in 0..<7 {
                let expected = oracle(model, x, labels, n, loss: loss)
                for p in perSample.indices {
                    let row = perSample[p].slice(axis: 0, n..<(n + 1)).scalars
                    #expect(closeness(row, expected[p]) <= 1, "\(Self.architectures[index].0) \(loss) sample \(n) parameter \(p)")
                }
            }
        }
    }

    @Test("squared norms without materializing equal the norms of the materialized gradients", arguments: 0..<4)
    func norms(index: Int) throws {
        let (model, x, labels) = try setting(index, batch: 9)
        var none: LabRandom? = nil
        let pass = model.perSampleGradientPass(x, labels: labels, training: false, random: &none)
        let norms = pass.squaredNorms()
        let materialized = pass.perSampleGradients()
        for p in materialized.indices {
            let width = materialized[p].shape[1]
            let values = materialized[p].scalars
            let expected = (0..<9).map { n in values[(n * width)..<((n + 1) * width)].reduce(0) { $0 + $1 * $1 } }
            #expect(closeness(norms[p], expected, rtol: 1e-3, atol: 1e-6) <= 1, "\(Self.architectures[index].0) parameter \(p)")
        }
    }

    @Test("the weighted sum equals Σ wₙ gₙ of the materialized rows, and unit weights give the batch gradient", arguments: 0..<4)
    func weightedSum(index: Int) throws {
        let (model, x, labels) = try setting(index, batch: 6)
        var none: LabRandom? = nil
        let pass = model.perSampleGradientPass(x, labels: labels, training: false, random: &none)
        let materialized = pass.perSampleGradients()
        var random = LabRandom(seed: 99)
        let weights = materialized.map { _ in (0..<6).map { _ in Float(random.nextDouble()) } }
        let sums = pass.weightedGradientSum(weights: weights)
        for p in sums.indices {
            let width = materialized[p].shape[1], values = materialized[p].scalars
            var expected = [Float](repeating: 0, count: width)
            for n in 0..<6 { for j in 0..<width { expected[j] += weights[p][n] * values[n * width + j] } }
            #expect(sums[p].shape == model.parameters[p].shape)
            #expect(closeness(sums[p].scalars, expected) <= 1)
        }
        // Unit weights: the gradient of the summed loss = N × the mean-loss gradient.
        let ones = sums.map { _ in [Float](repeating: 1, count: 6) }
        let (_, meanGradients) = model.lossAndGradients(x, labels: labels, training: false, random: &none)
        let total = pass.weightedGradientSum(weights: ones)
        for p in total.indices {
            #expect(closeness(total[p].scalars, meanGradients[p].scalars.map { $0 * 6 }) <= 1)
        }
        #expect(closeness(pass.losses, model.perExampleLosses(x, labels: labels)) <= 1)
    }
}
