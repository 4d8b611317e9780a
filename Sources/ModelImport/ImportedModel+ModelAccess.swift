import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors

// An imported model offers every access a PrivacyLab `Sequential` does, under PyTorch's names.
extension ImportedModel: LogitAccess, LossAccess, InputGradientAccess, LogitGradientAccess {
    public var classCount: Int { network.classCount }

    public func logits(for inputs: Tensor) -> Tensor { network.logits(for: inputs) }

    public func probabilities(for inputs: Tensor) -> Tensor { network.probabilities(for: inputs) }

    public func predictedLabels(for inputs: Tensor) -> [Int] { network.predictedLabels(for: inputs) }

    public func losses(for inputs: Tensor, labels: [Int]) -> [Float] { network.losses(for: inputs, labels: labels) }

    /// ∂ lossᵢ / ∂ xᵢ of the softmax cross-entropy, in evaluation mode.
    public func inputGradients(for inputs: Tensor, labels: [Int]) -> Tensor {
        network.inputGradients(for: inputs, labels: labels)
    }

    public func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor) {
        network.logitsAndInputGradients(for: inputs, lossGradient: lossGradient)
    }
}

extension ImportedModel: ActivationAccess, ParameterAccess, DifferentiableModel, ArchitectureAccess, ParameterEditing {
    /// The model with `parameters` in place of its own (state-dict keys and buffers kept).
    public func replacingParameters(_ parameters: [Tensor]) throws(ModelAccessError) -> ImportedModel {
        var edited = self
        edited.network = try network.replacingParameters(parameters)
        return edited
    }

    /// The per-sample input shape of the architecture.
    public var inputShape: [Int] { network.inputShape }

    /// The network's summary of each layer, under PyTorch's module names.
    public var layerSummaries: [LayerSummary] {
        zip(layerNames, network.layerSummaries).map { name, summary in
            LayerSummary(name: name, kind: summary.kind, parameterRange: summary.parameterRange, description: summary.description)
        }
    }

    /// PyTorch's module names: "<key_prefix><index>" ("0", "1", …).
    public var layerNames: [String] { architecture.layers.indices.map { architecture.keyPrefix + String($0) } }

    /// The output of the module called `name`, in evaluation mode.
    public func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor {
        guard let index = layerNames.firstIndex(of: name) else { throw .unknownLayer(name: name, available: layerNames) }
        guard inputs.rank >= 1, Array(inputs.shape.dropFirst()) == network.inputShape else {
            throw .inputShape(expected: network.inputShape, got: inputs.shape)
        }
        return network.output(inputs, afterLayer: index)
    }

    /// The trained parameters, in the order of `parameterNames` (state-dict keys).
    public var parameters: [Tensor] { network.parameters }

    public func lossAndParameterGradients(for inputs: Tensor, labels: [Int]) -> (meanLoss: Float, gradients: [Tensor]) {
        network.lossAndParameterGradients(for: inputs, labels: labels)
    }

    public func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor {
        network.logits(for: inputs, parameters: parameters)
    }
}

/// How to train a fresh model of an imported architecture: what LiRA and RMIA reference models
/// of a PyTorch target need.
///
/// `train` initialises the model as PyTorch does by default from `random.stream("init")` and
/// trains it from `random.stream("train")` — the streams `SequentialRecipe` uses, so it trains
/// the same network, bit for bit, as `SequentialRecipe` with the architecture's layers.
public struct ImportedModelRecipe: TrainingRecipe, Codable, Equatable {
    public var architecture: PyTorchArchitecture
    public var configuration: TrainingConfiguration

    public init(architecture: PyTorchArchitecture, configuration: TrainingConfiguration) {
        self.architecture = architecture
        self.configuration = configuration
    }

    /// A fresh model trained on the examples.
    /// - Throws: `ModelImportError` for an invalid architecture, `TrainingError` for a bad
    ///   configuration, mismatched data or divergence.
    public func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> ImportedModel {
        var model = try ImportedModel(architecture: architecture, random: random.stream("init"))
        _ = try model.train(inputs: inputs, labels: labels, configuration: configuration, random: random.stream("train"))
        return model
    }
}
