import Foundation
import Testing
import LabRandom
import ModelAccess
import ModelImport
import NeuralNetworks
import Tensors

@Suite("Imported models")
struct ImportedModelTests {
    /// The MLP fixture's tensors, as values to re-encode after an edit.
    static func mlpTensors() throws -> [(name: String, value: SafeTensors.Value)] {
        let file = try SafeTensors.parse(Fixtures.data("mlp.safetensors"), source: "mlp")
        return try file.entries.map { entry in
            entry.dtype == .I64 ? (entry.name, .int64(shape: entry.shape, values: try file.integers(entry)))
                : (entry.name, .float32(try file.floats(entry)))
        }
    }

    static func edited(_ edit: (inout [(name: String, value: SafeTensors.Value)]) -> Void) throws -> Data {
        var tensors = try mlpTensors()
        edit(&tensors)
        return SafeTensors.encode(tensors)
    }

    static func replacing(_ key: String, with value: SafeTensors.Value) throws -> Data {
        try edited { tensors in tensors[tensors.firstIndex { $0.name == key }!].value = value }
    }

    static func load(_ data: Data) -> ModelImportError? {
        importError { try ImportedModel(checkpoint: data, source: "edited.safetensors", architecture: try Fixtures.architecture("mlp")) }
    }

    @Test("a missing tensor is named with the shape the architecture needs")
    func missing() throws {
        let error = Self.load(try Self.edited { $0.removeAll { $0.name == "4.weight" } })
        #expect(error?.kind == .missingTensor && error?.field == "4.weight" && error?.file == "edited.safetensors")
        #expect(error?.reason.contains("[16, 32]") == true && error?.reason.contains("Linear at layers[4]") == true)
    }

    @Test("an extra tensor is named")
    func extra() throws {
        let error = Self.load(try Self.edited { $0.append(("7.weight", .float32(Tensor(zeros: [2])))) })
        #expect(error?.kind == .unexpectedTensor && error?.field == "7.weight")
    }

    @Test("a misshaped tensor is named with both shapes")
    func misshaped() throws {
        let error = Self.load(try Self.replacing("0.weight", with: .float32(Tensor(zeros: [20, 32]))))
        #expect(error?.kind == .shapeMismatch && error?.field == "0.weight")
        #expect(error?.reason.contains("[20, 32]") == true && error?.reason.contains("[32, 20]") == true)
    }

    @Test("NaN weights, a negative variance, integer weights and a bad batch count are refused")
    func badValues() throws {
        var weights = Tensor(zeros: [5, 16])
        weights.withUnsafeMutableBufferPointer { $0[7] = .nan }
        let nan = Self.load(try Self.replacing("6.weight", with: .float32(weights)))
        #expect(nan?.kind == .invalidValue && nan?.field == "6.weight" && nan?.reason.contains("flat index 7") == true)
        let variance = Self.load(try Self.replacing("1.running_var", with: .float32(Tensor(repeating: -1, shape: [32]))))
        #expect(variance?.kind == .invalidValue && variance?.field == "1.running_var")
        let integer = Self.load(try Self.replacing("6.bias", with: .int64(shape: [5], values: [1, 2, 3, 4, 5])))
        #expect(integer?.kind == .unsupportedDType && integer?.field == "6.bias.dtype")
        let count = Self.load(try Self.replacing("1.num_batches_tracked", with: .int64(shape: [], values: [-3])))
        #expect(count?.kind == .invalidValue && count?.field == "1.num_batches_tracked")
        let countShape = Self.load(try Self.replacing("1.num_batches_tracked", with: .int64(shape: [2], values: [1, 2])))
        #expect(countShape?.kind == .shapeMismatch && countShape?.field == "1.num_batches_tracked")
    }

    @Test("a key prefix maps a nested Sequential's keys, and a wrong one is pointed out")
    func keyPrefix() throws {
        let prefixed = try Self.edited { tensors in tensors = tensors.map { ("net." + $0.name, $0.value) } }
        var architecture = try Fixtures.architecture("mlp")
        let withoutPrefix = importError { try ImportedModel(checkpoint: prefixed, source: "p", architecture: architecture) }
        #expect(withoutPrefix?.kind == .missingTensor && withoutPrefix?.reason.contains("check key_prefix") == true)
        architecture.keyPrefix = "net."
        let model = try ImportedModel(checkpoint: prefixed, source: "p", architecture: architecture)
        let reference = try Fixtures.Reference("mlp_reference.safetensors")
        #expect(relativeMaxError(model.logits(for: try reference.tensor("inputs")), try reference.tensor("logits")) <= 1e-5)
        #expect(model.parameterNames.first == "net.0.weight" && model.layerNames.first == "net.0")
    }

