import Testing
import LabRandom
import NeuralNetworks
import Tensors

/// Finite-difference checks of every layer's gradient, through `Sequential`.
@Suite("Layer gradients")
struct LayerGradientTests {
    nonisolated(unsafe) static let architectures: [(String, [Int], [Layer])] = [
        ("dense relu dense", [6], [.dense(inputs: 6, outputs: 5), .relu, .dense(inputs: 5, outputs: 3)]),
        ("dense tanh sigmoid", [4], [.dense(inputs: 4, outputs: 4), .tanh, .dense(inputs: 4, outputs: 4), .sigmoid,
                                     .dense(inputs: 4, outputs: 3)]),
        ("conv max-pool", [2, 6, 6], [.conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 1, padding: 1), .relu,
                                      .maxPool2d(size: 2, stride: 2), .flatten, .dense(inputs: 27, outputs: 3)]),
        ("strided conv avg-pool", [1, 7, 7], [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 2, padding: 1),
                                              .tanh, .avgPool2d(size: 2, stride: 1), .flatten, .dense(inputs: 18, outputs: 3)]),
        ("dropout (fixed mask stream)", [5], [.dense(inputs: 5, outputs: 8), .dropout(rate: 0.5), .dense(inputs: 8, outputs: 3)]),
    ]

    @Test("parameter and input gradients match central differences", arguments: 0..<architectures.count)
    func gradientsMatch(_ index: Int) throws {
        let (name, shape, layers) = Self.architectures[index]
        var random = LabRandom(seed: 11).stream("case/\(index)")
        let model = try Sequential(inputShape: shape, layers: layers, random: random.stream("init"))
        let x = randomTensor([3] + shape, &random)
        let labels = [0, 2, 1]
        let dropoutStream = random.stream("dropout")
        func loss(_ params: [Tensor], _ input: Tensor) -> Float {
            var r: LabRandom? = dropoutStream
            return Loss.softmaxCrossEntropy.mean(outputs: model.forward(input, parameters: params, training: true, random: &r),
                                                 labels: labels).scalar
        }
        var r: LabRandom? = dropoutStream
        let leaves = model.parameters.map { $0.requiringGradient() }
        let input = x.requiringGradient()
        let value = Loss.softmaxCrossEntropy.mean(outputs: model.forward(input, parameters: leaves, training: true, random: &r),
                                                  labels: labels)
        let analytic = gradients(of: value, withRespectTo: leaves + [input])
        let h: Float = 1e-2
        for which in 0...leaves.count {
            var numeric: [Float] = []
            let base = which < leaves.count ? model.parameters[which] : x
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
                    "\(name): tensor \(which) analytic \(analytic[which].scalars.prefix(5)) numeric \(numeric.prefix(5))")
        }
    }
}
