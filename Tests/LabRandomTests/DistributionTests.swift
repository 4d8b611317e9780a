import LabRandom
import Testing

/// Pearson's chi-square statistic of observed counts against equal expected counts.
func chiSquare(_ counts: [Int]) -> Double {
    let total = Double(counts.reduce(0, +))
    let expected = total / Double(counts.count)
    return counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
}

func meanAndVariance<S: Sequence>(_ xs: S) -> (mean: Double, variance: Double) where S.Element == Double {
    var n = 0.0, sum = 0.0, sumSq = 0.0
    for x in xs { n += 1; sum += x; sumSq += x * x }
    let mean = sum / n
    return (mean, sumSq / n - mean * mean)
}

// Bounds below are many standard errors wide: these tests catch wrong algorithms, not bad luck.
@Suite("LabRandom distributions")
struct DistributionTests {
    @Test func uniformDoubleMomentsAndRange() {
        var g = LabRandom(seed: 1).stream("uniform/double")
        let xs = (0..<100_000).map { _ in g.nextDouble() }
        #expect(xs.allSatisfy { $0 >= 0 && $0 < 1 })
        let (m, v) = meanAndVariance(xs)
        #expect(abs(m - 0.5) < 0.01)
        #expect(abs(v - 1.0 / 12) < 0.005)
        // Low bits are used: a 53-bit draw is rarely a multiple of 2⁻²⁴.
        #expect(xs.filter { ($0 * 0x1p24).rounded() == $0 * 0x1p24 }.count < 10)
    }

    @Test func uniformFloatMomentsAndRange() {
        var g = LabRandom(seed: 1).stream("uniform/float")
        let xs = (0..<100_000).map { _ in g.nextFloat() }
        #expect(xs.allSatisfy { $0 >= 0 && $0 < 1 })
        let (m, v) = meanAndVariance(xs.lazy.map(Double.init))
        #expect(abs(m - 0.5) < 0.01)
        #expect(abs(v - 1.0 / 12) < 0.005)
    }

    @Test(arguments: [1, 2, 7, 10, 97])
    func boundedIntegersAreUniform(bound: Int) {
        var g = LabRandom(seed: 2).stream("int/\(bound)")
        var counts = [Int](repeating: 0, count: bound)
        for _ in 0..<(2_000 * bound) {
            let x = g.nextInt(below: bound)
            #expect(x >= 0 && x < bound)
            if x >= 0 && x < bound { counts[x] += 1 }
        }
        if bound > 1 {
            // df = bound − 1; the bound is far beyond the 1e-6 quantile for each df used here.
            let limit = Double(bound - 1) + 12 * Double(2 * (bound - 1)).squareRoot() + 20
            #expect(chiSquare(counts) < limit, "counts \(counts)")
        }
    }

    @Test func largeBoundHasNoModuloBias() {
        // With bound 3·2⁶¹, `next() % bound` would put 3/8 of the mass in the first third.
        let bound = 3 << 61
        var g = LabRandom(seed: 3).stream("int/large")
        var counts = [0, 0, 0]
        for _ in 0..<30_000 { counts[g.nextInt(below: bound) >> 61] += 1 }
        #expect(chiSquare(counts) < 40, "counts \(counts)")
    }

    @Test func normalMoments() {
        var g = LabRandom(seed: 4).stream("normal")
        let xs = (0..<100_000).map { _ in g.nextNormal() }
        let (m, v) = meanAndVariance(xs)
        #expect(abs(m) < 0.02)
        #expect(abs(v - 1) < 0.03)
        let fourth = xs.reduce(0.0) { $0 + $1 * $1 * $1 * $1 } / Double(xs.count)
        #expect(abs(fourth - 3) < 0.2)
        let within1 = Double(xs.filter { abs($0) < 1 }.count) / Double(xs.count)
        #expect(abs(within1 - 0.6827) < 0.01)
    }

    @Test func nextNormalIsStateless() {
        // Each call consumes exactly two words: no cached second value.
        var a = LabRandom(seed: 5)
        var b = LabRandom(seed: 5)
        _ = a.nextNormal()
        _ = b.next(); _ = b.next()
        #expect(a == b)
    }

    @Test func bernoulliFrequency() {
        var g = LabRandom(seed: 6).stream("bernoulli")
        let n = 100_000
        let hits = (0..<n).reduce(0) { acc, _ in acc + (g.nextBernoulli(0.3) ? 1 : 0) }
        #expect(abs(Double(hits) / Double(n) - 0.3) < 0.01)
        #expect((0..<1000).allSatisfy { _ in !g.nextBernoulli(0) })
        #expect((0..<1000).allSatisfy { _ in g.nextBernoulli(1) })
    }

