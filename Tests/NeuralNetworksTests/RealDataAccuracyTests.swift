import Foundation
import Testing
import Datasets
import LabRandom
import NeuralNetworks
import Tensors

/// Accuracy on real data, read from PRIVACY_LAB_DATA (CI points it at the shared data folder;
/// without it these tests are skipped and say so).
@Suite("Accuracy on real datasets", .serialized)
struct RealDataAccuracyTests {
    static var directory: DataDirectory? {
        ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"].map { DataDirectory(url: URL(fileURLWithPath: $0)) }
    }

    @Test("an MLP on scikit-learn's digits reaches ≥ 97% test accuracy", .enabled(if: directory != nil, "PRIVACY_LAB_DATA is not set"))
    func digitsMLP() throws {
        let root = LabRandom(seed: 7)
        var split = root.stream("data/split")
        let data = try DatasetRegistry.load(.digits, from: Self.directory!).train.splitTrainTest(testFraction: 0.25, using: &split)
        let (scaled, _) = data.scaled(.standardize)
        let train = scaled.train, test = scaled.test!
        var model = try Sequential(inputShape: train.sampleShape,
                                   layers: [.flatten, .dense(inputs: 64, outputs: 128), .relu, .dense(inputs: 128, outputs: 10)],
                                   random: root.stream("init"))
        _ = try model.train(inputs: train.featureTensor, labels: train.intLabels,
                            configuration: TrainingConfiguration(epochs: 40, batchSize: 32, learningRate: 1e-3),
                            random: root.stream("train"))
        let accuracy = model.accuracy(test.featureTensor, labels: test.intLabels)
        #expect(accuracy >= 0.97, "digits MLP test accuracy \(accuracy)")
    }

    @Test("a small CNN on 5 000 MNIST images reaches ≥ 95% test accuracy", .enabled(if: directory != nil, "PRIVACY_LAB_DATA is not set"))
    func mnistCNN() throws {
        let root = LabRandom(seed: 7)
        let mnist = try DatasetRegistry.load(.mnist, from: Self.directory!)
        var pick = root.stream("data/limit")
        let train = mnist.train.subset(pick.sampleWithoutReplacement(5000, from: mnist.train.count).sorted())
        let test = mnist.test!.prefix(2000)
        var model = try Sequential(
            inputShape: [1, 28, 28],
            layers: [.conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
                     .conv2d(inChannels: 16, outChannels: 32, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
                     .flatten, .dense(inputs: 32 * 7 * 7, outputs: 10)],
            random: root.stream("init"))
        _ = try model.train(inputs: train.featureTensor, labels: train.intLabels,
                            configuration: TrainingConfiguration(epochs: 5, batchSize: 64, learningRate: 2e-3),
                            random: root.stream("train"))
        let accuracy = model.accuracy(test.featureTensor, labels: test.intLabels)
        #expect(accuracy >= 0.95, "MNIST CNN test accuracy \(accuracy)")
    }
}
