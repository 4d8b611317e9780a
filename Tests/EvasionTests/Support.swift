import Datasets
import Evasion
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors

/// A linear classifier z = W·x + b whose input gradients are written out by hand: an oracle for
/// the attacks (∂L/∂x = Wᵀ·∂L/∂z).
struct LinearStub: LogitGradientAccess {
    let weight: [Float]  // [classes, features]
    let bias: [Float]
    let classCount: Int
    let features: Int

    init(classes: Int, features: Int, random: inout LabRandom) {
        classCount = classes
        self.features = features
        var w = [Float](repeating: 0, count: classes * features)
        var b = [Float](repeating: 0, count: classes)
        w.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        b.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 0.1) }
        weight = w
        bias = b
    }

    func logits(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0]
        let x = inputs.scalars
        var z = [Float](repeating: 0, count: n * classCount)
        for i in 0..<n {
            for c in 0..<classCount {
                var s = bias[c]
                for j in 0..<features { s += weight[c * features + j] * x[i * features + j] }
                z[i * classCount + c] = s
            }
        }
        return Tensor(shape: [n, classCount], scalars: z)
    }

    func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor) {
        let z = logits(for: inputs)
        let g = lossGradient(z).scalars
        let n = inputs.shape[0]
        var dx = [Float](repeating: 0, count: n * features)
        for i in 0..<n {
            for c in 0..<classCount {
                for j in 0..<features { dx[i * features + j] += g[i * classCount + c] * weight[c * features + j] }
            }
        }
        return (z, Tensor(shape: inputs.shape, scalars: dx))
    }
}

/// Uniform inputs in [0, 1].
func uniformInputs(_ n: Int, _ d: Int, random: inout LabRandom) -> Tensor {
    Tensor(shape: [n, d]) { random.fillUniform($0, low: 0, high: 1) }
}

/// Small generated pattern images (16×16, 10 classes) split into train and test.
func patternData(perClass: Int, seed: UInt64, noise: Float = 0.1) -> (train: LabeledData, test: LabeledData) {
    var random = LabRandom(seed: seed).stream("data")
    let all = SyntheticDatasets.patternImages(samplesPerClass: perClass, classes: 10, side: 16, noise: noise, maxShift: 1, using: &random)
    let cut = all.count * 3 / 4
    return (all.subset(Array(0..<cut)), all.subset(Array(cut..<all.count)))
}

/// A small MLP for 16×16 images.
let smallMLP: [Layer] = [.flatten, .dense(inputs: 256, outputs: 64), .relu, .dense(inputs: 64, outputs: 10)]

func trainedMLP(_ train: LabeledData, epochs: Int = 20, seed: UInt64 = 3) throws -> Sequential {
    var model = try Sequential(inputShape: [1, 16, 16], layers: smallMLP, random: LabRandom(seed: seed).stream("init"))
    _ = try model.train(inputs: train.featureTensor, labels: train.intLabels,
                        configuration: TrainingConfiguration(epochs: epochs, batchSize: 32, learningRate: 0.003),
                        random: LabRandom(seed: seed).stream("train"))
    return model
}

extension Array {
    /// Consecutive slices of `size` elements.
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}
