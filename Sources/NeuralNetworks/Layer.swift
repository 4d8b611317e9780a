import LabRandom
import Tensors

/// One layer of a `Sequential` model: what it computes and the shapes of its parameters and
/// buffers.
///
/// Layers are plain values (Codable, so an architecture can be stored with its checkpoint);
/// their parameters live in the model, in layer order, as PyTorch names and lays them out
/// (`weight` then `bias`; dense weights [out, in], convolution weights [out, in, kh, kw]).
/// Buffers are state that is not trained by gradient descent (the running statistics of batch
/// normalization, `running_mean` then `running_var`); they live beside the parameters.
public enum Layer: Codable, Sendable, Equatable, Hashable {
    /// x · Wᵀ + b on vectors of `inputs` features.
    case dense(inputs: Int, outputs: Int)
    /// x · Wᵀ without a bias (PyTorch's `nn.Linear(bias=False)`).
    case denseWithoutBias(inputs: Int, outputs: Int)
    /// 2-D convolution of [C, H, W] inputs with square kernels, zero padding, and a bias per
    /// output channel.
    case conv2d(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int)
    /// 2-D convolution whose kernel, stride and zero padding may differ along height and width,
    /// with or without a bias (PyTorch's `nn.Conv2d` in general; `conv2d` is the square case
    /// with a bias, and the one per-sample gradients support).
    case convolution2d(inChannels: Int, outChannels: Int, kernel: Extent2D, stride: Extent2D, padding: Extent2D, bias: Bool)
    /// Batch normalization of vectors of `features` values (PyTorch's `nn.BatchNorm1d` on
    /// [N, features] inputs); see `BatchNormalization` for the computation.
    case batchNorm1d(features: Int, epsilon: Float, momentum: Float, affine: Bool)
    /// Batch normalization of the `features` channels of [C, H, W] inputs, with statistics over
    /// the batch and both spatial axes (PyTorch's `nn.BatchNorm2d`).
    case batchNorm2d(features: Int, epsilon: Float, momentum: Float, affine: Bool)
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
        case let .denseWithoutBias(inputs, outputs):
            return [("weight", [outputs, inputs])]
        case let .conv2d(inChannels, outChannels, kernel, _, _):
            return [("weight", [outChannels, inChannels, kernel, kernel]), ("bias", [outChannels])]
        case let .convolution2d(inChannels, outChannels, kernel, _, _, bias):
            let weight = ("weight", [outChannels, inChannels, kernel.height, kernel.width])
            return bias ? [weight, ("bias", [outChannels])] : [weight]
        case let .batchNorm1d(features, _, _, affine), let .batchNorm2d(features, _, _, affine):
            return affine ? [("weight", [features]), ("bias", [features])] : []
        default:
            return []
        }
    }

    /// The shapes of the layer's buffers: state kept with the parameters but not trained by
    /// gradient descent (batch normalization's running mean and variance).
    public var bufferShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .batchNorm1d(features, _, _, _), let .batchNorm2d(features, _, _, _):
            return [("running_mean", [features]), ("running_var", [features])]
        default:
            return []
        }
    }

    /// The number of inputs each output of the layer sums over (the fan-in of PyTorch's default
    /// initialisation), 1 for layers without weights.
    var fanIn: Int {
        switch self {
        case let .dense(inputs, _), let .denseWithoutBias(inputs, _): return inputs
        case let .conv2d(inChannels, _, kernel, _, _): return inChannels * kernel * kernel
        case let .convolution2d(inChannels, _, kernel, _, _, _): return inChannels * kernel.height * kernel.width
        default: return 1
        }
    }

    /// Whether `Sequential.perSampleGradientPass` handles the layer: layers without parameters,
    /// `dense` and `conv2d`. Batch normalization mixes the examples of a batch in training, so
    /// per-example gradients (DP-SGD) are not defined for it.
    public var supportsPerSampleGradients: Bool {
        switch self {
        case .denseWithoutBias, .convolution2d, .batchNorm1d, .batchNorm2d: return false
        default: return true
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
            guard let h = Self.slidingCount(input[1], kernel: kernel, stride: stride, padding: padding),
                  let w = Self.slidingCount(input[2], kernel: kernel, stride: stride, padding: padding) else {
                return mismatch("an image of at least \(kernel)×\(kernel) after padding")
            }
            return .success([outChannels, h, w])
        case let .denseWithoutBias(inputs, outputs):
            guard inputs > 0, outputs > 0 else { return mismatch("positive input and output sizes") }
            return input == [inputs] ? .success([outputs]) : mismatch("[\(inputs)]")
        case let .convolution2d(inChannels, outChannels, kernel, stride, padding, _):
            guard inChannels > 0, outChannels > 0, kernel.height > 0, kernel.width > 0, stride.height > 0, stride.width > 0,
                  padding.height >= 0, padding.width >= 0 else {
                return mismatch("positive channels, kernel sizes and strides, non-negative padding")
            }
            guard input.count == 3, input[0] == inChannels else { return mismatch("[\(inChannels), H, W]") }
            guard let h = Self.slidingCount(input[1], kernel: kernel.height, stride: stride.height, padding: padding.height),
                  let w = Self.slidingCount(input[2], kernel: kernel.width, stride: stride.width, padding: padding.width) else {
                return mismatch("an image of at least \(kernel.height)×\(kernel.width) after padding")
            }
            return .success([outChannels, h, w])
        case let .batchNorm1d(features, epsilon, momentum, _), let .batchNorm2d(features, epsilon, momentum, _):
            guard features > 0, epsilon > 0, epsilon.isFinite, momentum >= 0, momentum <= 1 else {
                return mismatch("a positive feature count, a positive finite epsilon and a momentum in [0, 1]")
            }
            if case .batchNorm1d = self {
                return input == [features] ? .success(input) : mismatch("[\(features)]")
            }
            return input.count == 3 && input[0] == features ? .success(input) : mismatch("[\(features), H, W]")
        case let .maxPool2d(size, stride), let .avgPool2d(size, stride):
            guard size > 0, stride > 0 else { return mismatch("positive window size and stride") }
            guard input.count == 3, input[1] >= size, input[2] >= size else { return mismatch("[C, H, W] with H, W ≥ \(size)") }
            return .success([input[0], (input[1] - size) / stride + 1, (input[2] - size) / stride + 1])
        case .flatten:
            var count = 1
            for extent in input {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                guard !overflow else { return mismatch("a shape whose size fits in an Int") }
                count = product
            }
            return .success([count])
        case .relu, .tanh, .sigmoid:
            return .success(input)
        case let .dropout(rate):
            return rate >= 0 && rate < 1 ? .success(input) : mismatch("a dropout rate in [0, 1)")
        }
    }

    /// The number of positions of a window of `kernel` moved by `stride` over `extent` values
    /// padded by `padding` on both sides, or nil when the window does not fit once or the padded
    /// extent overflows `Int` (sizes come from files: a checkpoint's architecture).
    static func slidingCount(_ extent: Int, kernel: Int, stride: Int, padding: Int) -> Int? {
        let (twice, o1) = padding.multipliedReportingOverflow(by: 2)
        let (padded, o2) = extent.addingReportingOverflow(twice)
        guard !o1, !o2, extent > 0, padded >= kernel else { return nil }
        return (padded - kernel) / stride + 1
    }

    /// Applies the layer to a batch. `parameters` and `buffers` hold this layer's parameters and
    /// buffers in order; in training, a layer with buffers writes their new values at the same
    /// indices of `updatedBuffers` when it is not `nil`.
    func forward(_ x: Tensor, parameters: ArraySlice<Tensor>, buffers: ArraySlice<Tensor>, training: Bool,
                 random: inout LabRandom?, updatedBuffers: inout [Tensor]?) -> Tensor {
        let p = parameters.startIndex
        switch self {
        case .dense:
            return Tensor.linear(x, weight: parameters[p], bias: parameters[p + 1])
        case .denseWithoutBias:
            return Tensor.linear(x, weight: parameters[p], bias: nil)
        case let .conv2d(_, outChannels, _, stride, padding):
            _ = outChannels
            return Tensor.conv2d(x, weight: parameters[p], bias: parameters[p + 1], stride: stride, padding: padding)
        case let .convolution2d(_, _, _, stride, padding, bias):
            return Layer.convolution(x, weight: parameters[p], bias: bias ? parameters[p + 1] : nil, stride: stride, padding: padding)
        case let .batchNorm1d(_, epsilon, momentum, affine), let .batchNorm2d(_, epsilon, momentum, affine):
            let normalization = BatchNormalization(spatial: { if case .batchNorm2d = self { true } else { false } }(),
                                                   epsilon: epsilon, momentum: momentum)
            let b = buffers.startIndex
            let scale = affine ? parameters[p] : nil, shift = affine ? parameters[p + 1] : nil
            if training {
                let (y, mean, variance) = normalization.training(x, scale: scale, shift: shift,
                                                                 runningMean: buffers[b], runningVariance: buffers[b + 1])
                updatedBuffers?[b] = mean
                updatedBuffers?[b + 1] = variance
                return y
            }
            return normalization.evaluation(x, scale: scale, shift: shift, runningMean: buffers[b], runningVariance: buffers[b + 1])
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
