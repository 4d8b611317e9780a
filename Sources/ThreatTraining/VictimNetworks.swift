import LabRandom
import NeuralNetworks
import Tensors

/// The networks the gradient-inversion literature attacks, as `Sequential` models.
public enum VictimNetworks {
    /// DLG's LeNet (Zhu et al. 2019, `models/vision.py` of the paper's code): three 5×5
    /// convolutions of 12 channels (padding 2; strides 2, 2, 1), each followed by `activation`,
    /// then one dense layer to the classes. For 28×28 MNIST: 12×14×14 → 12×7×7 → 12×7×7 → 588 → 10.
    public static func lenetLayers(inputShape: [Int], classes: Int, activation: Layer = .sigmoid) throws(ModelError) -> [Layer] {
        guard inputShape.count == 3 else { throw .incompatibleLayer(layer: .flatten, inputShape: inputShape, expected: "images [C, H, W]") }
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        let h1 = (h + 4 - 5) / 2 + 1, w1 = (w + 4 - 5) / 2 + 1
        let h2 = (h1 + 4 - 5) / 2 + 1, w2 = (w1 + 4 - 5) / 2 + 1
        return [
            .conv2d(inChannels: c, outChannels: 12, kernelSize: 5, stride: 2, padding: 2), activation,
            .conv2d(inChannels: 12, outChannels: 12, kernelSize: 5, stride: 2, padding: 2), activation,
            .conv2d(inChannels: 12, outChannels: 12, kernelSize: 5, stride: 1, padding: 2), activation,
            .flatten, .dense(inputs: 12 * h2 * w2, outputs: classes),
        ]
    }

    /// A model of `layers` whose every parameter is drawn uniformly from [−scale, scale]
    /// (DLG's initialisation uses scale 0.5), from `random`'s streams `layers/<i>/<name>`.
    public static func uniformlyInitialized(inputShape: [Int], layers: [Layer], scale: Float, random: LabRandom) throws(ModelError) -> Sequential {
        let shaped = try Sequential(inputShape: inputShape, layers: layers, random: random)
        let parameters = zip(shaped.parameterNames, shaped.parameters).map { name, p in
            var stream = random.stream("uniform/\(name)")
            return Tensor(shape: p.shape) { stream.fillUniform($0, low: -scale, high: scale) }
        }
        return try Sequential(inputShape: inputShape, layers: layers, parameters: parameters)
    }
}
