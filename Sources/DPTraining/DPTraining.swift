import LabRandom
import NeuralNetworks
import PrivacyAccounting
import Tensors

/// How to train a model with DP-SGD.
public struct DPTrainingConfiguration: Sendable, Equatable {
    /// Passes over the data; each has ⌈N / expectedBatchSize⌉ logical steps.
    public var epochs: Int
    /// qN: each step samples every example independently with q = expectedBatchSize / N.
    public var expectedBatchSize: Int
    /// The largest batch run through the network at once; a larger logical batch is split into
    /// virtual batches whose clipped sums are added before the one noisy step.
    public var maxPhysicalBatchSize: Int
    public var learningRate: Float
    /// How the learning rate changes from epoch to epoch (as in `TrainingConfiguration`).
    public var schedule: LearningRateSchedule
    public var optimizer: OptimizerConfiguration
    public var loss: Loss
    /// σ, the noise standard deviation over the clipping sensitivity.
    public var noiseMultiplier: Double
    public var clipping: ClippingStrategy
    /// δ for the reported ε.
    public var delta: Double
    /// Stop before the step that would take ε above this budget (nil: train all epochs).
    public var targetEpsilon: Double?
    public var accounting: AccountingMethod

    public init(epochs: Int, expectedBatchSize: Int, maxPhysicalBatchSize: Int = 256, learningRate: Float,
                schedule: LearningRateSchedule = .constant, optimizer: OptimizerConfiguration = .sgd(), loss: Loss = .softmaxCrossEntropy,
                noiseMultiplier: Double, clipping: ClippingStrategy = .flat(maxNorm: 1), delta: Double,
                targetEpsilon: Double? = nil, accounting: AccountingMethod = .rdp()) {
        self.epochs = epochs
        self.expectedBatchSize = expectedBatchSize
        self.maxPhysicalBatchSize = maxPhysicalBatchSize
        self.learningRate = learningRate
        self.schedule = schedule
        self.optimizer = optimizer
        self.loss = loss
        self.noiseMultiplier = noiseMultiplier
        self.clipping = clipping
        self.delta = delta
        self.targetEpsilon = targetEpsilon
        self.accounting = accounting
    }

    /// The sampling probability for a dataset of n examples.
    public func samplingProbability(datasetSize n: Int) -> Double {
        min(1, Double(expectedBatchSize) / Double(n))
    }

    /// The number of logical steps all epochs take.
    public func plannedSteps(datasetSize n: Int) -> Int {
        epochs * Int((Double(n) / Double(expectedBatchSize)).rounded(.up))
    }

    /// Checks every field against its range.
    public func validate(parameterCount: Int) throws(DPTrainingError) {
        guard epochs >= 0 else { throw .invalidConfiguration("epochs must be ≥ 0, got \(epochs)") }
        guard expectedBatchSize >= 1 else { throw .invalidConfiguration("expected_batch_size must be ≥ 1, got \(expectedBatchSize)") }
        guard maxPhysicalBatchSize >= 1 else {
            throw .invalidConfiguration("max_physical_batch_size must be ≥ 1, got \(maxPhysicalBatchSize)")
        }
        guard learningRate > 0, learningRate.isFinite else {
            throw .invalidConfiguration("learning_rate must be a finite number > 0, got \(learningRate)")
        }
        guard noiseMultiplier > 0, noiseMultiplier.isFinite else {
            throw .invalidConfiguration("noise_multiplier must be a finite number > 0, got \(noiseMultiplier)")
        }
        guard delta > 0, delta < 1 else { throw .invalidConfiguration("delta must lie in (0, 1), got \(delta)") }
        if let target = targetEpsilon, !(target > 0 && target.isFinite) {
            throw .invalidConfiguration("target_epsilon must be a finite number > 0, got \(target)")
        }
        try clipping.validate(parameterCount: parameterCount)
    }
}

