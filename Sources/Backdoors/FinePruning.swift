import LabRandom
import NeuralNetworks
import Tensors

/// Fine-pruning (Liu, Dolan-Gavitt and Garg 2018, "Fine-pruning: Defending against backdooring
/// attacks on deep neural networks").
///
/// Backdoor behaviour tends to live in channels that clean inputs leave dormant. Pruning ranks
/// the channels of the last convolution layer by their mean activation (after its ReLU) on
/// clean data and removes them in increasing order — a removed channel has its filter and bias
/// set to zero — while the clean accuracy stays within `maximumAccuracyDrop` of the original
/// (and at most `maximumPrunedFraction` of the channels go). Fine-tuning then trains the pruned
/// network on clean data, keeping the removed channels at zero.
///
/// Laws: pruned channels output exactly 0 before and after fine-tuning; pruning never lowers
/// clean accuracy (on the data used) by more than the allowed drop.
/// - Complexity: one forward pass over the clean data per tried pruning level.
public struct FinePruning: Sendable, Equatable {
    public var maximumAccuracyDrop: Double
    public var maximumPrunedFraction: Double

    public init(maximumAccuracyDrop: Double = 0.04, maximumPrunedFraction: Double = 0.9) {
        self.maximumAccuracyDrop = maximumAccuracyDrop
        self.maximumPrunedFraction = maximumPrunedFraction
    }

    /// A pruned network and which channels of which layer were removed.
    public struct Pruned: Sendable {
        public var model: Sequential
        /// The index of the pruned convolution layer in `model.layers`.
        public var layer: Int
        public var prunedChannels: [Int]
        public var channelCount: Int
        /// Clean accuracy before and after pruning, on the data used for pruning.
        public var accuracyBefore: Double
        public var accuracyAfter: Double
    }

    /// Index of the last convolution layer and of its weight parameter.
    static func lastConvolution(_ model: Sequential) throws(BackdoorError) -> (layer: Int, parameter: Int, channels: Int) {
        guard let layer = model.layers.lastIndex(where: { if case .conv2d = $0 { return true } else { return false } }),
              case let .conv2d(_, channels, _, _, _) = model.layers[layer] else {
            throw .unsupportedModel("fine-pruning needs a convolution layer")
        }
        let parameter = model.layers[0..<layer].reduce(0) { $0 + $1.parameterShapes.count }
        return (layer, parameter, channels)
    }

    /// The network with the given channels of its last convolution set to zero.
    public static func zeroing(channels: [Int], of model: Sequential) throws(BackdoorError) -> Sequential {
        let conv = try lastConvolution(model)
        var result = model
        let perChannel = result.parameters[conv.parameter].scalarCount / conv.channels
        result.parameters[conv.parameter].withUnsafeMutableBufferPointer { w in
            for c in channels { for j in 0..<perChannel { w[c * perChannel + j] = 0 } }
        }
        result.parameters[conv.parameter + 1].withUnsafeMutableBufferPointer { b in
            for c in channels { b[c] = 0 }
        }
        return result
    }

    /// Prunes dormant channels of the last convolution layer on clean data.
    public func prune(model: Sequential, cleanInputs: Tensor, cleanLabels: [Int]) throws(BackdoorError) -> Pruned {
        guard maximumAccuracyDrop >= 0, maximumPrunedFraction >= 0 && maximumPrunedFraction <= 1 else {
            throw .invalidParameter("accuracy drop must be ≥ 0 and pruned fraction in [0, 1]")
        }
        let conv = try Self.lastConvolution(model)
        // Mean activation of each channel after the layer's activation function.
        var end = conv.layer + 1
        if end < model.layers.count, [.relu, .tanh, .sigmoid].contains(model.layers[end]) { end += 1 }
        let activations = model.prefix(upTo: end).logits(cleanInputs, batchSize: 512)   // [N, C, H, W]
        let n = activations.shape[0], c = activations.shape[1], plane = activations.shape[2] * activations.shape[3]
        var means = [Double](repeating: 0, count: c)
        activations.withUnsafeBufferPointer { a in
            for i in 0..<n { for ch in 0..<c { for j in 0..<plane { means[ch] += Double(a[(i * c + ch) * plane + j]) } } }
        }
        let order = means.indices.sorted { means[$0] < means[$1] || (means[$0] == means[$1] && $0 < $1) }
        let before = model.accuracy(cleanInputs, labels: cleanLabels)
        var kept = 0
        var keptAccuracy = before
        let limit = Int((maximumPrunedFraction * Double(c)).rounded(.down))
        var k = 1
        while k <= limit {
            let candidate = try Self.zeroing(channels: Array(order.prefix(k)), of: model)
            let accuracy = candidate.accuracy(cleanInputs, labels: cleanLabels)
            if accuracy < before - maximumAccuracyDrop { break }
            kept = k
            keptAccuracy = accuracy
            k += 1
        }
        let pruned = Array(order.prefix(kept)).sorted()
        return Pruned(model: try Self.zeroing(channels: pruned, of: model), layer: conv.layer, prunedChannels: pruned,
                      channelCount: c, accuracyBefore: before, accuracyAfter: keptAccuracy)
    }

    /// Fine-tunes a pruned network on clean data, re-zeroing its pruned channels after every step.
    /// Draws batch order from streams `epochs/<e>/shuffle` of `random`.
    public static func fineTune(_ pruned: Pruned, inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                                random: LabRandom) throws -> Sequential {
        try configuration.validate()
        var model = pruned.model
        var optimizer = configuration.optimizer.makeOptimizer()
        let n = inputs.shape[0]
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var shuffle = random.stream("epochs/\(epoch)/shuffle")
            let order = shuffle.permutation(n)
            var start = 0
            while start < n {
                let end = min(n, start + configuration.batchSize)
                let rows = Array(order[start..<end])
                var none: LabRandom? = nil
                let (_, grads) = model.lossAndGradients(inputs.gatheringRows(rows), labels: rows.map { labels[$0] },
                                                        loss: configuration.loss, training: false, random: &none)
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                model = try zeroing(channels: pruned.prunedChannels, of: model)
                start = end
            }
        }
        return model
    }
}
