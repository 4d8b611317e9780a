import NeuralNetworks

/// One module of a PyTorch `nn.Sequential`, as the layer list describes it: PyTorch's class name
/// and constructor arguments.
///
/// In JSON (or YAML decoded through Codable), an object with `type` and PyTorch's argument names:
/// ```json
/// {"type": "Linear", "in_features": 446, "out_features": 256, "bias": true}
/// {"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": [3, 2], "stride": 2, "padding": 1, "bias": false}
/// {"type": "BatchNorm2d", "num_features": 16, "eps": 1e-05, "momentum": 0.1, "affine": true}
/// {"type": "MaxPool2d", "kernel_size": 2, "stride": 2}
/// {"type": "Dropout", "p": 0.5}
/// {"type": "ReLU"}   {"type": "Tanh"}   {"type": "Sigmoid"}   {"type": "Flatten"}   {"type": "AvgPool2d", "kernel_size": 2}
/// ```
/// Omitted arguments take PyTorch's defaults (`bias` true, `stride` 1 for convolutions and
/// `kernel_size` for pooling, `padding` 0, `eps` 1e-5, `momentum` 0.1, `affine` true, `p` 0.5).
/// `kernel_size`, `stride` and `padding` of `Conv2d` are an integer or `[height, width]`. Other
/// PyTorch arguments are accepted only at the value PyTorch's computation here matches
/// (`dilation` 1, `groups` 1, `padding_mode` "zeros", `track_running_stats` true, pooling
/// `padding` 0 and `ceil_mode` false, Flatten's `start_dim` 1 and `end_dim` -1; `inplace` and
/// `count_include_pad` in any value); an unknown key or type is an error naming it.
///
/// Batch normalization is imported for evaluation mode (running statistics); `momentum: null`
/// (a cumulative average) is not supported.
public enum PyTorchLayer: Sendable, Hashable {
    case linear(inFeatures: Int, outFeatures: Int, bias: Bool = true)
    case conv2d(inChannels: Int, outChannels: Int, kernelSize: Extent2D, stride: Extent2D = 1, padding: Extent2D = 0, bias: Bool = true)
    case batchNorm1d(numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true)
    case batchNorm2d(numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true)
    /// `stride` nil means PyTorch's default, the kernel size.
    case maxPool2d(kernelSize: Int, stride: Int? = nil)
    case avgPool2d(kernelSize: Int, stride: Int? = nil)
    case dropout(p: Float = 0.5)
    case relu
    case tanh
    case sigmoid
    case flatten

    /// The type names the layer list accepts, in PyTorch's spelling.
    public static let typeNames = ["Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Dropout",
                                   "ReLU", "Tanh", "Sigmoid", "Flatten"]

    /// PyTorch's class name for the module.
    public var typeName: String {
        switch self {
        case .linear: return "Linear"
        case .conv2d: return "Conv2d"
        case .batchNorm1d: return "BatchNorm1d"
        case .batchNorm2d: return "BatchNorm2d"
        case .maxPool2d: return "MaxPool2d"
        case .avgPool2d: return "AvgPool2d"
        case .dropout: return "Dropout"
        case .relu: return "ReLU"
        case .tanh: return "Tanh"
        case .sigmoid: return "Sigmoid"
        case .flatten: return "Flatten"
        }
    }

