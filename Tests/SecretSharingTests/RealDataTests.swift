import Datasets
import Foundation
import LabRandom
import SecretSharing
import Testing

/// The reference data folder from `PRIVACY_LAB_DATA` (tests may read the environment; the
/// library may not). `nil` skips the real-data tests.
let referenceData: DataDirectory? = {
    guard let value = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"], !value.isEmpty else { return nil }
    return DataDirectory.resolve(explicit: nil, environmentValue: value,
                                 currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
}()

extension LabeledData {
    var doubleFeatures: [Double] { features.map(Double.init) }
    var doubleLabels: [Double] { labels.map(Double.init) }
}

@Suite("Secure logistic regression on real data (issue #5's accuracy criterion)",
       .enabled(if: referenceData != nil, "PRIVACY_LAB_DATA is not set: real-data tests need ../shared/data"))
struct RealDataTests {
    @Test("breast-cancer: secure training reaches the plaintext test accuracy within 1 point")
    func breastCancer() throws {
        let data = try DatasetRegistry.load(.breastCancer, from: referenceData!)
        var random = LabRandom(seed: 569)
        let split = Splits.trainTest(labels: data.train.labels, classCount: 2, testFraction: 0.2,
                                     stratified: true, using: &random)
        let parts = Dataset(name: "breast-cancer", train: data.train.subset(split.train),
                            test: data.train.subset(split.test)).scaled(.standardize).dataset
        try compareLogisticRegression(
            xTrain: parts.train.doubleFeatures, yTrain: parts.train.doubleLabels,
            xTest: parts.test!.doubleFeatures, yTest: parts.test!.doubleLabels,
            columns: parts.train.featureCount,
            parameters: LogisticRegressionParameters(epochs: 5, batchSize: 50, learningRate: 0.5),
            minimumAccuracy: 0.9)
    }

    @Test("Adult: secure training reaches the plaintext test accuracy within 1 point")
    func adult() throws {
        // The published split; features min-max scaled to [0, 1] on the training part. A
        // stratified 20% of each part keeps the debug-build test short.
        let full = try DatasetRegistry.load(.adult, from: referenceData!).scaled(.minMax(low: 0, high: 1)).dataset
        var random = LabRandom(seed: 48842)
        let trainPick = Splits.trainTest(labels: full.train.labels, classCount: 2, testFraction: 0.2,
                                         stratified: true, using: &random).test
        let testPick = Splits.trainTest(labels: full.test!.labels, classCount: 2, testFraction: 0.2,
                                        stratified: true, using: &random).test
        let train = full.train.subset(trainPick), test = full.test!.subset(testPick)
        try compareLogisticRegression(
            xTrain: train.doubleFeatures, yTrain: train.doubleLabels,
            xTest: test.doubleFeatures, yTest: test.doubleLabels, columns: train.featureCount,
            parameters: LogisticRegressionParameters(epochs: 3, batchSize: 100, learningRate: 0.5),
            minimumAccuracy: 0.8)
    }
}
