import ModelAccess
import Tensors

// A model's internal representation of each input: the activations entering its classifier head
// (the last dense layer), which Activation Clustering and Spectral Signatures analyse. Any model
// that gives white-box access to its architecture and activations has one.
extension ArchitectureAccess {
    /// The index of the last dense layer (the classifier head) in `layerSummaries`.
    var headIndex: Int? { layerSummaries.lastIndex { if case .dense = $0.kind { return true } else { return false } } }

    /// The width of the input of the last dense layer (0 for a model without one).
    public var representationWidth: Int {
        guard let head = headIndex, case let .dense(inputs, _, _) = layerSummaries[head].kind else { return 0 }
        return inputs
    }

    /// The activations entering the last dense layer, flattened to [N, representationWidth],
    /// computed without gradients (in chunks of 1024 inputs).
    /// - Throws: `BackdoorError.unsupportedModel` when no layer precedes the last dense one,
    ///   `.invalidParameter` for inputs the model does not take.
    public func representations(for inputs: Tensor) throws(BackdoorError) -> Tensor {
        guard let head = headIndex, head >= 1 else {
            throw .unsupportedModel("representations need a hidden layer before the model's last dense layer")
        }
        do {
            return try activations(for: inputs, atLayer: layerSummaries[head - 1].name, batchSize: 1024).flattenedBatch()
        } catch {
            throw .invalidParameter("representations: \(error)")
        }
    }
}
