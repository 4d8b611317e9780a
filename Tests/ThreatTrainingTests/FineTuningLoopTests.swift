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

@Suite("Fine-pruning's fine-tuning runs the one mini-batch loop")
struct FineTuningLoopTests {
    @Test("fine-tuning after pruning (short last batch, cosine schedule) is bit-identical to its previous loop")
    func fineTuningIdenticalToThePreviousLoop() throws {
        let clean = patternImages(perClass: 9, seed: 21)
        let layers: [Layer] = [.conv2d(inChannels: 1, outChannels: 6, kernelSize: 3, stride: 1, padding: 1), .relu, .maxPool2d(size: 2, stride: 2),
                               .flatten, .dense(inputs: 6 * 64, outputs: 10)]
        let network = try Sequential(inputShape: [1, 16, 16], layers: layers, random: LabRandom(seed: 22))
        // Channels 1 and 4 of the last (only) convolution pruned, as `FinePruning.prune` leaves them.
        let pruned = FinePruning.Pruned(model: try FinePruning.zeroing(channels: [1, 4], of: network), layer: 0, prunedChannels: [1, 4],
                                        channelCount: 6, accuracyBefore: 0, accuracyAfter: 0)
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 20, learningRate: 0.002, optimizer: .sgd(momentum: 0.5),
                                                  schedule: .cosine(epochs: 2, minimum: 0))
        let tuned = try FinePruning.fineTune(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                             configuration: configuration, random: LabRandom(seed: 6))
        let expected = try fineTuneBeforeMiniBatchLoop(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                                       configuration: configuration, random: LabRandom(seed: 6))
        func bits(_ m: Sequential) -> [[UInt32]] { bitPatterns(m.parameters) }
        #expect(bits(tuned) == bits(expected))
        #expect(bits(tuned) != bits(pruned.model))
        // The pruned channels stay zero through fine-tuning.
        let weights = tuned.parameters[0].scalars
        #expect(weights[9..<18].allSatisfy { $0 == 0 } && weights[36..<45].allSatisfy { $0 == 0 })
        #expect(!weights[0..<9].allSatisfy { $0 == 0 })
    }
}
