import Datasets
import LabRandom
import ModelAccess
import ModelInversion
import NeuralNetworks
import Tensors
import Testing

@Suite("MI-Face")
struct MIFaceTests {
    @Test("reconstructions of a trained softmax regression raise the target's confidence and resemble its class mean")
    func reconstructsClasses() throws {
        let data = Fixtures.patterns(perClass: 20, classes: 4, side: 12, seed: 5)
        var model = try Sequential(inputShape: data.sampleShape, layers: [.flatten, .dense(inputs: 144, outputs: 4)], random: LabRandom(seed: 1))
        _ = try model.train(inputs: data.featureTensor, labels: data.intLabels,
                            configuration: TrainingConfiguration(epochs: 40, batchSize: 16, learningRate: 0.01), random: LabRandom(seed: 2))
        let configuration = MIFace.Configuration(maxIterations: 300, patience: 50, learningRate: 0.1, start: .constant(0.2))
        let result = try MIFace.invert(model: model, targets: [0, 1, 2, 3], sampleShape: data.sampleShape, configuration: configuration)
        let start = model.probabilities(Tensor(repeating: 0.2, shape: [1] + data.sampleShape)).scalars
        for r in result {
            #expect(r.confidence > Double(start[r.target]) + 0.3)
            #expect(r.image.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let means = ReconstructionEvaluation.classMeans(data.featureTensor, labels: data.intLabels, classCount: 4)
        let summary = try ReconstructionEvaluation.evaluate(reconstructions: result.map(\.image), targets: [0, 1, 2, 3],
                                                            sampleShape: data.sampleShape, evaluator: model, classMeans: means)
        #expect(summary.top1Accuracy == 1)
        #expect(summary.nearestMeanMatches >= 3)
    }

    @Test("the stopping rules: α iterations, the cost threshold γ, and a stalled descent after β steps")
    func stoppingRules() throws {
        // Logit of class 0 = sum of pixels, class 1 = 0: confidence in 0 rises with brightness.
        let stub = GradientStub(weights: [[Float](repeating: 0.05, count: 16), [Float](repeating: 0, count: 16)])
        let fewSteps = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4],
                                         configuration: .init(maxIterations: 7, patience: 100, learningRate: 0.01))
        #expect(fewSteps[0].stopReason == .maxIterations && fewSteps[0].iterations == 7)
        let threshold = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4],
                                          configuration: .init(maxIterations: 10_000, patience: 100, costThreshold: 0.4, learningRate: 1))
        #expect(threshold[0].stopReason == .costThreshold && threshold[0].cost <= 0.4)
        // Saturated at the upper pixel bound, the cost cannot fall: the β rule fires.
        let stalled = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4],
                                        configuration: .init(maxIterations: 10_000, patience: 5, learningRate: 100))
        #expect(stalled[0].stopReason == .noImprovement && stalled[0].iterations < 100)
        #expect(throws: InversionError.self) {
            _ = try MIFace.invert(model: stub, targets: [2], sampleShape: [1, 4, 4], configuration: .init())
        }
        #expect(throws: InversionError.self) {
            _ = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4], configuration: .init(start: .image([0, 1])))
        }
    }

    @Test("the rescale process descends unclamped and maps each reconstruction onto the image range")
    func rescaleProcess() throws {
        // Class 0's logit rises with the left half's brightness and falls with the right half's:
        // the clamped descent from zero can only brighten the left half; unclamped, the right
        // half goes negative, and rescaling maps it to 0 and the left half to 1.
        let row: [Float] = (0..<16).map { $0 % 4 < 2 ? 0.05 : -0.05 }
        let stub = GradientStub(weights: [row, [Float](repeating: 0, count: 16)])
        var configuration = MIFace.Configuration(maxIterations: 50, patience: 100, learningRate: 1)
        let clamped = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4], configuration: configuration)[0]
        #expect(clamped.image.enumerated().allSatisfy { $0.offset % 4 < 2 || $0.element == 0 })
        configuration.rescaledRange = 0...1
        let rescaled = try MIFace.invert(model: stub, targets: [0], sampleShape: [1, 4, 4], configuration: configuration)[0]
        #expect(rescaled.image.min() == 0 && rescaled.image.max() == 1)
        #expect(rescaled.image.enumerated().allSatisfy { ($0.offset % 4 < 2) == ($0.element == 1) })
        // Its confidence is the model's confidence in the image returned.
        let p = stub.probabilities(for: Tensor(shape: [1, 1, 4, 4], scalars: rescaled.image)).scalars[0]
        #expect(rescaled.confidence == Double(p))
        var constant: ArraySlice<Float> = [0.3, 0.3, 0.3]
        MIFace.rescale(&constant, to: 0...1)
        #expect(Array(constant) == [0.5, 0.5, 0.5])
    }
}

