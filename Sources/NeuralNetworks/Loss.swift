import Tensors

/// The training losses a model can minimise.
public enum Loss: String, Codable, Sendable, CaseIterable {
    /// Mean softmax cross-entropy of logits against integer labels.
    case softmaxCrossEntropy = "cross-entropy"
    /// Mean squared error between outputs and one-hot labels (summed over classes).
    case meanSquaredError = "mse"

    /// Per-example losses of a batch of outputs [N, classes].
    public func perExample(outputs: Tensor, labels: [Int]) -> Tensor {
        switch self {
        case .softmaxCrossEntropy:
            return Tensor.softmaxCrossEntropy(logits: outputs, labels: labels)
        case .meanSquaredError:
            let target = Tensor.oneHot(labels, classCount: outputs.shape[1])
            return (outputs - target).squared().sum(alongAxes: [1])
        }
    }

    /// The mean loss of a batch.
    public func mean(outputs: Tensor, labels: [Int]) -> Tensor {
        perExample(outputs: outputs, labels: labels).mean()
    }
}

/// Mean squared error between two tensors of the same shape, averaged over all elements.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape,
                 "meanSquaredError: shapes \(prediction.shape) and \(target.shape) differ")
    return (prediction - target).squared().mean()
}
