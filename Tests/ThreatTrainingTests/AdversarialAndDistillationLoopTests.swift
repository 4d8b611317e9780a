import Datasets
import Evasion
import LabRandom
import NeuralNetworks
import Tensors
import Testing
import ThreatTraining
import TestSupport

/// Adversarial training's and defensive distillation's loops as they were written before both
/// ran `MiniBatchLoop`: the oracles the loop is held to, bit for bit.
enum LoopsBeforeMiniBatchLoop {
    static func adversarial<A: EvasionAttack>(_ training: AdversarialTraining<A>, _ model: inout Sequential, inputs: Tensor,
                                              labels: [Int], configuration: TrainingConfiguration, random: LabRandom) -> [Float] {
        var optimizer = configuration.optimizer.makeOptimizer()
        var epochLosses: [Float] = []
        var steps = 0
        let n = inputs.shape[0]
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
        let w = training.adversarialWeight
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
                let stepAttack = training.epsilonWarmupEpochs > 0
                    ? training.attack.withEpsilon(training.epsilon(atStep: steps, batchesPerEpoch: batchesPerEpoch)) : training.attack
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
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                steps += 1
                total += Double(loss)
                batches += 1
                start = end
            }
            epochLosses.append(Float(total / Double(Swift.max(1, batches))))
        }
        return epochLosses
    }

    static func distillation(_ model: inout Sequential, inputs: Tensor, targets: Tensor, temperature: Float,
                             configuration: TrainingConfiguration, random: LabRandom) -> [Float] {
        let n = inputs.shape[0]
        var optimizer = configuration.optimizer.makeOptimizer()
        var epochLosses: [Float] = []
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
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
                let q = targets.gatheringRows(indices)
                let leaves = model.parameters.map { $0.requiringGradient() }
                let logits = model.forward(batch, parameters: leaves, training: true, random: &dropout)
                let value = -((q * (logits / temperature).logSoftmax()).sum(alongAxes: [1])).mean()
                let grads = gradients(of: value, withRespectTo: leaves)
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                total += Double(value.scalar)
                batches += 1
                start = end
            }
            epochLosses.append(Float(total / Double(Swift.max(1, batches))))
        }
        return epochLosses
    }
}

private func bits(_ model: Sequential) -> [[UInt32]] { bitPatterns(model.parameters) }

/// Generated 16×16 pattern images of 10 classes (`perClass` of each), shifted by up to a pixel.
func patternImages(perClass: Int, seed: UInt64) -> LabeledData {
    var random = LabRandom(seed: seed).stream("data")
    return SyntheticDatasets.patternImages(samplesPerClass: perClass, classes: 10, side: 16, noise: 0.1, maxShift: 1, using: &random)
}

@Suite("Adversarial training and distillation run the one mini-batch loop")
struct MiniBatchLoopIdentityTests {
    static let layers: [Layer] = [.flatten, .dense(inputs: 256, outputs: 24), .relu, .dropout(rate: 0.2), .dense(inputs: 24, outputs: 10)]

    @Test("adversarial training (ε warm-up, mixed clean loss, step schedule) is bit-identical to its previous loop")
    func adversarialTraining() throws {
        let train = patternImages(perClass: 7, seed: 12)
        let training = AdversarialTraining(attack: ProjectedGradientDescent(epsilon: 0.1, stepSize: 0.03, steps: 2, randomStart: true),
                                           adversarialWeight: 0.7, epsilonWarmupEpochs: 1.5)
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: 0.01, optimizer: .sgd(momentum: 0.9),
                                                  schedule: .step(stepSize: 1, gamma: 0.5))
        let initial = try Sequential(inputShape: [1, 16, 16], layers: Self.layers, random: LabRandom(seed: 13))
        var viaLoop = initial, reference = initial
        let losses = try training.train(&viaLoop, inputs: train.featureTensor, labels: train.intLabels, configuration: configuration,
                                        random: LabRandom(seed: 14))
        let expected = LoopsBeforeMiniBatchLoop.adversarial(training, &reference, inputs: train.featureTensor, labels: train.intLabels,
                                                            configuration: configuration, random: LabRandom(seed: 14))
        #expect(bits(viaLoop) == bits(reference) && bits(viaLoop) != bits(initial))
        #expect(losses.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("defensive distillation's training is bit-identical to its previous loop")
    func distillation() throws {
        let train = patternImages(perClass: 7, seed: 15)
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 10, learningRate: 0.01, dropLastBatch: true)
        let initial = try Sequential(inputShape: [1, 16, 16], layers: Self.layers, random: LabRandom(seed: 16))
        let targets = withoutGradients { (initial.logits(train.featureTensor) / 20).softmax() }
        var viaLoop = initial, reference = initial
        let losses = try DefensiveDistillation.train(&viaLoop, inputs: train.featureTensor, targets: targets, temperature: 20,
                                                     configuration: configuration, random: LabRandom(seed: 17))
        let expected = LoopsBeforeMiniBatchLoop.distillation(&reference, inputs: train.featureTensor, targets: targets, temperature: 20,
                                                             configuration: configuration, random: LabRandom(seed: 17))
        #expect(bits(viaLoop) == bits(reference) && bits(viaLoop) != bits(initial))
        #expect(losses.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
