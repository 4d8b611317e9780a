import ExperimentSpecs
import NeuralNetworks

/// The `model:` section: an architecture and how to train it, or a model trained in PyTorch.
///
/// ```yaml
/// model: {architecture: mlp, hidden: [256], activation: relu, epochs: 30, batch_size: 128,
///         optimizer: adam, learning_rate: 0.001}
/// model: {architecture: cnn, channels: [16, 32], kernel_size: 5, epochs: 5}
/// model: {architecture: cnn, channels: [16, 32], hidden: [128], epochs: 5}   # dense hidden layers after the convolutions
/// model: {architecture: cnn, channels: [16, 32], kernel_size: 4, stride: 2, padding: 1, pooling: none, hidden: [100]}
/// model: {checkpoint: target.safetensors, layers: target-layers.json, members: target-members.npy, epochs: 30}
/// ```
///
/// With `checkpoint`, the model is imported (`imported`, `ImportedModelSpec`): its architecture
/// is its layer list, so the lab-architecture keys (`architecture`, `hidden`, `channels`,
/// `kernel_size`, `stride`, `padding`, `pooling`, `activation`, `dropout`) are errors beside it,
/// and the recipe keys describe only the models the lab trains around it (the references of a
/// membership audit). Only kinds that attack a given model accept it (`decode(_:for:imports:)`).
///
/// A cnn block is a convolution (`kernel_size`, `stride`, default 1, and zero `padding`, default
/// ⌊kernel_size / 2⌋, which keeps the size for odd kernels), the activation, then a 2×2 max-pool
/// unless `pooling: none` (strided convolutions then do the downsampling, as in Wong, Rice &
/// Kolter's 2020 MNIST network). Each block maps a side of H pixels to ⌊(H + 2p − k)/s⌋ + 1, halved
/// (rounded down) by the pool.
public struct ModelSpec: Sendable, Equatable {
    public enum Architecture: String, SpecEnum {
        /// Multinomial logistic regression (one dense layer).
        case logistic
        /// Dense layers of the sizes in `hidden`.
        case mlp
        /// Convolution blocks (conv, activation, 2×2 max-pool unless `pooling: none`) of
        /// `channels`, dense layers of the sizes in `hidden` (none by default), then a dense layer.
        case cnn
    }

    /// What follows the activation of each convolution block.
    public enum Pooling: String, SpecEnum { case max, none }

    public enum Activation: String, SpecEnum { case relu, tanh, sigmoid }
    public enum OptimizerName: String, SpecEnum { case adam, sgd, adamw }
    public enum ScheduleName: String, SpecEnum { case constant, cosine, step }

    public var architecture: Architecture
    public var hidden: [Int]
    public var channels: [Int]
    public var kernelSize: Int
    /// The stride of every convolution.
    public var stride: Int
    /// The zero padding on each side of every convolution's input.
    public var padding: Int
    public var pooling: Pooling
    public var activation: Activation
    public var dropout: Double
    public var training: TrainingConfiguration
    /// A model trained outside the lab (`checkpoint`), when the section names one; the
    /// architecture fields above then keep their defaults and mean nothing.
    public var imported: ImportedModelSpec?
    /// A model behind a prediction endpoint (`endpoint`, `EndpointSpec`), when the section names
    /// one; nothing is built or trained, and the other fields keep their defaults.
    public var endpoint: EndpointSpec?
    /// The canonical JSON of the section, for cache keys.
    public var canonical: String

