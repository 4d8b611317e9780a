import Datasets
import Evasion
import Foundation
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import ThreatTraining
import Testing
import TestSupport

/// A model that answers fixed logits per input row index encoded in the first feature, so the
/// metrics can be checked against hand-counted answers.
struct TableModel: LogitGradientAccess {
    let classCount = 3
    /// Predicted class for inputs whose first feature is < 0.5 and ≥ 0.5.
    func logits(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], d = inputs.shape[1]
        let x = inputs.scalars
        var z = [Float](repeating: 0, count: n * 3)
        for i in 0..<n {
            // class = Int(first feature * 3) clamped: 0 for [0, 1/3), 1 for [1/3, 2/3), 2 above.
            let c = min(2, max(0, Int(x[i * d] * 3)))
            z[i * 3 + c] = 5
        }
        return Tensor(shape: [n, 3], scalars: z)
    }

    /// The gradient pushes the first feature up (the "attack" moves class 0 → 1 → 2).
    func logitsAndInputGradients(for inputs: Tensor, lossGradient: (Tensor) -> Tensor) -> (logits: Tensor, inputGradients: Tensor) {
        let z = logits(for: inputs)
        _ = lossGradient(z)
        let n = inputs.shape[0], d = inputs.shape[1]
        var g = [Float](repeating: 0, count: n * d)
        for i in 0..<n { g[i * d] = 1 }
        return (z, Tensor(shape: inputs.shape, scalars: g))
    }
}

@Suite struct RobustnessMetricTests {
    /// Hand-counted metrics: inputs with first feature 0.1, 0.3, 0.5, 0.9 (classes 0, 0, 1, 2);
    /// labels 0, 1, 1, 2; FGSM with ε = 0.25 moves the first feature up by 0.25 → 0.35, 0.55,
    /// 0.75, 1.0 (classes 1, 1, 2, 2).
    @Test func handCountedDefinitions() {
        let x = Tensor(shape: [4, 2], scalars: [0.1, 0, 0.3, 0, 0.5, 0, 0.9, 0])
        let labels = [0, 1, 1, 2]
        let result = evaluateRobustness(of: TableModel(), against: FastGradientMethod(epsilon: 0.25), inputs: x, labels: labels,
                                        batchSize: 3, random: LabRandom(seed: 0))
        #expect(result.cleanCorrect == [true, false, true, true])
        #expect(result.adversarialCorrect == [false, true, false, true])
        #expect(result.success == [true, true, true, false])
        #expect(result.cleanAccuracy == 0.75)
        #expect(result.adversarialAccuracy == 0.5)
        // Example 1 is correct only after the attack: it does not count as robust.
        #expect(result.robustAccuracy == 0.25)
        // Of the three initially correct inputs, two were fooled.
        #expect(abs(result.foolingRate - 2.0 / 3) < 1e-12)
        // Both fooled inputs moved by 0.25 in L∞.
        #expect(abs(result.meanPerturbationNorm - 0.25) < 1e-6)
        // The last input is clipped at 1: it moved by 0.1.
        #expect(abs(result.meanPerturbationNormAll - (0.25 * 3 + 0.1) / 4) < 1e-6)
    }

