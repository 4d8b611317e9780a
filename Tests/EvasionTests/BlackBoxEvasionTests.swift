import Evasion
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import Testing

/// Per-example L2 and L∞ distances between two batches of 16×16 images.
private func norms(_ a: Tensor, _ b: Tensor, _ norm: PerturbationNorm) -> [Float] {
    norm.perExample(Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map { $0 - $1 }))
}

@Suite struct SquareAttackL2Tests {
    static let data = patternData(perClass: 20, seed: 61)
    static let model = try! trainedMLP(data.train, epochs: 20, seed: 62)

    @Test("L2 Square: adversarial inputs stay in the ε-ball and the domain, success means the model errs, queries are counted exactly")
    func ballDomainAndQueries() {
        let x = Self.data.test.featureTensor, y = Self.data.test.intLabels
        let counter = CountingModel(Self.model)
        let epsilon: Float = 3
        let result = SquareAttack(norm: .l2, epsilon: epsilon, maximumQueries: 300, initialFraction: 0.3)
            .run(x, labels: y, goal: .untargeted, model: counter, random: LabRandom(seed: 63))
        #expect(result.queries.reduce(0, +) == counter.rows)
        #expect(result.queries.allSatisfy { $0 >= 1 && $0 <= 300 })
        #expect(norms(result.adversarial, x, .l2).allSatisfy { $0 <= epsilon * (1 + 1e-5) })
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let predicted = Self.model.predictedLabels(for: result.adversarial)
        for i in 0..<y.count { #expect(result.success[i] == (predicted[i] != y[i]), "example \(i)") }
        let clean = Self.model.predictedLabels(for: x)
        let correct = (0..<y.count).filter { clean[$0] == y[$0] }
        let fooled = correct.filter { result.success[$0] }
        #expect(Double(fooled.count) / Double(correct.count) > 0.6, "\(fooled.count) of \(correct.count)")
    }

    @Test("L2 Square: a larger ε fools more; the same seed gives the same adversarial inputs")
    func budgetsAndDeterminism() {
        let x = Self.data.test.featureTensor, y = Self.data.test.intLabels
        func run(_ epsilon: Float, seed: UInt64) -> SquareAttack.Result {
            SquareAttack(norm: .l2, epsilon: epsilon, maximumQueries: 150, initialFraction: 0.3)
                .run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: seed))
        }
        let small = run(0.5, seed: 64).success.filter { $0 }.count, large = run(4, seed: 64).success.filter { $0 }.count
        #expect(small < large)
        let a = run(2, seed: 65), b = run(2, seed: 65)
        #expect(a.adversarial.scalars == b.adversarial.scalars && a.queries == b.queries)
    }

    @Test("the L2 window pattern has unit norm, opposite halves, and its largest weight at the centre of each half")
    func pattern() {
        let eta = SquareAttack.windowPattern(rows: 6, cols: 6)
        #expect(abs(eta.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        // The lower half (rows 3–5) is the upper half (rows 0–2) negated, entry by entry.
        for r in 0..<3 { for c in 0..<6 { #expect(eta[(r + 3) * 6 + c] == -eta[r * 6 + c], "row \(r), column \(c)") } }
        #expect(eta[1 * 6 + 3] == eta.max()! && eta[4 * 6 + 3] == eta.min()!)
        #expect(eta[0] > 0 && eta[0] < eta[1 * 6 + 3])
        // A wide window splits along its columns instead.
        let wide = SquareAttack.windowPattern(rows: 3, cols: 8)
        for r in 0..<3 { for c in 0..<4 { #expect(wide[r * 8 + c + 4] == -wide[r * 8 + c]) } }
        #expect(SquareAttack.windowPattern(rows: 1, cols: 1) == [1])
    }
}

@Suite struct HopSkipJumpLinfTests {
    static let data = patternData(perClass: 20, seed: 71)
    static let model = try! trainedMLP(data.train, epochs: 20, seed: 72)

    @Test("L∞ HopSkipJump: successes are misclassified, distances are L∞ and in the domain, queries exact and bounded")
    func laws() {
        let test = Self.data.test.subset(Array(0..<16))
        let x = test.featureTensor, y = test.intLabels
        let counter = LabelCounter(Self.model)
        let result = HopSkipJump(norm: .linf, iterations: 8, initialProbes: 30, maximumProbes: 100, maximumQueries: 2500)
            .run(x, labels: y, goal: .untargeted, model: counter, random: LabRandom(seed: 73))
        #expect(result.norm == .linf)
        #expect(result.queries.reduce(0, +) == counter.rows)
        #expect(result.queries.allSatisfy { $0 <= 2500 })
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let predicted = Self.model.predictedLabels(for: result.adversarial)
        let measured = norms(result.adversarial, x, .linf)
        for i in 0..<y.count where result.success[i] {
            #expect(predicted[i] != y[i], "example \(i) is reported adversarial")
            #expect(abs(measured[i] - result.distances[i]) < 1e-6)
        }
        #expect(result.success.filter { $0 }.count >= 14)
        // The trace is the history of the best distance: it ends at the distance reported.
        for i in 0..<y.count where result.success[i] {
            #expect(result.trace[i].last?.distance == result.distances[i])
            #expect(zip(result.trace[i], result.trace[i].dropFirst()).allSatisfy { $0.queries <= $1.queries && $0.distance > $1.distance })
        }
    }

    @Test("L∞ HopSkipJump: the perturbation shrinks with iterations and with the query budget; the same seed repeats")
    func shrinks() {
        let test = Self.data.test.subset(Array(0..<16))
        let x = test.featureTensor, y = test.intLabels
        func run(_ iterations: Int) -> HopSkipJump.Result {
            HopSkipJump(norm: .linf, iterations: iterations, initialProbes: 30, maximumProbes: 100, maximumQueries: 5000)
                .run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 74))
        }
        func median(_ v: [Float]) -> Float { let s = v.filter { $0.isFinite && $0 > 0 }.sorted(); return s[s.count / 2] }
        let one = run(1), ten = run(10)
        #expect(median(ten.distances) < median(one.distances))
        #expect(median(ten.distances(withinQueries: 5000)) < median(ten.distances(withinQueries: 300)))
        let again = run(10)
        #expect(again.adversarial.scalars == ten.adversarial.scalars && again.queries == ten.queries)
    }
}

@Suite struct BoundaryAttackTests {
    static let data = patternData(perClass: 20, seed: 81)
    static let model = try! trainedMLP(data.train, epochs: 20, seed: 82)

    @Test("Boundary: only misclassified inputs are successes, L2 distances as reported, queries exact and within budget, in the domain")
    func laws() {
        let test = Self.data.test.subset(Array(0..<12))
        let x = test.featureTensor, y = test.intLabels
        let counter = LabelCounter(Self.model)
        let result = BoundaryAttack(maximumQueries: 2000).run(x, labels: y, goal: .untargeted, model: counter, random: LabRandom(seed: 83))
        #expect(result.queries.reduce(0, +) == counter.rows)
        #expect(result.queries.allSatisfy { $0 <= 2000 })
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let predicted = Self.model.predictedLabels(for: result.adversarial)
        let measured = norms(result.adversarial, x, .l2)
        for i in 0..<y.count {
            #expect(result.success[i] == (predicted[i] != y[i]), "example \(i)")
            if result.success[i] { #expect(abs(measured[i] - result.distances[i]) < 1e-4) }
        }
        #expect(result.success.filter { $0 }.count >= 11)
    }

    @Test("Boundary: the walk shortens the distance as queries are spent; the same seed repeats; a tiny budget finds nothing")
    func walk() {
        let test = Self.data.test.subset(Array(0..<8))
        let x = test.featureTensor, y = test.intLabels
        let attack = BoundaryAttack(maximumQueries: 3000)
        let result = attack.run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 84))
        func median(_ v: [Float]) -> Float { let s = v.filter { $0.isFinite && $0 > 0 }.sorted(); return s[s.count / 2] }
        #expect(median(result.distances) < 0.8 * median(result.distances(withinQueries: 200)))
        let again = attack.run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 84))
        #expect(again.adversarial.scalars == result.adversarial.scalars && again.queries == result.queries)
        let tiny = BoundaryAttack(maximumQueries: 1).run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 84))
        let clean = Self.model.predictedLabels(for: x)
        for i in 0..<y.count where clean[i] == y[i] { #expect(!tiny.success[i] && tiny.queries[i] == 1) }
    }
}