    @Test func permutationsAreValidAndUniform() {
        var g = LabRandom(seed: 7).stream("permutation")
        for n in [0, 1, 2, 5, 100, 1000] {
            #expect(g.permutation(n).sorted() == Array(0..<n))
        }
        // All 6 permutations of 3 elements equally often.
        var counts = [[Int]: Int]()
        for _ in 0..<60_000 { counts[g.permutation(3), default: 0] += 1 }
        #expect(counts.count == 6)
        #expect(chiSquare(Array(counts.values)) < 40, "counts \(counts)")
        // Every element lands in every position equally often.
        var positions = [Int](repeating: 0, count: 10)
        for _ in 0..<20_000 { positions[g.permutation(10).firstIndex(of: 0)!] += 1 }
        #expect(chiSquare(positions) < 60)
    }

    @Test func shuffleKeepsElements() {
        var g = LabRandom(seed: 8)
        var words = (0..<200).map { "w\($0)" }
        let original = words
        g.shuffle(&words)
        #expect(words != original)
        #expect(words.sorted() == original.sorted())
    }

    @Test(arguments: [(0, 10), (1, 1), (5, 20), (20, 20), (7, 4096), (10, 5000), (50, 1_000_000), (4, 1 << 50)])
    func samplesAreDistinctAndInRange(k: Int, n: Int) {
        var g = LabRandom(seed: 9).stream("sample/\(k)/\(n)")
        for _ in 0..<50 {
            let s = g.sampleWithoutReplacement(k, from: n)
            #expect(s.count == k)
            #expect(Set(s).count == k)
            #expect(s.allSatisfy { $0 >= 0 && $0 < n })
        }
    }

    @Test(arguments: [10, 100_000])
    func sampleMarginalsAreUniform(n: Int) {
        // Dense (n = 10) and sparse (n = 100000) paths: each draw position is uniform over 0..<n.
        var g = LabRandom(seed: 10).stream("sample-marginals/\(n)")
        var firstBuckets = [Int](repeating: 0, count: 10)
        var lastBuckets = [Int](repeating: 0, count: 10)
        for _ in 0..<20_000 {
            let s = g.sampleWithoutReplacement(3, from: n)
            firstBuckets[s[0] * 10 / n] += 1
            lastBuckets[s[2] * 10 / n] += 1
        }
        #expect(chiSquare(firstBuckets) < 60)
        #expect(chiSquare(lastBuckets) < 60)
    }

    @Test func fillUniformRangeMomentsAndOddCount() {
        var g = LabRandom(seed: 11).stream("fill/uniform")
        var out = [Float](repeating: .nan, count: 100_001)
        out.withUnsafeMutableBufferPointer { g.fillUniform($0, low: -2, high: 6) }
        #expect(out.allSatisfy { $0 >= -2 && $0 < 6 })
        let (m, v) = meanAndVariance(out.lazy.map(Double.init))
        #expect(abs(m - 2) < 0.08)
        #expect(abs(v - 64.0 / 12) < 0.3)
        // Both 24-bit halves are used: neighbours are uncorrelated.
        let pairs = stride(from: 0, to: 100_000, by: 2).map { Double(out[$0] - 2) * Double(out[$0 + 1] - 2) }
        #expect(abs(pairs.reduce(0, +) / Double(pairs.count)) < 0.2)
    }

    @Test func fillUniformFirstHalvesMatchNextFloat() {
        var g = LabRandom(seed: 12)
        var h = LabRandom(seed: 12)
        var out = [Float](repeating: 0, count: 9)
        out.withUnsafeMutableBufferPointer { g.fillUniform($0, low: 0, high: 1) }
        for i in stride(from: 0, to: 9, by: 2) { #expect(out[i] == h.nextFloat()) }
        #expect(g == h)
    }

    @Test func fillNormalMoments() {
        var g = LabRandom(seed: 13).stream("fill/normal")
        var out = [Float](repeating: .nan, count: 200_001)
        out.withUnsafeMutableBufferPointer { g.fillNormal($0, mean: 1.5, standardDeviation: 0.5) }
        #expect(out.allSatisfy { $0.isFinite })
        let (m, v) = meanAndVariance(out.lazy.map(Double.init))
        #expect(abs(m - 1.5) < 0.01)
        #expect(abs(v - 0.25) < 0.01)
        let z = out.map { (Double($0) - 1.5) / 0.5 }
        let fourth = z.reduce(0.0) { $0 + $1 * $1 * $1 * $1 } / Double(z.count)
        #expect(abs(fourth - 3) < 0.15)
        // The sine halves are independent of the cosine halves.
        let pairs = stride(from: 0, to: 200_000, by: 2).map { z[$0] * z[$0 + 1] }
        #expect(abs(pairs.reduce(0, +) / Double(pairs.count)) < 0.03)
    }

    @Test func fillsOfEmptyBuffersConsumeNothing() {
        var g = LabRandom(seed: 14)
        let before = g
        var empty = [Float]()
        empty.withUnsafeMutableBufferPointer {
            g.fillUniform($0, low: 0, high: 1)
            g.fillNormal($0, mean: 0, standardDeviation: 1)
        }
        #expect(g == before)
    }
}
