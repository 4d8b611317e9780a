import Testing
import LabRandom
import NeuralNetworks
import Tensors
import TestSupport

/// `Sequential.train` as it was written before `MiniBatchLoop` took its loop over: the oracle the
/// loop is held to, bit for bit (same random draws in the same order, same floating-point steps).
func trainBeforeMiniBatchLoop(_ model: inout Sequential, inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                              random: LabRandom) -> (epochLosses: [Float], learningRates: [Float], steps: Int) {
    var optimizer = configuration.optimizer.makeOptimizer()
    var history: (epochLosses: [Float], learningRates: [Float], steps: Int) = ([], [], 0)
    let n = inputs.shape[0]
    let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
    for epoch in 0..<configuration.epochs {
        let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
        var shuffle = random.stream("epochs/\(epoch)/shuffle")
        let order = shuffle.permutation(n)
        var dropout: LabRandom? = hasDropout ? random.stream("epochs/\(epoch)/dropout") : nil
        var total: Double = 0
        var batches = 0
        var start = 0
        while start < n {
            let end = Swift.min(n, start + configuration.batchSize)
            if configuration.dropLastBatch && end - start < configuration.batchSize { break }
            let indices = Array(order[start..<end])
            let batch = inputs.gatheringRows(indices)
            let batchLabels = indices.map { labels[$0] }
            let loss: Float, grads: [Tensor], updatedBuffers: [Tensor]
            if model.buffers.isEmpty {
                (loss, grads) = model.lossAndGradients(batch, labels: batchLabels, loss: configuration.loss, training: true, random: &dropout)
                updatedBuffers = model.buffers
            } else {
                let leaves = model.parameters.map { $0.requiringGradient() }
                let (outputs, updated) = model.forwardUpdatingBuffers(batch, parameters: leaves, random: &dropout)
                let value = configuration.loss.mean(outputs: outputs, labels: batchLabels)
                (loss, grads, updatedBuffers) = (value.scalar, gradients(of: value, withRespectTo: leaves), updated)
            }
            optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
            model.buffers = updatedBuffers
            history.steps += 1
            total += Double(loss)
            batches += 1
            start = end
        }
        let meanLoss = Float(total / Double(Swift.max(1, batches)))
        history.epochLosses.append(meanLoss)
        history.learningRates.append(rate)
    }
    return history
}

/// The bit patterns of every parameter and buffer.
func bits(_ model: Sequential) -> [[UInt32]] { bitPatterns(model.parameters + model.buffers) }

@Suite("The one mini-batch loop")
struct MiniBatchLoopTests {
    static func data(_ n: Int, features: Int, classes: Int, seed: UInt64) -> (Tensor, [Int]) {
        var random = LabRandom(seed: seed)
        let x = Tensor(shape: [n, features]) { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        return (x, (0..<n).map { $0 % classes })
    }

    @Test("Sequential.train gives the parameters, buffers and history of the loop it replaced, bit for bit",
          arguments: [0, 1, 2])
    func identicalToThePreviousLoop(_ variant: Int) throws {
        let (x, y) = Self.data(83, features: 6, classes: 3, seed: 11)
        let layers: [Layer]
        let configuration: TrainingConfiguration
        switch variant {
        case 0:   // dropout, SGD with momentum, a short last batch
            layers = [.dense(inputs: 6, outputs: 12), .relu, .dropout(rate: 0.3), .dense(inputs: 12, outputs: 3)]
            configuration = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: 0.05, optimizer: .sgd(momentum: 0.9))
        case 1:   // batch normalization (running statistics), Adam, step schedule, last batch dropped
            layers = [.dense(inputs: 6, outputs: 10), .batchNorm1d(features: 10, epsilon: 1e-5, momentum: 0.1, affine: true),
                      .tanh, .dense(inputs: 10, outputs: 3)]
            configuration = TrainingConfiguration(epochs: 4, batchSize: 20, learningRate: 0.01, optimizer: .adam(),
                                                  schedule: .step(stepSize: 2, gamma: 0.5), dropLastBatch: true)
        default:  // AdamW, cosine schedule, dropout and batch normalization together
            layers = [.dense(inputs: 6, outputs: 8), .batchNorm1d(features: 8, epsilon: 1e-5, momentum: 0.1, affine: false),
                      .relu, .dropout(rate: 0.2), .dense(inputs: 8, outputs: 3)]
            configuration = TrainingConfiguration(epochs: 3, batchSize: 32, learningRate: 0.02,
                                                  optimizer: .adam(weightDecay: 0.01, decoupledWeightDecay: true),
                                                  schedule: .cosine(epochs: 3, minimum: 0.001))
        }
        let root = LabRandom(seed: UInt64(20 + variant))
        let initial = try Sequential(inputShape: [6], layers: layers, random: root.stream("init"))
        var viaLoop = initial, reference = initial
        let history = try viaLoop.train(inputs: x, labels: y, configuration: configuration, random: root.stream("train"))
        let expected = trainBeforeMiniBatchLoop(&reference, inputs: x, labels: y, configuration: configuration,
                                                random: root.stream("train"))
        #expect(bits(viaLoop) == bits(reference))
        #expect(bits(viaLoop) != bits(initial))
        #expect(history.epochLosses.map(\.bitPattern) == expected.epochLosses.map(\.bitPattern))
        #expect(history.learningRates == expected.learningRates && history.steps == expected.steps)
    }

