import Datasets
import LabRandom
import ModelAccess
import NeuralNetworks
import Poisoning
import Tensors
import Testing

@Suite struct LabelFlippingTests {
    /// Random flipping changes exactly ⌊rate·n⌉ labels, each to another valid class, and nothing else.
    @Test(arguments: [0.0, 0.1, 0.33, 1.0])
    func randomFlipsTheRequestedCountToOtherClasses(rate: Double) {
        var random = LabRandom(seed: 1)
        let labels = (0..<500).map { ($0 * 7) % 10 }
        let result = LabelFlipping.random(labels: labels, classCount: 10, rate: rate, random: &random)
        #expect(result.flippedCount == Int((rate * 500).rounded()))
        for i in labels.indices {
            #expect((result.labels[i] != labels[i]) == result.flipped[i])
            #expect(result.labels[i] >= 0 && result.labels[i] < 10)
        }
    }

    /// Targeted flipping only moves source-class examples, all to the target class.
    @Test func targetedMovesSourceToTargetOnly() {
        var random = LabRandom(seed: 2)
        let labels = (0..<300).map { $0 % 3 }
        let result = LabelFlipping.targeted(labels: labels, source: 1, target: 2, rate: 0.5, random: &random)
        #expect(result.flippedCount == 50)
        for i in labels.indices where result.flipped[i] { #expect(labels[i] == 1 && result.labels[i] == 2) }
        for i in labels.indices where !result.flipped[i] { #expect(result.labels[i] == labels[i]) }
    }
}

@Suite struct RemovalReportTests {
    @Test func handCountedRates() {
        let report = RemovalReport(removed: [true, true, false, false, true, false], poisoned: [true, false, true, false, true, false])
        #expect(report.truePositiveRate == 2.0 / 3)
        #expect(report.falsePositiveRate == 1.0 / 3)
        #expect(report.precision == 2.0 / 3)
        #expect(RemovalReport.accuracyRecovered(clean: 0.9, poisoned: 0.6, filtered: 0.84) > 0.79)
        #expect(RemovalReport.accuracyRecovered(clean: 0.9, poisoned: 0.95, filtered: 0.7) == 0)
    }
}

/// Well-separated Gaussian blobs with 20% of labels flipped at random.
func poisonedBlobs(seed: UInt64) -> (data: LabeledData, flipped: FlippedLabels) {
    var random = LabRandom(seed: seed)
    let data = SyntheticDatasets.gaussianMixture(samples: 600, features: 8, classes: 4, separation: 6, using: &random)
    var flipRandom = random.stream("flip")
    return (data, LabelFlipping.random(labels: data.intLabels, classCount: 4, rate: 0.2, random: &flipRandom))
}

@Suite struct FilterTests {
    /// The brute-force oracle: k-NN by sorting all distances agrees with the chunked BLAS search.
    @Test func knnScoresMatchBruteForce() throws {
        let (data, flipped) = poisonedBlobs(seed: 3)
        let x = data.featureTensor
        let decision = try KNNLabelConsistencyFilter(k: 5).filter(inputs: x, labels: flipped.labels, classCount: 4, random: LabRandom(seed: 0))
        let v = x.scalars, d = 8, n = data.count
        for i in stride(from: 0, to: n, by: 37) {
            var others: [(distance: Float, index: Int)] = []
            for j in 0..<n where j != i {
                var s: Float = 0
                for f in 0..<d {
                    let e: Float = v[i * d + f] - v[j * d + f]
                    s += e * e
                }
                others.append((s, j))
            }
            others.sort { (a, b) -> Bool in a.distance != b.distance ? a.distance < b.distance : a.index < b.index }
            var disagree = 0
            for pair in others.prefix(5) where flipped.labels[pair.index] != flipped.labels[i] { disagree += 1 }
            #expect(decision.scores[i] == Float(disagree) / 5)
        }
    }

    /// Each filter finds most flipped labels on separable data while removing few clean ones.
    @Test func filtersFindFlippedLabels() throws {
        let (data, flipped) = poisonedBlobs(seed: 4)
        let x = data.featureTensor
        let recipe = SequentialRecipe(inputShape: [8], layers: [.dense(inputs: 8, outputs: 4)],
                                      configuration: TrainingConfiguration(epochs: 20, batchSize: 32, learningRate: 0.02))
        let filters: [(String, any TrainingSetFilter)] = [
            ("loss", LossFilter(recipe: recipe, removalFraction: 0.2, folds: 2)),
            ("knn", KNNLabelConsistencyFilter(k: 10)),
            ("centroid", CentroidOutlierFilter(removalFraction: 0.2)),
        ]
        for (name, filter) in filters {
            let decision = try filter.filter(inputs: x, labels: flipped.labels, classCount: 4, random: LabRandom(seed: 5))
            let report = RemovalReport(removed: decision.removed, poisoned: flipped.flipped)
            #expect(report.truePositiveRate > 0.6, "\(name) TPR \(report.truePositiveRate)")
            #expect(report.falsePositiveRate < 0.15, "\(name) FPR \(report.falsePositiveRate)")
        }
    }

    /// Removal fractions are honoured: per class for the centroid filter, overall for the loss filter.
    @Test func removalFractionsAreHonoured() throws {
        let (data, flipped) = poisonedBlobs(seed: 6)
        let decision = try CentroidOutlierFilter(removalFraction: 0.1).filter(
            inputs: data.featureTensor, labels: flipped.labels, classCount: 4, random: LabRandom(seed: 0))
        for c in 0..<4 {
            let members = flipped.labels.indices.filter { flipped.labels[$0] == c }
            #expect(members.filter { decision.removed[$0] }.count == Int((0.1 * Double(members.count)).rounded()))
        }
    }
}
