import Foundation
import Testing
import ModelImport
import NeuralNetworks

@Suite("Layer lists")
struct ArchitectureTests {
    func decode(_ json: String) -> Result<PyTorchArchitecture, ModelImportError> {
        do { return .success(try PyTorchArchitecture(json: Data(json.utf8), source: "layers.json")) } catch { return .failure(error) }
    }

    func failure(_ json: String) -> ModelImportError? {
        if case let .failure(error) = decode(json) { return error }
        return nil
    }

    @Test("defaults follow PyTorch's constructors, and encoding round-trips")
    func defaults() throws {
        let json = #"""
        {"input_shape": [1, 8, 8], "key_prefix": "net.",
         "layers": [{"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "dilation": 1, "groups": 1, "padding_mode": "zeros"},
                    {"type": "BatchNorm2d", "num_features": 2, "track_running_stats": true}, {"type": "ReLU", "inplace": true},
                    {"type": "MaxPool2d", "kernel_size": 2, "stride": null, "padding": 0, "ceil_mode": false}, {"type": "Dropout"},
                    {"type": "Flatten", "start_dim": 1, "end_dim": -1}, {"type": "Linear", "in_features": 18, "out_features": 3}]}
        """#
        let architecture = try decode(json).get()
        #expect(architecture == PyTorchArchitecture(inputShape: [1, 8, 8], layers: [
            .conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 0, bias: true),
            .batchNorm2d(numFeatures: 2, eps: 1e-5, momentum: 0.1, affine: true), .relu, .maxPool2d(kernelSize: 2, stride: nil),
            .dropout(p: 0.5), .flatten, .linear(inFeatures: 18, outFeatures: 3, bias: true),
        ], keyPrefix: "net."))
        let encoded = try JSONEncoder().encode(architecture)
        #expect(try PyTorchArchitecture(json: encoded, source: "re-encoded") == architecture)
        #expect(try architecture.validated(source: "x").outputShape == [3])
    }

    /// A layer list with one bad field, the error kind and the field it must name.
    static let bad: [(String, String, ModelImportError.Kind, String)] = [
        ("unknown type", #"{"input_shape": [4], "layers": [{"type": "Linear", "in_features": 4, "out_features": 2}, {"type": "Conv3d"}]}"#,
         .unknownLayerType, "layers[1].type"),
        ("unknown key", #"{"input_shape": [4], "layers": [{"type": "Linear", "in_features": 4, "out_features": 2, "bais": false}]}"#,
         .invalidArchitecture, "layers[0].bais"),
        ("unknown top-level key", #"{"input_shape": [4], "layers": [], "shape": [4]}"#, .invalidArchitecture, "shape"),
        ("missing argument", #"{"input_shape": [4], "layers": [{"type": "Linear", "in_features": 4}]}"#,
         .invalidArchitecture, "layers[0].out_features"),
        ("wrong type", #"{"input_shape": [4], "layers": [{"type": "Linear", "in_features": "four", "out_features": 2}]}"#,
         .invalidArchitecture, "layers[0].in_features"),
        ("dilation", #"{"input_shape": [1, 8, 8], "layers": [{"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 2}]}"#,
         .invalidArchitecture, "layers[0].dilation"),
        ("groups", #"{"input_shape": [2, 8, 8], "layers": [{"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 3, "groups": 2}]}"#,
         .invalidArchitecture, "layers[0].groups"),
        ("kernel of three extents", #"{"input_shape": [1, 8, 8], "layers": [{"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": [3, 3, 3]}]}"#,
         .invalidArchitecture, "layers[0].kernel_size"),
        ("momentum None", #"{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "num_features": 4, "momentum": null}]}"#,
         .invalidArchitecture, "layers[0].momentum"),
        ("no running statistics", #"{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "num_features": 4, "track_running_stats": false}]}"#,
         .invalidArchitecture, "layers[0].track_running_stats"),
        ("ceil mode", #"{"input_shape": [1, 8, 8], "layers": [{"type": "MaxPool2d", "kernel_size": 2, "ceil_mode": true}]}"#,
         .invalidArchitecture, "layers[0].ceil_mode"),
        ("not JSON", #"{"input_shape": [4], "layers": [}"#, .invalidArchitecture, "(document)"),
    ]

    @Test("each bad layer list gives its error, naming the file and the field", arguments: 0..<bad.count)
    func badList(_ index: Int) {
        let (label, json, kind, field) = Self.bad[index]
        let error = failure(json)
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.field == field, "\(label): \(String(describing: error))")
        #expect(error?.file == "layers.json", "\(label)")
    }

    @Test("an unknown layer type lists the supported ones")
    func unknownTypeMessage() {
        let error = failure(#"{"input_shape": [4], "layers": [{"type": "LSTM"}]}"#)
        #expect(error?.description.contains("\"LSTM\" is not a layer type") == true)
        #expect(error?.description.contains("BatchNorm2d") == true)
    }

    /// Architectures that decode but do not compose, and the field the error names.
    static let invalid: [(String, PyTorchArchitecture, String)] = [
        ("sizes that do not chain", PyTorchArchitecture(inputShape: [446], layers: [.linear(inFeatures: 445, outFeatures: 2)]), "layers[0]"),
        ("a conv on vectors", PyTorchArchitecture(inputShape: [10], layers: [.conv2d(inChannels: 1, outChannels: 1, kernelSize: 3)]), "layers[0]"),
        ("a zero size", PyTorchArchitecture(inputShape: [4], layers: [.linear(inFeatures: 4, outFeatures: 0)]), "layers[0].out_features"),
        ("a huge size", PyTorchArchitecture(inputShape: [4], layers: [.linear(inFeatures: 4, outFeatures: Int.max)]), "layers[0].out_features"),
        ("a weight of more than 2^31 elements",
         PyTorchArchitecture(inputShape: [1 << 20], layers: [.linear(inFeatures: 1 << 20, outFeatures: 1 << 20)]), "layers[0]"),
        ("an activation of more than 2^31 elements",
         PyTorchArchitecture(inputShape: [1, 1 << 15, 1 << 15], layers: [.conv2d(inChannels: 1, outChannels: 4, kernelSize: 1)]), "layers[0]"),
        ("an input shape with a zero", PyTorchArchitecture(inputShape: [3, 0, 4], layers: [.flatten]), "input_shape"),
        ("an input shape of rank 4", PyTorchArchitecture(inputShape: [1, 1, 1, 1], layers: [.flatten]), "input_shape"),
        ("no layers", PyTorchArchitecture(inputShape: [4], layers: []), "layers"),
        ("a negative padding", PyTorchArchitecture(inputShape: [1, 5, 5], layers: [.conv2d(inChannels: 1, outChannels: 1, kernelSize: 3, padding: -1)]),
         "layers[0].padding"),
        ("dropout of 1", PyTorchArchitecture(inputShape: [4], layers: [.dropout(p: 1)]), "layers[0]"),
        ("a zero epsilon", PyTorchArchitecture(inputShape: [4], layers: [.batchNorm1d(numFeatures: 4, eps: 0)]), "layers[0]"),
        ("BatchNorm2d on vectors", PyTorchArchitecture(inputShape: [4], layers: [.batchNorm2d(numFeatures: 4)]), "layers[0]"),
        ("a pool larger than the image", PyTorchArchitecture(inputShape: [1, 3, 3], layers: [.maxPool2d(kernelSize: 4)]), "layers[0]"),
    ]

    @Test("architectures that do not compose are refused before anything is allocated", arguments: 0..<invalid.count)
    func invalidArchitecture(_ index: Int) {
        let (label, architecture, field) = Self.invalid[index]
        let error = importError { try architecture.validated(source: "spec.yaml") }
        #expect(error?.kind == .invalidArchitecture, "\(label): \(String(describing: error))")
        #expect(error?.field == field, "\(label): \(String(describing: error))")
        #expect(error?.file == "spec.yaml")
    }

    @Test("a network that does not end in a class vector is not a classifier")
    func notAClassifier() {
        let architecture = PyTorchArchitecture(inputShape: [1, 4, 4], layers: [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3)])
        let error = importError { try ImportedModel(architecture: architecture, random: .init(seed: 1), architectureSource: "spec.yaml") }
        #expect(error?.kind == .invalidArchitecture && error?.field == "layers" && error?.reason.contains("Flatten") == true)
    }
}
