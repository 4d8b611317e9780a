import LabRandom
import Tensors

/// What one forward and backward pass over a batch leaves behind for per-sample gradient work:
/// each trainable layer's input activations aₗ and the gradients ∂(Σₙ ℓₙ)/∂zₗ of the summed
/// per-example losses with respect to its outputs zₗ.
///
/// Every per-sample quantity of a Dense or Conv2D layer is a bilinear function of the two
/// (Goodfellow 2015; Rochette, Manoel & Tramel 2019; Li et al. 2022, "ghost clipping"):
/// - Dense, zₙ = Waₙ + b: ∇_W ℓₙ = δₙ aₙᵀ, ∇_b ℓₙ = δₙ, so
///   ‖∇_W ℓₙ‖² = ‖aₙ‖²·‖δₙ‖² and Σₙ wₙ∇_W ℓₙ = (w ⊙ Δ)ᵀA — neither needs the per-sample gradients.
/// - Conv2D: with Uₙ the unfolded (im2col) input [C·k², P] and Δₙ the output gradient [O, P],
///   ∇_W ℓₙ = ΔₙUₙᵀ, and ‖∇_W ℓₙ‖² = ⟨UₙᵀUₙ, ΔₙᵀΔₙ⟩ (the "ghost norm", O(P²(Ck² + O))) or, when
///   O·Ck² < P², the norm of the materialized [O, Ck²] matrix; ∇_b ℓₙ = Δₙ·1.
/// The backward pass runs with the parameters detached, so it computes input gradients only;
/// the weight gradients come once, already weighted by the clipping factors.
///
/// Requires per-example independence: the loss of example n depends on row n only (true for
/// every layer whose `supportsPerSampleGradients` holds; dropout masks are per element).
public struct PerSampleGradientPass: Sendable {
    /// One trainable layer's captured tensors.
    struct Capture: Sendable {
        let layer: Layer
        /// Index of the layer's first parameter (weight; bias is the next).
        let parameterIndex: Int
        /// The layer's input aₗ, [N, in] or [N, C, H, W].
        let input: Tensor
        /// ∂(Σ ℓ)/∂zₗ, [N, out] or [N, O, OH, OW].
        let outputGradient: Tensor
    }

    let captures: [Capture]
    /// The shapes of all the model's parameters, in order.
    public let parameterShapes: [[Int]]
    /// ℓₙ, the loss of each example.
    public let losses: [Float]
    /// N.
    public var batchSize: Int { losses.count }

    /// ‖∇ℓₙ‖² for each parameter tensor p and example n, as `[p][n]`, without materializing
    /// per-sample gradients of Dense layers.
    /// - Complexity: Dense O(N(in + out)); Conv2D O(N·min(P²(Ck² + O), O·Ck²·P)).
    public func squaredNorms() -> [[Float]] {
        var result = parameterShapes.map { _ in [Float](repeating: 0, count: batchSize) }
        for capture in captures {
            let (w, b) = (capture.parameterIndex, capture.parameterIndex + 1)
            switch capture.layer {
            case .dense:
                let inputNorms = PerSampleKernels.rowSquaredNorms(capture.input)
                let outputNorms = PerSampleKernels.rowSquaredNorms(capture.outputGradient)
                for n in 0..<batchSize {
                    result[w][n] = inputNorms[n] * outputNorms[n]
                    result[b][n] = outputNorms[n]
                }
            case let .conv2d(_, _, kernel, stride, padding):
                result[w] = PerSampleKernels.convolutionWeightNorms(capture.input, capture.outputGradient,
                                                                   kernel: kernel, stride: stride, padding: padding)
                result[b] = PerSampleKernels.rowSquaredNorms(PerSampleKernels.spatialSums(capture.outputGradient))
            default:
                preconditionFailure("PerSampleGradientPass: \(capture.layer) has no parameters")
            }
        }
        return result
    }

