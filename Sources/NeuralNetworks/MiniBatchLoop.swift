import LabRandom
import Tensors

/// One mini-batch of a `MiniBatchLoop`, as its hooks see it.
public struct MiniBatch: Sendable {
    /// The epoch (0-based).
    public var epoch: Int
    /// The batch's index within its epoch.
    public var index: Int
    /// The optimizer steps taken before this batch's step (over all epochs).
    public var step: Int
    /// The rows of the training set in this batch: in the epoch's shuffled order, or as drawn
    /// (`Randomness.sampled`: DP-SGD's Poisson batches, possibly empty).
    public var rows: [Int]
    /// The epoch's learning rate (the schedule's value).
    public var learningRate: Float
}

/// The loss of one mini-batch, its gradients with respect to every parameter, and the buffers the
/// batch leaves (batch normalization's running statistics; nil leaves the model's buffers alone).
public struct MiniBatchLoss {
    public var loss: Float
    public var gradients: [Tensor]
    public var buffers: [Tensor]?
    /// Each example's loss, when the hook has them (DP-SGD's per-sample passes): the epoch's loss
    /// is then the mean over examples, summed in order in double precision, instead of the mean
    /// of the batches' losses, and `loss` is not read.
    public var exampleLosses: [Float]?

    public init(loss: Float, gradients: [Tensor], buffers: [Tensor]? = nil) {
        self.loss = loss
        self.gradients = gradients
        self.buffers = buffers
    }

    /// A batch's loss given per example (see `exampleLosses`).
    public init(exampleLosses: [Float], gradients: [Tensor]) {
        self.loss = 0
        self.gradients = gradients
        self.exampleLosses = exampleLosses
    }
}

/// PrivacyLab's one mini-batch gradient-descent loop: epochs of shuffled mini-batches, the
/// learning-rate schedule, divergence and cancellation checks, and the epoch history. Every
/// trainer of a `Sequential` runs it and says what differs through hooks: the loss of a batch, a
/// transform of its gradients (FedProx's proximal term), and what follows a step (fine-pruning
/// holding pruned channels at zero).
///
/// Per epoch e: the rate is `schedule.learningRate(base:epoch:)`; the rows are a permutation of
/// 0..<N cut into batches of `batchSize` (the last one smaller unless `dropLastBatch`); for each
/// batch, `loss`, then `transformGradients`, the optimizer's step at the epoch's rate, the buffers
/// the batch left, `afterStep`. The epoch's loss is the mean of its batches' losses.
///
/// With `Randomness.sampled` (DP-SGD), an epoch is instead a fixed number of batches, each drawn
/// by the `sample` hook (Poisson sampling from the mechanism's own randomness), and training
/// stops after a maximum number of steps (the privacy budget); an epoch that the budget stops
/// before any example is not recorded.
///
/// - Randomness: see `Randomness`; hooks that draw other random values derive them from the
///   `MiniBatch` they are given (its epoch, index or step), so the loop's streams are untouched.
public struct MiniBatchLoop {
    /// Where the loop's shuffles and dropout masks come from.
    public enum Randomness: Sendable {
        /// Epoch e shuffles with the stream "epochs/e/shuffle" and draws dropout masks from
        /// "epochs/e/dropout" (centralised training).
        case perEpoch(LabRandom)
        /// One stream gives every epoch's permutation in turn, another every dropout mask
        /// (federated clients' local training: "batches" and "dropout").
        case continuous(order: LabRandom, dropout: LabRandom)
        /// Batches come from the `sample` hook, `stepsPerEpoch` per epoch, at most `maximumSteps`
        /// in all; epoch e draws dropout masks from `dropout.stream("epochs/e/dropout")` (DP-SGD,
        /// whose batch sampling belongs to its private randomness).
        case sampled(stepsPerEpoch: Int, maximumSteps: Int, dropout: LabRandom)
    }

    public var configuration: TrainingConfiguration
    public var randomness: Randomness
    /// Whether a non-finite batch loss stops training with `TrainingError.diverged`.
    public var checksLoss: Bool

    public init(configuration: TrainingConfiguration, randomness: Randomness, checksLoss: Bool = true) {
        self.configuration = configuration
        self.randomness = randomness
        self.checksLoss = checksLoss
    }

