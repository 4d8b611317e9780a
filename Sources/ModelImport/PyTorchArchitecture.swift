import Foundation
import NeuralNetworks
import Tensors

/// The architecture of a PyTorch `nn.Sequential` classifier: its per-sample input shape and its
/// modules in order, so that a state dict can be checked against it and run.
///
/// JSON form (keys `input_shape`, `layers`, optional `key_prefix`):
/// ```json
/// {"input_shape": [3, 32, 32],
///  "layers": [{"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3, "padding": 1},
///             {"type": "BatchNorm2d", "num_features": 16}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2},
///             {"type": "Flatten"}, {"type": "Linear", "in_features": 4096, "out_features": 10}]}
/// ```
/// Module i's tensors are the state-dict keys `<key_prefix><i>.<name>` (`0.weight`, `1.running_var`;
/// with `key_prefix: "net."`, `net.0.weight` for a Sequential stored as `self.net`).
///
/// Laws: `validated()` accepts exactly the architectures whose every layer receives a shape it
/// takes, with every size in 1…`maximumExtent` (padding from 0) and every per-sample activation
/// and parameter tensor of at most `maximumElementCount` elements, all computed with overflow
/// checks before anything is allocated.
public struct PyTorchArchitecture: Sendable, Hashable {
    /// The per-sample input shape: [features] or [C, H, W].
    public var inputShape: [Int]
    public var layers: [PyTorchLayer]
    /// Prepended to every state-dict key.
    public var keyPrefix: String

    /// The largest size (features, channels, kernel, stride, padding, input extent) accepted.
    public static let maximumExtent = 1 << 24
    /// The most elements any one per-sample activation or parameter tensor may hold.
    public static let maximumElementCount = 1 << 31

    public init(inputShape: [Int], layers: [PyTorchLayer], keyPrefix: String = "") {
        self.inputShape = inputShape
        self.layers = layers
        self.keyPrefix = keyPrefix
    }

    /// The architecture in a JSON document's bytes.
    /// - Throws: `ModelImportError` naming `source` and the path of the bad field
    ///   (`layers[3].type` for an unknown layer type).
    public init(json: Data, source: String) throws(ModelImportError) {
        do {
            self = try JSONDecoder().decode(PyTorchArchitecture.self, from: json)
        } catch let error as ModelImportError {
            var located = error
            located.file = source
            throw located
        } catch let error as DecodingError {
            throw Self.importError(error, source: source)
        } catch {
            throw ModelImportError(.invalidArchitecture, file: source, field: "(document)", reason: "\(error)")
        }
    }

