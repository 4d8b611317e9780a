import Evasion
import LabRandom
import NeuralNetworks
import Tensors

// Adversarial training of a PrivacyLab network: the training loop of `AdversarialTraining`
// (defined, with its ε schedule, in Evasion, which sees models only through ModelAccess).
extension AdversarialTraining {
    /// Trains `model` in place.
    /// Returns the mean training loss of each epoch.
    /// - Parameter progress: called after each epoch with its index and mean training loss.
    public func train(_ model: inout Sequential, inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                      random: LabRandom, progress: ((Int, Float) -> Void)? = nil) throws(TrainingError) -> [Float] {
        try configuration.validate()
        do throws(ModelError) {
            try model.validate(inputs: inputs)
            try model.validate(labels: labels, count: inputs.shape[0])
        } catch { throw .model(error) }
        var optimizer = configuration.optimizer.makeOptimizer()
        var epochLosses: [Float] = []
        var steps = 0
        let n = inputs.shape[0]
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
        let w = adversarialWeight
        let batchesPerEpoch = configuration.dropLastBatch ? n / configuration.batchSize
            : (n + configuration.batchSize - 1) / configuration.batchSize
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var shuffle = random.stream("epochs/\(epoch)/shuffle")
            let order = shuffle.permutation(n)
            var dropout: LabRandom? = hasDropout ? random.stream("epochs/\(epoch)/dropout") : nil
            var total = 0.0, batches = 0, start = 0
            while start < n {
                let end = Swift.min(n, start + configuration.batchSize)
                if configuration.dropLastBatch && end - start < configuration.batchSize { break }
                let indices = Array(order[start..<end])
                let batch = inputs.gatheringRows(indices)
                let batchLabels = indices.map { labels[$0] }
                let stepAttack = epsilonWarmupEpochs > 0
                    ? attack.withEpsilon(epsilon(atStep: steps, batchesPerEpoch: batchesPerEpoch)) : attack
                let adversarial = stepAttack.perturb(batch, labels: batchLabels, goal: .untargeted, model: model,
                                                 random: random.stream("epochs/\(epoch)/attack/\(batches)"))
                var (loss, grads) = model.lossAndGradients(adversarial, labels: batchLabels, loss: configuration.loss,
                                                           training: true, random: &dropout)
                if w < 1 {
                    let (cleanLoss, cleanGrads) = model.lossAndGradients(batch, labels: batchLabels, loss: configuration.loss,
                                                                         training: true, random: &dropout)
                    loss = w * loss + (1 - w) * cleanLoss
                    grads = withoutGradients { zip(grads, cleanGrads).map { w * $0 + (1 - w) * $1 } }
                }
                guard loss.isFinite else { throw .diverged(epoch: epoch, step: steps) }
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                steps += 1
                total += Double(loss)
                batches += 1
                start = end
            }
            let meanLoss = Float(total / Double(Swift.max(1, batches)))
            epochLosses.append(meanLoss)
            progress?(epoch, meanLoss)
        }
        return epochLosses
    }
}
