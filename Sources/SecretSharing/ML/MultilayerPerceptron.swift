// MARK: Private MLP inference.

/// A dense layer with secret-shared parameters: `y = x·W + b`.
public struct SecretDenseLayer: Sendable {
    /// Weights, shape [inputs, outputs].
    public var weights: SecretTensor
    /// Bias, `outputs` elements.
    public var bias: SecretTensor

    public init(weights: SecretTensor, bias: SecretTensor) {
        precondition(weights.shape.count == 2 && bias.count == weights.shape[1],
                     "dense layer: bias of \(bias.count) for weights \(weights.shape)")
        self.weights = weights
        self.bias = bias
    }
}

/// Inference of a multilayer perceptron (dense layers with ReLU between them) on secret inputs
/// with secret weights: neither the model owner nor the data owner learns the other's values.
///
/// Each layer is one Beaver matmul (2 rounds, error below `2^-f` per output beyond the inputs'
/// rounding) and, between layers, one ReLU (8 rounds, exact). `predictions` adds an argmax over the
/// logits (`⌈log₂ classes⌉` tournament levels of 8 rounds, exact).
public struct SecureMultilayerPerceptron: Sendable {
    /// The layers, input first.
    public var layers: [SecretDenseLayer]

    public init(layers: [SecretDenseLayer]) {
        precondition(!layers.isEmpty, "an MLP needs at least one layer")
        self.layers = layers
    }

    /// The logits for secret inputs of shape [n, inputs].
    public func logits(party: Party, inputs: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        var h = inputs
        for (i, layer) in layers.enumerated() {
            h = try party.addRowVector(try party.matmul(h, layer.weights), layer.bias)
            if i < layers.count - 1 { h = try party.relu(h) }
        }
        return h
    }

    /// The predicted class of each row (a secret fixed-point index), shape [n, 1].
    public func predictions(party: Party, inputs: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try party.argmax(try logits(party: party, inputs: inputs))
    }
}
