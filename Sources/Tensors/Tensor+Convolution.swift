// Two-dimensional convolution, and pooling, on NCHW tensors: stride-1 convolutions through the
// direct kernels of CKernels (convolution.c), other strides through im2col + GEMM.
//
// Convolution y = conv(x, w) is linear in x and in w; the three operations below are the
// partial maps of one trilinear form T(x, w, dy) = ⟨conv(x, w), dy⟩:
//   conv(x, w)                 = ∂T/∂dy
//   convolutionInputGradient   = ∂T/∂x   (the transposed convolution of dy by w)
//   convolutionWeightGradient  = ∂T/∂w   (the correlation of x with dy)
// so each one's gradient is written with the other two, and gradients of every order exist.

internal import CKernels

/// The sizes of one convolution.
public struct Convolution2DGeometry: Sendable, Equatable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var stride, padding: Int

    public var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    var patchSize: Int { inChannels * kernelHeight * kernelWidth }
    var outPixels: Int { outHeight * outWidth }

    init(input: [Int], weight: [Int], stride: Int, padding: Int) {
        precondition(input.count == 4 && weight.count == 4,
                     "conv2d: expected input [N, C, H, W] and weight [O, C, KH, KW], got \(input) and \(weight)")
        precondition(input[1] == weight[1], "conv2d: input \(input) has \(input[1]) channels, weight \(weight) expects \(weight[1])")
        precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride) must be ≥ 1 and padding \(padding) ≥ 0")
        precondition(input[2] + 2 * padding >= weight[2] && input[3] + 2 * padding >= weight[3],
                     "conv2d: kernel \(weight[2])×\(weight[3]) exceeds padded input \(input[2])×\(input[3]) (padding \(padding))")
        (batch, inChannels, height, width) = (input[0], input[1], input[2], input[3])
        (outChannels, kernelHeight, kernelWidth) = (weight[0], weight[2], weight[3])
        self.stride = stride
        self.padding = padding
    }

    var inputShape: [Int] { [batch, inChannels, height, width] }
    var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }

    /// Samples per chunk so that one chunk's column matrix stays near 16 M floats (64 MB).
    var samplesPerChunk: Int { Swift.max(1, Swift.min(batch, (1 << 24) / Swift.max(1, patchSize * outPixels))) }
}

enum ConvolutionKernels {
    /// Whether the direct (im2col-free) kernels of `CKernels` compute this convolution and its input
    /// gradient: stride 1, and padding smaller than the kernel (so the input gradient is a
    /// correlation with non-negative padding).
    static func usesDirectKernels(_ g: Convolution2DGeometry) -> Bool {
        g.stride == 1 && g.padding < g.kernelHeight && g.padding < g.kernelWidth
    }

    /// The stride-1 correlation of `x` [N, cin, h, w] with `weight`, as `pl_conv2d_direct` defines it.
    static func direct(_ x: UnsafePointer<Float>, batch: Int, inChannels: Int, height: Int, width: Int,
                       weight: UnsafePointer<Float>, outChannels: Int, kernelHeight: Int, kernelWidth: Int,
                       padding: (Int, Int), transposedFlipped: Bool, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let status = pl_conv2d_direct(x, batch, inChannels, height, width, weight, outChannels, kernelHeight, kernelWidth,
                                      padding.0, padding.1, transposedFlipped ? 1 : 0, bias, y)
        precondition(status == 0, "conv2d: out of memory for the padded input of [\(batch), \(inChannels), \(height), \(width)]")
    }