    /// The `NeuralNetworks` layer that computes the same function, with the same parameter and
    /// buffer names (`weight`, `bias`, `running_mean`, `running_var`): the square, biased
    /// convolution and the biased linear layer map to `conv2d` and `dense`, the forms every
    /// PrivacyLab algorithm (per-sample gradients included) supports.
    public var layer: Layer {
        switch self {
        case let .linear(inFeatures, outFeatures, bias):
            return bias ? .dense(inputs: inFeatures, outputs: outFeatures) : .denseWithoutBias(inputs: inFeatures, outputs: outFeatures)
        case let .conv2d(inChannels, outChannels, kernel, stride, padding, bias):
            if bias, kernel.isSquare, stride.isSquare, padding.isSquare {
                return .conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernel.height,
                               stride: stride.height, padding: padding.height)
            }
            return .convolution2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                                  padding: padding, bias: bias)
        case let .batchNorm1d(features, eps, momentum, affine):
            return .batchNorm1d(features: features, epsilon: eps, momentum: momentum, affine: affine)
        case let .batchNorm2d(features, eps, momentum, affine):
            return .batchNorm2d(features: features, epsilon: eps, momentum: momentum, affine: affine)
        case let .maxPool2d(kernel, stride): return .maxPool2d(size: kernel, stride: stride ?? kernel)
        case let .avgPool2d(kernel, stride): return .avgPool2d(size: kernel, stride: stride ?? kernel)
        case let .dropout(p): return .dropout(rate: p)
        case .relu: return .relu
        case .tanh: return .tanh
        case .sigmoid: return .sigmoid
        case .flatten: return .flatten
        }
    }

    /// The integer arguments, by JSON key, with the least value each may take: checked against
    /// `PyTorchArchitecture.maximumExtent` before any shape arithmetic.
    var integerArguments: [(key: String, value: Int, minimum: Int)] {
        switch self {
        case let .linear(inFeatures, outFeatures, _):
            return [("in_features", inFeatures, 1), ("out_features", outFeatures, 1)]
        case let .conv2d(inChannels, outChannels, kernel, stride, padding, _):
            return [("in_channels", inChannels, 1), ("out_channels", outChannels, 1),
                    ("kernel_size", kernel.height, 1), ("kernel_size", kernel.width, 1),
                    ("stride", stride.height, 1), ("stride", stride.width, 1),
                    ("padding", padding.height, 0), ("padding", padding.width, 0)]
        case let .batchNorm1d(features, _, _, _), let .batchNorm2d(features, _, _, _):
            return [("num_features", features, 1)]
        case let .maxPool2d(kernel, stride), let .avgPool2d(kernel, stride):
            return [("kernel_size", kernel, 1), ("stride", stride ?? kernel, 1)]
        default:
            return []
        }
    }
}

// MARK: - Codable

