import Backdoors
import LabRandom
import NeuralNetworks
import Tensors
import Testing
import ThreatTraining
import TestSupport

/// Fine-pruning's fine-tuning as it was written before it ran `MiniBatchLoop`: the oracle the
/// loop is held to, bit for bit.
func fineTuneBeforeMiniBatchLoop(_ pruned: FinePruning.Pruned<Sequential>, inputs: Tensor, labels: [Int],
                                 configuration: TrainingConfiguration, random: LabRandom) throws -> Sequential {
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
            model = try FinePruning.zeroing(channels: pruned.prunedChannels, of: model)
            start = end
        }
    }
    return model
}

extension NetworkDefenceTests {
    @Test("fine-tuning after pruning (short last batch, cosine schedule) is bit-identical to its previous loop")
    func fineTuningIdenticalToThePreviousLoop() throws {
        let clean = f.test.subset(Array(0..<90))
        let pruned = try FinePruning(maximumAccuracyDrop: 0.05).prune(model: f.model, cleanInputs: clean.featureTensor,
                                                                      cleanLabels: clean.intLabels)
        #expect(!pruned.prunedChannels.isEmpty)
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 20, learningRate: 0.002, optimizer: .sgd(momentum: 0.5),
                                                  schedule: .cosine(epochs: 2, minimum: 0))
        let tuned = try FinePruning.fineTune(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                             configuration: configuration, random: LabRandom(seed: 6))
        let expected = try fineTuneBeforeMiniBatchLoop(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                                       configuration: configuration, random: LabRandom(seed: 6))
        func bits(_ m: Sequential) -> [[UInt32]] { bitPatterns(m.parameters) }
        #expect(bits(tuned) == bits(expected))
        #expect(bits(tuned) != bits(pruned.model))
    }
}
