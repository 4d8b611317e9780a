import Foundation
import LabRandom
import NeuralNetworks
import Tensors

/// A classifier trained in PyTorch, imported from its state dict and layer list, running on
/// PrivacyLab's `Sequential` engine.
///
/// ```swift
/// let architecture = try PyTorchArchitecture(contentsOf: layersURL)
/// let model = try ImportedModel(checkpoint: checkpointURL, architecture: architecture)
/// model.logits(for: x)                     // LogitAccess, as any PrivacyLab model
/// ```
/// The checkpoint is what `safetensors.torch.save_file(model.state_dict(), path)` writes (not
/// `torch.save`): each module's `weight`, `bias`, `running_mean`, `running_var` and
/// `num_batches_tracked`, in F32, F64, F16 or BF16 (converted to Float32 by rounding to
/// nearest) and I64. Every tensor the architecture needs must be present with its exact shape
/// and finite values, and no other tensor may be.
///
/// The model answers in evaluation mode (PyTorch's `model.eval()`): dropout off, batch
/// normalization from its running statistics. Names follow PyTorch: parameters are state-dict
/// keys (`0.weight`), layers are module names (`3`).
///
/// Caveat: `num_batches_tracked` is kept only to be written back by `stateDictData()`; it plays
/// no part in the computation (it matters to PyTorch only with `momentum=None`).
public struct ImportedModel: Sendable {
    public let architecture: PyTorchArchitecture
    /// The network that computes the model, with PrivacyLab's names ("layers.0.weight").
    public internal(set) var network: Sequential
    /// The state-dict key of each of `network.parameters`, in order.
    public let parameterNames: [String]
    /// The state-dict key of each of `network.buffers`, in order.
    public let bufferNames: [String]
    /// PyTorch's `num_batches_tracked` of each batch normalization module, by module index.
    public private(set) var batchesTracked: [Int: Int64]

    /// Imports a state dict's safetensors bytes.
    /// - Parameters:
    ///   - source: the file named in errors (its path).
    ///   - architectureSource: where the layer list came from, named in its errors.
    /// - Throws: `ModelImportError` naming the file and the field: the architecture's errors
    ///   (`PyTorchArchitecture.validated`), the file's (`SafeTensors.parse`), and a missing,
    ///   unexpected or misshaped tensor (with both shapes), a non-float parameter, NaN or
    ///   infinite values, a negative running variance, a bad `num_batches_tracked`.
    /// - Complexity: O(file size).
    public init(checkpoint data: Data, source: String, architecture: PyTorchArchitecture,
                architectureSource: String = PyTorchArchitecture.unnamedSource) throws(ModelImportError) {
        let (layers, _) = try Self.validatedClassifier(architecture, source: architectureSource)
        let file = try SafeTensors.parse(data, source: source)
        var unused = Dictionary(uniqueKeysWithValues: file.entries.map { ($0.name, $0) })
        func failure(_ kind: ModelImportError.Kind, _ key: String, _ reason: String) -> ModelImportError {
            ModelImportError(kind, file: source, field: key, reason: reason)
        }
        func take(_ key: String, shape: [Int], module index: Int) throws(ModelImportError) -> Tensor {
            let owner = "\(architecture.layers[index].typeName) at layers[\(index)]"
            guard let entry = unused.removeValue(forKey: key) else {
                var reason = "is missing; \(owner) needs shape \(shape)"
                if let near = unused.keys.sorted().first(where: { $0.hasSuffix("." + key) || key.hasSuffix("." + $0) }) {
                    reason += " (the file has \"\(near)\": check key_prefix)"
                }
                throw failure(.missingTensor, key, reason)
            }
            guard entry.shape == shape else {
                throw failure(.shapeMismatch, key, "has shape \(entry.shape) in the file but \(owner) needs \(shape)")
            }
            return try file.floats(entry)
        }
        var parameters: [Tensor] = [], parameterNames: [String] = []
        var buffers: [Tensor] = [], bufferNames: [String] = []
        var tracked: [Int: Int64] = [:]
        for (index, layer) in layers.enumerated() {
            for (name, shape) in layer.parameterShapes {
                let key = architecture.key(layer: index, name)
                parameters.append(try take(key, shape: shape, module: index))
                parameterNames.append(key)
            }
            for (name, shape) in layer.bufferShapes {
                let key = architecture.key(layer: index, name)
                let value = try take(key, shape: shape, module: index)
                if name == "running_var", let negative = value.scalars.firstIndex(where: { $0 < 0 }) {
                    throw failure(.invalidValue, key, "holds the negative variance \(value.scalars[negative]) at index \(negative)")
                }
                buffers.append(value)
                bufferNames.append(key)
            }
            if !layer.bufferShapes.isEmpty {
                let key = architecture.key(layer: index, "num_batches_tracked")
                if let entry = unused.removeValue(forKey: key) {
                    guard entry.elementCount == 1, entry.shape.count <= 1 else {
                        throw failure(.shapeMismatch, key, "has shape \(entry.shape) in the file but PyTorch writes a scalar []")
                    }
                    let count = try file.integers(entry)[0]
                    guard count >= 0 else { throw failure(.invalidValue, key, "is \(count); a count of batches cannot be negative") }
                    tracked[index] = count
                } else {
                    tracked[index] = 0
                }
            }
        }
        if let extra = unused.keys.sorted().first {
            let entry = unused[extra]!
            throw failure(.unexpectedTensor, extra,
                          "(shape \(entry.shape), \(entry.dtype.rawValue)) is in the file but is no tensor of the architecture; it expects \(Self.keySummary(parameterNames + bufferNames))")
        }
        do {
            network = try Sequential(inputShape: architecture.inputShape, layers: layers, parameters: parameters, buffers: buffers)
        } catch {
            throw failure(.invalidArchitecture, "layers", "\(error)")
        }
        self.architecture = architecture
        self.parameterNames = parameterNames
        self.bufferNames = bufferNames
        self.batchesTracked = tracked
    }

