import LabRandom
import Tensors

/// A feed-forward network: layers applied in order to batches of per-sample shape `inputShape`.
///
/// The parameters are a flat list in layer order (`parameterNames` says which is which, as
/// "layers.<index>.weight"); functions that need other parameter values (per-sample gradients,
/// federated averaging, attacks) pass them to `forward(_:parameters:…)` explicitly. Buffers
/// (batch normalization's running statistics, "layers.<index>.running_mean") are state that
/// gradient descent does not train: training updates them, evaluation reads them, and
/// checkpoints store them beside the parameters.
public struct Sequential: Sendable {
    /// The per-sample input shape: [features] for vectors, [C, H, W] for images.
    public let inputShape: [Int]
    public let layers: [Layer]
    /// The per-sample output shape (the number of classes for a classifier).
    public let outputShape: [Int]
    /// Parameters in layer order.
    public var parameters: [Tensor]
    /// "layers.<index>.<name>" for each parameter, in the same order.
    public let parameterNames: [String]
    /// For each layer, the range of its parameters in `parameters`.
    let parameterRanges: [Range<Int>]
    /// Buffers in layer order (empty for a network without batch normalization).
    public var buffers: [Tensor]
    /// "layers.<index>.<name>" for each buffer, in the same order.
    public let bufferNames: [String]
    /// For each layer, the range of its buffers in `buffers`.
    let bufferRanges: [Range<Int>]

    /// A model with parameters drawn as PyTorch's defaults draw them: weights and biases
    /// uniform in ±1/√fan_in (He-uniform with a = √5), fan_in = inputs × kernel area; batch
    /// normalization's scale 1 and shift 0, running mean 0 and running variance 1.
    public init(inputShape: [Int], layers: [Layer], random: LabRandom) throws(ModelError) {
        try self.init(inputShape: inputShape, layers: layers, parameters: nil, buffers: nil, random: random)
    }

    /// A model with the given parameter values (for example from a checkpoint); their shapes
    /// must match the architecture. Buffers take their initial values (running mean 0,
    /// running variance 1).
    public init(inputShape: [Int], layers: [Layer], parameters: [Tensor]) throws(ModelError) {
        try self.init(inputShape: inputShape, layers: layers, parameters: parameters, buffers: nil, random: LabRandom(seed: 0))
    }

    /// A model with the given parameter and buffer values; their shapes must match the
    /// architecture.
    public init(inputShape: [Int], layers: [Layer], parameters: [Tensor], buffers: [Tensor]) throws(ModelError) {
        try self.init(inputShape: inputShape, layers: layers, parameters: parameters, buffers: buffers, random: LabRandom(seed: 0))
    }

    private init(inputShape: [Int], layers: [Layer], parameters given: [Tensor]?, buffers givenBuffers: [Tensor]?,
                 random: LabRandom) throws(ModelError) {
        // Every shape and size first, with overflow checks, before anything is allocated.
        _ = try Self.stateElementCount(inputShape: inputShape, layers: layers)
        var shape = inputShape
        var names: [String] = [], values: [Tensor] = [], ranges: [Range<Int>] = []
        var bufferNames: [String] = [], bufferValues: [Tensor] = [], bufferRanges: [Range<Int>] = []
        for (index, layer) in layers.enumerated() {
            switch layer.outputShape(for: shape) {
            case let .success(next): shape = next
            case let .failure(error): throw error
            }
            let start = names.count
            let layerRandom = random.stream("layers/\(index)")
            let isNormalization: Bool
            switch layer {
            case .batchNorm1d, .batchNorm2d: isNormalization = true
            default: isNormalization = false
            }
            for (name, parameterShape) in layer.parameterShapes {
                names.append("layers.\(index).\(name)")
                if let given {
                    guard names.count <= given.count else {
                        throw .incompatibleLayer(layer: layer, inputShape: parameterShape, expected: "a value for \(names.last!)")
                    }
                    let value = given[names.count - 1]
                    guard value.shape == parameterShape else {
                        throw .incompatibleLayer(layer: layer, inputShape: value.shape,
                                                 expected: "\(names.last!) of shape \(parameterShape)")
                    }
                    values.append(value.detached())
                } else if isNormalization {
                    values.append(Tensor(repeating: name == "weight" ? 1 : 0, shape: parameterShape))
                } else {
                    let bound = 1 / Float(layer.fanIn).squareRoot()
                    var stream = layerRandom.stream(name)
                    values.append(Tensor(shape: parameterShape) { out in stream.fillUniform(out, low: -bound, high: bound) })
                }
            }
            ranges.append(start..<names.count)
            let bufferStart = bufferNames.count
            for (name, bufferShape) in layer.bufferShapes {
                bufferNames.append("layers.\(index).\(name)")
                if let givenBuffers {
                    guard bufferNames.count <= givenBuffers.count else {
                        throw .incompatibleLayer(layer: layer, inputShape: bufferShape, expected: "a value for \(bufferNames.last!)")
                    }
                    let value = givenBuffers[bufferNames.count - 1]
                    guard value.shape == bufferShape else {
                        throw .incompatibleLayer(layer: layer, inputShape: value.shape,
                                                 expected: "\(bufferNames.last!) of shape \(bufferShape)")
                    }
                    bufferValues.append(value.detached())
                } else {
                    bufferValues.append(Tensor(repeating: name == "running_var" ? 1 : 0, shape: bufferShape))
                }
            }
            bufferRanges.append(bufferStart..<bufferNames.count)
        }
        if let given, given.count != names.count {
            throw .incompatibleLayer(layer: layers.last ?? .flatten, inputShape: [given.count],
                                     expected: "\(names.count) parameter tensors")
        }
        if let givenBuffers, givenBuffers.count != bufferNames.count {
            throw .incompatibleLayer(layer: layers.last ?? .flatten, inputShape: [givenBuffers.count],
                                     expected: "\(bufferNames.count) buffer tensors")
        }
        self.inputShape = inputShape
        self.layers = layers
        self.outputShape = shape
        self.parameters = values
        self.parameterNames = names
        self.parameterRanges = ranges
        self.buffers = bufferValues
        self.bufferNames = bufferNames
        self.bufferRanges = bufferRanges
    }