    @Test("the hooks run in order: loss, gradient transform, step, after-step; the schedule sets each batch's rate")
    func hooks() throws {
        let (x, y) = Self.data(10, features: 2, classes: 2, seed: 1)
        var model = try Sequential(inputShape: [2], layers: [.dense(inputs: 2, outputs: 2)], random: LabRandom(seed: 2))
        var optimizer: any Optimizer = SGD()
        var events: [String] = []
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 4, learningRate: 0.1, schedule: .step(stepSize: 1, gamma: 0.5))
        let loop = MiniBatchLoop(configuration: configuration, randomness: .perEpoch(LabRandom(seed: 3)))
        let history = try loop.run(&model, exampleCount: 10, optimizer: &optimizer) { model, batch, dropout throws(TrainingError) in
            events.append("loss \(batch.epoch)/\(batch.index) step \(batch.step) rows \(batch.rows.count) rate \(batch.learningRate)")
            let (loss, gradients) = model.lossAndGradients(x.gatheringRows(batch.rows), labels: batch.rows.map { y[$0] },
                                                           random: &dropout)
            return MiniBatchLoss(loss: loss, gradients: gradients)
        } transformGradients: { gradients, _, _ in
            events.append("transform")
            gradients = gradients.map { Tensor(zeros: $0.shape) }
        } afterStep: { _, batch throws(TrainingError) in
            events.append("after \(batch.step)")
        }
        #expect(history.steps == 6 && history.learningRates == [0.1, 0.05])
        #expect(events.prefix(4) == ["loss 0/0 step 0 rows 4 rate 0.1", "transform", "after 0", "loss 0/1 step 1 rows 4 rate 0.1"])
        #expect(events[6] == "loss 0/2 step 2 rows 2 rate 0.1" && events[9] == "loss 1/0 step 3 rows 4 rate 0.05")
        // The transform zeroed every gradient: plain SGD left the parameters where they were.
        #expect(bits(model) == bits(try Sequential(inputShape: [2], layers: [.dense(inputs: 2, outputs: 2)], random: LabRandom(seed: 2))))
    }

    @Test("a non-finite loss stops the loop with the epoch and step, unless the trainer asks otherwise")
    func divergence() throws {
        var model = try Sequential(inputShape: [2], layers: [.dense(inputs: 2, outputs: 2)], random: LabRandom(seed: 2))
        var optimizer: any Optimizer = SGD()
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 4, learningRate: 0.1)
        let nanLoss = { (model: Sequential, batch: MiniBatch, _: inout LabRandom?) throws(TrainingError) -> MiniBatchLoss in
            MiniBatchLoss(loss: batch.step == 4 ? .nan : 1, gradients: model.parameters.map { Tensor(zeros: $0.shape) })
        }
        #expect(throws: TrainingError.diverged(epoch: 1, step: 4)) {
            _ = try MiniBatchLoop(configuration: configuration, randomness: .perEpoch(LabRandom(seed: 3)))
                .run(&model, exampleCount: 12, optimizer: &optimizer, loss: nanLoss)
        }
        let unchecked = try MiniBatchLoop(configuration: configuration, randomness: .perEpoch(LabRandom(seed: 3)), checksLoss: false)
            .run(&model, exampleCount: 12, optimizer: &optimizer, loss: nanLoss)
        #expect(unchecked.steps == 6)
    }
}
