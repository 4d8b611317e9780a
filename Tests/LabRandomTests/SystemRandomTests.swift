import LabRandom
import Testing

@Suite("SystemRandom")
struct SystemRandomTests {
    @Test func successiveDrawsDiffer() {
        var a = SystemRandom()
        var b = SystemRandom()
        let xs = (0..<8).map { _ in a.next() } + (0..<8).map { _ in b.next() }
        // 16 independent 64-bit draws collide with probability about 2⁻⁵⁷.
        #expect(Set(xs).count == 16)
    }

    @Test func fillWritesEveryByteOfOddLengths() {
        var g = SystemRandom()
        for count in [1, 3, 8, 13, 1003] {
            var first = [UInt8](repeating: 0, count: count)
            var second = [UInt8](repeating: 0, count: count)
            first.withUnsafeMutableBytes { g.fill($0) }
            second.withUnsafeMutableBytes { g.fill($0) }
            if count >= 8 { #expect(first != second, "two fills of \(count) bytes were equal") }
            // A byte position left unwritten would stay zero in every fill.
            var everNonZero = [Bool](repeating: false, count: count)
            for _ in 0..<16 {
                var buffer = [UInt8](repeating: 0, count: count)
                buffer.withUnsafeMutableBytes { g.fill($0) }
                for i in 0..<count where buffer[i] != 0 { everNonZero[i] = true }
            }
            #expect(everNonZero.allSatisfy { $0 }, "fill left some of \(count) bytes untouched")
        }
    }

    @Test func bitsAreBalanced() {
        var g = SystemRandom()
        var ones = 0
        for _ in 0..<4096 { ones += g.next().nonzeroBitCount }
        // 262144 bits: mean 131072, standard deviation 256.
        #expect(abs(ones - 131_072) < 3_000)
    }
}