    @Test("a file that is not safetensors is refused by name")
    func notSafeTensors() throws {
        let error = importError { try ImportedModel(checkpoint: Fixtures.url("mlp.pt"), architecture: try Fixtures.architecture("mlp")) }
        #expect(error?.kind == .notSafeTensors && error?.file.hasSuffix("mlp.pt") == true)
        let missing = importError { try ImportedModel(checkpoint: URL(fileURLWithPath: "/nonexistent/model.safetensors"),
                                                      architecture: try Fixtures.architecture("mlp")) }
        #expect(missing?.kind == .unreadable && missing?.file == "/nonexistent/model.safetensors")
    }

    @Test("activations: module names, the last one gives the logits, a bad name or shape is an error")
    func activations() throws {
        let model = try Fixtures.model("cnn")
        let x = try Fixtures.Reference("cnn_reference.safetensors").tensor("inputs")
        #expect(model.layerNames == (0..<10).map(String.init))
        #expect(try model.activations(for: x, atLayer: "9").scalars == model.logits(for: x).scalars)
        #expect(try model.activations(for: x, atLayer: "4").shape == [6, 8, 4, 4])
        // Layer 1 is batch norm in evaluation mode: (h − μ)/√(σ² + ε)·γ + β per channel.
        let h = try model.activations(for: x, atLayer: "0"), y = try model.activations(for: x, atLayer: "1")
        let (gamma, beta) = (model.parameters[1].scalars, model.parameters[2].scalars)
        let (mean, variance) = (model.network.buffers[0].scalars, model.network.buffers[1].scalars)
        let plane = 8 * 8
        var worst: Float = 0
        for (i, value) in h.scalars.enumerated() {
            let c = (i / plane) % 6
            let expected = (value - mean[c]) / (variance[c] + 1e-5).squareRoot() * gamma[c] + beta[c]
            worst = max(worst, abs(y.scalars[i] - expected))
        }
        #expect(worst < 1e-5)
        #expect(throws: ModelAccessError.unknownLayer(name: "10", available: model.layerNames)) { try model.activations(for: x, atLayer: "10") }
        #expect(throws: ModelAccessError.inputShape(expected: [3, 16, 16], got: [2, 3, 16, 15])) {
            try model.activations(for: Tensor(zeros: [2, 3, 16, 15]), atLayer: "0")
        }
    }

    /// A stub that gives only a differentiable forward and takes every other answer from the
    /// protocols' defaults.
    struct ForwardOnly: DifferentiableModel, InputGradientAccess, LogitGradientAccess {
        let model: ImportedModel
        var classCount: Int { model.classCount }
        var parameterNames: [String] { model.parameterNames }
        var parameters: [Tensor] { model.parameters }
        var inputShape: [Int] { model.inputShape }
        func logits(for inputs: Tensor) -> Tensor { model.logits(for: inputs) }
        func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor { model.logits(for: inputs, parameters: parameters) }
    }

    @Test("white-box laws: the differentiable forward, parameter gradients and the protocol defaults agree")
    func whiteBoxLaws() throws {
        let model = try Fixtures.model("mlp")
        let reference = try Fixtures.Reference("mlp_reference.safetensors")
        let x = try reference.tensor("inputs"), labels = try reference.labels()
        #expect(model.logits(for: x, parameters: model.parameters).scalars == model.logits(for: x).scalars)
        let (meanLoss, gradients) = model.lossAndParameterGradients(for: x, labels: labels)
        let losses = model.losses(for: x, labels: labels)
        #expect(abs(meanLoss - losses.reduce(0, +) / Float(losses.count)) <= 1e-6)
        #expect(gradients.map(\.shape) == model.parameters.map(\.shape))
        // Central differences on a few coordinates of every parameter tensor.
        for (p, gradient) in gradients.enumerated() {
            for i in Set([0, gradient.scalarCount / 2, gradient.scalarCount - 1]) {
                func loss(_ shift: Float) -> Float {
                    var values = model.parameters
                    values[p].withUnsafeMutableBufferPointer { $0[i] += shift }
                    let l = withoutGradients { Tensor.softmaxCrossEntropy(logits: model.logits(for: x, parameters: values), labels: labels).mean() }
                    return l.scalar
                }
                let numeric = (loss(1e-2) - loss(-1e-2)) / 2e-2
                #expect(abs(numeric - gradient.scalars[i]) <= 2e-3 + 3e-2 * abs(numeric),
                        "\(model.parameterNames[p])[\(i)]: analytic \(gradient.scalars[i]), numeric \(numeric)")
            }
        }
        let stub = ForwardOnly(model: model)
        let stubGradients = stub.lossAndParameterGradients(for: x, labels: labels)
        #expect(abs(stubGradients.meanLoss - meanLoss) <= 1e-6)
        #expect(zip(stubGradients.gradients, gradients).allSatisfy { relativeMaxError($0, $1) <= 1e-6 })
        #expect(relativeMaxError(stub.inputGradients(for: x, labels: labels), try reference.tensor("input_gradients")) <= 1e-5)
        let seed = { (z: Tensor) in z * Float(2) }
        #expect(relativeMaxError(stub.logitsAndInputGradients(for: x, lossGradient: seed).inputGradients,
                                 model.logitsAndInputGradients(for: x, lossGradient: seed).inputGradients) <= 1e-6)
        #expect(stub.parameterScalarCount == model.network.parameterCount)
    }

    static func syntheticData(count: Int, features: Int, classes: Int, seed: UInt64) -> (Tensor, [Int]) {
        var random = LabRandom(seed: seed)
        let x = Tensor(shape: [count, features]) { random.fillUniform($0, low: -1, high: 1) }
        let labels = (0..<count).map { i in x.scalars[i * features] > 0 ? (i % classes) : 0 }
        return (x, labels)
    }

    @Test("the recipe trains a fresh model of the architecture: deterministic, as SequentialRecipe, running statistics updated")
    func recipe() throws {
        let architecture = try Fixtures.architecture("mlp")
        let (x, labels) = Self.syntheticData(count: 48, features: 20, classes: 5, seed: 9)
        let configuration = TrainingConfiguration(epochs: 2, batchSize: 16, learningRate: 0.01)
        let recipe = ImportedModelRecipe(architecture: architecture, configuration: configuration)
        let random = LabRandom(seed: 4).stream("reference/0")
        let a = try recipe.train(inputs: x, labels: labels, random: random)
        let b = try recipe.train(inputs: x, labels: labels, random: random)
        let c = try recipe.train(inputs: x, labels: labels, random: LabRandom(seed: 4).stream("reference/1"))
        #expect(a.parameters.map(\.scalars) == b.parameters.map(\.scalars))
        #expect(a.network.buffers.map(\.scalars) == b.network.buffers.map(\.scalars))
        #expect(a.parameters.map(\.scalars) != c.parameters.map(\.scalars))
        let sequential = try SequentialRecipe(inputShape: [20], layers: architecture.validated(source: "mlp").layers, configuration: configuration)
            .train(inputs: x, labels: labels, random: random)
        #expect(a.parameters.map(\.scalars) == sequential.parameters.map(\.scalars))
        // Six steps moved the running statistics away from (0, 1), and were counted.
        #expect(a.network.buffers[0].scalars.contains { $0 != 0 } && a.network.buffers[1].scalars.contains { $0 != 1 })
        #expect(a.batchesTracked == [1: 6])
        // A fresh model is initialised as PyTorch's defaults: |w| ≤ 1/√fan_in, batch norm (1, 0).
        let fresh = try ImportedModel(architecture: architecture, random: LabRandom(seed: 1))
        #expect(fresh.parameters[0].scalars.allSatisfy { abs($0) <= 1 / Float(20).squareRoot() })
        #expect(fresh.parameters[2].scalars.allSatisfy { $0 == 1 } && fresh.parameters[3].scalars.allSatisfy { $0 == 0 })
        #expect(fresh.parameterNames == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "6.weight", "6.bias"])
    }

    @Test("the state dict written back imports to the same model")
    func stateDictRoundTrip() throws {
        let architecture = try Fixtures.architecture("cnn")
        let (x, labels) = (try Fixtures.Reference("cnn_train_reference.safetensors").tensor("inputs"),
                           try Fixtures.Reference("cnn_train_reference.safetensors").labels())
        var model = try Fixtures.model("cnn")
        _ = try model.train(inputs: x, labels: labels, configuration: TrainingConfiguration(epochs: 1, batchSize: 5, learningRate: 0.01),
                            random: LabRandom(seed: 5))
        let data = model.stateDictData()
        let file = try SafeTensors.parse(data, source: "written")
        #expect(file.entry(named: "1.num_batches_tracked")?.dtype == .I64)
        let restored = try ImportedModel(checkpoint: data, source: "written", architecture: architecture)
        #expect(restored.parameters.map(\.scalars) == model.parameters.map(\.scalars))
        #expect(restored.network.buffers.map(\.scalars) == model.network.buffers.map(\.scalars))
        #expect(restored.batchesTracked == model.batchesTracked)
        #expect(restored.batchesTracked[1] == (try Fixtures.model("cnn").batchesTracked[1] ?? 0) + 1)
    }
}
