import Evasion
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import Testing

/// Answers with probabilities only, and counts every row it is asked about.
final class CountingModel: ProbabilityAccess, @unchecked Sendable {
    let model: Sequential
    private(set) var rows = 0
    init(_ model: Sequential) { self.model = model }
    var classCount: Int { model.classCount }
    func probabilities(for inputs: Tensor) -> Tensor {
        rows += inputs.shape[0]
        return model.probabilities(for: inputs)
    }
}

@Suite struct SquareAttackTests {
    static let data = patternData(perClass: 20, seed: 31)
    static let model = try! trainedMLP(data.train, epochs: 20, seed: 32)

    @Test("with probabilities only, the attack fools most correctly classified inputs within ε and the budget; queries are counted as the model sees them")
    func blackBoxSuccess() throws {
        let test = Self.data.test
        let x = test.featureTensor, y = test.intLabels
        let counter = CountingModel(Self.model)
        let attack = SquareAttack(epsilon: 0.3, maximumQueries: 300)
        let result = attack.run(x, labels: y, goal: .untargeted, model: counter, random: LabRandom(seed: 33))
        let predicted = Self.model.predictedLabels(for: result.adversarial)
        let clean = Self.model.predictedLabels(for: x)
        let correct = (0..<y.count).filter { clean[$0] == y[$0] }
        let fooled = correct.filter { predicted[$0] != y[$0] }
        #expect(Double(fooled.count) / Double(correct.count) > 0.8, "\(fooled.count) of \(correct.count)")
        // Success means the model now errs, and only then.
        for i in 0..<y.count { #expect(result.success[i] == (predicted[i] != y[i])) }
        // Every query the model answered is counted, and none past the budget.
        #expect(result.queries.reduce(0, +) == counter.rows)
        #expect(result.queries.allSatisfy { $0 >= 1 && $0 <= 300 })
        // Inside the L∞ ball and the input domain.
        let delta = zip(result.adversarial.scalars, x.scalars).map { abs($0 - $1) }
        #expect(delta.max()! <= 0.3 + 1e-6)
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        // A successful example stops costing queries: the fooled ones needed fewer than the budget.
        #expect(fooled.contains { result.queries[$0] < 300 })
    }

    @Test("a smaller budget of queries or of ε fools fewer; the same seed gives the same result")
    func budgets() {
        let x = Self.data.test.featureTensor, y = Self.data.test.intLabels
        func fooled(_ attack: SquareAttack) -> Int {
            attack.run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 34)).success.filter { $0 }.count
        }
        let full = fooled(SquareAttack(epsilon: 0.3, maximumQueries: 300))
        #expect(fooled(SquareAttack(epsilon: 0.3, maximumQueries: 5)) < full)
        #expect(fooled(SquareAttack(epsilon: 0.05, maximumQueries: 300)) < full)
        let a = SquareAttack(epsilon: 0.2, maximumQueries: 50).run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 35))
        let b = SquareAttack(epsilon: 0.2, maximumQueries: 50).run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 35))
        #expect(a.adversarial.scalars == b.adversarial.scalars && a.queries == b.queries)
    }

    @Test("the window shrinks on the paper's schedule")
    func schedule() {
        #expect(SquareAttack.fractionForTesting(0.8, step: 0, of: 10_000) == 0.8)
        #expect(SquareAttack.fractionForTesting(0.8, step: 11, of: 10_000) == 0.4)
        #expect(SquareAttack.fractionForTesting(0.8, step: 600, of: 10_000) == 0.05)
        #expect(SquareAttack.fractionForTesting(0.8, step: 9_000, of: 10_000) == 0.8 / 512)
    }
}
