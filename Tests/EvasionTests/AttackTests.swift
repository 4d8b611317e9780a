import Evasion
import Foundation
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import Testing

@Suite struct AttackLossTests {
    /// The closed-form logit gradients match central finite differences of the objective values,
    /// for every loss and goal, over random logits.
    @Test(arguments: [AttackLoss.crossEntropy, .crossEntropy(temperature: 7), .margin])
    func gradientMatchesFiniteDifferences(loss: AttackLoss) {
        var random = LabRandom(seed: 11)
        let (n, c) = (6, 5)
        let z = Tensor(shape: [n, c]) { random.fillNormal($0, mean: 0, standardDeviation: 3) }
        let labels = (0..<n).map { $0 % c }
        for goal in [AttackGoal.untargeted, .nextClass(of: labels, classCount: c)] {
            let (_, gradient) = loss.objective(logits: z, labels: labels, goal: goal)
            let h: Float = 1e-2
            var values = z.scalars
            for index in 0..<(n * c) {
                let saved = values[index]
                values[index] = saved + h
                let up = loss.objective(logits: Tensor(shape: [n, c], scalars: values), labels: labels, goal: goal).values
                values[index] = saved - h
                let down = loss.objective(logits: Tensor(shape: [n, c], scalars: values), labels: labels, goal: goal).values
                values[index] = saved
                let numeric = (up[index / c] - down[index / c]) / (2 * h)
                #expect(abs(numeric - gradient.scalars[index]) < 2e-2, "\(loss) \(goal) entry \(index)")
            }
        }
    }

    /// A targeted objective is the negated loss of the target: maximising it lowers that loss.
    @Test func targetedCrossEntropyIsNegatedLossOfTarget() {
        let z = Tensor(shape: [1, 3], scalars: [2, 0, -1])
        let untargetedOfTarget = AttackLoss.crossEntropy.objective(logits: z, labels: [2], goal: .untargeted).values[0]
        let targeted = AttackLoss.crossEntropy.objective(logits: z, labels: [0], goal: .targeted([2])).values[0]
        #expect(abs(targeted + untargetedOfTarget) < 1e-6)
        #expect(untargetedOfTarget > 0)
    }

    /// At T = 1 the cross-entropy gradient of a saturated softmax is exactly zero in Float32, but
    /// the margin's and the tempered cross-entropy's are not (why distillation masks gradients).
    @Test func saturatedLogitsMaskOnlyTheUntemperedCrossEntropy() {
        let z = Tensor(shape: [1, 3], scalars: [400, 0, -300])
        let plain = AttackLoss.crossEntropy.objective(logits: z, labels: [0], goal: .untargeted).gradient.scalars
        #expect(plain.allSatisfy { $0 == 0 })
        let tempered = AttackLoss.crossEntropy(temperature: 100).objective(logits: z, labels: [0], goal: .untargeted).gradient.scalars
        #expect(tempered.contains { $0 != 0 })
        let margin = AttackLoss.margin.objective(logits: z, labels: [0], goal: .untargeted).gradient.scalars
        #expect(margin == [-1, 1, 0])
    }
}

