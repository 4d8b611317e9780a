internal import COpenBLAS

/// The BLAS library behind `Tensor`'s matrix products (OpenBLAS).
public enum BLAS {
    /// The name of the CPU kernel OpenBLAS selected at load time (it honours
    /// `OPENBLAS_CORETYPE`), e.g. "Haswell" or "SkylakeX".
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string.
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(Swift.max(1, newValue))) }
    }

    /// C = alpha · op(A) · op(B) + beta · C on row-major buffers.
    /// A is m×k (k×m when transposed), B is k×n (n×k when transposed), C is m×n.
    @usableFromInline
    static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float,
                      c: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { c.update(repeating: 0, count: m * n) } else if beta != 1 {
                for i in 0..<(m * n) { c[i] *= beta }
            }
            return
        }
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
    }
}
