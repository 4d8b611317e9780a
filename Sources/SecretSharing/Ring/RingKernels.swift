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

    /// `C = A·B` over Z(2^64) for row-major `A` (m×k) and `B` (k×n); `C` is added to `into`
    /// when given.
    ///
    /// Each 64-bit product is split into 32-bit halves, `x·y mod 2^64 = xl·yl + 2^32·(xh·yl +
    /// xl·yh)`, with the cross terms accumulated in 32-bit lanes: the loop then vectorises into
    /// 32×32→64 lane multiplies. The k-loop is outermost inside a row block so that rows of `B`
    /// stream through the cache.
    static func matmul(
        _ a: [UInt64], _ b: [UInt64], m: Int, k: Int, n: Int, accumulatingInto c: inout [UInt64]
    ) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n,
                     "ring matmul: shapes \(a.count) \(b.count) \(c.count) do not fit \(m)x\(k)x\(n)")
        // Split B once into low and high halves.
        var bl = [UInt32](repeating: 0, count: k * n)
        var bh = [UInt32](repeating: 0, count: k * n)
        b.withUnsafeBufferPointer { pb in
            bl.withUnsafeMutableBufferPointer { pl in
                bh.withUnsafeMutableBufferPointer { ph in
                    for i in 0..<(k * n) {
                        pl[i] = UInt32(truncatingIfNeeded: pb[i])
                        ph[i] = UInt32(truncatingIfNeeded: pb[i] >> 32)
                    }
                }
            }
        }
        var low = [UInt64](repeating: 0, count: n)
        var cross = [UInt32](repeating: 0, count: n)
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                bl.withUnsafeBufferPointer { pl in
                    bh.withUnsafeBufferPointer { ph in
                        low.withUnsafeMutableBufferPointer { lo in
                            cross.withUnsafeMutableBufferPointer { cr in
                                for i in 0..<m {
                                    for j in 0..<n { lo[j] = 0; cr[j] = 0 }
                                    for p in 0..<k {
                                        let x = pa[i * k + p]
                                        let xl = UInt64(UInt32(truncatingIfNeeded: x))
                                        let xl32 = UInt32(truncatingIfNeeded: x)
                                        let xh32 = UInt32(truncatingIfNeeded: x >> 32)
                                        let rowL = pl.baseAddress! + p * n
                                        let rowH = ph.baseAddress! + p * n
                                        for j in 0..<n {
                                            lo[j] &+= xl &* UInt64(rowL[j])
                                            cr[j] &+= xh32 &* rowL[j] &+ xl32 &* rowH[j]
                                        }
                                    }
                                    let rowC = pc.baseAddress! + i * n
                                    for j in 0..<n {
                                        rowC[j] &+= lo[j] &+ (UInt64(cr[j]) << 32)
                                    }
                                }
                            }
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