/// A linear stub that also offers input gradients (of the softmax cross-entropy).
struct GradientStub: LogitAccess, InputGradientAccess {
    var weights: [[Float]]
    var classCount: Int { weights.count }
    func logits(for inputs: Tensor) -> Tensor { LinearStub(weights: weights).logits(for: inputs) }
    func inputGradients(for inputs: Tensor, labels: [Int]) -> Tensor {
        // ∂ℓ/∂x = Σ_c (p_c − y_c) w_c
        let p = probabilities(for: inputs).scalars
        let n = inputs.shape[0], d = weights[0].count
        return Tensor(shape: inputs.shape, scalars: (0..<n).flatMap { i in
            (0..<d).map { j in (0..<classCount).reduce(Float(0)) { $0 + (p[i * classCount + $1] - ($1 == labels[i] ? 1 : 0)) * weights[$1][j] } }
        })
    }
}

@Suite("Attribute inference")
struct AttributeInferenceTests {
    /// Records: [a0, a1, a2 (one-hot attribute), z]; the model is confident in label 1 exactly
    /// when a1 is set, so records labelled 1 reveal a1 and records labelled 0 rule it out.
    static let attribute = try! AttributeInference.Attribute(name: "a", columns: [0, 1, 2], valueNames: ["x", "y", "z"],
                                                          encodings: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])

    @Test("the attacker recovers the value the model's confidence points to; the prior baseline picks the most likely value")
    func infersFromConfidence() throws {
        let stub = LinearStub(weights: [[3, -3, 3, 0], [-3, 3, -3, 0]])
        let records = Tensor(shape: [3, 4], scalars: [0, 1, 0, 0.3, 0, 1, 0, -1, 1, 0, 0, 0])
        let prior = [0.5, 0.2, 0.3]
        let guesses = try AttributeInference.infer(model: stub, records: records, labels: [1, 1, 0], attribute: Self.attribute,
                                                   prior: prior, method: .confidenceTimesPrior)
        #expect(guesses == [1, 1, 0])
        let baseline = try AttributeInference.infer(model: stub, records: records, labels: [1, 1, 0], attribute: Self.attribute,
                                                    prior: prior, method: .prior)
        #expect(baseline == [0, 0, 0])
        #expect(Self.attribute.values(in: records.scalars, width: 4) == [1, 1, 0])
        #expect(AttributeInference.accuracy(guesses, truth: [1, 1, 0]) == 1)
        // MAP by confidence × prior and by loss − log prior agree.
        let byLoss = try AttributeInference.infer(model: stub, records: records, labels: [1, 1, 0], attribute: Self.attribute,
                                                  prior: prior, method: .minimumLoss)
        #expect(byLoss == guesses)
    }

    @Test("one-hot attributes are found by name under any column scaling; bad priors and names are errors")
    func oneHotAndErrors() throws {
        let names = ["age", "sex=F", "sex=M", "hours"]
        let features: [Float] = [30, 2.5, -1, 40, 50, -0.4, 3, 20]  // scaled one-hot columns
        let sex = try AttributeInference.Attribute.oneHot(named: "sex", featureNames: names, features: features)
        #expect(sex.columns == [1, 2] && sex.valueNames == ["F", "M"])
        #expect(sex.encodings == [[2.5, -1], [-0.4, 3]])
        #expect(sex.values(in: features, width: 4) == [0, 1])
        #expect(throws: InversionError.self) { _ = try AttributeInference.Attribute.oneHot(named: "race", featureNames: names, features: features) }
        let stub = LinearStub(weights: [[0, 0, 0, 0], [0, 1, 0, 0]])
        #expect(throws: InversionError.self) {
            _ = try AttributeInference.infer(model: stub, records: Tensor(zeros: [1, 4]), labels: [0], attribute: sex, prior: [0.7, 0.7],
                                             method: .minimumLoss)
        }
    }
}