    /// The architecture in a JSON file.
    public init(contentsOf url: URL) throws(ModelImportError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelImportError(.unreadable, file: url.path, field: "file", reason: "cannot be read: \(error.localizedDescription)")
        }
        try self.init(json: data, source: url.path)
    }

    /// The `NeuralNetworks` layers and the output shape, after checking every size.
    /// - Parameter source: the file named in errors.
    /// - Throws: `.invalidArchitecture` naming `input_shape`, `layers[i]` or `layers[i].<key>`.
    public func validated(source: String) throws(ModelImportError) -> (layers: [Layer], outputShape: [Int]) {
        func failure(_ field: String, _ reason: String) -> ModelImportError {
            ModelImportError(.invalidArchitecture, file: source, field: field, reason: reason)
        }
        func elements(_ shape: [Int]) -> Int? {
            var count = 1
            for extent in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                if overflow || product > Self.maximumElementCount { return nil }
                count = product
            }
            return count
        }
        guard (1...3).contains(inputShape.count), inputShape.allSatisfy({ (1...Self.maximumExtent).contains($0) }) else {
            throw failure("input_shape", "is \(inputShape); expected [features] or [channels, height, width] of sizes in 1…\(Self.maximumExtent)")
        }
        guard elements(inputShape) != nil else {
            throw failure("input_shape", "\(inputShape) has more than \(Self.maximumElementCount) elements")
        }
        guard !layers.isEmpty else { throw failure("layers", "is empty") }
        var shape = inputShape
        var result: [Layer] = []
        for (index, module) in layers.enumerated() {
            for (key, value, minimum) in module.integerArguments where !(minimum...Self.maximumExtent).contains(value) {
                throw failure("layers[\(index)].\(key)", "is \(value); \(module.typeName) takes values in \(minimum)…\(Self.maximumExtent)")
            }
            let layer = module.layer
            for (name, parameterShape) in layer.parameterShapes + layer.bufferShapes where elements(parameterShape) == nil {
                throw failure("layers[\(index)]", "\(module.typeName)'s \(name) of shape \(parameterShape) has more than \(Self.maximumElementCount) elements")
            }
            switch layer.outputShape(for: shape) {
            case let .success(next):
                guard elements(next) != nil else {
                    throw failure("layers[\(index)]", "\(module.typeName) outputs per-sample shape \(next), more than \(Self.maximumElementCount) elements")
                }
                shape = next
            case let .failure(.incompatibleLayer(_, inputShape, expected)):
                throw failure("layers[\(index)]", "\(module.typeName) receives per-sample shape \(inputShape) but expects \(expected)")
            case let .failure(error):
                throw failure("layers[\(index)]", "\(error)")
            }
            result.append(layer)
        }
        return (result, shape)
    }

    /// The state-dict key of module `index`'s tensor `name`.
    public func key(layer index: Int, _ name: String) -> String { "\(keyPrefix)\(index).\(name)" }

    // MARK: Error locations

    /// The source named in errors when none is given (and in errors thrown by `Decodable`
    /// decoding, which `init(json:source:)` replaces by its source).
    public static let unnamedSource = "<layer list>"

    /// "layers[3].kernel_size" for a coding path.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var result = ""
        for key in path {
            if let index = key.intValue { result += "[\(index)]" } else { result += (result.isEmpty ? "" : ".") + key.stringValue }
        }
        return result.isEmpty ? "(document)" : result
    }

    static func importError(_ error: DecodingError, source: String) -> ModelImportError {
        switch error {
        case let .keyNotFound(key, context):
            return ModelImportError(.invalidArchitecture, file: source, field: fieldPath(context.codingPath + [key]), reason: "is required")
        case let .typeMismatch(type, context):
            return ModelImportError(.invalidArchitecture, file: source, field: fieldPath(context.codingPath),
                                    reason: "has the wrong type (expected \(type == Int.self ? "an integer" : type == Bool.self ? "a boolean" : type == String.self ? "a string" : "\(type)"))")
        case let .valueNotFound(type, context):
            return ModelImportError(.invalidArchitecture, file: source, field: fieldPath(context.codingPath), reason: "is null (expected \(type))")
        case let .dataCorrupted(context):
            let reason = context.codingPath.isEmpty ? "is not valid JSON (\(context.debugDescription))" : context.debugDescription
            return ModelImportError(.invalidArchitecture, file: source, field: fieldPath(context.codingPath), reason: reason)
        @unknown default:
            return ModelImportError(.invalidArchitecture, file: source, field: "(document)", reason: "\(error)")
        }
    }
}

// MARK: - Codable

extension PyTorchArchitecture: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case inputShape = "input_shape"
        case layers
        case keyPrefix = "key_prefix"
    }

    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: PyTorchLayer.Key.self)
        let known = CodingKeys.allCases.map(\.rawValue)
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw ModelImportError(.invalidArchitecture, file: Self.unnamedSource, field: Self.fieldPath(all.codingPath + [unknown]),
                                   reason: "is not a key of a layer list; expected \(known.joined(separator: ", "))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputShape = try c.decode([Int].self, forKey: .inputShape)
        layers = try c.decode([PyTorchLayer].self, forKey: .layers)
        keyPrefix = try c.decodeIfPresent(String.self, forKey: .keyPrefix) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputShape, forKey: .inputShape)
        try c.encode(layers, forKey: .layers)
        if !keyPrefix.isEmpty { try c.encode(keyPrefix, forKey: .keyPrefix) }
    }
}
