import Foundation
import LabRandom
import ModelAccess
import ModelExtraction
import NeuralNetworks
import Tensors
import Testing

/// A victim that answers with probabilities rounded to `digits` decimals (an output-hardening defence).
struct Rounded<Base: ProbabilityAccess>: ProbabilityAccess {
    let base: Base
    let digits: Int
    var classCount: Int { base.classCount }
    func probabilities(for inputs: Tensor) -> Tensor {
        let p = base.probabilities(for: inputs), scale = Float(pow(10.0, Double(digits)))
        return Tensor(shape: p.shape, scalars: p.scalars.map { ($0 * scale).rounded() / scale })
    }
}

@Suite("Equation-solving extraction")
struct EquationSolvingExtractionTests {
    static let features = 12, classes = 4

    /// A softmax regression trained in the lab: one dense layer on a Gaussian mixture.
    static let victim: Sequential = {
        var r = LabRandom(seed: 40).stream("data")
        let n = 400
        let labels = (0..<n).map { $0 % classes }
        let x = (0..<n * features).map { i in Float(r.nextNormal()) * 0.3 + (i % features == labels[i / features] ? 1 : 0) }
        var model = try! Sequential(inputShape: [features], layers: [.dense(inputs: features, outputs: classes)], random: LabRandom(seed: 41))
        _ = try! model.train(inputs: Tensor(shape: [n, features], scalars: x), labels: labels,
                             configuration: TrainingConfiguration(epochs: 30, batchSize: 32, learningRate: 0.05), random: LabRandom(seed: 42))
        return model
    }()

    static func probe(_ n: Int, seed: UInt64) -> Tensor {
        var r = LabRandom(seed: seed).stream("probe")
        return Tensor(shape: [n, features], scalars: (0..<n * features).map { _ in Float(r.nextNormal()) })
    }

    @Test("features + 1 queries steal the model: every answer agrees and probabilities match to 1e-4, also off the query range")
    func stealsTheModel() throws {
        let stolen = try EquationSolvingExtraction(queries: Self.features + 1).extract(Self.victim, features: Self.features, random: LabRandom(seed: 43))
        let x = Self.probe(2000, seed: 44)
        #expect(stolen.predictedLabels(for: x) == Self.victim.predictedLabels(for: x))
        let gap = zip(stolen.probabilities(for: x).scalars, Self.victim.probabilities(for: x).scalars).map { abs($0 - $1) }.max()!
        #expect(gap < 1e-4, "largest probability gap \(gap)")
        // Up to the softmax's invariance: differences of the stolen weights equal the victim's.
        let w = Self.victim.parameters[0].scalars
        for k in 1..<Self.classes {
            for j in 0..<Self.features {
                let truth = Double(w[k * Self.features + j] - w[j])
                #expect(abs(stolen.weights[k * Self.features + j] - stolen.weights[j] - truth) < 1e-3)
            }
        }
    }

    @Test("hardened answers defeat it: label-only or coarsely rounded probabilities are refused, finely rounded ones lose fidelity")
    func hardening() throws {
        let attack = EquationSolvingExtraction(queries: 4 * (Self.features + 1))
        #expect(throws: EquationSolvingExtraction.ExtractionError.self) {
            try attack.extract(Rounded(base: Self.victim, digits: 0), features: Self.features, random: LabRandom(seed: 45))
        }
        #expect(throws: EquationSolvingExtraction.ExtractionError.tooFewQueries(needed: 13, got: 5)) {
            try EquationSolvingExtraction(queries: 5).extract(Self.victim, features: Self.features, random: LabRandom(seed: 46))
        }
        // Rounded to 3 decimals: still solvable where no probability rounds to 0, but less exact.
        let exact = try attack.extract(Self.victim, features: Self.features, random: LabRandom(seed: 47))
        if let rounded = try? attack.extract(Rounded(base: Self.victim, digits: 3), features: Self.features, random: LabRandom(seed: 47)) {
            let x = Self.probe(500, seed: 48)
            func gap(_ m: LinearModel) -> Float {
                zip(m.probabilities(for: x).scalars, Self.victim.probabilities(for: x).scalars).map { abs($0 - $1) }.max()!
            }
            #expect(gap(rounded) > gap(exact))
        }
    }
}