/// What a DP-SGD run did and what it cost.
public struct DPTrainingReport: Sendable, Equatable {
    /// Logical (noisy) steps taken.
    public var steps = 0
    /// ε at the configuration's δ, from the accountant, after training.
    public var epsilon = 0.0
    public var delta = 0.0
    /// q.
    public var samplingProbability = 0.0
    /// True when the budget stopped training before the planned steps.
    public var stoppedByBudget = false
    /// Mean per-example training loss of each (possibly partial) epoch.
    public var epochLosses: [Float] = []
    /// The learning rate of each epoch that took a step (the schedule's value).
    public var learningRates: [Float] = []
    /// The size of every Poisson-sampled logical batch, in order.
    public var batchSizes: [Int] = []
    /// The fraction of examples whose gradient was scaled down by clipping.
    public var clippedFraction = 0.0
    /// Whether the noise came from an insecure (seeded, reproducible) generator.
    public var insecureRandomness = false
}

/// Errors of DP training.
public enum DPTrainingError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case model(ModelError)
    case accounting(AccountingError)
    /// The accountant has already spent the target ε (or the first step would exceed it).
    case budgetExhausted(spent: Double, target: Double)
    case diverged(step: Int)
    /// The task running the training was cancelled (Ctrl-C); checked before each step.
    case cancelled(step: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(message): return "DP training configuration: \(message)"
        case let .model(error): return error.description
        case let .accounting(error): return "privacy accounting: \(error.description)"
        case let .budgetExhausted(spent, target):
            return "privacy budget exhausted: ε = \(spent) already spent (or the next step exceeds it) of a target ε = \(target)"
        case let .diverged(step): return "DP training diverged (non-finite loss) at step \(step)"
        case let .cancelled(step): return "DP training cancelled at step \(step)"
        }
    }
}

