// Matrix products through BLAS, and a sparse-row product in CKernels for mostly-zero inputs.

internal import CKernels

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
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "Tensor.linear: bias \(bias.shape) does not match weight \(weight.shape)")
        }
        if SparseRows.pays(for: x) { return sparseLinear(x, weight: weight, bias: bias) }
        let product = matmul(x, weight, transposeB: true)
        guard let bias else { return product }
        return product + bias
    }

    /// `linear` for inputs that are mostly zeros, through `pl_sparse_rows_matmul`: the forward pass
    /// costs in proportion to the non-zeros; the gradients are the dense products of `matmul`.
    static func sparseLinear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (m, k, n) = (x.shape[0], x.shape[1], weight.shape[0])
        let y = Tensor(shape: [m, n]) { out in
            let status = pl_sparse_rows_matmul(x.storage.pointer, m, k, weight.storage.pointer, n,
                                               bias.map { UnsafePointer($0.storage.pointer) }, out.baseAddress!)
            precondition(status == 0, "Tensor.linear: out of memory for the non-zeros of a row of \(x.shape)")
        }
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return withExtendedLifetime((x, weight, bias)) {
            y.recorded(inputs: inputs) { g, wanted in
                var result = [wanted[0] ? matmul(g, weight) : nil, wanted[1] ? matmul(g, x, transposeA: true) : nil]
                if bias != nil { result.append(wanted[2] ? g.sum(alongAxes: [0]) : nil) }
                return result
            }
        }
    }

    /// The dot product of all elements of two tensors of the same shape, as a rank-0 tensor.
    public static func dot(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Tensor.dot: shapes \(a.shape) and \(b.shape) differ")
        return (a * b).sum()
    }
}

/// When a matrix's rows are sparse enough for `pl_sparse_rows_matmul` to beat GEMM.
enum SparseRows {
    /// At most a third of the entries non-zero, and enough rows (≥ 256) to repay re-laying the
    /// weights. Measured on one core here (Benchmarks/README.md): on MNIST's test images (~19%
    /// non-zero pixels) bulk per-example losses of a 784-256-10 MLP went from 214k to 400k
    /// samples/s.
    static func pays(for x: Tensor) -> Bool {
        let (m, k) = (x.shape[0], x.shape[1])
        guard m >= 256, k >= 64 else { return false }
        return pl_count_nonzero(x.storage.pointer, m * k) * 3 <= m * k
    }
}