@Suite struct LogitGradientAccessTests {
    /// The law of the protocol: with the cotangent softmax(z) − onehot(y), the pullback equals the
    /// model's own cross-entropy input gradient.
    @Test func sequentialPullbackOfCrossEntropyEqualsInputGradients() throws {
        let model = try Sequential(inputShape: [1, 16, 16], layers: smallMLP, random: LabRandom(seed: 1))
        var random = LabRandom(seed: 2)
        let x = Tensor(shape: [4, 1, 16, 16]) { random.fillUniform($0, low: 0, high: 1) }
        let labels = [0, 3, 7, 9]
        let expected = model.inputGradients(for: x, labels: labels).scalars
        let (logits, got) = model.logitsAndInputGradients(for: x) { z in
            withoutGradients { z.softmax() - Tensor.oneHot(labels, classCount: 10) }
        }
        #expect(logits.scalars == model.logits(for: x).scalars)
        for (a, b) in zip(expected, got.scalars) { #expect(abs(a - b) <= 1e-5 * max(1, abs(a))) }
    }
}

@Suite struct FastGradientMethodTests {
    /// Known answer on a linear model: x′ = clip(x + ε·sign(Wᵀ(softmax(z) − e_y))).
    @Test func linfStepIsSignOfLossGradientClipped() {
        var random = LabRandom(seed: 5)
        let model = LinearStub(classes: 4, features: 12, random: &random)
        let x = uniformInputs(8, 12, random: &random)
        let labels = (0..<8).map { $0 % 4 }
        let epsilon: Float = 0.1
        let xAdv = FastGradientMethod(epsilon: epsilon).perturb(x, labels: labels, goal: .untargeted, model: model, random: random)
        let z = model.logits(for: x).scalars
        let xs = x.scalars, adv = xAdv.scalars
        for i in 0..<8 {
            let row = Array(z[(i * 4)..<(i * 4 + 4)])
            let m = row.max()!
            let e = row.map { expf($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<12 {
                var g: Float = 0
                for c in 0..<4 { g += (e[c] / s - (c == labels[i] ? 1 : 0)) * model.weight[c * 12 + j] }
                let sign: Float = g > 0 ? 1 : (g < 0 ? -1 : 0)
                let expected = min(1, max(0, xs[i * 12 + j] + epsilon * sign))
                #expect(abs(adv[i * 12 + j] - expected) < 1e-6)
            }
        }
    }

    /// The L2 variant moves each input by exactly ε along the normalised gradient when no
    /// clipping binds.
    @Test func l2StepHasNormEpsilonInsideTheDomain() {
        var random = LabRandom(seed: 6)
        let model = LinearStub(classes: 3, features: 10, random: &random)
        let x = Tensor(repeating: 0.5, shape: [5, 10])
        let xAdv = FastGradientMethod(norm: .l2, epsilon: 0.2, domain: .unbounded)
            .perturb(x, labels: [0, 1, 2, 0, 1], goal: .untargeted, model: model, random: random)
        for norm in PerturbationNorm.l2.perExample(xAdv - x) { #expect(abs(norm - 0.2) < 1e-5) }
    }

    /// FGSM raises the loss of a linear model (the loss is convex and the step follows its
    /// gradient's sign, so a small step increases it).
    @Test func smallStepRaisesTheLoss() {
        var random = LabRandom(seed: 7)
        let model = LinearStub(classes: 5, features: 20, random: &random)
        let x = uniformInputs(16, 20, random: &random)
        let labels = (0..<16).map { $0 % 5 }
        let xAdv = FastGradientMethod(epsilon: 0.001, domain: .unbounded).perturb(x, labels: labels, goal: .untargeted, model: model, random: random)
        let before = AttackLoss.crossEntropy.objective(logits: model.logits(for: x), labels: labels, goal: .untargeted).values
        let after = AttackLoss.crossEntropy.objective(logits: model.logits(for: xAdv), labels: labels, goal: .untargeted).values
        for (a, b) in zip(before, after) { #expect(b > a) }
    }
}

@Suite struct ProjectedGradientDescentTests {
    /// Laws over random inputs, norms, goals and starts: the result lies in the ε-ball and in the
    /// domain; ε = 0 returns the input.
    @Test(arguments: [PerturbationNorm.linf, .l2])
    func staysInBallAndDomain(norm: PerturbationNorm) {
        var random = LabRandom(seed: 8)
        let model = LinearStub(classes: 4, features: 30, random: &random)
        for trial in 0..<6 {
            let x = uniformInputs(10, 30, random: &random)
            let labels = (0..<10).map { ($0 + trial) % 4 }
            let epsilon: Float = norm == .linf ? 0.05 * Float(trial + 1) : 0.4 * Float(trial + 1)
            let goal: AttackGoal = trial % 2 == 0 ? .untargeted : .nextClass(of: labels, classCount: 4)
            let attack = ProjectedGradientDescent(norm: norm, epsilon: epsilon, stepSize: epsilon / 3, steps: 7,
                                                  randomStart: trial % 3 != 0, loss: trial % 2 == 0 ? .crossEntropy : .margin)
            let xAdv = attack.perturb(x, labels: labels, goal: goal, model: model, random: random.stream("\(trial)"))
            #expect(xAdv.shape == x.shape)
            for value in norm.perExample(xAdv - x) { #expect(value <= epsilon * (1 + 1e-5) + 1e-6) }
            #expect(xAdv.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
            let none = attack.withEpsilon(0).perturb(x, labels: labels, goal: goal, model: model, random: random)
            #expect(none.scalars == x.scalars)
        }
    }

    /// Without a random start PGD is deterministic; with one it depends only on the stream.
    @Test func randomStartIsReproducible() {
        var random = LabRandom(seed: 9)
        let model = LinearStub(classes: 3, features: 8, random: &random)
        let x = uniformInputs(4, 8, random: &random)
        let attack = ProjectedGradientDescent(epsilon: 0.1, stepSize: 0.01, steps: 3, randomStart: true)
        let a = attack.perturb(x, labels: [0, 1, 2, 0], goal: .untargeted, model: model, random: LabRandom(seed: 1))
        let b = attack.perturb(x, labels: [0, 1, 2, 0], goal: .untargeted, model: model, random: LabRandom(seed: 1))
        let c = attack.perturb(x, labels: [0, 1, 2, 0], goal: .untargeted, model: model, random: LabRandom(seed: 2))
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != c.scalars)
    }

    /// One PGD step of size ε from x (no random start) is FGSM.
    @Test func oneFullStepEqualsFGSM() {
        var random = LabRandom(seed: 10)
        let model = LinearStub(classes: 4, features: 16, random: &random)
        let x = uniformInputs(6, 16, random: &random)
        let labels = [0, 1, 2, 3, 0, 1]
        for norm in PerturbationNorm.allCases {
            let pgd = ProjectedGradientDescent(norm: norm, epsilon: 0.2, stepSize: 0.2, steps: 1)
                .perturb(x, labels: labels, goal: .untargeted, model: model, random: random)
            let fgsm = FastGradientMethod(norm: norm, epsilon: 0.2).perturb(x, labels: labels, goal: .untargeted, model: model, random: random)
            #expect(pgd.scalars == fgsm.scalars)
        }
    }

    /// A targeted attack with a large enough budget reaches its target on a linear model.
    @Test func targetedAttackReachesTarget() {
        var random = LabRandom(seed: 12)
        let model = LinearStub(classes: 4, features: 20, random: &random)
        let x = uniformInputs(12, 20, random: &random)
        let labels = model.predictedLabels(for: x)
        let goal = AttackGoal.nextClass(of: labels, classCount: 4)
        let attack = ProjectedGradientDescent(epsilon: 5, stepSize: 0.25, steps: 60, domain: .unbounded)
        let predicted = model.predictedLabels(for: attack.perturb(x, labels: labels, goal: goal, model: model, random: random))
        #expect(predicted == labels.map { ($0 + 1) % 4 })
    }
}