    /// Writes the columns of samples n0..<n1: cols[(c·KH + kh)·KW + kw, (n − n0)·OHW + oh·OW + ow].
    static func im2col(_ x: UnsafePointer<Float>, _ g: Convolution2DGeometry, _ n0: Int, _ n1: Int,
                       _ cols: UnsafeMutablePointer<Float>) {
        let columns = (n1 - n0) * g.outPixels
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        for c in 0..<g.inChannels {
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    let row = cols + ((c * g.kernelHeight + kh) * g.kernelWidth + kw) * columns
                    // The output columns whose input column index stays inside the image.
                    let owLow = Swift.max(0, (p - kw + s - 1) / s)
                    let owHigh = Swift.min(ow, (g.width + p - kw + s - 1) / s)
                    for n in n0..<n1 {
                        let image = x + (n * g.inChannels + c) * g.height * g.width
                        var target = row + (n - n0) * g.outPixels
                        for y in 0..<oh {
                            let ih = y * s - p + kh
                            if ih < 0 || ih >= g.height || owLow >= owHigh {
                                target.update(repeating: 0, count: ow)
                            } else {
                                let line = image + ih * g.width
                                for xo in 0..<owLow { target[xo] = 0 }
                                if s == 1 {
                                    (target + owLow).update(from: line + (owLow - p + kw), count: owHigh - owLow)
                                } else {
                                    for xo in owLow..<owHigh { target[xo] = line[xo * s - p + kw] }
                                }
                                for xo in owHigh..<ow { target[xo] = 0 }
                            }
                            target += ow
                        }
                    }
                }
            }
        }
    }

    /// Adds the columns of samples n0..<n1 back into the image gradient (adjoint of im2col).
    static func col2im(_ cols: UnsafePointer<Float>, _ g: Convolution2DGeometry, _ n0: Int, _ n1: Int,
                       _ dx: UnsafeMutablePointer<Float>) {
        let columns = (n1 - n0) * g.outPixels
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        for c in 0..<g.inChannels {
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    let row = cols + ((c * g.kernelHeight + kh) * g.kernelWidth + kw) * columns
                    let owLow = Swift.max(0, (p - kw + s - 1) / s)
                    let owHigh = Swift.min(ow, (g.width + p - kw + s - 1) / s)
                    guard owLow < owHigh else { continue }
                    for n in n0..<n1 {
                        let image = dx + (n * g.inChannels + c) * g.height * g.width
                        var source = row + (n - n0) * g.outPixels
                        for y in 0..<oh {
                            let ih = y * s - p + kh
                            if ih >= 0 && ih < g.height {
                                let line = image + ih * g.width
                                if s == 1 {
                                    let shifted = line + (kw - p)
                                    for xo in owLow..<owHigh { shifted[xo] += source[xo] }
                                } else {
                                    for xo in owLow..<owHigh { line[xo * s - p + kw] += source[xo] }
                                }
                            }
                            source += ow
                        }
                    }
                }
            }
        }
    }

    /// dy [N, O, OHW] rows n0..<n1 rearranged as [O, (n1 − n0)·OHW].
    static func gatherOutput(_ dy: UnsafePointer<Float>, _ g: Convolution2DGeometry, _ n0: Int, _ n1: Int,
                             _ out: UnsafeMutablePointer<Float>) {
        let columns = (n1 - n0) * g.outPixels
        for n in n0..<n1 {
            for o in 0..<g.outChannels {
                (out + o * columns + (n - n0) * g.outPixels)
                    .update(from: dy + (n * g.outChannels + o) * g.outPixels, count: g.outPixels)
            }
        }
    }

    /// The convolution; when `keepColumns` and the whole batch fits one chunk, also the im2col
    /// matrix, which the first-order weight gradient reuses.
    static func forward(_ x: Tensor, _ w: Tensor, _ g: Convolution2DGeometry, bias: Tensor? = nil, keepColumns: Bool = false) -> (Tensor, ColumnBuffer?) {
        if usesDirectKernels(g) {
            let y = Tensor(shape: g.outputShape) { out in
                direct(x.storage.pointer, batch: g.batch, inChannels: g.inChannels, height: g.height, width: g.width,
                       weight: w.storage.pointer, outChannels: g.outChannels, kernelHeight: g.kernelHeight,
                       kernelWidth: g.kernelWidth, padding: (g.padding, g.padding), transposedFlipped: false,
                       bias: bias.map { UnsafePointer($0.storage.pointer) }, into: out.baseAddress!)
            }
            return withExtendedLifetime((x, w, bias)) { (y, nil) }
        }
        let chunk = g.samplesPerChunk
        let cols = ColumnBuffer(count: g.patchSize * chunk * g.outPixels)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, g.outChannels * chunk * g.outPixels))
        defer { product.deallocate() }
        let y = Tensor(shape: g.outputShape) { out in
            var n0 = 0
            while n0 < g.batch {
                let n1 = Swift.min(g.batch, n0 + chunk), columns = (n1 - n0) * g.outPixels
                im2col(x.storage.pointer, g, n0, n1, cols.pointer)
                BLAS.sgemm(transposeA: false, transposeB: false, m: g.outChannels, n: columns, k: g.patchSize,
                           alpha: 1, a: w.storage.pointer, b: cols.pointer, beta: 0, c: product)
                for n in n0..<n1 {
                    for o in 0..<g.outChannels {
                        let target = out.baseAddress! + (n * g.outChannels + o) * g.outPixels
                        let source = product + o * columns + (n - n0) * g.outPixels
                        if let bias {
                            let b = bias.storage.pointer[o]
                            for p in 0..<g.outPixels { target[p] = source[p] + b }
                        } else {
                            target.update(from: source, count: g.outPixels)
                        }
                    }
                }
                n0 = n1
            }
        }
        return (y, keepColumns && chunk >= g.batch ? cols : nil)
    }

    static func inputGradient(_ dy: Tensor, _ w: Tensor, _ g: Convolution2DGeometry) -> Tensor {
        if usesDirectKernels(g) {
            // dx = dy correlated with the flipped, transposed kernel, padded by K − 1 − padding.
            let dx = Tensor(shape: g.inputShape) { out in
                direct(dy.storage.pointer, batch: g.batch, inChannels: g.outChannels, height: g.outHeight, width: g.outWidth,
                       weight: w.storage.pointer, outChannels: g.inChannels, kernelHeight: g.kernelHeight,
                       kernelWidth: g.kernelWidth, padding: (g.kernelHeight - 1 - g.padding, g.kernelWidth - 1 - g.padding),
                       transposedFlipped: true, bias: nil, into: out.baseAddress!)
            }
            return withExtendedLifetime((dy, w)) { dx }
        }
        let chunk = g.samplesPerChunk
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, g.patchSize * chunk * g.outPixels))
        let rearranged = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, g.outChannels * chunk * g.outPixels))
        defer { cols.deallocate(); rearranged.deallocate() }
        return Tensor(shape: g.inputShape) { out in
            out.initialize(repeating: 0)
            var n0 = 0
            while n0 < g.batch {
                let n1 = Swift.min(g.batch, n0 + chunk), columns = (n1 - n0) * g.outPixels
                gatherOutput(dy.storage.pointer, g, n0, n1, rearranged)
                BLAS.sgemm(transposeA: true, transposeB: false, m: g.patchSize, n: columns, k: g.outChannels,
                           alpha: 1, a: w.storage.pointer, b: rearranged, beta: 0, c: cols)
                col2im(cols, g, n0, n1, out.baseAddress!)
                n0 = n1
            }
        }
    }

    static func weightGradient(_ x: Tensor, _ dy: Tensor, _ g: Convolution2DGeometry, columns saved: ColumnBuffer? = nil) -> Tensor {
        if usesDirectKernels(g) && saved == nil {
            let dw = Tensor(shape: g.weightShape) { out in
                let status = pl_conv2d_weight_gradient(x.storage.pointer, dy.storage.pointer, g.batch, g.inChannels, g.height,
                                                       g.width, g.outChannels, g.kernelHeight, g.kernelWidth, g.padding,
                                                       g.padding, out.baseAddress!)
                precondition(status == 0, "convolutionWeightGradient: out of memory for the padded input \(g.inputShape)")
            }
            return withExtendedLifetime((x, dy)) { dw }
        }
        let chunk = saved != nil ? g.batch : g.samplesPerChunk
        let cols = saved ?? ColumnBuffer(count: g.patchSize * chunk * g.outPixels)
        let rearranged = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, g.outChannels * chunk * g.outPixels))
        defer { rearranged.deallocate() }
        return Tensor(shape: g.weightShape) { out in
            var n0 = 0
            while n0 < g.batch {
                let n1 = Swift.min(g.batch, n0 + chunk), columns = (n1 - n0) * g.outPixels
                if saved == nil { im2col(x.storage.pointer, g, n0, n1, cols.pointer) }
                gatherOutput(dy.storage.pointer, g, n0, n1, rearranged)
                BLAS.sgemm(transposeA: false, transposeB: true, m: g.outChannels, n: g.patchSize, k: columns,
                           alpha: 1, a: rearranged, b: cols.pointer, beta: n0 == 0 ? 0 : 1, c: out.baseAddress!)
                n0 = n1
            }
            if g.batch == 0 { out.initialize(repeating: 0) }
        }
    }
}