    /// Trains `model` in place on `exampleCount` rows (the hooks read the rows' data).
    /// - Parameters:
    ///   - optimizer: stepped once per batch with the batch's (transformed) gradients.
    ///   - progress: called after each epoch with its index and mean loss.
    ///   - loss: the loss and gradients of a batch for the model as it stands; `dropout` is the
    ///     stream of dropout masks (nil when the model has no dropout layer).
    ///   - transformGradients: changes a batch's gradients before the step.
    ///   - afterStep: changes the model after each step.
    ///   - sample: the rows of the next batch (required with `Randomness.sampled`, else unused).
    public func run(
        _ model: inout Sequential, exampleCount n: Int, optimizer: inout any Optimizer,
        progress: ((Int, Float) -> Void)? = nil,
        sample: (() -> [Int])? = nil,
        loss: (_ model: Sequential, _ batch: MiniBatch, _ dropout: inout LabRandom?) throws(TrainingError) -> MiniBatchLoss,
        transformGradients: ((_ gradients: inout [Tensor], _ model: Sequential, _ batch: MiniBatch) -> Void)? = nil,
        afterStep: ((_ model: inout Sequential, _ batch: MiniBatch) throws(TrainingError) -> Void)? = nil
    ) throws(TrainingError) -> TrainingHistory {
        var history = TrainingHistory()
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
        var continuousOrder: LabRandom?
        var continuousDropout: LabRandom?
        if case let .continuous(order, dropout) = randomness {
            continuousOrder = order
            continuousDropout = hasDropout ? dropout : nil
        }
        let batchSize = configuration.batchSize
        var stopped = false
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var order: [Int] = []
            var dropout: LabRandom?
            var batchLimit = Int.max
            switch randomness {
            case let .perEpoch(random):
                var shuffle = random.stream("epochs/\(epoch)/shuffle")
                order = shuffle.permutation(n)
                dropout = hasDropout ? random.stream("epochs/\(epoch)/dropout") : nil
            case .continuous:
                order = continuousOrder!.permutation(n)
                dropout = continuousDropout
            case let .sampled(stepsPerEpoch, _, dropoutBase):
                precondition(sample != nil, "MiniBatchLoop: Randomness.sampled needs the sample hook")
                batchLimit = stepsPerEpoch
                dropout = hasDropout ? dropoutBase.stream("epochs/\(epoch)/dropout") : nil
            }
            var total: Double = 0
            var batches = 0
            var examples = 0
            var start = 0
            while true {
                let rows: [Int]
                if case let .sampled(_, maximumSteps, _) = randomness {
                    guard batches < batchLimit else { break }
                    if history.steps >= maximumSteps { stopped = true; break }
                    if Task.isCancelled { throw .cancelled(epoch: epoch, step: history.steps) }
                    rows = sample!()
                } else {
                    guard start < n else { break }
                    // A cancelled task (Ctrl-C, SIGTERM) stops within one mini-batch.
                    if Task.isCancelled { throw .cancelled(epoch: epoch, step: history.steps) }
                    let end = Swift.min(n, start + batchSize)
                    if configuration.dropLastBatch && end - start < batchSize { break }
                    rows = Array(order[start..<end])
                    start = end
                }
                let batch = MiniBatch(epoch: epoch, index: batches, step: history.steps, rows: rows, learningRate: rate)
                var result = try loss(model, batch, &dropout)
                if let losses = result.exampleLosses {
                    for l in losses { total += Double(l) }
                    examples += losses.count
                } else {
                    if checksLoss { guard result.loss.isFinite else { throw .diverged(epoch: epoch, step: history.steps) } }
                    total += Double(result.loss)
                }
                transformGradients?(&result.gradients, model, batch)
                optimizer.step(parameters: &model.parameters, gradients: result.gradients, learningRate: rate)
                if let buffers = result.buffers { model.buffers = buffers }
                try afterStep?(&model, batch)
                history.steps += 1
                batches += 1
            }
            if case .continuous = randomness { continuousDropout = dropout }
            if case .sampled = randomness {
                // Per-example losses: an epoch the budget stopped before any example is not one.
                if examples > 0 || !stopped {
                    let meanLoss = Float(total / Double(Swift.max(1, examples)))
                    history.epochLosses.append(meanLoss)
                    history.learningRates.append(rate)
                    progress?(epoch, meanLoss)
                }
                if stopped { break }
                continue
            }
            let meanLoss = Float(total / Double(Swift.max(1, batches)))
            history.epochLosses.append(meanLoss)
            history.learningRates.append(rate)
            progress?(epoch, meanLoss)
        }
        return history
    }
}