    /// Σₙ w[p][n]·∇_{θp} ℓₙ for every parameter tensor p: the sum of per-sample gradients, each
    /// scaled by its own weight (a clipping factor).
    /// - Parameter weights: `[p][n]`, one weight per parameter tensor and example.
    /// - Complexity: one weight-gradient GEMM per trainable layer, as in a plain backward pass.
    public func weightedGradientSum(weights: [[Float]]) -> [Tensor] {
        precondition(weights.count == parameterShapes.count && weights.allSatisfy { $0.count == batchSize },
                     "weightedGradientSum: expected \(parameterShapes.count) × \(batchSize) weights")
        var result: [Tensor?] = parameterShapes.map { _ in nil }
        withoutGradients {
            for capture in captures {
                let (w, b) = (capture.parameterIndex, capture.parameterIndex + 1)
                let scaledForWeight = PerSampleKernels.scaleRows(capture.outputGradient, weights[w])
                let scaledForBias = weights[b] == weights[w] ? scaledForWeight : PerSampleKernels.scaleRows(capture.outputGradient, weights[b])
                switch capture.layer {
                case .dense:
                    result[w] = Tensor.matmul(scaledForWeight, capture.input, transposeA: true)
                    result[b] = PerSampleKernels.columnSums(scaledForBias)
                case let .conv2d(_, _, _, stride, padding):
                    result[w] = Tensor.convolutionWeightGradient(capture.input, outputGradient: scaledForWeight,
                                                                 weightShape: parameterShapes[w], stride: stride, padding: padding)
                    result[b] = PerSampleKernels.columnSums(PerSampleKernels.spatialSums(scaledForBias))
                default:
                    preconditionFailure("PerSampleGradientPass: \(capture.layer) has no parameters")
                }
            }
        }
        return result.enumerated().map { $0.element ?? Tensor(zeros: parameterShapes[$0.offset]) }
    }

    /// The per-sample gradients themselves: for each parameter tensor, an [N, count] matrix whose
    /// row n is ∇ℓₙ flattened in the parameter's row-major order.
    /// - Complexity: O(N × parameter count) memory.
    public func perSampleGradients() -> [Tensor] {
        var result = parameterShapes.map { _ in Tensor(zeros: [0]) }
        withoutGradients {
            for capture in captures {
                let (w, b) = (capture.parameterIndex, capture.parameterIndex + 1)
                switch capture.layer {
                case .dense:
                    result[w] = PerSampleKernels.rowOuterProducts(capture.outputGradient, capture.input)
                    result[b] = capture.outputGradient
                case let .conv2d(_, _, kernel, stride, padding):
                    result[w] = PerSampleKernels.convolutionWeightGradients(capture.input, capture.outputGradient,
                                                                           kernel: kernel, stride: stride, padding: padding)
                    result[b] = PerSampleKernels.spatialSums(capture.outputGradient)
                default:
                    preconditionFailure("PerSampleGradientPass: \(capture.layer) has no parameters")
                }
            }
        }
        return result
    }
}

extension Sequential {
    /// One forward and backward pass over a batch that keeps what per-sample gradients need.
    ///
    /// - Parameters:
    ///   - x: [N, inputShape…].
    ///   - labels: N class indices.
    ///   - parameters: the values to differentiate at (the model's own by default).
    ///   - training: dropout is active in training.
    ///   - random: the stream dropout draws from.
    /// - Complexity: one forward pass and one input-gradient backward pass.
    public func perSampleGradientPass(_ x: Tensor, labels: [Int], loss: Loss = .softmaxCrossEntropy,
                                      parameters: [Tensor]? = nil, training: Bool = true,
                                      random: inout LabRandom?) -> PerSampleGradientPass {
        let values = (parameters ?? self.parameters).map { $0.detached() }
        precondition(values.count == self.parameters.count,
                     "perSampleGradientPass: expected \(self.parameters.count) parameter tensors, got \(values.count)")
        precondition(Array(x.shape.dropFirst()) == inputShape,
                     "perSampleGradientPass: expected inputs [N, \(inputShape.map(String.init).joined(separator: ", "))], got \(x.shape)")
        precondition(labels.count == x.shape[0], "perSampleGradientPass: \(labels.count) labels for \(x.shape[0]) examples")
        if let unsupported = layers.first(where: { !$0.supportsPerSampleGradients }) {
            preconditionFailure("perSampleGradientPass: layer \(unsupported) has no per-sample gradient support (check Layer.supportsPerSampleGradients)")
        }
        var h = x.detached()
        var inputs: [Tensor] = [], outputs: [Tensor] = [], trainable: [(Layer, Int)] = []
        var perExample = Tensor(zeros: [0])
        var noBuffers: [Tensor]? = nil
        GradientRecording.$isEnabled.withValue(true) {
            for (index, layer) in layers.enumerated() {
                let range = parameterRanges[index]
                switch layer {
                case .dense, .conv2d:
                    var z = layer.forward(h, parameters: values[range], buffers: [], training: training, random: &random,
                                          updatedBuffers: &noBuffers)
                    if !z.requiresGradient { z = z.requiringGradient() }
                    inputs.append(h.detached())
                    outputs.append(z)
                    trainable.append((layer, range.lowerBound))
                    h = z
                default:
                    h = layer.forward(h, parameters: values[range], buffers: [], training: training, random: &random,
                                      updatedBuffers: &noBuffers)
                }
            }
            perExample = loss.perExample(outputs: h, labels: labels)
        }
        let lossValues = perExample.detached().scalars
        let outputGradients = outputs.isEmpty ? [] : gradients(of: perExample.sum(), withRespectTo: outputs)
        var captures: [PerSampleGradientPass.Capture] = []
        for (i, (layer, parameterIndex)) in trainable.enumerated() {
            captures.append(.init(layer: layer, parameterIndex: parameterIndex, input: inputs[i], outputGradient: outputGradients[i]))
        }
        return PerSampleGradientPass(captures: captures, parameterShapes: values.map(\.shape), losses: lossValues)
    }

