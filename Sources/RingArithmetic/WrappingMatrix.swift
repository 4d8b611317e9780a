internal import CKernels

/// Matrix products over the ring Z(2^64) (wrapping unsigned arithmetic), the workhorse of
/// additive secret sharing: a vectorised C kernel chosen for the CPU when the library loads
/// (AVX-512's 64-bit vector multiply, AVX2, or the baseline), exact and identical on each.
public enum WrappingMatrix {
    /// `c += a·b` mod 2⁶⁴ for row-major `a` (m×k), `b` (k×n) and `c` (m×n).
    ///
    /// - Precondition: the counts match the shape; `c` does not overlap `a` or `b`.
    /// - Complexity: m·k·n wrapping multiply-adds; the innermost loop runs along rows of `b`
    ///   and `c`, four rows of `c` per pass over `b`.
    public static func multiplyAccumulate(_ a: UnsafeBufferPointer<UInt64>, _ b: UnsafeBufferPointer<UInt64>,
                                          into c: UnsafeMutableBufferPointer<UInt64>, m: Int, k: Int, n: Int) {
        precondition(m >= 0 && k >= 0 && n >= 0 && a.count == m * k && b.count == k * n && c.count == m * n,
                     "WrappingMatrix: buffers of \(a.count), \(b.count), \(c.count) words do not fit \(m)×\(k)·\(k)×\(n)")
        guard m > 0, n > 0, k > 0 else { return }
        pl_ring_matmul_accumulate(a.baseAddress!, b.baseAddress!, c.baseAddress!, m, k, n)
    }

    /// `c += a·b` mod 2⁶⁴ on arrays (see the buffer form).
    public static func multiplyAccumulate(_ a: [UInt64], _ b: [UInt64], into c: inout [UInt64], m: Int, k: Int, n: Int) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in multiplyAccumulate(pa, pb, into: pc, m: m, k: k, n: n) }
            }
        }
    }
}
