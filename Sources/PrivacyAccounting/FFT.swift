#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-place iterative radix-2 complex FFT in double precision, for composing privacy-loss
/// distributions.
///
/// Twiddle factors are computed directly as cos/sin of 2πk/n (not by repeated multiplication),
/// so the error stays near log₂(n)·ε_machine relative to the largest input.
/// - Complexity: O(n log n) for n a power of two.
struct FFT {
    let count: Int
    private let cosines: [Double]
    private let sines: [Double]
    private let reversed: [Int32]

    init(count: Int) {
        precondition(count > 0 && count & (count - 1) == 0, "FFT: size \(count) is not a power of two")
        self.count = count
        let half = count / 2
        var c = [Double](repeating: 1, count: max(1, half)), s = [Double](repeating: 0, count: max(1, half))
        for k in 0..<half {
            let angle = 2 * Double.pi * Double(k) / Double(count)
            c[k] = cos(angle)
            s[k] = sin(angle)
        }
        cosines = c
        sines = s
        var bits = 0
        while 1 << bits < count { bits += 1 }
        var r = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            var x = i, y = 0
            for _ in 0..<bits { y = (y << 1) | (x & 1); x >>= 1 }
            r[i] = Int32(y)
        }
        reversed = r
    }

    /// Transforms (re, im) in place: forward X_k = Σ x_j e^{−2πijk/n}; inverse adds the 1/n.
    func transform(re: inout [Double], im: inout [Double], inverse: Bool) {
        let n = count
        precondition(re.count == n && im.count == n, "FFT: buffers of \(re.count), \(im.count) for size \(n)")
        let sign: Double = inverse ? 1 : -1
        re.withUnsafeMutableBufferPointer { xr in
            im.withUnsafeMutableBufferPointer { xi in
                cosines.withUnsafeBufferPointer { cs in
                    sines.withUnsafeBufferPointer { sn in
                        reversed.withUnsafeBufferPointer { rev in
                            for i in 0..<n {
                                let j = Int(rev[i])
                                if j > i { xr.swapAt(i, j); xi.swapAt(i, j) }
                            }
                            var length = 2
                            while length <= n {
                                let halfLength = length / 2, stride = n / length
                                var start = 0
                                while start < n {
                                    for k in 0..<halfLength {
                                        let wr = cs[k * stride], wi = sign * sn[k * stride]
                                        let a = start + k, b = a + halfLength
                                        let tr = xr[b] * wr - xi[b] * wi
                                        let ti = xr[b] * wi + xi[b] * wr
                                        xr[b] = xr[a] - tr
                                        xi[b] = xi[a] - ti
                                        xr[a] += tr
                                        xi[a] += ti
                                    }
                                    start += length
                                }
                                length *= 2
                            }
                            if inverse {
                                let scale = 1 / Double(n)
                                for i in 0..<n { xr[i] *= scale; xi[i] *= scale }
                            }
                        }
                    }
                }
            }
        }
    }
}