extension ConvolutionKernels {
    /// Σ over batch and pixels of an NCHW tensor, per channel.
    static func channelSums(_ t: Tensor) -> Tensor {
        let (n, c) = (t.shape[0], t.shape[1]), plane = t.shape[2] * t.shape[3]
        let sums = Tensor(shape: [c]) { out in
            if let target = out.baseAddress { pl_channel_sums(t.storage.pointer, n, c, plane, target) }
        }
        return withExtendedLifetime(t) { sums }
    }
}

/// An im2col matrix kept alive while a backward pass may need it.
final class ColumnBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) { pointer = .allocate(capacity: Swift.max(1, count)) }
    deinit { pointer.deallocate() }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as in every deep-learning library) of an NCHW input
    /// [N, C, H, W] with weights [O, C, KH, KW]; the result is [N, O, OH, OW] with
    /// OH = (H + 2·padding − KH) / stride + 1. Zero padding.
    /// - Complexity: 2·N·O·C·KH·KW·OH·OW flops: at stride 1 (padding < kernel) in the direct
    ///   kernels of CKernels, otherwise through GEMM on im2col columns.
    public static func conv2d(_ x: Tensor, weight w: Tensor, stride: Int = 1, padding: Int = 0) -> Tensor {
        conv2d(x, weight: w, bias: nil, stride: stride, padding: padding)
    }

    /// 2-D convolution plus a bias per output channel (`bias` of shape [O]), added as the
    /// output is written.
    public static func conv2d(_ x: Tensor, weight w: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
        let g = Convolution2DGeometry(input: x.shape, weight: w.shape, stride: stride, padding: padding)
        if let bias {
            precondition(bias.shape == [g.outChannels], "conv2d: bias \(bias.shape) does not match \(g.outChannels) output channels")
        }
        let recording = GradientRecording.isEnabled && (x.requiresGradient || w.requiresGradient || (bias?.requiresGradient ?? false))
        let (y, columns) = ConvolutionKernels.forward(x, w, g, bias: bias, keepColumns: recording && w.requiresGradient)
        let inputs = bias.map { [x, w, $0] } ?? [x, w]
        return y.recorded(inputs: inputs) { dy, wanted in
            let dw: Tensor?
            if wanted[1], let columns, !GradientRecording.isEnabled {
                // First order: reuse the forward's columns instead of rebuilding them.
                dw = ConvolutionKernels.weightGradient(x, dy, g, columns: columns)
            } else {
                dw = wanted[1] ? convolutionWeightGradient(x, outputGradient: dy, weightShape: g.weightShape, stride: stride, padding: padding) : nil
            }
            var result = [wanted[0] ? convolutionInputGradient(dy, weight: w, inputShape: g.inputShape, stride: stride, padding: padding) : nil, dw]
            if bias != nil {
                if !wanted[2] {
                    result.append(nil)
                } else if GradientRecording.isEnabled {
                    result.append(dy.sum(alongAxes: [0, 2, 3]))
                } else {
                    result.append(ConvolutionKernels.channelSums(dy))
                }
            }
            return result
        }
    }

    /// The gradient of ⟨conv2d(x, w), dy⟩ with respect to x: the transposed convolution of `dy`.
    public static func convolutionInputGradient(_ dy: Tensor, weight w: Tensor, inputShape: [Int], stride: Int,
                                                padding: Int) -> Tensor {
        let g = Convolution2DGeometry(input: inputShape, weight: w.shape, stride: stride, padding: padding)
        precondition(dy.shape == g.outputShape, "convolutionInputGradient: gradient \(dy.shape) does not match output \(g.outputShape)")
        let dx = ConvolutionKernels.inputGradient(dy, w, g)
        return dx.recorded(inputs: [dy, w]) { z, wanted in
            [wanted[0] ? conv2d(z, weight: w, stride: stride, padding: padding) : nil,
             wanted[1] ? convolutionWeightGradient(z, outputGradient: dy, weightShape: w.shape, stride: stride, padding: padding) : nil]
        }
    }

    /// The gradient of ⟨conv2d(x, w), dy⟩ with respect to w.
    public static func convolutionWeightGradient(_ x: Tensor, outputGradient dy: Tensor, weightShape: [Int], stride: Int,
                                                 padding: Int) -> Tensor {
        let g = Convolution2DGeometry(input: x.shape, weight: weightShape, stride: stride, padding: padding)
        precondition(dy.shape == g.outputShape, "convolutionWeightGradient: gradient \(dy.shape) does not match output \(g.outputShape)")
        let dw = ConvolutionKernels.weightGradient(x, dy, g)
        return dw.recorded(inputs: [x, dy]) { z, wanted in
            [wanted[0] ? convolutionInputGradient(dy, weight: z, inputShape: x.shape, stride: stride, padding: padding) : nil,
             wanted[1] ? conv2d(x, weight: z, stride: stride, padding: padding) : nil]
        }
    }

    /// Max pooling of an NCHW tensor over windows of `size`×`size` moved by `stride` (default
    /// `size`), without padding. The gradient goes to the first maximum of each window.
    public func maxPool2d(size: Int, stride: Int? = nil) -> Tensor {
        let s = stride ?? size
        precondition(rank == 4 && size >= 1 && s >= 1 && shape[2] >= size && shape[3] >= size,
                     "maxPool2d: window \(size) with stride \(s) does not fit input \(shape) ([N, C, H, W])")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (h - size) / s + 1, ow = (w - size) / s + 1
        var indices = [Int](repeating: 0, count: n * c * oh * ow)
        let x = storage.pointer
        if size == 2 && s == 2 {
            // The common 2×2 window, in CKernels: values and argmax in one pass.
            let inputShape = shape
            let y = Tensor(shape: [n, c, oh, ow]) { out in
                indices.withUnsafeMutableBufferPointer { idx in
                    guard let first = idx.baseAddress, let target = out.baseAddress else { return }
                    first.withMemoryRebound(to: Int64.self, capacity: idx.count) {
                        pl_max_pool_2x2(x, n * c, h, w, target, $0)
                    }
                }
            }
            let argmax = indices
            return withExtendedLifetime(self) {
                y.recorded(inputs: [self]) { g, _ in [g.scattered(flatIndices: argmax, shape: inputShape)] }
            }
        }
        indices.withUnsafeMutableBufferPointer { idx in
            var o = 0
            for plane in 0..<(n * c) {
                let base = plane * h * w
                for y in 0..<oh {
                    for xo in 0..<ow {
                        var best = base + (y * s) * w + xo * s
                        var bestValue = x[best]
                        for ky in 0..<size {
                            let line = base + (y * s + ky) * w + xo * s
                            for kx in 0..<size where x[line + kx] > bestValue {
                                bestValue = x[line + kx]; best = line + kx
                            }
                        }
                        idx[o] = best
                        o += 1
                    }
                }
            }
        }
        return gathered(flatIndices: indices, shape: [n, c, oh, ow])
    }

    /// Average pooling of an NCHW tensor over windows of `size`×`size` moved by `stride`
    /// (default `size`), without padding.
    public func avgPool2d(size: Int, stride: Int? = nil) -> Tensor {
        let s = stride ?? size
        precondition(rank == 4 && size >= 1 && s >= 1 && shape[2] >= size && shape[3] >= size,
                     "avgPool2d: window \(size) with stride \(s) does not fit input \(shape) ([N, C, H, W])")
        let inputShape = shape
        let y = Tensor.averagePoolKernel(self, size: size, stride: s)
        return y.recorded(inputs: [self]) { g, _ in [g.avgPool2dAdjoint(size: size, stride: s, inputShape: inputShape)] }
    }

    /// The adjoint of `avgPool2d`: each value spread evenly over its window in zeros of
    /// `inputShape`.
    public func avgPool2dAdjoint(size: Int, stride s: Int, inputShape: [Int]) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let oh = (h - size) / s + 1, ow = (w - size) / s + 1
        precondition(shape == [n, c, oh, ow], "avgPool2dAdjoint: gradient \(shape) does not match pooled \([n, c, oh, ow])")
        let scale = 1 / Float(size * size)
        var result = Tensor(zeros: inputShape)
        let g = storage.pointer
        result.withUnsafeMutableBufferPointer { out in
            var o = 0
            for plane in 0..<(n * c) {
                let base = plane * h * w
                for y in 0..<oh {
                    for xo in 0..<ow {
                        let v = g[o] * scale
                        for ky in 0..<size {
                            let line = base + (y * s + ky) * w + xo * s
                            for kx in 0..<size { out[line + kx] += v }
                        }
                        o += 1
                    }
                }
            }
        }
        return result.recorded(inputs: [self]) { z, _ in [z.avgPool2d(size: size, stride: s)] }
    }

    static func averagePoolKernel(_ x: Tensor, size: Int, stride s: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h - size) / s + 1, ow = (w - size) / s + 1
        let scale = 1 / Float(size * size)
        let source = x.storage.pointer
        return Tensor(shape: [n, c, oh, ow]) { out in
            var o = 0
            for plane in 0..<(n * c) {
                let base = plane * h * w
                for y in 0..<oh {
                    for xo in 0..<ow {
                        var total: Float = 0
                        for ky in 0..<size {
                            let line = base + (y * s + ky) * w + xo * s
                            for kx in 0..<size { total += source[line + kx] }
                        }
                        out[o] = total * scale
                        o += 1
                    }
                }
            }
        }
    }
}
