import Foundation
import Testing
import LabRandom
import ModelAccess
import ModelImport
import NeuralNetworks
import Tensors

/// Imported models against the numbers PyTorch wrote (scripts/pytorch_import_fixtures.py).
/// Every comparison bounds the relative error in the max norm, ‖ours − PyTorch's‖∞ / ‖PyTorch's‖∞.
@Suite("PyTorch parity")
struct PyTorchParityTests {
    static let tolerance: Float = 1e-5

    @Test("eval-mode logits and cross-entropy input gradients equal PyTorch's", arguments: ["mlp", "cnn"])
    func evalParity(_ name: String) throws {
        let model = try Fixtures.model(name)
        let reference = try Fixtures.Reference("\(name)_reference.safetensors")
        let inputs = try reference.tensor("inputs"), labels = try reference.labels()
        let logits = model.logits(for: inputs)
        let logitError = relativeMaxError(logits, try reference.tensor("logits"))
        #expect(logitError <= Self.tolerance, "\(name): logits relative error \(logitError)")
        let gradientError = relativeMaxError(model.inputGradients(for: inputs, labels: labels), try reference.tensor("input_gradients"))
        #expect(gradientError <= Self.tolerance, "\(name): input-gradient relative error \(gradientError)")
        // The same gradient through the vector–Jacobian door, with ∂L/∂z = softmax(z) − onehot(y).
        let (vjpLogits, vjp) = model.logitsAndInputGradients(for: inputs) { z in
            z.softmax() - Tensor.oneHot(labels, classCount: model.classCount)
        }
        #expect(relativeMaxError(vjpLogits, logits) == 0)
        #expect(relativeMaxError(vjp, try reference.tensor("input_gradients")) <= Self.tolerance)
    }

    @Test("F64, F16 and BF16 state dicts import to PyTorch's logits for those weights", arguments: ["f64", "f16", "bf16"])
    func dtypes(_ tag: String) throws {
        let model = try Fixtures.model("mlp", checkpoint: "mlp_\(tag).safetensors")
        let reference = try Fixtures.Reference("mlp_reference.safetensors")
        let inputs = try reference.tensor("inputs")
        let error = relativeMaxError(model.logits(for: inputs), try reference.tensor("logits_\(tag)"))
        #expect(error <= Self.tolerance, "\(tag): relative error \(error)")
        if tag != "f64" {
            // Rounding the weights to 16 bits changes the logits measurably: the check can fail.
            #expect(relativeMaxError(try reference.tensor("logits_\(tag)"), try reference.tensor("logits")) > Self.tolerance)
        }
    }

    @Test("the imported network in training mode gives PyTorch's logits, gradients and running statistics")
    func trainingStep() throws {
        let model = try Fixtures.model("cnn")
        let reference = try Fixtures.Reference("cnn_train_reference.safetensors")
        let inputs = try reference.tensor("inputs"), labels = try reference.labels()
        var none: LabRandom? = nil
        let (logits, buffers) = model.network.forwardUpdatingBuffers(inputs, parameters: model.parameters, random: &none)
        #expect(relativeMaxError(logits, try reference.tensor("logits")) <= Self.tolerance)
        none = nil
        let (_, gradients) = model.network.lossAndGradients(inputs, labels: labels, training: true, random: &none)
        for (key, gradient) in zip(model.parameterNames, gradients) {
            let error = relativeMaxError(gradient, try reference.tensor("grad.\(key)"))
            #expect(error <= Self.tolerance, "gradient of \(key): relative error \(error)")
        }
        for (key, buffer) in zip(model.bufferNames, buffers) {
            let error = relativeMaxError(buffer, try reference.tensor("after.\(key)"))
            #expect(error <= Self.tolerance, "\(key) after the step: relative error \(error)")
        }
        // The references cover every parameter and buffer of the model.
        #expect(Set(reference.names.filter { $0.hasPrefix("grad.") }) == Set(model.parameterNames.map { "grad.\($0)" }))
        #expect(Set(reference.names.filter { $0.hasPrefix("after.") }) == Set(model.bufferNames.map { "after.\($0)" }))
    }

    @Test("the layer lists the script wrote decode to the architectures built in Swift")
    func layerLists() throws {
        let mlp = PyTorchArchitecture(inputShape: [20], layers: [
            .linear(inFeatures: 20, outFeatures: 32), .batchNorm1d(numFeatures: 32), .relu, .dropout(p: 0.3),
            .linear(inFeatures: 32, outFeatures: 16, bias: false), .tanh, .linear(inFeatures: 16, outFeatures: 5),
        ])
        let cnn = PyTorchArchitecture(inputShape: [3, 16, 16], layers: [
            .conv2d(inChannels: 3, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, bias: false), .batchNorm2d(numFeatures: 6), .relu,
            .conv2d(inChannels: 6, outChannels: 8, kernelSize: 3, padding: 1), .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inChannels: 8, outChannels: 8, kernelSize: Extent2D(height: 3, width: 2), stride: Extent2D(height: 1, width: 2),
                    padding: Extent2D(height: 1, width: 0)),
            .sigmoid, .avgPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 16, outFeatures: 4),
        ])
        #expect(try Fixtures.architecture("mlp") == mlp)
        #expect(try Fixtures.architecture("cnn") == cnn)
        // The square convolution with bias runs on the `conv2d` layer, the others on `convolution2d`.
        let layers = try cnn.validated(source: "cnn").layers
        #expect(layers[3] == .conv2d(inChannels: 6, outChannels: 8, kernelSize: 3, stride: 1, padding: 1))
        guard case .convolution2d = layers[0], case .convolution2d = layers[5] else {
            Issue.record("layers 0 and 5 should be general convolutions, got \(layers[0]) and \(layers[5])")
            return
        }
    }
}
