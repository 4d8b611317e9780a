import Foundation
import Testing
import LabRandom
import MembershipInference
import AttackMetrics
import ModelAccess
import NeuralNetworks
import Tensors
import ThreatTraining

@Suite("Shadow-model and label-only attacks")
struct OtherAttackTests {
    @Test("per-class shadow attack models learn that confident predictions are members", arguments: [
        ShadowModelAttack.Features.probabilities, .logProbabilities,
    ])
    func shadowModels(features: ShadowModelAttack.Features) throws {
        var r = LabRandom(seed: 41)
        let classes = 3, m = 240, n = 120, k = 4
        // A model's logits: the true class gets margin 5 + noise when the example is IN, 1 + noise when OUT.
        func logits(labels: [Int], isIn: (Int) -> Bool) -> Tensor {
            var values = [Float](repeating: 0, count: labels.count * classes)
            for i in labels.indices {
                for j in 0..<classes { values[i * classes + j] = Float(0.3 * r.nextNormal()) }
                values[i * classes + labels[i]] += Float((isIn(i) ? 5 : 1) + 0.7 * r.nextNormal())
            }
            return Tensor(shape: [labels.count, classes], scalars: values)
        }
        let shadowLabels = (0..<m).map { $0 % classes }
        let bits = (0..<(k * m)).map { _ in r.nextBernoulli(0.5) }
        let shadowLogits = (0..<k).map { model in logits(labels: shadowLabels) { bits[model * m + $0] } }
        let labels = (0..<n).map { ($0 / 2) % classes }
        let isMember = (0..<n).map { $0 % 2 == 0 }
        let target = logits(labels: labels) { isMember[$0] }
        let options = ShadowModelAttack.Options(features: features, hiddenUnits: 16, epochs: 30)
        let membership = MembershipMatrix(modelCount: k, exampleCount: m, bits: bits)
        let scores = try ShadowModelAttack.scores(targetLogits: target, labels: labels, shadowLogits: shadowLogits,
                                                  shadowLabels: shadowLabels, shadowMembership: membership, options: options,
                                                  trainer: ShadowModelAttack.NetworkTrainer(), random: LabRandom(seed: 42))
        #expect(try ROCCurve(scores: scores, isMember: isMember).auc > 0.9)
        let again = try ShadowModelAttack.scores(targetLogits: target, labels: labels, shadowLogits: shadowLogits,
                                                 shadowLabels: shadowLabels, shadowMembership: membership, options: options,
                                                 trainer: ShadowModelAttack.NetworkTrainer(), random: LabRandom(seed: 42))
        #expect(again == scores)
    }

    @Test("label-only scores measure robustness to noise and are deterministic for a stream")
    func labelOnly() throws {
        // Members sit far from the boundary x₀ = 0, non-members close to it; all correctly labelled.
        let n = 100
        var features: [Float] = [], labels: [Int] = [], isMember: [Bool] = []
        for i in 0..<n {
            let member = i % 2 == 0
            let distance: Float = member ? 1.5 + Float(i % 7) * 0.1 : 0.05 + Float(i % 7) * 0.03
            let label = (i / 2) % 2
            features += [label == 1 ? distance : -distance, 0]
            labels.append(label); isMember.append(member)
        }
        let inputs = Tensor(shape: [n, 2], scalars: features)
        let options = LabelOnlyAttack.Options(perturbations: 40, noiseStandardDeviation: 0.5)
        let scores = try LabelOnlyAttack.scores(model: SignModel(), inputs: inputs, labels: labels, options: options,
                                                random: LabRandom(seed: 43))
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(try ROCCurve(scores: scores, isMember: isMember).auc > 0.95)
        #expect(try LabelOnlyAttack.scores(model: SignModel(), inputs: inputs, labels: labels, options: options,
                                           random: LabRandom(seed: 43)) == scores)
        // Without noise every correctly classified example scores 1.
        let clean = try LabelOnlyAttack.scores(model: SignModel(), inputs: inputs, labels: labels,
                                               options: .init(perturbations: 0), random: LabRandom(seed: 1))
        #expect(clean.allSatisfy { $0 == 1 })
    }

    @Test("query augmentations flip and shift images")
    func augmentations() throws {
        let image = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(try QueryAugmentation.horizontalFlip.apply(image).scalars == [3, 2, 1, 6, 5, 4])
        #expect(try QueryAugmentation.shift(dx: 1, dy: 0).apply(image).scalars == [0, 1, 2, 0, 4, 5])
        #expect(try QueryAugmentation.shift(dx: 0, dy: -1).apply(image).scalars == [4, 5, 6, 0, 0, 0])
        #expect(throws: MembershipInferenceError.self) { try QueryAugmentation.horizontalFlip.apply(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])) }
    }
}