extension PyTorchLayer: Codable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let typeKey = Key("type")
        let type = try c.decode(String.self, forKey: typeKey)
        func failure(_ kind: ModelImportError.Kind, _ key: Key?, _ reason: String) -> ModelImportError {
            ModelImportError(kind, file: PyTorchArchitecture.unnamedSource,
                             field: PyTorchArchitecture.fieldPath(c.codingPath + (key.map { [$0] } ?? [])), reason: reason)
        }
        func accept(_ keys: [String], fixed: [String] = []) throws {
            for key in c.allKeys where key.stringValue != "type" && !keys.contains(key.stringValue) && !fixed.contains(key.stringValue) {
                throw failure(.invalidArchitecture, key, "is not an argument of \(type) the importer reads; expected \((keys + fixed).joined(separator: ", "))")
            }
        }
        func integer(_ key: String) throws -> Int { try c.decode(Int.self, forKey: Key(key)) }
        func integer(_ key: String, default value: Int?) throws -> Int? { try c.decodeIfPresent(Int.self, forKey: Key(key)) ?? value }
        func flag(_ key: String, default value: Bool) throws -> Bool { try c.decodeIfPresent(Bool.self, forKey: Key(key)) ?? value }
        func number(_ key: String, default value: Float) throws -> Float {
            if c.contains(Key(key)), try c.decodeNil(forKey: Key(key)) {
                throw failure(.invalidArchitecture, Key(key), "is null; PyTorch's cumulative-average batch norm (momentum=None) is not supported")
            }
            return try c.decodeIfPresent(Float.self, forKey: Key(key)) ?? value
        }
        func extent(_ key: String, default value: Extent2D?) throws -> Extent2D {
            let k = Key(key)
            guard c.contains(k) else {
                guard let value else { throw failure(.invalidArchitecture, k, "is required") }
                return value
            }
            if let single = try? c.decode(Int.self, forKey: k) { return Extent2D(single) }
            guard let pair = try? c.decode([Int].self, forKey: k), pair.count == 2 else {
                throw failure(.invalidArchitecture, k, "must be an integer or [height, width]")
            }
            return Extent2D(height: pair[0], width: pair[1])
        }
        /// An argument PyTorch has that must hold the value our computation matches.
        func require<T: Decodable & Equatable>(_ key: String, _ expected: [T], _ what: String) throws {
            let k = Key(key)
            guard c.contains(k) else { return }
            guard let value = try? c.decode(T.self, forKey: k), expected.contains(value) else {
                throw failure(.invalidArchitecture, k, "is not supported: only \(what)")
            }
        }
        switch type {
        case "Linear":
            try accept(["in_features", "out_features", "bias"])
            self = .linear(inFeatures: try integer("in_features"), outFeatures: try integer("out_features"), bias: try flag("bias", default: true))
        case "Conv2d":
            try accept(["in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"], fixed: ["dilation", "groups", "padding_mode"])
            if c.contains(Key("dilation")), (try? extent("dilation", default: nil)) != Extent2D(1) {
                throw failure(.invalidArchitecture, Key("dilation"), "is not supported: only dilation 1")
            }
            try require("groups", [1], "groups 1")
            try require("padding_mode", ["zeros"], "padding_mode \"zeros\"")
            self = .conv2d(inChannels: try integer("in_channels"), outChannels: try integer("out_channels"),
                           kernelSize: try extent("kernel_size", default: nil), stride: try extent("stride", default: 1),
                           padding: try extent("padding", default: 0), bias: try flag("bias", default: true))
        case "BatchNorm1d", "BatchNorm2d":
            try accept(["num_features", "eps", "momentum", "affine"], fixed: ["track_running_stats"])
            try require("track_running_stats", [true], "track_running_stats true (the running statistics are what evaluation uses)")
            let (features, eps, momentum, affine) = (try integer("num_features"), try number("eps", default: 1e-5),
                                                     try number("momentum", default: 0.1), try flag("affine", default: true))
            self = type == "BatchNorm1d" ? .batchNorm1d(numFeatures: features, eps: eps, momentum: momentum, affine: affine)
                : .batchNorm2d(numFeatures: features, eps: eps, momentum: momentum, affine: affine)
        case "MaxPool2d", "AvgPool2d":
            let isMax = type == "MaxPool2d"
            try accept(["kernel_size", "stride"], fixed: isMax ? ["padding", "dilation", "ceil_mode"] : ["padding", "ceil_mode", "count_include_pad"])
            try require("padding", [0], "padding 0")
            try require("dilation", [1], "dilation 1")
            try require("ceil_mode", [false], "ceil_mode false")
            func square(_ key: String, default value: Int?) throws -> Int? {
                guard c.contains(Key(key)), (try? c.decodeNil(forKey: Key(key))) == false else { return value }
                let e = try extent(key, default: nil)
                guard e.isSquare else { throw failure(.invalidArchitecture, Key(key), "is \(e); pooling windows must be square") }
                return e.height
            }
            guard let kernel = try square("kernel_size", default: nil) else { throw failure(.invalidArchitecture, Key("kernel_size"), "is required") }
            let stride = try square("stride", default: nil)
            self = isMax ? .maxPool2d(kernelSize: kernel, stride: stride) : .avgPool2d(kernelSize: kernel, stride: stride)
        case "Dropout":
            try accept(["p"], fixed: ["inplace"])
            self = .dropout(p: try number("p", default: 0.5))
        case "ReLU":
            try accept([], fixed: ["inplace"])
            self = .relu
        case "Tanh":
            try accept([])
            self = .tanh
        case "Sigmoid":
            try accept([])
            self = .sigmoid
        case "Flatten":
            try accept([], fixed: ["start_dim", "end_dim"])
            try require("start_dim", [1], "start_dim 1")
            try require("end_dim", [-1], "end_dim -1")
            self = .flatten
        default:
            throw failure(.unknownLayerType, typeKey, "\"\(type.prefix(64))\" is not a layer type the importer knows; supported: \(Self.typeNames.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(typeName, forKey: Key("type"))
        func extent(_ e: Extent2D, _ key: String) throws {
            if e.isSquare { try c.encode(e.height, forKey: Key(key)) } else { try c.encode([e.height, e.width], forKey: Key(key)) }
        }
        switch self {
        case let .linear(inFeatures, outFeatures, bias):
            try c.encode(inFeatures, forKey: Key("in_features"))
            try c.encode(outFeatures, forKey: Key("out_features"))
            try c.encode(bias, forKey: Key("bias"))
        case let .conv2d(inChannels, outChannels, kernel, stride, padding, bias):
            try c.encode(inChannels, forKey: Key("in_channels"))
            try c.encode(outChannels, forKey: Key("out_channels"))
            try extent(kernel, "kernel_size")
            try extent(stride, "stride")
            try extent(padding, "padding")
            try c.encode(bias, forKey: Key("bias"))
        case let .batchNorm1d(features, eps, momentum, affine), let .batchNorm2d(features, eps, momentum, affine):
            try c.encode(features, forKey: Key("num_features"))
            try c.encode(eps, forKey: Key("eps"))
            try c.encode(momentum, forKey: Key("momentum"))
            try c.encode(affine, forKey: Key("affine"))
        case let .maxPool2d(kernel, stride), let .avgPool2d(kernel, stride):
            try c.encode(kernel, forKey: Key("kernel_size"))
            try c.encodeIfPresent(stride, forKey: Key("stride"))
        case let .dropout(p):
            try c.encode(p, forKey: Key("p"))
        case .relu, .tanh, .sigmoid, .flatten:
            break
        }
    }
}
