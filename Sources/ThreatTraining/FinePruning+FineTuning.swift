import Backdoors
import LabRandom
import NeuralNetworks
import Tensors

// Fine-pruning's second step on a PrivacyLab network: fine-tuning the pruned network on clean
// data with its pruned channels held at zero (the pruning is `FinePruning.prune`, in Backdoors).
extension FinePruning {
    /// Fine-tunes a pruned network on clean data, re-zeroing its pruned channels after every step.
    /// Draws batch order from streams `epochs/<e>/shuffle` of `random`.
    public static func fineTune(_ pruned: Pruned<Sequential>, inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                                random: LabRandom) throws -> Sequential {
        try configuration.validate()
        var model = pruned.model
        var optimizer = configuration.optimizer.makeOptimizer()
        let n = inputs.shape[0]
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var shuffle = random.stream("epochs/\(epoch)/shuffle")
            let order = shuffle.permutation(n)
            var start = 0
            while start < n {
                let end = min(n, start + configuration.batchSize)
                let rows = Array(order[start..<end])
                var none: LabRandom? = nil
                let (_, grads) = model.lossAndGradients(inputs.gatheringRows(rows), labels: rows.map { labels[$0] },
                                                        loss: configuration.loss, training: false, random: &none)
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                model = try zeroing(channels: pruned.prunedChannels, of: model)
                start = end
            }
        }
        return model
    }
}
