import Tensors

// White-box access to a model's architecture: which layers it has and which of its parameter
// tensors each one owns, for attacks that read one particular layer (analytic gradient inversion
// reads the first dense layer, label recovery the last one, fine-pruning the last convolution,
// representation-based detectors the input of the classifier head); and write access to the
// parameters (pruning).

/// What an attack may know of one layer of a model.
public struct LayerSummary: Sendable, Equatable, CustomStringConvertible {
    /// The kinds of layers, with what attacks read of them.
    public enum Kind: Sendable, Equatable {
        /// y = W·x (+ b) over flattened features: parameters weight [outputs, inputs], then bias
        /// [outputs] when `bias`.
        case dense(inputs: Int, outputs: Int, bias: Bool)
        /// A 2-D convolution of NCHW inputs: parameters weight [outChannels, inChannels, kh, kw],
        /// then bias [outChannels] when `bias`.
        case convolution(inChannels: Int, outChannels: Int, bias: Bool)
        /// An element-wise activation function.
        case activation(Activation)
        /// Batch normalization (its parameters, when it has them: scale, then shift).
        case normalization
        /// Max or average pooling.
        case pooling
        /// Flattening [N, …] to [N, features].
        case flatten
        /// Dropout (the identity in evaluation mode).
        case dropout
    }

    /// The element-wise activations a layer may apply.
    public enum Activation: String, Sendable, Equatable, CaseIterable {
        case relu, tanh, sigmoid
    }

    /// The layer's name, as `ActivationAccess.layerNames` gives it.
    public let name: String
    public let kind: Kind
    /// The positions of its trained tensors in `ParameterAccess.parameters` (empty for none).
    public let parameterRange: Range<Int>
    /// How the model describes the layer (for messages).
    public let description: String

    public init(name: String, kind: Kind, parameterRange: Range<Int>, description: String) {
        self.name = name
        self.kind = kind
        self.parameterRange = parameterRange
        self.description = description
    }
}

/// White-box access to the model's architecture, layer by layer.
///
/// Laws: `layerSummaries.map(\.name) == layerNames`; the summaries' parameter ranges are
/// consecutive and ascending and together cover `parameters.indices`; the activations at a
/// layer's name are that layer's output.
public protocol ArchitectureAccess: ActivationAccess, ParameterAccess {
    /// One summary per layer, in the order the layers are computed.
    var layerSummaries: [LayerSummary] { get }
}

/// White-box write access: the same model with other values of its trained parameters (a
/// defender pruning channels, an attacker editing weights).
///
/// Law: `try replacingParameters(p).parameters == p`; the architecture, the buffers
/// (normalization statistics) and everything else stay as they are.
public protocol ParameterEditing: ParameterAccess {
    /// The model with `parameters` in place of its own.
    /// - Throws: `ModelAccessError.parameterShapes` when they do not have the shapes of
    ///   `self.parameters`, in order.
    func replacingParameters(_ parameters: [Tensor]) throws(ModelAccessError) -> Self
}

// MARK: - Architecture defaults

extension ArchitectureAccess {
    /// The output of the layer called `name` for many inputs, computed without recording
    /// gradients in chunks of `batchSize` rows (at once when they fit in one chunk).
    /// - Throws: as `activations(for:atLayer:)`.
    /// - Complexity: one forward pass up to that layer per chunk; memory bounded by the chunk.
    public func activations(for inputs: Tensor, atLayer name: String, batchSize: Int) throws(ModelAccessError) -> Tensor {
        precondition(batchSize >= 1, "ArchitectureAccess.activations: the batch size must be at least 1, got \(batchSize)")
        let n = inputs.shape.first ?? 0
        var failure: ModelAccessError?
        let parts: [Tensor] = withoutGradients {
            var parts: [Tensor] = []
            var start = 0
            repeat {
                let end = n <= batchSize ? n : Swift.min(n, start + batchSize)
                do throws(ModelAccessError) {
                    parts.append(try activations(for: n <= batchSize ? inputs : inputs.slice(axis: 0, start..<end), atLayer: name))
                } catch {
                    failure = error
                    return []
                }
                start = end
            } while start < n
            return parts
        }
        if let failure { throw failure }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, alongAxis: 0)
    }
}