    /// The curve gives one result and success mask per ε; at ε = 0 robust accuracy is the clean
    /// accuracy, and the masks agree with single evaluations.
    @Test func curveAgreesWithSingleEvaluations() {
        let x = Tensor(shape: [4, 2], scalars: [0.1, 0, 0.3, 0, 0.5, 0, 0.9, 0])
        let labels = [0, 1, 1, 2]
        let curve = robustnessCurve(of: TableModel(), against: FastGradientMethod(epsilon: 1), epsilons: [0, 0.1, 0.25],
                                    inputs: x, labels: labels, random: LabRandom(seed: 0))
        #expect(curve.epsilons == [0, 0.1, 0.25])
        #expect(curve.successMasks.count == 3 && curve.successMasks.allSatisfy { $0.count == 4 })
        #expect(curve.robustAccuracies[0] == 0.75)
        #expect(curve.successMasks[0] == [false, true, false, false])
        #expect(curve.robustAccuracies[2] == 0.25)
        for (index, result) in curve.results.enumerated() { #expect(abs(result.robustAccuracy - (1 - Double(curve.successMasks[index].filter { $0 }.count) / 4)) < 1e-12) }
    }
}

@Suite(.serialized) struct TrainedModelTests {
    /// On a trained network: PGD is at least as strong as FGSM at the same ε, robust accuracy
    /// falls as ε grows, and the attacked inputs respect the budget.
    @Test func pgdBeatsFGSMAndCurveFalls() throws {
        let (train, test) = patternData(perClass: 40, seed: 1)
        let model = try trainedMLP(train)
        let x = test.featureTensor, y = test.intLabels
        let clean = evaluateRobustness(of: model, against: FastGradientMethod(epsilon: 0), inputs: x, labels: y, random: LabRandom(seed: 0))
        #expect(clean.cleanAccuracy > 0.9)
        let fgsm = evaluateRobustness(of: model, against: FastGradientMethod(epsilon: 0.1), inputs: x, labels: y, random: LabRandom(seed: 0))
        let pgd = evaluateRobustness(of: model, against: ProjectedGradientDescent(epsilon: 0.1, stepSize: 0.01, steps: 20),
                                     inputs: x, labels: y, random: LabRandom(seed: 0))
        #expect(pgd.robustAccuracy <= fgsm.robustAccuracy)
        #expect(pgd.robustAccuracy < clean.cleanAccuracy - 0.3)
        #expect(pgd.perturbationNorms.allSatisfy { $0 <= 0.1 + 1e-6 })
        let curve = robustnessCurve(of: model, against: ProjectedGradientDescent(epsilon: 0, stepSize: 0.01, steps: 10),
                                    epsilons: [0, 0.02, 0.05, 0.1], inputs: x, labels: y, random: LabRandom(seed: 0))
        for k in 1..<curve.results.count { #expect(curve.robustAccuracies[k] <= curve.robustAccuracies[k - 1]) }
        #expect(curve.robustAccuracies[0] == clean.cleanAccuracy)
    }

    /// Madry's defence: an adversarially trained model keeps far more robust accuracy under PGD
    /// than the same network trained normally.
    @Test func adversarialTrainingRaisesRobustAccuracy() throws {
        let (train, test) = patternData(perClass: 40, seed: 2)
        let standard = try trainedMLP(train)
        var robust = try Sequential(inputShape: [1, 16, 16], layers: smallMLP, random: LabRandom(seed: 3).stream("init"))
        let trainingAttack = ProjectedGradientDescent(epsilon: 0.1, stepSize: 0.03, steps: 5, randomStart: true)
        _ = try AdversarialTraining(attack: trainingAttack).train(
            &robust, inputs: train.featureTensor, labels: train.intLabels,
            configuration: TrainingConfiguration(epochs: 20, batchSize: 32, learningRate: 0.003), random: LabRandom(seed: 3).stream("train"))
        let attack = ProjectedGradientDescent(epsilon: 0.1, stepSize: 0.01, steps: 30, randomStart: true)
        let x = test.featureTensor, y = test.intLabels
        let a = evaluateRobustness(of: standard, against: attack, inputs: x, labels: y, random: LabRandom(seed: 4))
        let b = evaluateRobustness(of: robust, against: attack, inputs: x, labels: y, random: LabRandom(seed: 4))
        #expect(b.robustAccuracy > a.robustAccuracy + 0.2, "standard \(a.robustAccuracy), adversarially trained \(b.robustAccuracy)")
        #expect(b.cleanAccuracy > 0.8)
    }

    /// Carlini & Wagner's evaluation of defensive distillation: attacking the deployed (T = 1)
    /// softmax cross-entropy stalls on vanishing gradients, attacking the logits (margin) or the
    /// cross-entropy at the training temperature does not.
    @Test func distillationMasksGradientsOnlyForTheUntemperedLoss() throws {
        let (train, test) = patternData(perClass: 40, seed: 5)
        let temperature: Float = 50
        let (_, student) = try DefensiveDistillation(temperature: temperature).train(
            inputShape: [1, 16, 16], layers: smallMLP, inputs: train.featureTensor, labels: train.intLabels,
            configuration: TrainingConfiguration(epochs: 40, batchSize: 32, learningRate: 0.01), random: LabRandom(seed: 6))
        let x = test.featureTensor, y = test.intLabels
        // The premise: most deployed cross-entropy gradients are exactly zero.
        let masked = AttackLoss.crossEntropy.objective(logits: student.logits(for: x), labels: y, goal: .untargeted)
            .gradient.scalars.chunks(of: 10).filter { $0.allSatisfy { $0 == 0 } }.count
        #expect(masked > x.shape[0] / 2, "\(masked) of \(x.shape[0]) inputs have a zero gradient")
        let pgd = ProjectedGradientDescent(epsilon: 0.15, stepSize: 0.01, steps: 30)
        var plainAttack = pgd; plainAttack.loss = .crossEntropy
        var marginAttack = pgd; marginAttack.loss = .margin
        var temperedAttack = pgd; temperedAttack.loss = .crossEntropy(temperature: temperature)
        let plain = evaluateRobustness(of: student, against: plainAttack, inputs: x, labels: y, random: LabRandom(seed: 7))
        let margin = evaluateRobustness(of: student, against: marginAttack, inputs: x, labels: y, random: LabRandom(seed: 7))
        let tempered = evaluateRobustness(of: student, against: temperedAttack, inputs: x, labels: y, random: LabRandom(seed: 7))
        #expect(plain.cleanAccuracy > 0.9)
        #expect(plain.robustAccuracy > 0.5, "T=1 CE \(plain.robustAccuracy)")
        #expect(margin.robustAccuracy < plain.robustAccuracy - 0.3, "T=1 CE \(plain.robustAccuracy), margin \(margin.robustAccuracy)")
        #expect(tempered.robustAccuracy < plain.robustAccuracy - 0.3, "T=1 CE \(plain.robustAccuracy), CE at T \(tempered.robustAccuracy)")
    }
}

/// An attack that records the budget of every call (and returns its input unchanged), to observe
/// the ε schedule adversarial training follows.
final class BudgetRecorder: @unchecked Sendable {
    private let values = Locked([Float]())
    func record(_ epsilon: Float) { values.withLock { $0.append(epsilon) } }
    var budgets: [Float] { values.withLock { $0 } }
}

struct RecordingAttack: EvasionAttack {
    let norm = PerturbationNorm.linf
    let epsilon: Float
    let recorder: BudgetRecorder
    func withEpsilon(_ epsilon: Float) -> RecordingAttack { RecordingAttack(epsilon: epsilon, recorder: recorder) }
    func perturb<M: LogitGradientAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Tensor {
        recorder.record(epsilon)
        return inputs.detached()
    }
}

@Suite struct AdversarialTrainingWarmupTests {
    /// ε_t = ε·min(1, (t + 1)/(W·B)): linear from ε/(W·B) to ε over W epochs of B steps, then ε.
    @Test func theBudgetRampsLinearlyThenStays() {
        let training = AdversarialTraining(attack: ProjectedGradientDescent(epsilon: 0.3, stepSize: 0.05, steps: 3),
                                           epsilonWarmupEpochs: 2)
        #expect(abs(training.epsilon(atStep: 0, batchesPerEpoch: 10) - 0.015) < 1e-6)
        #expect(abs(training.epsilon(atStep: 9, batchesPerEpoch: 10) - 0.15) < 1e-6)
        #expect(training.epsilon(atStep: 19, batchesPerEpoch: 10) == 0.3)
        #expect(training.epsilon(atStep: 500, batchesPerEpoch: 10) == 0.3)
        let none = AdversarialTraining(attack: ProjectedGradientDescent(epsilon: 0.3, stepSize: 0.05, steps: 3))
        #expect(none.epsilon(atStep: 0, batchesPerEpoch: 10) == 0.3)
    }

    /// Training calls the attack once per mini-batch with the ramped budget: 5 batches per epoch
    /// (150 examples, batch 32, last batch kept), a warm-up of 1.5 epochs = 7.5 steps.
    @Test func trainingAttacksWithTheRampedBudget() throws {
        let (train, _) = patternData(perClass: 20, seed: 8)
        let recorder = BudgetRecorder()
        var model = try Sequential(inputShape: [1, 16, 16], layers: smallMLP, random: LabRandom(seed: 9).stream("init"))
        _ = try AdversarialTraining(attack: RecordingAttack(epsilon: 0.3, recorder: recorder), epsilonWarmupEpochs: 1.5).train(
            &model, inputs: train.featureTensor, labels: train.intLabels,
            configuration: TrainingConfiguration(epochs: 3, batchSize: 32, learningRate: 0.003), random: LabRandom(seed: 9))
        let budgets = recorder.budgets
        #expect(train.count == 150)
        #expect(budgets.count == 15)
        for (t, budget) in budgets.enumerated() {
            #expect(abs(budget - 0.3 * Float(min(1, Double(t + 1) / 7.5))) < 1e-6, "step \(t): \(budget)")
        }
        #expect(budgets[7] == 0.3 && budgets[6] < 0.3)
    }
}
