import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors

/// White-box access to a model's internal representation of each input: the activations of its
/// last hidden layer (what Activation Clustering and Spectral Signatures analyse).
public protocol RepresentationAccess: Sendable {
    /// The representation width.
    var representationWidth: Int { get }
    /// Representations [N, representationWidth] of a batch of inputs, in input order.
    func representations(for inputs: Tensor) -> Tensor
}

extension Sequential {
    /// The index of the last dense layer (the classifier head); its input is the last hidden
    /// representation.
    var headIndex: Int? { layers.lastIndex { if case .dense = $0 { return true } else { return false } } }

    /// The network truncated before layer `end` (layers 0..<end with their parameters).
    /// - Precondition: `end` ≥ 1.
    public func prefix(upTo end: Int) -> Sequential {
        precondition(end >= 1 && end <= layers.count, "Sequential.prefix: \(end) outside 1…\(layers.count)")
        let parameterCount = layers[0..<end].reduce(0) { $0 + $1.parameterShapes.count }
        do {
            return try Sequential(inputShape: inputShape, layers: Array(layers[0..<end]),
                                  parameters: Array(parameters[0..<parameterCount]))
        } catch {
            preconditionFailure("Sequential.prefix: a prefix of a valid network is valid (\(error))")
        }
    }
}

extension Sequential: RepresentationAccess {
    /// The width of the input of the last dense layer (0 for a network without one).
    public var representationWidth: Int {
        guard let head = headIndex, case let .dense(inputs, _) = layers[head] else { return 0 }
        return inputs
    }

    /// The activations entering the last dense layer, flattened, computed without gradients.
    /// - Precondition: the network has a dense layer preceded by at least one layer.
    public func representations(for inputs: Tensor) -> Tensor {
        guard let head = headIndex, head >= 1 else {
            preconditionFailure("Sequential.representations: the network has no hidden layer before its last dense layer")
        }
        let body = prefix(upTo: head)
        return body.logits(inputs).flattenedBatch()
    }
}
