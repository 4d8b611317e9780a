import Codecs
import Foundation

/// The parameters of a multilayer perceptron (dense layers with ReLU between them), as one party
/// of an `mlp-inference` run holds them: read from a NumPy `.npz` archive of a PyTorch
/// `nn.Sequential` of `nn.Linear` and `nn.ReLU` layers' state dict,
///
/// ```python
/// numpy.savez("mlp.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})
/// ```
///
/// Each layer is a `<prefix>.weight` array of shape `[outputs, inputs]` (PyTorch's layout) and
/// an optional `<prefix>.bias` of shape `[outputs]` (absent: zero); layers come in the archive's
/// order (`np.savez` keeps the state dict's, which is the model's), each one's inputs equal to
/// the previous one's outputs. The model computes `h ← ReLU(h·Wᵀ + b)` for every layer but the
/// last, which gives the logits.
public struct MLPModel: Sendable, Equatable {
    /// One dense layer, `y = x·W + b`.
    public struct Layer: Sendable, Equatable {
        /// Row-major weights of shape `[inputs, outputs]` (the transpose of PyTorch's).
        public var weights: [Double]
        /// `outputs` values.
        public var bias: [Double]
        public var inputs: Int
        public var outputs: Int

        public init(weights: [Double], bias: [Double], inputs: Int, outputs: Int) {
            precondition(weights.count == inputs * outputs && bias.count == outputs, "MLP layer: shapes")
            self.weights = weights
            self.bias = bias
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    /// The layers, input first.
    public var layers: [Layer]

    public init(layers: [Layer]) {
        self.layers = layers
    }

    /// The most bytes a model file may have.
    public static let maximumFileBytes = 1 << 30
    /// The most layers a model may have.
    public static let maximumLayers = 64
    /// The widest layer accepted (inputs or outputs).
    public static let maximumWidth = 1 << 20

    /// The widths: the first layer's inputs, then every layer's outputs.
    public var widths: [Int] { (layers.first.map { [$0.inputs] } ?? []) + layers.map(\.outputs) }

    /// Reads the model at `path` (see the type's documentation for the layout).
    /// - Throws: `MPCInputError` naming the file and the array at fault, never a value.
    public static func read(_ path: String) throws(MPCInputError) -> MLPModel {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(URL(fileURLWithPath: path), maximumBytes: maximumFileBytes) } catch {
            throw MPCInputError(file: path, line: nil, message: error.reason)
        }
        return try parse(npz: bytes, file: path)
    }

    /// Parses `.npz` bytes (see `read`).
    public static func parse(npz bytes: [UInt8], file: String) throws(MPCInputError) -> MLPModel {
        func fail(_ message: String) -> MPCInputError { MPCInputError(file: file, line: nil, message: message) }
        let archive: NumpyArchive
        do { archive = try NumpyArchive(npz: bytes, maximumMemberBytes: maximumFileBytes) } catch {
            throw fail(error.reason)
        }
        let names = archive.names
        var prefixes: [String] = []
        for name in names {
            if name.hasSuffix(".weight") {
                prefixes.append(String(name.dropLast(7)))
            } else if !name.hasSuffix(".bias") {
                throw fail("the array '\(name)' is neither a layer's .weight nor its .bias")
            }
        }
        for name in names where name.hasSuffix(".bias") && !prefixes.contains(String(name.dropLast(5))) {
            throw fail("the bias '\(name)' has no weight '\(name.dropLast(5)).weight'")
        }
        guard !prefixes.isEmpty else { throw fail("no layer: no array named <layer>.weight") }
        guard prefixes.count <= maximumLayers else { throw fail("\(prefixes.count) layers, more than the \(maximumLayers) supported") }
        func values(_ name: String) throws(MPCInputError) -> (shape: [Int], values: [Double]) {
            let array: NumpyArray
            do { array = try archive.array(named: name) } catch { throw fail(error.reason) }
            guard array.dataType.isFloatingPoint else {
                throw fail("'\(name)' holds \(array.dataType.numpyName) values; parameters must be floating point")
            }
            let v = array.doubles()
            guard v.allSatisfy(\.isFinite) else { throw fail("'\(name)' holds a value that is not finite") }
            return (array.shape, v)
        }
        var layers: [Layer] = []
        for prefix in prefixes {
            let (shape, w) = try values(prefix + ".weight")
            guard shape.count == 2, (1...maximumWidth).contains(shape[0]), (1...maximumWidth).contains(shape[1]) else {
                throw fail("'\(prefix).weight' has shape \(shape); a dense layer's weight is [outputs, inputs], each in 1…\(maximumWidth)")
            }
            let (outputs, inputs) = (shape[0], shape[1])
            if let previous = layers.last, previous.outputs != inputs {
                throw fail("'\(prefix).weight' takes \(inputs) inputs but the layer before it gives \(previous.outputs)")
            }
            var bias = [Double](repeating: 0, count: outputs)
            if names.contains(prefix + ".bias") {
                let (bShape, b) = try values(prefix + ".bias")
                guard bShape == [outputs] else {
                    throw fail("'\(prefix).bias' has shape \(bShape), its weight needs [\(outputs)]")
                }
                bias = b
            }
            // PyTorch's [outputs, inputs] transposed to [inputs, outputs].
            var t = [Double](repeating: 0, count: inputs * outputs)
            for o in 0..<outputs { for i in 0..<inputs { t[i * outputs + o] = w[o * inputs + i] } }
            layers.append(Layer(weights: t, bias: bias, inputs: inputs, outputs: outputs))
        }
        return MLPModel(layers: layers)
    }

    /// The model as `.npz` bytes in the layout `read` expects (names `0.weight`, `0.bias`,
    /// `2.weight`, … as an `nn.Sequential` with ReLUs between the layers names them; float64).
    public func npzBytes() -> [UInt8] {
        var arrays: [(name: String, array: NumpyArray)] = []
        for (l, layer) in layers.enumerated() {
            var w = [Double](repeating: 0, count: layer.inputs * layer.outputs)
            for i in 0..<layer.inputs { for o in 0..<layer.outputs { w[o * layer.inputs + i] = layer.weights[i * layer.outputs + o] } }
            arrays.append(("\(2 * l).weight", NumpyArray(shape: [layer.outputs, layer.inputs], values: w)))
            arrays.append(("\(2 * l).bias", NumpyArray(shape: [layer.outputs], values: layer.bias)))
        }
        return NumpyArchive.npzBytes(arrays)
    }

    /// The plaintext oracle: the logits of row-major `inputs` (`rows` rows), in `Double`.
    public func logits(_ inputs: [Double], rows: Int) -> [Double] {
        var h = inputs
        for (l, layer) in layers.enumerated() {
            precondition(h.count == rows * layer.inputs, "MLP logits: \(h.count) values for \(rows) rows of \(layer.inputs)")
            var next = [Double](repeating: 0, count: rows * layer.outputs)
            for r in 0..<rows {
                for o in 0..<layer.outputs {
                    var s = layer.bias[o]
                    for i in 0..<layer.inputs { s += h[r * layer.inputs + i] * layer.weights[i * layer.outputs + o] }
                    next[r * layer.outputs + o] = l < layers.count - 1 ? Swift.max(0, s) : s
                }
            }
            h = next
        }
        return h
    }
}
