import Testing
import Tensors

/// Forward values of the operations against direct computations.
@Suite("Tensor operations")
struct TensorOpsTests {
    @Test func broadcastingArithmetic() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor([10, 20, 30])
        #expect((a + b).scalars == [11, 22, 33, 14, 25, 36])
        let c = Tensor(shape: [2, 1], scalars: [2, 3])
        #expect((a * c).scalars == [2, 4, 6, 12, 15, 18])
        #expect((a - 1).scalars == [0, 1, 2, 3, 4, 5])
        #expect(Tensor.broadcastShape([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(Tensor.broadcastShape([2, 3], [4]) == nil)
    }

    @Test func matmulAgainstLoops() {
        var g = TestGenerator(3)
        let a = g.tensor([7, 5]), b = g.tensor([5, 9])
        let c = Tensor.matmul(a, b)
        let (x, y) = (a.scalars, b.scalars)
        for i in 0..<7 {
            for j in 0..<9 {
                var s: Float = 0
                for k in 0..<5 { s += x[i * 5 + k] * y[k * 9 + j] }
                #expect(abs(c.scalars[i * 9 + j] - s) < 1e-5)
            }
        }
        #expect(Tensor.matmul(a.transposed(), b, transposeA: true).scalars == c.scalars)
        #expect(Tensor.matmul(a, b.transposed(), transposeB: true).scalars == c.scalars)
    }

    @Test func convolutionAgainstDirectLoops() {
        var g = TestGenerator(5)
        let (n, c, h, w, o, k, s, p) = (2, 3, 7, 6, 4, 3, 2, 1)
        let x = g.tensor([n, c, h, w]), wt = g.tensor([o, c, k, k])
        let y = Tensor.conv2d(x, weight: wt, stride: s, padding: p)
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        #expect(y.shape == [n, o, oh, ow])
        let (xs, ws, ys) = (x.scalars, wt.scalars, y.scalars)
        for b in 0..<n { for f in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var total: Float = 0
            for ch in 0..<c { for ki in 0..<k { for kj in 0..<k {
                let (yy, xx) = (i * s - p + ki, j * s - p + kj)
                if yy >= 0 && yy < h && xx >= 0 && xx < w {
                    total += xs[((b * c + ch) * h + yy) * w + xx] * ws[((f * c + ch) * k + ki) * k + kj]
                }
            } } }
            #expect(abs(ys[((b * o + f) * oh + i) * ow + j] - total) < 1e-4)
        } } } }
    }

    @Test func softmaxIsStableAndNormalised() {
        let x = Tensor(shape: [2, 3], scalars: [1000, 1001, 1002, -1000, 0, 1000])
        let p = x.softmax().scalars
        #expect(p.allSatisfy { $0.isFinite })
        #expect(abs(p[0] + p[1] + p[2] - 1) < 1e-6)
        #expect(abs(p[5] - 1) < 1e-6)
        let l = Tensor.softmaxCrossEntropy(logits: x, labels: [2, 0]).scalars
        #expect(abs(l[0] - 0.40760596) < 1e-5)
        #expect(abs(l[1] - 2000) < 1e-2)
    }

    @Test func reductionsAndArgmax() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 3, 7, 2, 7])
        #expect(x.sum().scalar == 25)
        #expect(x.sum(alongAxes: [0]).scalars == [8, 7, 10])
        #expect(x.mean(alongAxes: [1]).scalars == [3, 16.0 / 3])
        #expect(x.argmax(alongAxis: 1) == [1, 0])
        #expect(x.argmax(alongAxis: 0) == [1, 0, 1])
        #expect(x.max(alongAxis: 1).scalars == [5, 7])
    }

    @Test func poolingValues() {
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(x.maxPool2d(size: 2).scalars == [6, 8])
        #expect(x.avgPool2d(size: 2).scalars == [3.5, 5.5])
    }

    @Test func shapeOperations() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.transposed().scalars == [1, 4, 2, 5, 3, 6])
        #expect(x.slice(axis: 1, 1..<3).scalars == [2, 3, 5, 6])
        #expect(x.gatheringRows([1, 1, 0]).scalars == [4, 5, 6, 4, 5, 6, 1, 2, 3])
        #expect(Tensor.concatenate([x, x.slice(axis: 1, 0..<1)], alongAxis: 1).scalars == [1, 2, 3, 1, 4, 5, 6, 4])
        let y = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        #expect(y.permuted([2, 0, 1]).shape == [4, 2, 3])
        #expect(y.permuted([2, 0, 1]).permuted([1, 2, 0]).scalars == y.scalars)
    }

    @Test func copyOnWrite() {
        let a = Tensor([1, 2, 3])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 9 }
        #expect(a.scalars == [1, 2, 3])
        #expect(b.scalars == [9, 2, 3])
    }
}
