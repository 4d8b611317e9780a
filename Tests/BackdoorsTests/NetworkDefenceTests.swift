import Backdoors
import Datasets
import LabRandom
import NeuralNetworks
import Tensors
import Testing
import ThreatTraining

/// A small backdoored CNN on generated 12×12 pattern images, trained once for the suite.
struct BackdooredFixture: Sendable {
    let attack: BackdoorAttack
    let poisoned: PoisonedDataset
    let test: LabeledData
    let model: Sequential
    let recipe: SequentialRecipe

    static let shared: BackdooredFixture = {
        var random = LabRandom(seed: 42)
        let all = SyntheticDatasets.patternImages(samplesPerClass: 80, classes: 10, side: 12, noise: 0.1, using: &random)
        let train = all.subset(Array(0..<600)), test = all.subset(Array(600..<800))
        let attack = BackdoorAttack(trigger: .patch(.checkerboard, size: 3, position: .bottomRight, margin: 0, sampleShape: [1, 12, 12]),
                                    targeting: .allToOne(target: 0), budget: .fractionOfTargetClass(0.25))
        let poisoned = try! attack.poison(train.examples, classCount: 10, random: &random)
        let layers: [Layer] = [.conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 1, padding: 1), .relu, .maxPool2d(size: 2, stride: 2),
                               .flatten, .dense(inputs: 8 * 36, outputs: 32), .relu, .dense(inputs: 32, outputs: 10)]
        let recipe = SequentialRecipe(inputShape: [1, 12, 12], layers: layers,
                                      configuration: TrainingConfiguration(epochs: 12, batchSize: 32, learningRate: 0.003))
        let model = try! recipe.train(inputs: poisoned.data.inputs, labels: poisoned.data.labels, random: LabRandom(seed: 7))
        return BackdooredFixture(attack: attack, poisoned: poisoned, test: test, model: model, recipe: recipe)
    }()
}

@Suite("Defences against a trained backdoored network")
struct NetworkDefenceTests {
    let f = BackdooredFixture.shared

    @Test("the planted backdoor works and keeps clean accuracy")
    func backdoorWorks() throws {
        let m = BackdoorMetrics.evaluate(f.model, attack: f.attack, test: f.test.examples, classCount: 10)
        #expect(m.cleanAccuracy > 0.9)
        #expect(m.attackSuccessRate > 0.9)
        #expect(m.attackSuccessRate + m.robustAccuracy <= 1 + 1e-12)
        #expect(f.model.representationWidth == 32)
        #expect(try f.model.representations(for: f.test.featureTensor).shape == [200, 32])
    }

    @Test("Spectral Signatures and Activation Clustering find the poison in the network's representations")
    func representationDefences() throws {
        let reps = try f.model.representations(for: f.poisoned.data.inputs)
        let labels = f.poisoned.data.labels
        let ss = try SpectralSignatures(expectedPoisonFraction: 0.25, classes: .labels([0]))
            .detect(representations: reps, labels: labels, classCount: 10, random: LabRandom(seed: 1))
        // A 32-unit representation of 600 small images: most, not all, of the 21 poisoned samples
        // stand out (removing 30 of class 0's 81 at random would catch about 8).
        #expect(f.poisoned.detectionRates(flagged: ss.flaggedRows).truePositiveRate >= 0.75)
        let ac = try ActivationClustering(criterion: .relativeSize(threshold: 0.35))
            .detect(representations: reps, labels: labels, classCount: 10, random: LabRandom(seed: 2))
        let rates = f.poisoned.detectionRates(flagged: ac.flaggedRows)
        let target = try #require(ac.classes.first { $0.label == 0 })
        #expect(ac.poisonedClasses.contains(0))
        #expect(target.clusters[0].filter { f.poisoned.isPoisoned[$0] }.count >= 15)
        #expect(rates.truePositiveRate >= 0.75)
        let cleaned = f.poisoned.removing(ac.flaggedRows)
        #expect(cleaned.data.count == f.poisoned.data.count - ac.flaggedRows.count)
        #expect(cleaned.isPoisoned.filter { $0 }.count == rates.positives - rates.truePositives)
    }

    @Test("Neural Cleanse reverses a smaller trigger for the target than for other labels; unlearning lowers the ASR")
    func neuralCleanse() throws {
        let clean = f.test.subset(Array(0..<100))
        let nc = NeuralCleanse(steps: 25, batchSize: 25)
        let target = try nc.reverseEngineer(model: f.model, label: 0, inputs: clean.featureTensor, random: LabRandom(seed: 3))
        #expect(target.reachedThreshold)
        #expect(target.mask.allSatisfy { $0 >= 0 && $0 <= 1 } && target.pattern.allSatisfy { $0 >= 0 && $0 <= 1 })
        var others: [Float] = []
        for label in [3, 6] {
            others.append(try nc.reverseEngineer(model: f.model, label: label, inputs: clean.featureTensor, random: LabRandom(seed: 4)).maskNorm)
        }
        #expect(others.allSatisfy { target.maskNorm < $0 })
        let repaired = try NeuralCleanse.unlearn(model: f.model, triggers: [target], inputs: clean.featureTensor, labels: clean.intLabels,
                                                 configuration: TrainingConfiguration(epochs: 3, batchSize: 20, learningRate: 0.002),
                                                 random: LabRandom(seed: 5))
        let before = BackdoorMetrics.evaluate(f.model, attack: f.attack, test: f.test.subset(Array(100..<200)).examples, classCount: 10)
        let after = BackdoorMetrics.evaluate(repaired, attack: f.attack, test: f.test.subset(Array(100..<200)).examples, classCount: 10)
        #expect(after.attackSuccessRate < before.attackSuccessRate)
        #expect(throws: BackdoorError.self) { try NeuralCleanse(steps: 0).reverseEngineer(model: f.model, label: 0, inputs: clean.featureTensor, random: LabRandom(seed: 1)) }
    }

    @Test("fine-pruning keeps accuracy within the allowed drop and pruned channels stay zero through fine-tuning")
    func finePruning() throws {
        let clean = f.test.subset(Array(0..<100))
        let fp = FinePruning(maximumAccuracyDrop: 0.05)
        let pruned = try fp.prune(model: f.model, cleanInputs: clean.featureTensor, cleanLabels: clean.intLabels)
        #expect(pruned.accuracyAfter >= pruned.accuracyBefore - 0.05)
        #expect(pruned.channelCount == 8 && pruned.prunedChannels.count <= 7)
        let tuned = try FinePruning.fineTune(pruned, inputs: clean.featureTensor, labels: clean.intLabels,
                                             configuration: TrainingConfiguration(epochs: 2, batchSize: 20, learningRate: 0.002),
                                             random: LabRandom(seed: 6))
        let weight = tuned.parameters[0].scalars, bias = tuned.parameters[1].scalars
        for c in pruned.prunedChannels {
            #expect(weight[(c * 9)..<((c + 1) * 9)].allSatisfy { $0 == 0 } && bias[c] == 0)
        }
        #expect(throws: BackdoorError.self) {
            let dense = try Sequential(inputShape: [4], layers: [.dense(inputs: 4, outputs: 2)], random: LabRandom(seed: 1))
            _ = try fp.prune(model: dense, cleanInputs: Tensor(zeros: [1, 4]), cleanLabels: [0])
        }
    }
}
