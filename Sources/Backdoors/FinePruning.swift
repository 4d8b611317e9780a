import ModelAccess
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
/// Pruning reaches the model through `ModelAccess`: its architecture (the last convolution and
/// the layer after it), its activations, its predictions, and a copy with edited parameters. The
/// fine-tuning of a PrivacyLab network is `fineTune(_:inputs:labels:configuration:random:)` in
/// ThreatTraining.
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

    /// A pruned model and which channels of which layer were removed.
    public struct Pruned<Model: Sendable>: Sendable {
        public var model: Model
        /// The index of the pruned convolution layer in the model's `layerSummaries`.
        public var layer: Int
        public var prunedChannels: [Int]
        public var channelCount: Int
        /// Clean accuracy before and after pruning, on the data used for pruning.
        public var accuracyBefore: Double
        public var accuracyAfter: Double

        public init(model: Model, layer: Int, prunedChannels: [Int], channelCount: Int, accuracyBefore: Double, accuracyAfter: Double) {
            self.model = model
            self.layer = layer
            self.prunedChannels = prunedChannels
            self.channelCount = channelCount
            self.accuracyBefore = accuracyBefore
            self.accuracyAfter = accuracyAfter
        }
    }

    /// The last convolution layer: its index, the positions of its weight (and bias) in the
    /// parameters, and its output channels.
    static func lastConvolution(_ model: some ArchitectureAccess) throws(BackdoorError) -> (layer: Int, weight: Int, bias: Int?, channels: Int) {
        let layers = model.layerSummaries
        guard let layer = layers.lastIndex(where: { if case .convolution = $0.kind { return true } else { return false } }),
              case let .convolution(_, channels, bias) = layers[layer].kind else {
            throw .unsupportedModel("fine-pruning needs a convolution layer")
        }
        let weight = layers[layer].parameterRange.lowerBound
        return (layer, weight, bias ? weight + 1 : nil, channels)
    }

    /// The model with the given channels of its last convolution set to zero (filter and bias).
    public static func zeroing<Model: ArchitectureAccess & ParameterEditing>(channels: [Int], of model: Model) throws(BackdoorError) -> Model {
        let conv = try lastConvolution(model)
        var parameters = model.parameters
        let perChannel = parameters[conv.weight].scalarCount / conv.channels
        parameters[conv.weight].withUnsafeMutableBufferPointer { w in
            for c in channels { for j in 0..<perChannel { w[c * perChannel + j] = 0 } }
        }
        if let bias = conv.bias {
            parameters[bias].withUnsafeMutableBufferPointer { b in
                for c in channels { b[c] = 0 }
            }
        }
        do {
            return try model.replacingParameters(parameters)
        } catch {
            throw .unsupportedModel("fine-pruning: \(error)")
        }
    }

    /// The fraction of examples whose predicted class equals the label (0 for none).
    static func accuracy(_ model: some LabelAccess, inputs: Tensor, labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        let predicted = model.predictedLabels(for: inputs)
        var correct = 0
        for (p, y) in zip(predicted, labels) where p == y { correct += 1 }
        return Double(correct) / Double(labels.count)
    }

    /// Prunes dormant channels of the last convolution layer on clean data.
    /// - Throws: `BackdoorError` for a model without a convolution layer, inputs it does not
    ///   take, or parameters out of range.
    public func prune<Model: ArchitectureAccess & ParameterEditing & LabelAccess>(
        model: Model, cleanInputs: Tensor, cleanLabels: [Int]
    ) throws(BackdoorError) -> Pruned<Model> {
        guard maximumAccuracyDrop >= 0, maximumPrunedFraction >= 0 && maximumPrunedFraction <= 1 else {
            throw .invalidParameter("accuracy drop must be ≥ 0 and pruned fraction in [0, 1]")
        }
        let conv = try Self.lastConvolution(model)
        // Mean activation of each channel after the layer's activation function.
        let layers = model.layerSummaries
        var end = conv.layer + 1
        if end < layers.count, case .activation = layers[end].kind { end += 1 }
        let activations: Tensor   // [N, C, H, W]
        do {
            activations = try model.activations(for: cleanInputs, atLayer: layers[end - 1].name, batchSize: 512)
        } catch {
            throw .invalidParameter("fine-pruning: \(error)")
        }
        let n = activations.shape[0], c = activations.shape[1], plane = activations.shape[2] * activations.shape[3]
        var means = [Double](repeating: 0, count: c)
        activations.withUnsafeBufferPointer { a in
            for i in 0..<n { for ch in 0..<c { for j in 0..<plane { means[ch] += Double(a[(i * c + ch) * plane + j]) } } }
        }
        let order = means.indices.sorted { means[$0] < means[$1] || (means[$0] == means[$1] && $0 < $1) }
        let before = Self.accuracy(model, inputs: cleanInputs, labels: cleanLabels)
        var kept = 0
        var keptAccuracy = before
        let limit = Int((maximumPrunedFraction * Double(c)).rounded(.down))
        var k = 1
        while k <= limit {
            let candidate = try Self.zeroing(channels: Array(order.prefix(k)), of: model)
            let accuracy = Self.accuracy(candidate, inputs: cleanInputs, labels: cleanLabels)
            if accuracy < before - maximumAccuracyDrop { break }
            kept = k
            keptAccuracy = accuracy
            k += 1
        }
        let pruned = Array(order.prefix(kept)).sorted()
        return Pruned(model: try Self.zeroing(channels: pruned, of: model), layer: conv.layer, prunedChannels: pruned,
                      channelCount: c, accuracyBefore: before, accuracyAfter: keptAccuracy)
    }
}
