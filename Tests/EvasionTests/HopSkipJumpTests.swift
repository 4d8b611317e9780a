import Evasion
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import Testing

/// Answers with labels only, and counts every row it is asked about.
final class LabelCounter: LabelAccess, @unchecked Sendable {
    let model: Sequential
    private(set) var rows = 0
    init(_ model: Sequential) { self.model = model }
    var classCount: Int { model.classCount }
    func predictedLabels(for inputs: Tensor) -> [Int] {
        rows += inputs.shape[0]
        return model.predictedLabels(for: inputs)
    }
}

@Suite struct HopSkipJumpTests {
    static let data = patternData(perClass: 20, seed: 51)
    static let model = try! trainedMLP(data.train, epochs: 20, seed: 52)

    @Test("with labels only, every correctly classified input gets an adversarial input, closer with more iterations; queries are counted and bounded")
    func labelsOnly() throws {
        let test = Self.data.test.subset(Array(0..<20))
        let x = test.featureTensor, y = test.intLabels
        let counter = LabelCounter(Self.model)
        let long = HopSkipJump(iterations: 10, initialProbes: 30, maximumProbes: 100, maximumQueries: 3000)
        let result = long.run(x, labels: y, goal: .untargeted, model: counter, random: LabRandom(seed: 53))
        #expect(result.queries.reduce(0, +) == counter.rows)
        #expect(result.queries.allSatisfy { $0 <= 3000 })
        let predicted = Self.model.predictedLabels(for: result.adversarial)
        for i in 0..<y.count where result.success[i] {
            #expect(predicted[i] != y[i], "example \(i) is reported adversarial")
            let d = zip(result.adversarial.scalars[i * 256..<(i + 1) * 256], x.scalars[i * 256..<(i + 1) * 256])
                .reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            #expect(abs(d - result.distances[i]) < 1e-3)
        }
        #expect(result.success.filter { $0 }.count >= 18)
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        // One iteration leaves the inputs farther away than ten.
        let short = HopSkipJump(iterations: 1, initialProbes: 30, maximumProbes: 100, maximumQueries: 3000)
            .run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 53))
        func median(_ v: [Float]) -> Float { let s = v.filter { $0.isFinite }.sorted(); return s[s.count / 2] }
        #expect(median(result.distances) < median(short.distances))
        #expect(result.successRate(within: median(result.distances)) >= 0.5)
    }

    @Test("a budget too small to start leaves the input unchanged and reports no success")
    func budget() {
        let x = Self.data.test.featureTensor.slice(axis: 0, 0..<3), y = Array(Self.data.test.intLabels[0..<3])
        let result = HopSkipJump(iterations: 5, maximumQueries: 1).run(x, labels: y, goal: .untargeted, model: Self.model, random: LabRandom(seed: 54))
        #expect(result.queries.allSatisfy { $0 <= 1 })
        let clean = Self.model.predictedLabels(for: x)
        for i in 0..<3 where clean[i] == y[i] { #expect(!result.success[i]) }
    }
}
