// Matrix products through BLAS.

extension Tensor {
    /// The matrix product op(a) · op(b), where op transposes when asked (without copying).
    ///
    /// Shapes: a is [m, k] ([k, m] when `transposeA`), b is [k, n] ([n, k] when `transposeB`);
    /// the result is [m, n].
    /// - Complexity: 2·m·n·k floating-point operations in one `cblas_sgemm` call.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "Tensor.matmul: expected matrices, got shapes \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "Tensor.matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let result = Tensor(shape: [m, n]) { out in
            BLAS.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                       a: a.storage.pointer, b: b.storage.pointer, beta: 0, c: out.baseAddress!)
        }
        return result.recorded(inputs: [a, b]) { g, wanted in
            let da: Tensor?, db: Tensor?
            switch (transposeA, transposeB) {
            case (false, false):
                da = wanted[0] ? matmul(g, b, transposeB: true) : nil
                db = wanted[1] ? matmul(a, g, transposeA: true) : nil
            case (true, false):
                da = wanted[0] ? matmul(b, g, transposeB: true) : nil
                db = wanted[1] ? matmul(a, g) : nil
            case (false, true):
                da = wanted[0] ? matmul(g, b) : nil
                db = wanted[1] ? matmul(g, a, transposeA: true) : nil
            case (true, true):
                da = wanted[0] ? matmul(b, g, transposeA: true, transposeB: true) : nil
                db = wanted[1] ? matmul(g, a, transposeA: true, transposeB: true) : nil
            }
            return [da, db]
        }
    }

    /// An affine map of the rows of `x`: x · wᵀ + b, with `weight` of shape [out, in] (the
    /// layout PyTorch's `Linear` uses) and `bias` of shape [out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                     "Tensor.linear: input \(x.shape) does not match weight \(weight.shape) ([out, in])")
        let product = matmul(x, weight, transposeB: true)
        guard let bias else { return product }
        precondition(bias.shape == [weight.shape[0]], "Tensor.linear: bias \(bias.shape) does not match weight \(weight.shape)")
        return product + bias
    }

    /// The dot product of all elements of two tensors of the same shape, as a rank-0 tensor.
    public static func dot(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Tensor.dot: shapes \(a.shape) and \(b.shape) differ")
        return (a * b).sum()
    }
}
