import Foundation
import Testing
import LabRandom
import NeuralNetworks
import Tensors

/// The layers PyTorch Sequentials hold beyond the original set: batch normalization, bias-free
/// dense and convolution layers, convolutions with different height and width geometry.
@Suite("Batch normalization and general convolutions")
struct NormalizationAndConvolutionTests {
    static let architectures: [(String, [Int], [Layer])] = [
        ("batch norm 1d", [5], [.dense(inputs: 5, outputs: 6), .batchNorm1d(features: 6, epsilon: 1e-5, momentum: 0.1, affine: true),
                                .tanh, .denseWithoutBias(inputs: 6, outputs: 3)]),
        ("batch norm 2d", [2, 5, 4], [.convolution2d(inChannels: 2, outChannels: 3, kernel: Extent2D(height: 3, width: 2),
                                                     stride: Extent2D(height: 1, width: 2), padding: Extent2D(height: 1, width: 0), bias: false),
                                      .batchNorm2d(features: 3, epsilon: 1e-5, momentum: 0.1, affine: true), .sigmoid,
                                      .flatten, .dense(inputs: 30, outputs: 3)]),
        ("batch norm without affine", [4], [.batchNorm1d(features: 4, epsilon: 1e-3, momentum: 0.5, affine: false),
                                            .dense(inputs: 4, outputs: 3)]),
    ]