    /// The gradient of each example's loss with respect to each parameter tensor, as [N, count]
    /// matrices (row n is ∇ℓₙ flattened), from one batched pass.
    public func perSampleGradients(_ x: Tensor, labels: [Int], loss: Loss = .softmaxCrossEntropy,
                                   parameters: [Tensor]? = nil) -> [Tensor] {
        var none: LabRandom? = nil
        return perSampleGradientPass(x, labels: labels, loss: loss, parameters: parameters, training: false,
                                     random: &none).perSampleGradients()
    }
}

// MARK: - Kernels

/// Raw-buffer loops for per-sample quantities.
enum PerSampleKernels {
    /// ‖row n‖² of a tensor viewed as [N, rest].
    static func rowSquaredNorms(_ t: Tensor) -> [Float] {
        let n = t.shape[0], width = n == 0 ? 0 : t.scalarCount / n
        var result = [Float](repeating: 0, count: n)
        t.withUnsafeBufferPointer { p in
            for r in 0..<n {
                // Eight partial sums, so that the loop vectorizes.
                let row = UnsafeRawPointer(p.baseAddress! + r * width)
                var acc = SIMD8<Float>()
                var j = 0
                while j + 8 <= width {
                    let v = row.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    acc += v * v
                    j += 8
                }
                var s = acc.sum()
                let scalars = row.assumingMemoryBound(to: Float.self)
                while j < width { s += scalars[j] * scalars[j]; j += 1 }
                result[r] = s
            }
        }
        return result
    }

    /// Each row n of a tensor viewed as [N, rest] multiplied by w[n].
    static func scaleRows(_ t: Tensor, _ w: [Float]) -> Tensor {
        let n = t.shape[0], width = n == 0 ? 0 : t.scalarCount / n
        return t.withUnsafeBufferPointer { p in
            Tensor(shape: t.shape) { out in
                for r in 0..<n {
                    let scale = w[r]
                    for j in 0..<width { out[r * width + j] = scale * p[r * width + j] }
                }
            }
        }
    }

    /// Σ over rows of an [N, K] tensor: [K].
    static func columnSums(_ t: Tensor) -> Tensor {
        let n = t.shape[0], width = t.shape[1]
        return t.withUnsafeBufferPointer { p in
            Tensor(shape: [width]) { out in
                out.initialize(repeating: 0)
                for r in 0..<n { for j in 0..<width { out[j] += p[r * width + j] } }
            }
        }
    }

    /// [N, O, OH, OW] summed over the spatial axes: [N, O].
    static func spatialSums(_ t: Tensor) -> Tensor {
        let (n, o) = (t.shape[0], t.shape[1]), pixels = t.shape[2] * t.shape[3]
        return t.withUnsafeBufferPointer { p in
            Tensor(shape: [n, o]) { out in
                for i in 0..<(n * o) {
                    var s: Float = 0
                    for j in 0..<pixels { s += p[i * pixels + j] }
                    out[i] = s
                }
            }
        }
    }