    /// The number of values a model of these layers holds (parameters and buffers), found from
    /// the shapes alone without allocating anything: the check to make before building a model
    /// whose sizes come from outside (a checkpoint's architecture).
    /// - Throws: `ModelError.incompatibleLayer` for a per-sample input shape that is not 1 to
    ///   `Tensor.maximumRank − 1` positive extents, a layer that does not fit its input, or a
    ///   shape or count that overflows `Int`.
    public static func stateElementCount(inputShape: [Int], layers: [Layer]) throws(ModelError) -> Int {
        guard !inputShape.isEmpty, inputShape.count < Tensor.maximumRank, inputShape.allSatisfy({ $0 > 0 }) else {
            throw .incompatibleLayer(layer: layers.first ?? .flatten, inputShape: inputShape,
                                     expected: "a per-sample input shape of 1 to \(Tensor.maximumRank - 1) positive extents")
        }
        var shape = inputShape
        var total = 0
        for layer in layers {
            switch layer.outputShape(for: shape) {
            case let .success(next): shape = next
            case let .failure(error): throw error
            }
            for (_, tensorShape) in layer.parameterShapes + layer.bufferShapes {
                var count = 1
                for extent in tensorShape {
                    let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                    guard !overflow else {
                        throw .incompatibleLayer(layer: layer, inputShape: shape, expected: "parameters whose sizes fit in an Int, not \(tensorShape)")
                    }
                    count = product
                }
                let (sum, overflow) = total.addingReportingOverflow(count)
                guard !overflow else { throw .incompatibleLayer(layer: layer, inputShape: shape, expected: "a parameter count that fits in an Int") }
                total = sum
            }
        }
        return total
    }

    /// The number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.scalarCount } }

    /// The network applied to a batch [N, inputShape…] with the given parameter values and the
    /// model's own buffers.
    /// - Parameters:
    ///   - training: dropout is active and batch normalization uses the batch's statistics only
    ///     in training (the running statistics are not updated here: see
    ///     `forwardUpdatingBuffers`).
    ///   - random: the stream dropout draws from (needed in training when the model has dropout).
    public func forward(_ x: Tensor, parameters: [Tensor], training: Bool = false,
                        random: inout LabRandom?) -> Tensor {
        var discarded: [Tensor]? = nil
        return forward(x, parameters: parameters, buffers: buffers, training: training, random: &random, updatedBuffers: &discarded)
    }

    /// The network applied to a batch in training mode, with the buffers that training on it
    /// leaves (batch normalization's running statistics moved towards the batch's).
    /// - Complexity: one forward pass.
    public func forwardUpdatingBuffers(_ x: Tensor, parameters: [Tensor],
                                       random: inout LabRandom?) -> (output: Tensor, buffers: [Tensor]) {
        var updated: [Tensor]? = buffers
        let output = forward(x, parameters: parameters, buffers: buffers, training: true, random: &random, updatedBuffers: &updated)
        return (output, updated ?? buffers)
    }

