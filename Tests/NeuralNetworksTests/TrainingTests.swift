import Testing
import LabRandom
import NeuralNetworks
import Tensors

@Suite("Training")
struct TrainingTests {
    /// Two well-separated Gaussian blobs per class in 2-D.
    func blobs(_ n: Int, _ random: inout LabRandom) -> (Tensor, [Int]) {
        let centers: [(Float, Float)] = [(2, 0), (-2, 0), (0, 2.5)]
        var values: [Float] = [], labels: [Int] = []
        for i in 0..<n {
            let c = i % 3
            values += [centers[c].0 + Float(random.nextNormal()) * 0.5, centers[c].1 + Float(random.nextNormal()) * 0.5]
            labels.append(c)
        }
        return (Tensor(shape: [n, 2], scalars: values), labels)
    }

    @Test("the same seed gives bit-identical parameters; another seed does not")
    func determinism() throws {
        var data = LabRandom(seed: 3)
        let (x, y) = blobs(90, &data)
        let layers: [Layer] = [.dense(inputs: 2, outputs: 16), .relu, .dropout(rate: 0.2), .dense(inputs: 16, outputs: 3)]
        let config = TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: 0.05, optimizer: .sgd(momentum: 0.9))
        func trained(_ seed: UInt64) throws -> [[Float]] {
            let root = LabRandom(seed: seed)
            var model = try Sequential(inputShape: [2], layers: layers, random: root.stream("init"))
            _ = try model.train(inputs: x, labels: y, configuration: config, random: root.stream("train"))
            return model.parameters.map(\.scalars)
        }
        #expect(try trained(1) == trained(1))
        #expect(try trained(1) != trained(2))
    }

    @Test("training lowers the loss and fits separable data")
    func learns() throws {
        var data = LabRandom(seed: 4)
        let (x, y) = blobs(300, &data)
        var model = try Sequential(inputShape: [2], layers: [.dense(inputs: 2, outputs: 16), .tanh, .dense(inputs: 16, outputs: 3)],
                                   random: LabRandom(seed: 1))
        let history = try model.train(inputs: x, labels: y,
                                      configuration: TrainingConfiguration(epochs: 10, batchSize: 32, learningRate: 0.01,
                                                                           schedule: .cosine(epochs: 10, minimum: 0.001)),
                                      random: LabRandom(seed: 2))
        #expect(history.epochLosses.last! < history.epochLosses.first! * 0.5)
        #expect(history.steps == 10 * 10)
        #expect(model.accuracy(x, labels: y) > 0.95)
        let losses = model.perExampleLosses(x, labels: y)
        #expect(losses.count == 300 && losses.allSatisfy { $0 >= 0 && $0.isFinite })
    }

    @Test("bulk logits equal one big forward pass, whatever the chunk size")
    func bulkQueries() throws {
        var random = LabRandom(seed: 8)
        let model = try Sequential(inputShape: [4], layers: [.dense(inputs: 4, outputs: 5), .relu, .dense(inputs: 5, outputs: 3)],
                                   random: random.stream("m"))
        let x = randomTensor([37, 4], &random)
        let whole = model(x).scalars
        #expect(model.logits(x, batchSize: 5).scalars == whole)
        let p = model.probabilities(x, batchSize: 7)
        #expect(p.shape == [37, 3])
        #expect(p.sum(alongAxes: [1]).scalars.allSatisfy { abs($0 - 1) < 1e-5 })
    }

    @Test("bad configurations, inputs and labels are refused with a reason")
    func validation() throws {
        var model = try Sequential(inputShape: [2], layers: [.dense(inputs: 2, outputs: 3)], random: LabRandom(seed: 1))
        let x = Tensor(zeros: [4, 2])
        #expect(throws: TrainingError.invalidConfiguration("batch_size must be ≥ 1, got 0")) {
            try model.train(inputs: x, labels: [0, 1, 2, 0], configuration: .init(epochs: 1, batchSize: 0, learningRate: 0.1),
                            random: LabRandom(seed: 1))
        }
        #expect(throws: TrainingError.model(.labels("label 3 is outside 0..<3"))) {
            try model.train(inputs: x, labels: [0, 1, 3, 0], configuration: .init(epochs: 1, batchSize: 2, learningRate: 0.1),
                            random: LabRandom(seed: 1))
        }
        #expect(throws: ModelError.self) {
            try Sequential(inputShape: [3], layers: [.dense(inputs: 2, outputs: 3)], random: LabRandom(seed: 1))
        }
        #expect(throws: ModelError.self) {
            try Sequential(inputShape: [1, 4, 4], layers: [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 5, stride: 1, padding: 0)],
                           random: LabRandom(seed: 1))
        }
    }
}