@Suite("Model access")
struct ModelAccessTests {
    @Test("Sequential's input gradients equal finite differences of its per-example losses")
    func inputGradients() throws {
        let model = try Sequential(inputShape: [4], layers: [.dense(inputs: 4, outputs: 6), .tanh, .dense(inputs: 6, outputs: 3)],
                                   random: LabRandom(seed: 51))
        var r = LabRandom(seed: 52)
        let x = Tensor(shape: [5, 4]) { r.fillNormal($0, mean: 0, standardDeviation: 1) }
        let labels = [0, 1, 2, 1, 0]
        let g = model.inputGradients(for: x, labels: labels).scalars
        let h: Float = 1e-2
        for index in 0..<x.scalarCount {
            var plus = x.scalars, minus = x.scalars
            plus[index] += h; minus[index] -= h
            let row = index / 4
            let lp = model.losses(for: Tensor(shape: [5, 4], scalars: plus), labels: labels)[row]
            let lm = model.losses(for: Tensor(shape: [5, 4], scalars: minus), labels: labels)[row]
            #expect(abs((lp - lm) / (2 * h) - g[index]) < 2e-3)
        }
    }

    @Test("a logits-only model gets probabilities, labels and losses from the protocol defaults")
    func defaults() {
        struct LossyTable: LogitAccess, LossAccess { let inner: TableModel; var classCount: Int { inner.classCount }
            func logits(for inputs: Tensor) -> Tensor { inner.logits(for: inputs) } }
        let model = LossyTable(inner: TableModel(table: [[2, 0, 0], [0, 0, 3]]))
        let x = Tensor(shape: [2, 1], scalars: [0, 1])
        let p = model.probabilities(for: x).scalars
        #expect(abs(p[0] + p[1] + p[2] - 1) < 1e-6 && abs(p[3] + p[4] + p[5] - 1) < 1e-6)
        #expect(model.predictedLabels(for: x) == [0, 2])
        let losses = model.losses(for: x, labels: [0, 0])
        #expect(abs(Double(losses[0]) - (-log(Double(p[0])))) < 1e-5)
        #expect(losses[1] > losses[0])
    }

    @Test("a SequentialRecipe gives bit-identical models for the same stream, different for another")
    func recipe() throws {
        let recipe = SequentialRecipe(inputShape: [3], layers: [.dense(inputs: 3, outputs: 4), .relu, .dense(inputs: 4, outputs: 2)],
                                      configuration: TrainingConfiguration(epochs: 3, batchSize: 4, learningRate: 0.01))
        var r = LabRandom(seed: 53)
        let x = Tensor(shape: [12, 3]) { r.fillNormal($0, mean: 0, standardDeviation: 1) }
        let labels = (0..<12).map { $0 % 2 }
        let a = try recipe.train(inputs: x, labels: labels, random: LabRandom(seed: 9).stream("reference/0"))
        let b = try recipe.train(inputs: x, labels: labels, random: LabRandom(seed: 9).stream("reference/0"))
        let c = try recipe.train(inputs: x, labels: labels, random: LabRandom(seed: 9).stream("reference/1"))
        #expect(a.parameters.map(\.scalars) == b.parameters.map(\.scalars))
        #expect(a.parameters.map(\.scalars) != c.parameters.map(\.scalars))
    }
}
