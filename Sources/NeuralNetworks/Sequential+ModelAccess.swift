import LabRandom
import ModelAccess
import Tensors

// A trained `Sequential` classifier offers every kind of access an attacker may be granted.
extension Sequential: LogitAccess, LossAccess, InputGradientAccess, LogitGradientAccess {
    /// The number of outputs (classes) of the network.
    public var classCount: Int { Tensor.elementCount(outputShape) }

    public func logits(for inputs: Tensor) -> Tensor { logits(inputs) }

    public func probabilities(for inputs: Tensor) -> Tensor { probabilities(inputs) }

    public func predictedLabels(for inputs: Tensor) -> [Int] { predictions(inputs) }

    public func losses(for inputs: Tensor, labels: [Int]) -> [Float] { perExampleLosses(inputs, labels: labels) }

    /// ∂ lossᵢ / ∂ xᵢ of the softmax cross-entropy, in evaluation mode (no dropout). Examples do
    /// not interact in evaluation mode, so the gradient of the summed loss is the per-example one.
    /// - Complexity: one forward and one backward pass over the batch.
    public func inputGradients(for inputs: Tensor, labels: [Int]) -> Tensor {
        precondition(outputShape.count == 1, "Sequential.inputGradients: needs a classifier with [classes] outputs, got \(outputShape)")
        let x = inputs.detached().requiringGradient()
        var none: LabRandom? = nil
        let outputs = forward(x, parameters: parameters, training: false, random: &none)
        let total = Tensor.softmaxCrossEntropy(logits: outputs, labels: labels).sum()
        return gradients(of: total, withRespectTo: [x])[0]
    }

    /// The logits of a batch and the vector–Jacobian product (∂z/∂x)ᵀ·g with g = `lossGradient(z)`,
    /// in evaluation mode: the input gradient of any loss of the logits.
    /// - Complexity: one forward and one backward pass over the batch.
    public func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor) {
        let x = inputs.detached().requiringGradient()
        var none: LabRandom? = nil
        let outputs = forward(x, parameters: parameters, training: false, random: &none)
        let values = outputs.detached()
        let cotangent = lossGradient(values)
        precondition(cotangent.shape == outputs.shape,
                     "Sequential.logitsAndInputGradients: loss gradient \(cotangent.shape) for logits \(outputs.shape)")
        return (values, gradients(of: outputs, withRespectTo: [x], seed: cotangent)[0])
    }
}

// White-box access: a `Sequential` model is its own parameters, layers and forward pass.
extension Sequential: ActivationAccess, ParameterAccess, DifferentiableModel {
    /// "layers.<index>" for each layer, the prefix of its parameters' names.
    public var layerNames: [String] { layers.indices.map { "layers.\($0)" } }

    /// The output of layer "layers.<index>" in evaluation mode, recorded on the tape when
    /// `inputs` requires a gradient.
    public func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor {
        guard name.hasPrefix("layers."), let index = Int(name.dropFirst("layers.".count)), layers.indices.contains(index),
              name == "layers.\(index)" else {
            throw .unknownLayer(name: name, available: layerNames)
        }
        guard inputs.rank >= 1, Array(inputs.shape.dropFirst()) == inputShape else {
            throw .inputShape(expected: inputShape, got: inputs.shape)
        }
        return output(inputs, afterLayer: index)
    }

    /// The mean softmax cross-entropy of the batch and its parameter gradients, in evaluation
    /// mode (no dropout; batch normalization reads its running statistics).
    public func lossAndParameterGradients(for inputs: Tensor, labels: [Int]) -> (meanLoss: Float, gradients: [Tensor]) {
        var none: LabRandom? = nil
        let (loss, grads) = lossAndGradients(inputs.detached(), labels: labels, loss: .softmaxCrossEntropy, training: false, random: &none)
        return (loss, grads)
    }

    /// The outputs of a batch with the given parameters, in evaluation mode, recorded on the
    /// tape for every argument that requires a gradient.
    public func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor {
        var none: LabRandom? = nil
        return forward(inputs, parameters: parameters, training: false, random: &none)
    }
}

// The architecture: a summary of each layer, under the names of `layerNames`; and the same
// network with other parameter values.
extension Sequential: ArchitectureAccess, ParameterEditing {
    /// The network with `parameters` (detached from any tape) in place of its own; buffers kept.
    public func replacingParameters(_ parameters: [Tensor]) throws(ModelAccessError) -> Sequential {
        guard parameters.map(\.shape) == self.parameters.map(\.shape) else {
            throw .parameterShapes(expected: self.parameters.map(\.shape), got: parameters.map(\.shape))
        }
        var edited = self
        edited.parameters = parameters.map { $0.detached() }
        return edited
    }

    public var layerSummaries: [LayerSummary] {
        layers.indices.map { i in
            LayerSummary(name: "layers.\(i)", kind: layers[i].summaryKind, parameterRange: parameterRanges[i],
                         description: "\(layers[i])")
        }
    }
}

extension Layer {
    /// What `LayerSummary` says of the layer.
    var summaryKind: LayerSummary.Kind {
        switch self {
        case let .dense(inputs, outputs): return .dense(inputs: inputs, outputs: outputs, bias: true)
        case let .denseWithoutBias(inputs, outputs): return .dense(inputs: inputs, outputs: outputs, bias: false)
        case let .conv2d(inChannels, outChannels, _, _, _): return .convolution(inChannels: inChannels, outChannels: outChannels, bias: true)
        case let .convolution2d(inChannels, outChannels, _, _, _, bias):
            return .convolution(inChannels: inChannels, outChannels: outChannels, bias: bias)
        case .batchNorm1d, .batchNorm2d: return .normalization
        case .maxPool2d, .avgPool2d: return .pooling
        case .flatten: return .flatten
        case .relu: return .activation(.relu)
        case .tanh: return .activation(.tanh)
        case .sigmoid: return .activation(.sigmoid)
        case .dropout: return .dropout
        }
    }
}

/// How to train a `Sequential` model: an architecture and a training configuration.
///
/// `train` draws the initial parameters from `random.stream("init")` and the training's batch
/// order and dropout from `random.stream("train")`, so a reference model trained with the stream
/// "reference/3" uses "reference/3/init" and "reference/3/train".
public struct SequentialRecipe: TrainingRecipe, Codable, Equatable {
    public var inputShape: [Int]
    public var layers: [Layer]
    public var configuration: TrainingConfiguration

    public init(inputShape: [Int], layers: [Layer], configuration: TrainingConfiguration) {
        self.inputShape = inputShape
        self.layers = layers
        self.configuration = configuration
    }

    /// A fresh model trained on the examples.
    /// - Throws: `ModelError` for an architecture that does not fit `inputShape`, `TrainingError`
    ///   for a bad configuration, mismatched data or divergence.
    public func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> Sequential {
        var model = try Sequential(inputShape: inputShape, layers: layers, random: random.stream("init"))
        _ = try model.train(inputs: inputs, labels: labels, configuration: configuration, random: random.stream("train"))
        return model
    }
}
