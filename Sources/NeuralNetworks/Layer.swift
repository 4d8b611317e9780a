import LabRandom
import Tensors

/// One layer of a `Sequential` model: what it computes and the shapes of its parameters.
///
/// Layers are plain values (Codable, so an architecture can be stored with its checkpoint);
/// their parameters live in the model, in layer order, as PyTorch names and lays them out
/// (`weight` then `bias`; dense weights [out, in], convolution weights [out, in, kh, kw]).
public enum Layer: Codable, Sendable, Equatable, Hashable {
    /// x · Wᵀ + b on vectors of `inputs` features.
    case dense(inputs: Int, outputs: Int)
    /// 2-D convolution of [C, H, W] inputs with square kernels, zero padding, and a bias per
    /// output channel.
    case conv2d(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int)
    /// Max pooling over `size`×`size` windows moved by `stride`.
    case maxPool2d(size: Int, stride: Int)
    /// Average pooling over `size`×`size` windows moved by `stride`.
    case avgPool2d(size: Int, stride: Int)
    /// [C, H, W] (or any shape) to a vector.
    case flatten
    case relu
    case tanh
    case sigmoid
    /// Inverted dropout: in training, each value is zeroed with probability `rate` and the
    /// others are scaled by 1 / (1 − rate); the identity in evaluation.
    case dropout(rate: Float)

    /// The shapes of the layer's parameters (none for parameter-free layers).
    public var parameterShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .dense(inputs, outputs):
            return [("weight", [outputs, inputs]), ("bias", [outputs])]
        case let .conv2d(inChannels, outChannels, kernel, _, _):
            return [("weight", [outChannels, inChannels, kernel, kernel]), ("bias", [outChannels])]
        default:
            return []
        }
    }

    /// The per-sample output shape for a per-sample input shape, or a reason it does not fit.
    public func outputShape(for input: [Int]) -> Result<[Int], ModelError> {
        func mismatch(_ expected: String) -> Result<[Int], ModelError> {
            .failure(.incompatibleLayer(layer: self, inputShape: input, expected: expected))
        }
        switch self {
        case let .dense(inputs, outputs):
            guard inputs > 0, outputs > 0 else { return mismatch("positive input and output sizes") }
            return input == [inputs] ? .success([outputs]) : mismatch("[\(inputs)]")
        case let .conv2d(inChannels, outChannels, kernel, stride, padding):
            guard inChannels > 0, outChannels > 0, kernel > 0, stride > 0, padding >= 0 else {
                return mismatch("positive channels, kernel size and stride, non-negative padding")
            }
            guard input.count == 3, input[0] == inChannels else { return mismatch("[\(inChannels), H, W]") }
            let h = (input[1] + 2 * padding - kernel) / stride + 1
            let w = (input[2] + 2 * padding - kernel) / stride + 1
            guard input[1] + 2 * padding >= kernel, input[2] + 2 * padding >= kernel else {
                return mismatch("an image of at least \(kernel)×\(kernel) after padding")
            }
            return .success([outChannels, h, w])
        case let .maxPool2d(size, stride), let .avgPool2d(size, stride):
            guard size > 0, stride > 0 else { return mismatch("positive window size and stride") }
            guard input.count == 3, input[1] >= size, input[2] >= size else { return mismatch("[C, H, W] with H, W ≥ \(size)") }
            return .success([input[0], (input[1] - size) / stride + 1, (input[2] - size) / stride + 1])
        case .flatten:
            return .success([Tensor.elementCount(input)])
        case .relu, .tanh, .sigmoid:
            return .success(input)
        case let .dropout(rate):
            return rate >= 0 && rate < 1 ? .success(input) : mismatch("a dropout rate in [0, 1)")
        }
    }

    /// Applies the layer to a batch. `parameters` holds this layer's parameters in order.
    func forward(_ x: Tensor, parameters: ArraySlice<Tensor>, training: Bool,
                 random: inout LabRandom?) -> Tensor {
        switch self {
        case .dense:
            let p = parameters.startIndex
            return Tensor.linear(x, weight: parameters[p], bias: parameters[p + 1])
        case let .conv2d(_, outChannels, _, stride, padding):
            let p = parameters.startIndex
            let y = Tensor.conv2d(x, weight: parameters[p], stride: stride, padding: padding)
            return y + parameters[p + 1].reshaped(to: [outChannels, 1, 1])
        case let .maxPool2d(size, stride):
            return x.maxPool2d(size: size, stride: stride)
        case let .avgPool2d(size, stride):
            return x.avgPool2d(size: size, stride: stride)
        case .flatten:
            return x.flattenedBatch()
        case .relu:
            return x.relu()
        case .tanh:
            return x.tanh()
        case .sigmoid:
            return x.sigmoid()
        case let .dropout(rate):
            guard training, rate > 0 else { return x }
            precondition(random != nil, "dropout in training needs a random stream")
            let keep = 1 - rate
            let mask = Tensor(shape: x.shape) { out in
                random!.fillUniform(out, low: 0, high: 1)
                for i in out.indices { out[i] = out[i] < keep ? 1 / keep : 0 }
            }
            return x * mask
        }
    }
}

/// Errors in building, loading or using a model.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case incompatibleLayer(layer: Layer, inputShape: [Int], expected: String)
    case inputShape(expected: [Int], got: [Int])
    case labels(String)

    public var description: String {
        switch self {
        case let .incompatibleLayer(layer, inputShape, expected):
            return "layer \(layer) receives per-sample shape \(inputShape) but expects \(expected)"
        case let .inputShape(expected, got):
            return "model expects inputs of per-sample shape \(expected), got batch shape \(got)"
        case let .labels(message):
            return "labels: \(message)"
        }
    }
}