extension Sequential {
    /// Trains the model in place with DP-SGD: Poisson sampling at q = expectedBatchSize / N,
    /// per-sample clipping, Gaussian noise, virtual batches, and the accountant's budget.
    ///
    /// Every step is recorded in `accountant` (q, σ); when `targetEpsilon` is set, training stops
    /// at the last step whose ε (with everything the accountant held before) stays within it.
    /// - Parameters:
    ///   - randomness: where batches and noise come from — `.system()` (ChaCha keyed by the OS,
    ///     the default) or `.insecureSeeded(_:)` for a reproducible research run.
    ///   - dropout: the stream dropout masks draw from (not a privacy-relevant secret).
    ///   - progress: called after each epoch with its index and mean loss.
    /// - Throws: `DPTrainingError` for a bad configuration, model/label mismatch, or a budget
    ///   already spent.
    public mutating func trainPrivately(inputs: Tensor, labels: [Int], configuration: DPTrainingConfiguration,
                                        accountant: inout PrivacyAccountant,
                                        randomness: PrivacyRandomness = .system(),
                                        dropout: LabRandom = LabRandom(seed: 0),
                                        optimizer existing: (any Optimizer)? = nil,
                                        progress: ((Int, Float) -> Void)? = nil) throws(DPTrainingError) -> DPTrainingReport {
        try configuration.validate(parameterCount: parameters.count)
        do {
            try validate(inputs: inputs)
            try validate(labels: labels, count: inputs.shape[0])
        } catch { throw .model(error) }
        let n = inputs.shape[0]
        guard n > 0 else { throw .invalidConfiguration("the training set is empty") }
        let q = configuration.samplingProbability(datasetSize: n)
        let sigma = configuration.noiseMultiplier
        let planned = configuration.plannedSteps(datasetSize: n)
        var allowed = planned
        if let target = configuration.targetEpsilon {
            do {
                allowed = try configuration.accounting.maximumSteps(
                    forEpsilon: target, delta: configuration.delta, samplingProbability: q, noiseMultiplier: sigma,
                    limit: planned, after: accountant.history)
                if allowed <= 0 && planned > 0 {
                    throw DPTrainingError.budgetExhausted(spent: try accountant.epsilon(delta: configuration.delta), target: target)
                }
            } catch let error as DPTrainingError { throw error
            } catch let error as AccountingError { throw .accounting(error)
            } catch { throw .invalidConfiguration("\(error)") }
        }

        // DP-SGD on the one training loop: each step's batch is Poisson-sampled from the private
        // randomness, its virtual batches are clipped and summed, the noisy mean steps the
        // wrapped optimizer, and the accountant records the step.
        var optimizer = existing ?? configuration.optimizer.makeOptimizer()
        var dp = DPOptimizer(wrapping: optimizer, noiseMultiplier: sigma,
                             clipping: configuration.clipping, expectedBatchSize: Double(configuration.expectedBatchSize),
                             randomness: randomness)
        let sampler = PoissonSampler(samplingProbability: q)
        var report = DPTrainingReport()
        report.delta = configuration.delta
        report.samplingProbability = q
        report.insecureRandomness = randomness.isInsecure
        let stepsPerEpoch = Int((Double(n) / Double(configuration.expectedBatchSize)).rounded(.up))
        let loop = MiniBatchLoop(
            configuration: TrainingConfiguration(epochs: configuration.epochs, batchSize: configuration.expectedBatchSize,
                                                 learningRate: configuration.learningRate, schedule: configuration.schedule),
            randomness: .sampled(stepsPerEpoch: stepsPerEpoch, maximumSteps: allowed, dropout: dropout),
            checksLoss: false)
        let shapes = parameters.map(\.shape)
        var accountingFailure: AccountingError?
        // The steps are recorded as they are taken, also when training stops with an error.
        var ledger = accountant
        defer { accountant = ledger }
        let history: TrainingHistory
        do throws(TrainingError) {
            history = try loop.run(
                &self, exampleCount: n, optimizer: &optimizer, progress: progress,
                sample: {
                    let batch = sampler.sample(populationSize: n, using: &dp.randomness)
                    report.batchSizes.append(batch.count)
                    return batch
                },
                loss: { model, batch, dropoutStream throws(TrainingError) in
                    var losses: [Float] = []
                    var start = 0
                    while start < batch.rows.count {
                        let end = Swift.min(batch.rows.count, start + configuration.maxPhysicalBatchSize)
                        let indices = Array(batch.rows[start..<end])
                        let pass = model.perSampleGradientPass(inputs.gatheringRows(indices), labels: indices.map { labels[$0] },
                                                               loss: configuration.loss, training: true, random: &dropoutStream)
                        losses += pass.losses
                        guard pass.losses.allSatisfy({ $0.isFinite }) else { throw .diverged(epoch: batch.epoch, step: batch.step) }
                        dp.accumulate(pass)
                        start = end
                    }
                    return MiniBatchLoss(exampleLosses: losses, gradients: dp.privatizedGradients(shapes: shapes))
                },
                afterStep: { _, batch throws(TrainingError) in
                    do throws(AccountingError) { try ledger.record(samplingProbability: q, noiseMultiplier: sigma) } catch {
                        accountingFailure = error
                        throw .invalidConfiguration("privacy accounting failed at step \(batch.step)")
                    }
                })
        } catch {
            if let failure = accountingFailure { throw .accounting(failure) }
            switch error {
            case let .diverged(_, step): throw .diverged(step: step)
            case let .cancelled(_, step): throw .cancelled(step: step)
            case let .model(modelError): throw .model(modelError)
            case let .invalidConfiguration(message): throw .invalidConfiguration(message)
            }
        }
        report.epochLosses = history.epochLosses
        report.learningRates = history.learningRates
        let step = history.steps
        if step >= allowed && allowed < planned { report.stoppedByBudget = true }
        report.steps = step
        report.clippedFraction = dp.seenCount == 0 ? 0 : Double(dp.clippedCount) / Double(dp.seenCount)
        do { report.epsilon = try ledger.epsilon(delta: configuration.delta) } catch { throw .accounting(error) }
        return report
    }
}
