/// Arithmetic kernels over Z(2^64): every operation wraps modulo 2^64 (`&+`, `&-`, `&*`).
///
/// These are the only loops over share words; protocols call them on whole buffers.
/// - Complexity: O(count) for elementwise kernels, O(m·k·n) for `matmul`.
enum Ring {
    @inline(__always)
    static func add(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        precondition(a.count == b.count, "ring add: length mismatch \(a.count) vs \(b.count)")
        return [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<pa.count { out[i] = pa[i] &+ pb[i] }
                }
            }
            n = a.count
        }
    }

    @inline(__always)
    static func addInPlace(_ a: inout [UInt64], _ b: [UInt64]) {
        precondition(a.count == b.count, "ring add: length mismatch \(a.count) vs \(b.count)")
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count { pa[i] = pa[i] &+ pb[i] }
            }
        }
    }

    @inline(__always)
    static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        precondition(a.count == b.count, "ring subtract: length mismatch \(a.count) vs \(b.count)")
        return [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<pa.count { out[i] = pa[i] &- pb[i] }
                }
            }
            n = a.count
        }
    }

    @inline(__always)
    static func subtractInPlace(_ a: inout [UInt64], _ b: [UInt64]) {
        precondition(a.count == b.count, "ring subtract: length mismatch")
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count { pa[i] = pa[i] &- pb[i] }
            }
        }
    }

    @inline(__always)
    static func multiply(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        precondition(a.count == b.count, "ring multiply: length mismatch \(a.count) vs \(b.count)")
        return [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<pa.count { out[i] = pa[i] &* pb[i] }
                }
            }
            n = a.count
        }
    }

    @inline(__always)
    static func scale(_ a: [UInt64], by s: UInt64) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                for i in 0..<pa.count { out[i] = pa[i] &* s }
            }
            n = a.count
        }
    }

    @inline(__always)
    static func xor(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        precondition(a.count == b.count, "ring xor: length mismatch")
        return [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<pa.count { out[i] = pa[i] ^ pb[i] }
                }
            }
            n = a.count
        }
    }

    /// `C += A·B` over Z(2^64) for row-major `A` (m×k) and `B` (k×n).
    ///
    /// `B` is transposed once so that every output is a dot product of two contiguous rows; a
    /// 2×2 register tile of outputs shares each loaded word between two products, so the loop
    /// is bound by the 64-bit multiplier (about one wrapping multiply-add per cycle; x86-64
    /// without AVX-512 has no vector 64-bit multiply that would do better).
    static func matmul(
        _ a: [UInt64], _ b: [UInt64], m: Int, k: Int, n: Int, accumulatingInto c: inout [UInt64]
    ) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n,
                     "ring matmul: shapes \(a.count) \(b.count) \(c.count) do not fit \(m)x\(k)x\(n)")
        let bt = transpose(b, rows: k, cols: n)
        a.withUnsafeBufferPointer { pa in
            bt.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let A = pa.baseAddress!, B = pb.baseAddress!, C = pc.baseAddress!
                    var i = 0
                    while i + 1 < m {
                        let a0 = A + i * k, a1 = a0 + k
                        var j = 0
                        while j + 1 < n {
                            let b0 = B + j * k, b1 = b0 + k
                            var s00: UInt64 = 0, s01: UInt64 = 0, s10: UInt64 = 0, s11: UInt64 = 0
                            for p in 0..<k {
                                let x0 = a0[p], x1 = a1[p], y0 = b0[p], y1 = b1[p]
                                s00 &+= x0 &* y0; s01 &+= x0 &* y1
                                s10 &+= x1 &* y0; s11 &+= x1 &* y1
                            }
                            C[i * n + j] &+= s00; C[i * n + j + 1] &+= s01
                            C[(i + 1) * n + j] &+= s10; C[(i + 1) * n + j + 1] &+= s11
                            j += 2
                        }
                        if j < n {
                            let b0 = B + j * k
                            var s0: UInt64 = 0, s1: UInt64 = 0
                            for p in 0..<k { s0 &+= a0[p] &* b0[p]; s1 &+= a1[p] &* b0[p] }
                            C[i * n + j] &+= s0; C[(i + 1) * n + j] &+= s1
                        }
                        i += 2
                    }
                    if i < m {
                        let a0 = A + i * k
                        for j in 0..<n {
                            let b0 = B + j * k
                            var s: UInt64 = 0
                            for p in 0..<k { s &+= a0[p] &* b0[p] }
                            C[i * n + j] &+= s
                        }
                    }
                }
            }
        }
    }

    /// `A·B` as a new buffer.
    static func matmul(_ a: [UInt64], _ b: [UInt64], m: Int, k: Int, n: Int) -> [UInt64] {
        var c = [UInt64](repeating: 0, count: m * n)
        matmul(a, b, m: m, k: k, n: n, accumulatingInto: &c)
        return c
    }

    /// The transpose of a row-major rows×cols matrix.
    static func transpose(_ a: [UInt64], rows: Int, cols: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                for i in 0..<rows {
                    for j in 0..<cols { out[j * rows + i] = pa[i * cols + j] }
                }
            }
            n = a.count
        }
    }
}