    /// Decodes the section; with `data`, also checks the model it builds for that data against
    /// `SpecBudget` (parameters, activations of one batch).
    /// - Parameter imports: whether the kind takes an imported model (`checkpoint`) and how;
    ///   by default `checkpoint` is an error naming it.
    public static func decode(_ reader: SpecReader, for data: DataSpec? = nil,
                              imports: ImportedModelSpec.Use = .refused) throws(SpecError) -> ModelSpec {
        if reader.contains("endpoint") {
            guard imports != .refused else {
                throw reader.error("endpoint", "names a model behind a prediction endpoint, but this kind trains its own model; an endpoint can be "
                                   + "the target of membership-inference (threshold and label_only attacks), evasion (black-box methods) and extraction (victim)")
            }
            let endpoint = try EndpointSpec.decode(reader, members: imports == .audited)
            var spec = try ModelSpec.decode(SpecReader(SpecNode(.null), file: reader.file, path: reader.path))
            spec.endpoint = endpoint
            spec.canonical = reader.node.canonicalJSON
            return spec
        }
        let imported = ImportedModelSpec.keys.contains(where: reader.contains)
            ? try ImportedModelSpec.decode(reader, use: imports) : nil
        let architecture: Architecture = try reader.optional("architecture", default: .mlp)
        let hidden: [Int] = try reader.optional("hidden", default: architecture == .mlp ? [256] : [])
        if let bad = hidden.first(where: { $0 < 1 || $0 > 1_000_000 }) { throw reader.error("hidden", "layer sizes must lie in 1…1000000, got \(bad)") }
        let channels: [Int] = try reader.optional("channels", default: architecture == .cnn ? [16, 32] : [])
        if let bad = channels.first(where: { $0 < 1 || $0 > 4096 }) { throw reader.error("channels", "channel counts must lie in 1…4096, got \(bad)") }
        let kernelSize: Int = try reader.optional("kernel_size", default: 5, in: 1...15)
        let stride: Int = try reader.optional("stride", default: 1, in: 1...15)
        let padding: Int = try reader.optional("padding", default: kernelSize / 2, in: 0...15)
        guard padding < kernelSize else {
            throw reader.error("padding", "must be smaller than kernel_size (\(kernelSize)), got \(padding)")
        }
        let pooling: Pooling = try reader.optional("pooling", default: .max)
        let activation: Activation = try reader.optional("activation", default: .relu)
        let dropout: Double = try reader.optional("dropout", default: 0.0, in: 0...0.95)
        let epochs: Int = try reader.optional("epochs", default: 10, in: 0...100_000)
        let batchSize: Int = try reader.optional("batch_size", default: 128, in: 1...1_000_000)
        let optimizerName: OptimizerName = try reader.optional("optimizer", default: .adam)
        let learningRate: Double = try reader.optional("learning_rate", default: optimizerName == .sgd ? 0.05 : 0.001, in: 1e-8...100)
        let momentum: Double = try reader.optional("momentum", default: optimizerName == .sgd ? 0.9 : 0.0, in: 0...0.999)
        let weightDecay: Double = try reader.optional("weight_decay", default: 0.0, in: 0...10)
        let scheduleName: ScheduleName = try reader.optional("schedule", default: .constant)
        let optimizer: OptimizerConfiguration
        switch optimizerName {
        case .adam: optimizer = .adam(weightDecay: Float(weightDecay))
        case .adamw: optimizer = .adam(weightDecay: Float(weightDecay), decoupledWeightDecay: true)
        case .sgd: optimizer = .sgd(momentum: Float(momentum), nesterov: false, weightDecay: Float(weightDecay))
        }
        let schedule: LearningRateSchedule
        switch scheduleName {
        case .constant: schedule = .constant
        case .cosine: schedule = .cosine(epochs: max(1, epochs), minimum: 0)
        case .step: schedule = .step(stepSize: max(1, epochs / 3), gamma: 0.1)
        }
        let spec = ModelSpec(architecture: architecture, hidden: hidden, channels: channels, kernelSize: kernelSize,
                             stride: stride, padding: padding, pooling: pooling, activation: activation, dropout: dropout,
                             training: TrainingConfiguration(epochs: epochs, batchSize: batchSize, learningRate: Float(learningRate),
                                                             optimizer: optimizer, schedule: schedule),
                             imported: imported, canonical: reader.node.canonicalJSON)
        try reader.finish()
        if let data, imported == nil { try spec.checkBudget(for: data, reader: reader) }
        return spec
    }

    /// The layers for inputs of per-sample shape `inputShape` and `classes` outputs.
    public func layers(inputShape: [Int], classes: Int) throws(ModelError) -> [Layer] {
        let act: Layer = activation == .relu ? .relu : activation == .tanh ? .tanh : .sigmoid
        var layers: [Layer] = []
        var shape = inputShape
        if architecture == .cnn {
            guard shape.count == 3 else {
                throw .incompatibleLayer(layer: .flatten, inputShape: shape, expected: "images [C, H, W] for a cnn")
            }
            for channels in self.channels {
                let conv = Layer.conv2d(inChannels: shape[0], outChannels: channels, kernelSize: kernelSize, stride: stride, padding: padding)
                let padded = (shape[1] + 2 * padding, shape[2] + 2 * padding)
                guard padded.0 >= kernelSize && padded.1 >= kernelSize else {
                    throw .incompatibleLayer(layer: conv, inputShape: shape, expected: "images of at least \(kernelSize)×\(kernelSize) pixels after padding")
                }
                shape = [channels, (padded.0 - kernelSize) / stride + 1, (padded.1 - kernelSize) / stride + 1]
                layers += [conv, act]
                if pooling == .max {
                    let pool = Layer.maxPool2d(size: 2, stride: 2)
                    guard shape[1] >= 2 && shape[2] >= 2 else {
                        throw .incompatibleLayer(layer: pool, inputShape: shape, expected: "images large enough for \(self.channels.count) pooling blocks")
                    }
                    layers.append(pool)
                    shape = [channels, shape[1] / 2, shape[2] / 2]
                }
            }
        }
        if shape.count != 1 { layers.append(.flatten) }
        var width = shape.reduce(1, *)
        for size in (architecture == .logistic ? [] : hidden) {
            layers += [.dense(inputs: width, outputs: size), act]
            if dropout > 0 { layers.append(.dropout(rate: Float(dropout))) }
            width = size
        }
        layers.append(.dense(inputs: width, outputs: classes))
        return layers
    }
}
