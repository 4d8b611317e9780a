import Testing
import Tensors

/// The convolution's three maps — output, input gradient, weight gradient — against plain loops,
/// over geometries that exercise every edge of the kernels: stride 1 (direct kernels) with row
/// widths below, at and above the 8-lane vector, channel counts that are not multiples of the
/// 4-channel tile, rectangular kernels, every padding below the kernel size, kernels wider than
/// the weight gradient's 5-column register tile; and strided geometries (im2col + GEMM).
@Suite("Convolution kernels")
struct ConvolutionKernelTests {
    struct Geometry: Sendable, CustomStringConvertible {
        var n, c, h, w, o, kh, kw, stride, padding: Int
        var description: String { "x[\(n),\(c),\(h),\(w)] w[\(o),\(c),\(kh),\(kw)] s\(stride) p\(padding)" }
        var oh: Int { (h + 2 * padding - kh) / stride + 1 }
        var ow: Int { (w + 2 * padding - kw) / stride + 1 }
    }

    static let geometries: [Geometry] = [
        Geometry(n: 2, c: 1, h: 28, w: 28, o: 16, kh: 5, kw: 5, stride: 1, padding: 2),   // MNIST's first layer
        Geometry(n: 3, c: 16, h: 14, w: 14, o: 32, kh: 5, kw: 5, stride: 1, padding: 2),  // and its second
        Geometry(n: 2, c: 3, h: 9, w: 16, o: 5, kh: 1, kw: 1, stride: 1, padding: 0),     // a row of exactly 16
        Geometry(n: 1, c: 2, h: 6, w: 19, o: 1, kh: 3, kw: 3, stride: 1, padding: 1),     // 19 wide, one output channel
        Geometry(n: 2, c: 5, h: 7, w: 4, o: 7, kh: 3, kw: 2, stride: 1, padding: 1),      // rectangular kernel, narrow rows
        Geometry(n: 1, c: 3, h: 12, w: 11, o: 6, kh: 4, kw: 4, stride: 1, padding: 3),    // padding = kernel − 1
        Geometry(n: 2, c: 2, h: 10, w: 13, o: 4, kh: 2, kw: 7, stride: 1, padding: 0),    // kernel wider than the tile
        Geometry(n: 1, c: 4, h: 9, w: 9, o: 3, kh: 3, kw: 3, stride: 1, padding: 0),      // positions not a multiple of 3
        Geometry(n: 2, c: 3, h: 8, w: 9, o: 4, kh: 3, kw: 3, stride: 2, padding: 1),      // strided: im2col + GEMM
        Geometry(n: 1, c: 2, h: 5, w: 5, o: 2, kh: 2, kw: 2, stride: 1, padding: 2),      // padding = kernel: im2col + GEMM
    ]

    /// The value of x at (b, ch, row, column) of the zero-padded input, 0 outside.
    static func at(_ x: [Float], _ g: Geometry, _ b: Int, _ ch: Int, _ row: Int, _ column: Int) -> Float {
        row >= 0 && row < g.h && column >= 0 && column < g.w ? x[((b * g.c + ch) * g.h + row) * g.w + column] : 0
    }

    @Test(arguments: geometries)
    func threeMapsAgainstLoops(_ g: Geometry) {
        var random = TestGenerator(UInt64(g.n * 1000 + g.c * 100 + g.w))
        let x = random.tensor([g.n, g.c, g.h, g.w]), weight = random.tensor([g.o, g.c, g.kh, g.kw])
        let bias = random.tensor([g.o]), dy = random.tensor([g.n, g.o, g.oh, g.ow])
        let (xs, ws, bs, ds) = (x.scalars, weight.scalars, bias.scalars, dy.scalars)

        var y = [Float](repeating: 0, count: g.n * g.o * g.oh * g.ow)
        var dx = [Float](repeating: 0, count: xs.count), dw = [Float](repeating: 0, count: ws.count)
        for b in 0..<g.n { for f in 0..<g.o { for i in 0..<g.oh { for j in 0..<g.ow {
            let out = ((b * g.o + f) * g.oh + i) * g.ow + j
            var total = bs[f]
            for ch in 0..<g.c { for ki in 0..<g.kh { for kj in 0..<g.kw {
                let (row, column) = (i * g.stride - g.padding + ki, j * g.stride - g.padding + kj)
                let wi = ((f * g.c + ch) * g.kh + ki) * g.kw + kj
                total += Self.at(xs, g, b, ch, row, column) * ws[wi]
                if row >= 0 && row < g.h && column >= 0 && column < g.w {
                    dx[((b * g.c + ch) * g.h + row) * g.w + column] += ds[out] * ws[wi]
                    dw[wi] += ds[out] * xs[((b * g.c + ch) * g.h + row) * g.w + column]
                }
            } } }
            y[out] = total
        } } } }

        let computed = Tensor.conv2d(x, weight: weight, bias: bias, stride: g.stride, padding: g.padding)
        #expect(computed.shape == [g.n, g.o, g.oh, g.ow])
        let inputGradient = Tensor.convolutionInputGradient(dy, weight: weight, inputShape: x.shape, stride: g.stride,
                                                            padding: g.padding)
        let weightGradient = Tensor.convolutionWeightGradient(x, outputGradient: dy, weightShape: weight.shape,
                                                              stride: g.stride, padding: g.padding)
        #expect(maxDifference(computed.scalars, y) < 1e-4, "output, \(g)")
        #expect(maxDifference(inputGradient.scalars, dx) < 1e-4, "input gradient, \(g)")
        #expect(maxDifference(weightGradient.scalars, dw) < 1e-3, "weight gradient, \(g)")
    }

    /// Reverse-mode gradients of a loss through conv2d are the two adjoint maps above.
    @Test func autodiffUsesTheAdjoints() throws {
        let g = Self.geometries[1]
        var random = TestGenerator(41)
        let x = random.tensor([g.n, g.c, g.h, g.w]).requiringGradient()
        let weight = random.tensor([g.o, g.c, g.kh, g.kw]).requiringGradient()
        let dy = random.tensor([g.n, g.o, g.oh, g.ow])
        let loss = (Tensor.conv2d(x, weight: weight, padding: g.padding) * dy).sum()
        let grads = gradients(of: loss, withRespectTo: [x, weight])
        let dx = Tensor.convolutionInputGradient(dy, weight: weight, inputShape: x.shape, stride: 1, padding: g.padding)
        let dw = Tensor.convolutionWeightGradient(x, outputGradient: dy, weightShape: weight.shape, stride: 1, padding: g.padding)
        #expect(maxDifference(grads[0].scalars, dx.scalars) < 1e-5)
        #expect(maxDifference(grads[1].scalars, dw.scalars) < 1e-5)
    }

    /// The same inputs give the same bits, run after run.
    @Test func repeatable() {
        let g = Self.geometries[1]
        var random = TestGenerator(7)
        let x = random.tensor([g.n, g.c, g.h, g.w]), weight = random.tensor([g.o, g.c, g.kh, g.kw])
        let dy = random.tensor([g.n, g.o, g.oh, g.ow])
        let first = Tensor.convolutionWeightGradient(x, outputGradient: dy, weightShape: weight.shape, stride: 1, padding: 2)
        let second = Tensor.convolutionWeightGradient(x, outputGradient: dy, weightShape: weight.shape, stride: 1, padding: 2)
        #expect(first.scalars == second.scalars)
        #expect(Tensor.conv2d(x, weight: weight, padding: 2).scalars == Tensor.conv2d(x, weight: weight, padding: 2).scalars)
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