    /// Row-wise outer products: [N, out] and [N, in] give [N, out·in] with row n = δₙ ⊗ aₙ.
    static func rowOuterProducts(_ delta: Tensor, _ a: Tensor) -> Tensor {
        let (n, o, i) = (delta.shape[0], delta.shape[1], a.shape[1])
        return delta.withUnsafeBufferPointer { d in
            a.withUnsafeBufferPointer { x in
                Tensor(shape: [n, o * i]) { out in
                    for r in 0..<n {
                        for p in 0..<o {
                            let scale = d[r * o + p]
                            let target = out.baseAddress! + (r * o + p) * i, source = x.baseAddress! + r * i
                            for j in 0..<i { target[j] = scale * source[j] }
                        }
                    }
                }
            }
        }
    }

    /// The unfolded (im2col) input of sample `n`: [C·k·k, OH·OW], zero padding.
    static func unfold(_ x: Tensor, sample n: Int, kernel k: Int, stride s: Int, padding p: Int) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        return x.withUnsafeBufferPointer { source in
            Tensor(shape: [c * k * k, oh * ow]) { out in
                let image = source.baseAddress! + n * c * h * w
                for ci in 0..<c {
                    for kh in 0..<k {
                        for kw in 0..<k {
                            let row = out.baseAddress! + ((ci * k + kh) * k + kw) * oh * ow
                            for y in 0..<oh {
                                let ih = y * s - p + kh
                                for xo in 0..<ow {
                                    let iw = xo * s - p + kw
                                    row[y * ow + xo] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? image[(ci * h + ih) * w + iw] : 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sample n's output gradient as an [O, P] matrix.
    static func outputMatrix(_ dy: Tensor, sample n: Int) -> Tensor {
        let (o, pixels) = (dy.shape[1], dy.shape[2] * dy.shape[3])
        return dy.slice(axis: 0, n..<(n + 1)).reshaped(to: [o, pixels])
    }

    /// ‖ΔₙUₙᵀ‖² per sample, by the ghost norm ⟨UₙᵀUₙ, ΔₙᵀΔₙ⟩ when P² ≤ O·Ck², else materialized.
    static func convolutionWeightNorms(_ x: Tensor, _ dy: Tensor, kernel: Int, stride: Int, padding: Int) -> [Float] {
        let n = x.shape[0], pixels = dy.shape[2] * dy.shape[3]
        let patch = x.shape[1] * kernel * kernel, outChannels = dy.shape[1]
        let ghost = pixels * pixels <= outChannels * patch
        var result = [Float](repeating: 0, count: n)
        withoutGradients {
            for i in 0..<n {
                let u = unfold(x, sample: i, kernel: kernel, stride: stride, padding: padding)
                let d = outputMatrix(dy, sample: i)
                if ghost {
                    let uu = Tensor.matmul(u, u, transposeA: true)      // [P, P]
                    let dd = Tensor.matmul(d, d, transposeA: true)      // [P, P]
                    result[i] = uu.withUnsafeBufferPointer { a in
                        dd.withUnsafeBufferPointer { b in
                            var s: Float = 0
                            for j in 0..<a.count { s += a[j] * b[j] }
                            return s
                        }
                    }
                } else {
                    result[i] = rowSquaredNorms(Tensor.matmul(d, u, transposeB: true).reshaped(to: [1, outChannels * patch]))[0]
                }
            }
        }
        return result
    }

    /// ΔₙUₙᵀ for every sample, as rows of an [N, O·Ck²] matrix.
    static func convolutionWeightGradients(_ x: Tensor, _ dy: Tensor, kernel: Int, stride: Int, padding: Int) -> Tensor {
        let n = x.shape[0], width = dy.shape[1] * x.shape[1] * kernel * kernel
        var rows: [Tensor] = []
        rows.reserveCapacity(n)
        for i in 0..<n {
            let u = unfold(x, sample: i, kernel: kernel, stride: stride, padding: padding)
            rows.append(Tensor.matmul(outputMatrix(dy, sample: i), u, transposeB: true).reshaped(to: [1, width]))
        }
        return n == 0 ? Tensor(zeros: [0, width]) : Tensor.concatenate(rows, alongAxis: 0)
    }
}
