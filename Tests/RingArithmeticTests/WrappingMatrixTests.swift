import Testing
import LabRandom
import RingArithmetic

/// The vectorised ring product against the definition, on shapes that exercise the four-row
/// blocks and the remainder rows, with values that overflow 64 bits.
@Suite("Wrapping matrix product")
struct WrappingMatrixTests {
    @Test("c += a·b mod 2^64 equals the triple loop", arguments: [(1, 1, 1), (3, 5, 7), (4, 4, 4), (9, 13, 17), (37, 8, 100)])
    func matchesDefinition(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var random = LabRandom(seed: 11).stream("ring/\(m)x\(k)x\(n)")
        let a = (0..<(m * k)).map { _ in random.next() }
        let b = (0..<(k * n)).map { _ in random.next() }
        let start = (0..<(m * n)).map { _ in random.next() }
        var c = start
        WrappingMatrix.multiplyAccumulate(a, b, into: &c, m: m, k: k, n: n)
        for i in 0..<m {
            for j in 0..<n {
                var s = start[i * n + j]
                for p in 0..<k { s &+= a[i * k + p] &* b[p * n + j] }
                #expect(c[i * n + j] == s, "entry (\(i), \(j)) of \(m)x\(k)x\(n)")
            }
        }
    }
}