    @Test("training-mode gradients through the batch statistics match central differences", arguments: 0..<architectures.count)
    func trainingGradients(_ index: Int) throws {
        let (name, shape, layers) = Self.architectures[index]
        var random = LabRandom(seed: 21).stream("case/\(index)")
        let model = try Sequential(inputShape: shape, layers: layers, random: random.stream("init"))
        let x = randomTensor([4] + shape, &random)
        let labels = [0, 2, 1, 1]
        for training in [true, false] {
            func loss(_ params: [Tensor], _ input: Tensor) -> Float {
                var none: LabRandom? = nil
                return Loss.softmaxCrossEntropy.mean(outputs: model.forward(input, parameters: params, training: training, random: &none),
                                                     labels: labels).scalar
            }
            var none: LabRandom? = nil
            let leaves = model.parameters.map { $0.requiringGradient() }
            let input = x.requiringGradient()
            let value = Loss.softmaxCrossEntropy.mean(outputs: model.forward(input, parameters: leaves, training: training, random: &none),
                                                      labels: labels)
            let analytic = gradients(of: value, withRespectTo: leaves + [input])
            let h: Float = 1e-2
            for which in 0...leaves.count {
                let base = which < leaves.count ? model.parameters[which] : x
                var numeric: [Float] = []
                for i in 0..<base.scalarCount {
                    var plus = base, minus = base
                    plus.withUnsafeMutableBufferPointer { $0[i] += h }
                    minus.withUnsafeMutableBufferPointer { $0[i] -= h }
                    var pp = model.parameters, pm = model.parameters
                    var xp = x, xm = x
                    if which < leaves.count { pp[which] = plus; pm[which] = minus } else { xp = plus; xm = minus }
                    numeric.append((loss(pp, xp) - loss(pm, xm)) / (2 * h))
                }
                #expect(closeness(analytic[which].scalars, numeric, rtol: 3e-2, atol: 2e-3) <= 1,
                        "\(name) training \(training): tensor \(which) analytic \(analytic[which].scalars.prefix(5)) numeric \(numeric.prefix(5))")
            }
        }
    }

    /// y[n, o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v]·x[n, c, i·sh + u − ph, j·sw + v − pw], zero outside.
    func slowConvolution(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Extent2D, padding: Extent2D) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * padding.height - kh) / stride.height + 1, ow = (wd + 2 * padding.width - kw) / stride.width + 1
        let xs = x.scalars, ws = w.scalars, bs = b?.scalars
        var out = [Float](repeating: 0, count: n * o * oh * ow)
        for s in 0..<n { for f in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var sum: Double = Double(bs?[f] ?? 0)
            for ch in 0..<c { for u in 0..<kh { for v in 0..<kw {
                let r = i * stride.height + u - padding.height, q = j * stride.width + v - padding.width
                guard r >= 0, r < h, q >= 0, q < wd else { continue }
                sum += Double(ws[((f * c + ch) * kh + u) * kw + v]) * Double(xs[((s * c + ch) * h + r) * wd + q])
            } } }
            out[((s * o + f) * oh + i) * ow + j] = Float(sum)
        } } } }
        return Tensor(shape: [n, o, oh, ow], scalars: out)
    }

    static let geometries: [(kernel: Extent2D, stride: Extent2D, padding: Extent2D, bias: Bool)] = [
        (Extent2D(height: 3, width: 2), 1, Extent2D(height: 1, width: 0), true),
        (3, Extent2D(height: 1, width: 2), 1, false),
        (Extent2D(height: 2, width: 3), Extent2D(height: 3, width: 2), Extent2D(height: 0, width: 2), true),
        (3, 2, 1, false),
    ]

    @Test("convolution2d equals the direct sum for rectangular kernels, strides and padding", arguments: 0..<geometries.count)
    func convolutionOracle(_ index: Int) throws {
        let g = Self.geometries[index]
        let layer = Layer.convolution2d(inChannels: 2, outChannels: 3, kernel: g.kernel, stride: g.stride, padding: g.padding, bias: g.bias)
        var random = LabRandom(seed: 8).stream("geometry/\(index)")
        let model = try Sequential(inputShape: [2, 7, 6], layers: [layer], random: random.stream("init"))
        let x = randomTensor([2, 2, 7, 6], &random)
        let expected = slowConvolution(x, model.parameters[0], g.bias ? model.parameters[1] : nil, stride: g.stride, padding: g.padding)
        let y = model(x)
        #expect(y.shape == expected.shape && [2] + model.outputShape == y.shape)
        #expect(closeness(y.scalars, expected.scalars, rtol: 1e-5, atol: 1e-6) <= 1)
        #expect(model.parameterNames == (g.bias ? ["layers.0.weight", "layers.0.bias"] : ["layers.0.weight"]))
    }

    @Test("convolution2d with square geometry and bias computes exactly what conv2d does")
    func squareEquivalence() throws {
        let square = try Sequential(inputShape: [2, 6, 6], layers: [.conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1)],
                                    random: LabRandom(seed: 3))
        let general = try Sequential(inputShape: [2, 6, 6], layers: [.convolution2d(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: 1, bias: true)],
                                     parameters: square.parameters)
        var random = LabRandom(seed: 4)
        let x = randomTensor([3, 2, 6, 6], &random)
        #expect(square(x).scalars == general(x).scalars)
    }

    @Test("evaluation normalizes by the running statistics; training by the batch's, moving the running ones by the momentum")
    func batchNormSemantics() throws {
        let layer = Layer.batchNorm2d(features: 2, epsilon: 1e-5, momentum: 0.25, affine: true)
        var model = try Sequential(inputShape: [2, 3, 3], layers: [layer, .flatten],
                                   parameters: [Tensor([2, -1]), Tensor([0.5, 0])], buffers: [Tensor([1, -2]), Tensor([4, 0.25])])
        var random = LabRandom(seed: 6)
        let x = randomTensor([4, 2, 3, 3], &random, low: -3, high: 3)
        let evaluation = model(x).scalars
        var training: LabRandom? = nil
        let (batchOutput, updated) = model.forwardUpdatingBuffers(x, parameters: model.parameters, random: &training)
        let xs = x.scalars
        for c in 0..<2 {
            let values = (0..<4).flatMap { n in (0..<9).map { xs[(n * 2 + c) * 9 + $0] } }
            let mean = values.reduce(0, +) / Float(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
            let (gamma, beta): (Float, Float) = c == 0 ? (2, 0.5) : (-1, 0)
            let (runningMean, runningVariance): (Float, Float) = c == 0 ? (1, 4) : (-2, 0.25)
            for n in 0..<4 {
                for k in 0..<9 {
                    let i = (n * 2 + c) * 9 + k
                    #expect(abs(evaluation[i] - ((xs[i] - runningMean) / (runningVariance + 1e-5).squareRoot() * gamma + beta)) < 1e-5)
                    #expect(abs(batchOutput.scalars[i] - ((xs[i] - mean) / (variance + 1e-5).squareRoot() * gamma + beta)) < 1e-4)
                }
            }
            #expect(abs(updated[0].scalars[c] - (0.75 * runningMean + 0.25 * mean)) < 1e-5)
            #expect(abs(updated[1].scalars[c] - (0.75 * runningVariance + 0.25 * variance * 36 / 35)) < 1e-5)
        }
        // Training steps write the moved statistics back into the model.
        let before = model.buffers.map(\.scalars)
        _ = try model.train(inputs: x, labels: [0, 1, 0, 1], configuration: .init(epochs: 1, batchSize: 4, learningRate: 1e-3),
                            random: LabRandom(seed: 1))
        #expect(model.buffers.map(\.scalars) != before)
        for (trained, expected) in zip(model.buffers, updated) {
            #expect(closeness(trained.scalars, expected.scalars, rtol: 1e-5, atol: 1e-6) <= 1)
        }
    }

    @Test("buffers go through checkpoints by name; models without them write no extra tensor")
    func checkpoints() throws {
        var random = LabRandom(seed: 12)
        let layers = Self.architectures[1].2
        var model = try Sequential(inputShape: [2, 5, 4], layers: layers, random: random.stream("init"))
        let x = randomTensor([6, 2, 5, 4], &random)
        _ = try model.train(inputs: x, labels: [0, 1, 2, 0, 1, 2], configuration: .init(epochs: 2, batchSize: 3, learningRate: 1e-2),
                            random: random.stream("train"))
        #expect(model.bufferNames == ["layers.1.running_mean", "layers.1.running_var"])
        let restored = try Sequential(checkpoint: model.checkpointData(), source: "bn")
        #expect(restored.layers == model.layers)
        #expect(restored.buffers.map(\.scalars) == model.buffers.map(\.scalars))
        #expect(restored(x).scalars == model(x).scalars)
        var broken = model
        broken.buffers[1] = Tensor(repeating: -1, shape: [3])
        #expect(throws: CheckpointError.mismatch(file: "neg", tensor: "layers.1.running_var", reason: "holds a negative variance")) {
            try Sequential(checkpoint: broken.checkpointData(), source: "neg")
        }
        let plain = try Sequential(inputShape: [4], layers: [.dense(inputs: 4, outputs: 2)], random: LabRandom(seed: 1))
        #expect(plain.buffers.isEmpty && plain.bufferNames.isEmpty)
        let (tensors, _) = try Checkpoint.decode(plain.checkpointData(), source: "plain")
        #expect(tensors.map(\.name).sorted() == ["layers.0.bias", "layers.0.weight"])
    }

    @Test("per-sample gradient support is declared per layer")
    func perSampleSupport() {
        #expect(Layer.dense(inputs: 2, outputs: 2).supportsPerSampleGradients)
        #expect(Layer.conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, stride: 1, padding: 0).supportsPerSampleGradients)
        #expect(!Layer.batchNorm1d(features: 2, epsilon: 1e-5, momentum: 0.1, affine: true).supportsPerSampleGradients)
        #expect(!Layer.denseWithoutBias(inputs: 2, outputs: 2).supportsPerSampleGradients)
    }
}
