/// Arithmetic kernels over Z(2^64): every operation wraps modulo 2^64 (`&+`, `&-`, `&*`).
///
/// These are the only loops over share words; protocols call them on whole buffers.
/// - Complexity: O(count) for elementwise kernels, O(m·k·n) for `matmul`.
internal import RingArithmetic

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

    /// `C += A·B` over Z(2^64) for row-major `A` (m×k) and `B` (k×n): the vectorised kernel of
    /// `RingArithmetic` (AVX-512 / AVX2 / baseline, chosen at load time, identical results).
    static func matmul(
        _ a: [UInt64], _ b: [UInt64], m: Int, k: Int, n: Int, accumulatingInto c: inout [UInt64]
    ) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n,
                     "ring matmul: shapes \(a.count) \(b.count) \(c.count) do not fit \(m)x\(k)x\(n)")
        WrappingMatrix.multiplyAccumulate(a, b, into: &c, m: m, k: k, n: n)
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
