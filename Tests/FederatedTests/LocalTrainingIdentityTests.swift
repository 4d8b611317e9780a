import Federated
import LabRandom
import NeuralNetworks
import Tensors
import Testing

/// A client's local training as it was written before it ran `MiniBatchLoop` (one stream of
/// permutations, one of dropout masks, FedProx's proximal term): the oracle, bit for bit.
func localTrainingBeforeMiniBatchLoop(_ local: LocalTraining, architecture: Sequential, layout: ParameterLayout, global: [Float],
                                      inputs: Tensor, labels: [Int], random: LabRandom) throws -> (parameters: [Float], loss: Float, steps: Int)? {
    let start = layout.tensors(from: global)
    var model = try Sequential(inputShape: architecture.inputShape, layers: architecture.layers, parameters: start)
    var optimizer = SGD(momentum: local.momentum)
    var order = random.stream("batches")
    let hasDropout = architecture.layers.contains { if case .dropout = $0 { return true } else { return false } }
    var dropout: LabRandom? = hasDropout ? random.stream("dropout") : nil
    let n = inputs.shape[0]
    var steps = 0
    var lastLoss: Float = 0
    for _ in 0..<local.epochs {
        let permutation = order.permutation(n)
        var total = 0.0, batches = 0
        var lo = 0
        while lo < n {
            let hi = Swift.min(n, lo + local.batchSize)
            let indices = Array(permutation[lo..<hi])
            var (loss, gradients) = model.lossAndGradients(inputs.gatheringRows(indices), labels: indices.map { labels[$0] },
                                                           training: true, random: &dropout)
            guard loss.isFinite else { return nil }
            if local.proximalMu > 0 {
                for i in gradients.indices {
                    let g = gradients[i].scalars, w = model.parameters[i].scalars, a = start[i].scalars
                    gradients[i] = Tensor(shape: gradients[i].shape,
                                          scalars: (0..<g.count).map { g[$0] + local.proximalMu * (w[$0] - a[$0]) })
                }
            }
            optimizer.step(parameters: &model.parameters, gradients: gradients, learningRate: local.learningRate)
            total += Double(loss)
            batches += 1
            steps += 1
            lo = hi
        }
        lastLoss = Float(total / Double(Swift.max(1, batches)))
    }
    return (layout.flatten(model.parameters), lastLoss, steps)
}

@Suite("Local training runs the one mini-batch loop")
struct LocalTrainingIdentityTests {
    @Test("a client's local training (dropout, momentum, FedProx) is bit-identical to its previous loop", arguments: [0, 0.1] as [Float])
    func identical(_ mu: Float) throws {
        var random = LabRandom(seed: 31)
        let x = Tensor(shape: [37, 5]) { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        let labels = (0..<37).map { $0 % 3 }
        let architecture = try Sequential(inputShape: [5], layers: [.dense(inputs: 5, outputs: 8), .relu, .dropout(rate: 0.25),
                                                                   .dense(inputs: 8, outputs: 3)], random: LabRandom(seed: 32))
        let layout = ParameterLayout(model: architecture)
        let global = layout.flatten(architecture.parameters)
        let local = LocalTraining(epochs: 3, batchSize: 8, learningRate: 0.05, momentum: 0.9, proximalMu: mu)
        let outcome = try #require(try local.train(architecture: architecture, layout: layout, global: global, inputs: x, labels: labels,
                                                   random: LabRandom(seed: 33)))
        let expected = try #require(try localTrainingBeforeMiniBatchLoop(local, architecture: architecture, layout: layout, global: global,
                                                                          inputs: x, labels: labels, random: LabRandom(seed: 33)))
        #expect(outcome.parameters.map(\.bitPattern) == expected.parameters.map(\.bitPattern))
        #expect(outcome.parameters != global)
        #expect(outcome.loss.bitPattern == expected.loss.bitPattern && outcome.steps == expected.steps && outcome.steps == 15)
    }

    @Test("training on examples held as a flat array (mini-batches copied from it) is bit-identical to training on their tensor",
          arguments: [0, 0.1] as [Float])
    func flatFeatures(_ mu: Float) throws {
        var random = LabRandom(seed: 41)
        let x = Tensor(shape: [29, 2, 3]) { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        let labels = (0..<29).map { ($0 * 7) % 4 }
        let architecture = try Sequential(inputShape: [2, 3], layers: [.flatten, .dense(inputs: 6, outputs: 8), .relu, .dropout(rate: 0.25),
                                                                       .dense(inputs: 8, outputs: 4)], random: LabRandom(seed: 42))
        let layout = ParameterLayout(model: architecture)
        let global = layout.flatten(architecture.parameters)
        let local = LocalTraining(epochs: 2, batchSize: 6, learningRate: 0.05, momentum: 0.5, proximalMu: mu)
        let fromTensor = try #require(try local.train(architecture: architecture, layout: layout, global: global, inputs: x, labels: labels,
                                                      random: LabRandom(seed: 43)))
        let fromArray = try #require(try local.train(architecture: architecture, layout: layout, global: global, features: x.scalars,
                                                     sampleShape: [2, 3], labels: labels, random: LabRandom(seed: 43)))
        #expect(fromArray.parameters.map(\.bitPattern) == fromTensor.parameters.map(\.bitPattern))
        #expect(fromArray.parameters != global)
        #expect(fromArray.loss.bitPattern == fromTensor.loss.bitPattern && fromArray.steps == fromTensor.steps && fromArray.steps == 10)
    }
}