    /// The output of `layers[index]` for a batch, in evaluation mode (the network's output for
    /// the last index), recorded on the tape when `x` requires a gradient.
    /// - Complexity: a forward pass through `layers[0…index]`.
    public func output(_ x: Tensor, afterLayer index: Int) -> Tensor {
        precondition(index >= 0 && index < layers.count, "Sequential.output: layer \(index) outside 0..<\(layers.count)")
        precondition(Array(x.shape.dropFirst()) == inputShape,
                     "Sequential: expected inputs [N, \(inputShape.map(String.init).joined(separator: ", "))], got \(x.shape)")
        var none: LabRandom? = nil, discarded: [Tensor]? = nil
        var h = x
        for i in 0...index {
            h = layers[i].forward(h, parameters: parameters[parameterRanges[i]], buffers: buffers[bufferRanges[i]],
                                  training: false, random: &none, updatedBuffers: &discarded)
        }
        return h
    }

    func forward(_ x: Tensor, parameters: [Tensor], buffers: [Tensor], training: Bool,
                 random: inout LabRandom?, updatedBuffers: inout [Tensor]?) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape,
                     "Sequential: expected inputs [N, \(inputShape.map(String.init).joined(separator: ", "))], got \(x.shape)")
        precondition(parameters.count == self.parameters.count,
                     "Sequential: expected \(self.parameters.count) parameter tensors, got \(parameters.count)")
        var h = x
        for (index, layer) in layers.enumerated() {
            h = layer.forward(h, parameters: parameters[parameterRanges[index]], buffers: buffers[bufferRanges[index]],
                              training: training, random: &random, updatedBuffers: &updatedBuffers)
        }
        return h
    }

    /// The network's outputs (logits for a classifier) for a batch, in evaluation mode.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var none: LabRandom? = nil
        return forward(x, parameters: parameters, training: false, random: &none)
    }

    /// Checks that `x` is a batch of this model's inputs.
    public func validate(inputs x: Tensor) throws(ModelError) {
        guard x.rank >= 1, Array(x.shape.dropFirst()) == inputShape else {
            throw .inputShape(expected: inputShape, got: x.shape)
        }
    }

    /// Checks that `labels` fit a batch of `count` examples and the model's classes.
    public func validate(labels: [Int], count: Int) throws(ModelError) {
        guard labels.count == count else { throw .labels("\(labels.count) labels for \(count) examples") }
        let classes = Tensor.elementCount(outputShape)
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw .labels("label \(bad) is outside 0..<\(classes)")
        }
    }
}

// MARK: - Bulk queries

extension Sequential {
    /// Outputs for many inputs at once, computed in chunks of `batchSize` without recording
    /// gradients.
    /// - Complexity: one forward pass per chunk; memory bounded by the chunk size.
    public func logits(_ x: Tensor, batchSize: Int = 1024) -> Tensor {
        withoutGradients {
            let n = x.shape.first ?? 0
            if n <= batchSize { return self(x) }
            var parts: [Tensor] = []
            var start = 0
            while start < n {
                let end = Swift.min(n, start + batchSize)
                parts.append(self(x.slice(axis: 0, start..<end)))
                start = end
            }
            return Tensor.concatenate(parts, alongAxis: 0)
        }
    }

    /// Softmax probabilities for many inputs at once.
    public func probabilities(_ x: Tensor, batchSize: Int = 1024) -> Tensor {
        withoutGradients { logits(x, batchSize: batchSize).softmax() }
    }

    /// Per-example softmax cross-entropy losses for many inputs at once.
    public func perExampleLosses(_ x: Tensor, labels: [Int], batchSize: Int = 1024) -> [Float] {
        withoutGradients {
            Tensor.softmaxCrossEntropy(logits: logits(x, batchSize: batchSize), labels: labels).scalars
        }
    }

    /// Predicted classes for many inputs at once.
    public func predictions(_ x: Tensor, batchSize: Int = 1024) -> [Int] {
        logits(x, batchSize: batchSize).argmax(alongAxis: 1)
    }

    /// The fraction of examples whose predicted class equals the label.
    public func accuracy(_ x: Tensor, labels: [Int], batchSize: Int = 1024) -> Double {
        guard !labels.isEmpty else { return 0 }
        let predicted = predictions(x, batchSize: batchSize)
        var correct = 0
        for (p, y) in zip(predicted, labels) where p == y { correct += 1 }
        return Double(correct) / Double(labels.count)
    }
}
