import LabRandom
import Tensors

/// How to train a model: epochs, mini-batches, optimizer, learning rate and its schedule.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var optimizer: OptimizerConfiguration
    public var schedule: LearningRateSchedule
    public var loss: Loss
    /// Drop the last mini-batch of an epoch when it is smaller than `batchSize`.
    public var dropLastBatch: Bool

    public init(epochs: Int, batchSize: Int, learningRate: Float, optimizer: OptimizerConfiguration = .adam(),
                schedule: LearningRateSchedule = .constant, loss: Loss = .softmaxCrossEntropy,
                dropLastBatch: Bool = false) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.schedule = schedule
        self.loss = loss
        self.dropLastBatch = dropLastBatch
    }

    /// Checks the ranges of every field.
    public func validate() throws(TrainingError) {
        guard epochs >= 0 else { throw .invalidConfiguration("epochs must be ≥ 0, got \(epochs)") }
        guard batchSize >= 1 else { throw .invalidConfiguration("batch_size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw .invalidConfiguration("learning_rate must be positive, got \(learningRate)")
        }
    }
}

/// What happened during training, epoch by epoch.
public struct TrainingHistory: Codable, Sendable, Equatable {
    /// The mean training loss of each epoch (over the mini-batches as they were trained).
    public var epochLosses: [Float] = []
    /// The learning rate used in each epoch.
    public var learningRates: [Float] = []
    /// The number of optimizer steps taken.
    public var steps = 0
}

/// Errors raised by training.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case model(ModelError)
    /// The loss became NaN or infinite at the given epoch and step.
    case diverged(epoch: Int, step: Int)
    /// The task running the training was cancelled (Ctrl-C); checked between mini-batches.
    case cancelled(epoch: Int, step: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(message): return "training configuration: \(message)"
        case let .model(error): return error.description
        case let .diverged(epoch, step): return "training diverged (non-finite loss) at epoch \(epoch), step \(step)"
        case let .cancelled(epoch, step): return "training cancelled at epoch \(epoch), step \(step)"
        }
    }
}

extension Sequential {
    /// The mean loss of a batch and its gradient with respect to every parameter.
    public func lossAndGradients(_ x: Tensor, labels: [Int], loss: Loss = .softmaxCrossEntropy,
                                 parameters: [Tensor]? = nil, training: Bool = true,
                                 random: inout LabRandom?) -> (loss: Float, gradients: [Tensor]) {
        let leaves = (parameters ?? self.parameters).map { $0.requiringGradient() }
        let outputs = forward(x, parameters: leaves, training: training, random: &random)
        let value = loss.mean(outputs: outputs, labels: labels)
        return (value.scalar, gradients(of: value, withRespectTo: leaves))
    }

    /// The mean loss of a training-mode batch, its parameter gradients, and the buffers the
    /// batch leaves (batch normalization's running statistics; the model's own buffers when it
    /// has none to update).
    func lossGradientsAndBuffers(_ x: Tensor, labels: [Int], loss: Loss,
                                 random: inout LabRandom?) -> (loss: Float, gradients: [Tensor], buffers: [Tensor]) {
        guard !buffers.isEmpty else {
            let (value, grads) = lossAndGradients(x, labels: labels, loss: loss, training: true, random: &random)
            return (value, grads, buffers)
        }
        let leaves = parameters.map { $0.requiringGradient() }
        let (outputs, updated) = forwardUpdatingBuffers(x, parameters: leaves, random: &random)
        let value = loss.mean(outputs: outputs, labels: labels)
        return (value.scalar, gradients(of: value, withRespectTo: leaves), updated)
    }

    /// Trains the model in place with mini-batch gradient descent (`MiniBatchLoop`).
    ///
    /// Every random choice comes from `random`: the order of examples in epoch e from the
    /// stream "epochs/e/shuffle", dropout masks from "epochs/e/dropout". The same model, data,
    /// configuration and stream give bit-identical parameters. Batch normalization layers
    /// normalize each mini-batch by its own statistics and update their running statistics
    /// after every step, as PyTorch's `model.train()` does.
    /// - Parameters:
    ///   - inputs: [N, inputShape…].
    ///   - labels: N class indices.
    ///   - progress: called after each epoch with its index and mean loss.
    public mutating func train(inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                               random: LabRandom, optimizer existing: (any Optimizer)? = nil,
                               progress: ((Int, Float) -> Void)? = nil) throws(TrainingError) -> TrainingHistory {
        try configuration.validate()
        do {
            try validate(inputs: inputs)
            try validate(labels: labels, count: inputs.shape[0])
        } catch { throw .model(error) }
        var optimizer = existing ?? configuration.optimizer.makeOptimizer()
        let loop = MiniBatchLoop(configuration: configuration, randomness: .perEpoch(random))
        return try loop.run(&self, exampleCount: inputs.shape[0], optimizer: &optimizer, progress: progress) {
            model, batch, dropout throws(TrainingError) in
            let (loss, gradients, buffers) = model.lossGradientsAndBuffers(
                inputs.gatheringRows(batch.rows), labels: batch.rows.map { labels[$0] }, loss: configuration.loss, random: &dropout)
            return MiniBatchLoss(loss: loss, gradients: gradients, buffers: buffers)
        }
    }
}