    /// Imports a state dict from a safetensors file.
    public init(checkpoint url: URL, architecture: PyTorchArchitecture,
                architectureSource: String = PyTorchArchitecture.unnamedSource) throws(ModelImportError) {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ModelImportError(.unreadable, file: url.path, field: "file", reason: "cannot be read: \(error.localizedDescription)")
        }
        try self.init(checkpoint: data, source: url.path, architecture: architecture, architectureSource: architectureSource)
    }

    /// A fresh model of the architecture with PyTorch's default initialisation: linear and
    /// convolution weights and biases uniform in ±1/√fan_in (`kaiming_uniform_(a=√5)`), batch
    /// normalization weight 1, bias 0, running mean 0, running variance 1. Draws from
    /// `random.stream("layers/<i>/<name>")`.
    public init(architecture: PyTorchArchitecture, random: LabRandom,
                architectureSource: String = PyTorchArchitecture.unnamedSource) throws(ModelImportError) {
        let (layers, _) = try Self.validatedClassifier(architecture, source: architectureSource)
        do { network = try Sequential(inputShape: architecture.inputShape, layers: layers, random: random) } catch {
            throw ModelImportError(.invalidArchitecture, file: architectureSource, field: "layers", reason: "\(error)")
        }
        self.architecture = architecture
        parameterNames = network.parameterNames.map { Self.pyTorchKey($0, architecture) }
        bufferNames = network.bufferNames.map { Self.pyTorchKey($0, architecture) }
        batchesTracked = Dictionary(uniqueKeysWithValues: layers.indices.filter { !layers[$0].bufferShapes.isEmpty }.map { ($0, 0) })
    }

    /// The model's state dict as safetensors bytes, in module order with PyTorch's keys: F32
    /// parameters and buffers, I64 `num_batches_tracked`, loadable with
    /// `model.load_state_dict(safetensors.torch.load_file(path))` and by `init(checkpoint:…)`.
    public func stateDictData() -> Data {
        var tensors: [(name: String, value: SafeTensors.Value)] = []
        var p = 0, b = 0
        for (index, layer) in network.layers.enumerated() {
            for _ in layer.parameterShapes {
                tensors.append((parameterNames[p], .float32(network.parameters[p])))
                p += 1
            }
            for _ in layer.bufferShapes {
                tensors.append((bufferNames[b], .float32(network.buffers[b])))
                b += 1
            }
            if let count = batchesTracked[index] {
                tensors.append((architecture.key(layer: index, "num_batches_tracked"), .int64(shape: [], values: [count])))
            }
        }
        return SafeTensors.encode(tensors)
    }

    /// Trains the model in place in training mode (dropout on, batch normalization on batch
    /// statistics with running statistics updated after each step), as `Sequential.train`.
    public mutating func train(inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                               random: LabRandom) throws(TrainingError) -> TrainingHistory {
        let history = try network.train(inputs: inputs, labels: labels, configuration: configuration, random: random)
        for index in batchesTracked.keys { batchesTracked[index]! += Int64(history.steps) }
        return history
    }

    // MARK: Helpers

    static func validatedClassifier(_ architecture: PyTorchArchitecture, source: String) throws(ModelImportError) -> (layers: [Layer], outputShape: [Int]) {
        let (layers, output) = try architecture.validated(source: source)
        guard output.count == 1 else {
            throw ModelImportError(.invalidArchitecture, file: source, field: "layers",
                                   reason: "the network outputs per-sample shape \(output); a classifier ends in [classes] (add Flatten and Linear)")
        }
        return (layers, output)
    }

    /// "layers.3.weight" → "<prefix>3.weight".
    static func pyTorchKey(_ name: String, _ architecture: PyTorchArchitecture) -> String {
        architecture.keyPrefix + name.dropFirst("layers.".count)
    }

    static func keySummary(_ keys: [String]) -> String {
        keys.count <= 8 ? keys.joined(separator: ", ") : keys.prefix(6).joined(separator: ", ") + ", … (\(keys.count) keys)"
    }
}
