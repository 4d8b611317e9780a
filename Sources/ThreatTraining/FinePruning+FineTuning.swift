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
        // Fine-tuning runs the network in inference mode, takes every batch (even a short last
        // one) and does not stop on a non-finite loss; after each step the pruned channels are
        // set back to zero.
        var tuning = configuration
        tuning.dropLastBatch = false
        var failure: (any Error)?
        let loop = MiniBatchLoop(configuration: tuning, randomness: .perEpoch(random), checksLoss: false)
        do {
            _ = try loop.run(&model, exampleCount: inputs.shape[0], optimizer: &optimizer) { model, batch, _ throws(TrainingError) in
                var none: LabRandom? = nil
                let (loss, grads) = model.lossAndGradients(inputs.gatheringRows(batch.rows), labels: batch.rows.map { labels[$0] },
                                                           loss: configuration.loss, training: false, random: &none)
                return MiniBatchLoss(loss: loss, gradients: grads)
            } afterStep: { model, _ throws(TrainingError) in
                do { model = try zeroing(channels: pruned.prunedChannels, of: model) } catch {
                    failure = error
                    throw .invalidConfiguration("\(error)")
                }
            }
        } catch {
            if let failure { throw failure }
            throw error
        }
        return model
    }
}
