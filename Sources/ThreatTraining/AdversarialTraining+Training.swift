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
        let n = inputs.shape[0]
        let w = adversarialWeight
        let batchesPerEpoch = configuration.dropLastBatch ? n / configuration.batchSize
            : (n + configuration.batchSize - 1) / configuration.batchSize
        // The attack of batch b in epoch e draws from "epochs/e/attack/b"; the adversarial loss
        // (mixed with the clean loss when w < 1) is the batch's loss.
        let loop = MiniBatchLoop(configuration: configuration, randomness: .perEpoch(random))
        return try loop.run(&model, exampleCount: n, optimizer: &optimizer, progress: progress) {
            model, batch, dropout throws(TrainingError) in
            let clean = inputs.gatheringRows(batch.rows)
            let batchLabels = batch.rows.map { labels[$0] }
            let stepAttack = epsilonWarmupEpochs > 0
                ? attack.withEpsilon(epsilon(atStep: batch.step, batchesPerEpoch: batchesPerEpoch)) : attack
            let adversarial = stepAttack.perturb(clean, labels: batchLabels, goal: .untargeted, model: model,
                                                 random: random.stream("epochs/\(batch.epoch)/attack/\(batch.index)"))
            var (loss, grads) = model.lossAndGradients(adversarial, labels: batchLabels, loss: configuration.loss,
                                                       training: true, random: &dropout)
            if w < 1 {
                let (cleanLoss, cleanGrads) = model.lossAndGradients(clean, labels: batchLabels, loss: configuration.loss,
                                                                     training: true, random: &dropout)
                loss = w * loss + (1 - w) * cleanLoss
                grads = withoutGradients { zip(grads, cleanGrads).map { w * $0 + (1 - w) * $1 } }
            }
            return MiniBatchLoss(loss: loss, gradients: grads)
        }.epochLosses
    }
}