@Suite struct TransferAttackTests {
    static let data = patternData(perClass: 40, seed: 91)
    static let victim = try! trainedMLP(data.train, epochs: 20, seed: 92)

    @Test("transfer: a surrogate trained on the victim's labels carries PGD over; success is judged by the victim; queries counted")
    func transfers() throws {
        let attacker = Self.data.test.subset(Array(50..<Self.data.test.count))
        let attacked = Self.data.test.subset(Array(0..<50))
        let x = attacked.featureTensor, y = attacked.intLabels
        let counter = LabelCounter(Self.victim)
        let recipe = SequentialRecipe(inputShape: [1, 16, 16], layers: smallMLP,
                                      configuration: TrainingConfiguration(epochs: 30, batchSize: 16, learningRate: 0.003))
        let (surrogate, bought) = try TransferAttack<ProjectedGradientDescent>.trainSurrogate(
            on: attacker.featureTensor, victim: counter, recipe: recipe, random: LabRandom(seed: 93))
        #expect(bought == attacker.count && counter.rows == attacker.count)
        let pgd = ProjectedGradientDescent(norm: .linf, epsilon: 0.3, stepSize: 0.03, steps: 20)
        let result = TransferAttack(pgd).run(x, labels: y, goal: .untargeted, surrogate: surrogate, victim: counter, random: LabRandom(seed: 94))
        #expect(counter.rows == attacker.count + y.count && result.queries.allSatisfy { $0 == 1 })
        #expect(norms(result.adversarial, x, .linf).allSatisfy { $0 <= 0.3 + 1e-6 })
        let predicted = Self.victim.predictedLabels(for: result.adversarial)
        for i in 0..<y.count { #expect(result.success[i] == (predicted[i] != y[i])) }
        #expect(Double(result.success.filter { $0 }.count) / Double(y.count) > 0.5)
        // A weaker budget transfers less.
        let weak = TransferAttack(pgd.withEpsilon(0.02)).run(x, labels: y, goal: .untargeted, surrogate: surrogate, victim: Self.victim,
                                                              random: LabRandom(seed: 94))
        #expect(weak.success.filter { $0 }.count < result.success.filter { $0 }.count)
    }
}
