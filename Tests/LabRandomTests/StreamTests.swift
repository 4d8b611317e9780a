import LabRandom
import Testing

func draws(_ g: inout LabRandom, _ n: Int) -> [UInt64] {
    (0..<n).map { _ in g.next() }
}

@Suite("LabRandom streams")
struct StreamTests {
    @Test func sameSeedSameValues() {
        var a = LabRandom(seed: 7)
        var b = LabRandom(seed: 7)
        #expect(draws(&a, 100) == draws(&b, 100))
    }

    @Test func pathsCompose() {
        let root = LabRandom(seed: 2026)
        #expect(root.stream("shadow").stream("3") == root.stream("shadow/3"))
        #expect(root.stream("shadow").stream("3/init") == root.stream("shadow/3/init"))
        #expect(root.stream("shadow/3").stream("init") == root.stream("shadow/3/init"))
        var viaParts = root.stream("a").stream("b").stream("c")
        var whole = root.stream("a/b/c")
        #expect(draws(&viaParts, 20) == draws(&whole, 20))
    }

    @Test func emptyComponentsAreSkipped() {
        let root = LabRandom(seed: 1)
        #expect(root.stream("a//b") == root.stream("a/b"))
        #expect(root.stream("/a/b/") == root.stream("a/b"))
        #expect(root.stream("") == root)
    }

    @Test func childIgnoresParentConsumption() {
        let fresh = LabRandom(seed: 99)
        var used = LabRandom(seed: 99)
        _ = draws(&used, 1234)
        _ = used.nextNormal()
        #expect(used.stream("target/train") == fresh.stream("target/train"))
        var a = used.stream("x").stream("y")
        var b = fresh.stream("x/y")
        #expect(draws(&a, 50) == draws(&b, 50))
    }

    @Test func creationAndUseOrderDoNotMatter() {
        let names = (0..<16).map { "shadow/\($0)/init" }
        // Order 1: make all streams first, then draw from them in order.
        let root1 = LabRandom(seed: 5)
        var streams1 = names.map { root1.stream($0) }
        var values1 = [[UInt64]](repeating: [], count: names.count)
        for i in names.indices { values1[i] = draws(&streams1[i], 64) }
        // Order 2: make them in reverse, interleave draws one value at a time, draw from the root
        // and from unrelated streams in between.
        var root2 = LabRandom(seed: 5)
        var streams2 = [LabRandom?](repeating: nil, count: names.count)
        for i in names.indices.reversed() {
            _ = root2.next()
            var noise = root2.stream("noise/\(i)")
            _ = draws(&noise, 3)
            streams2[i] = root2.stream(names[i])
        }
        var values2 = [[UInt64]](repeating: [], count: names.count)
        for _ in 0..<64 {
            for i in names.indices.reversed() {
                values2[i].append(streams2[i]!.next())
            }
        }
        #expect(values1 == values2)
    }

    @Test func distinctPathsAndSeedsGiveDistinctStreams() {
        let root = LabRandom(seed: 42)
        var firsts = Set<UInt64>()
        var names = (0..<500).map { "shadow/\($0)" }
        names += ["a", "b", "ab", "a/b", "ba", "b/a", "target/train", "target/test", "A", "a ", "é", "e\u{301}"]
        for name in names {
            var g = root.stream(name)
            firsts.insert(g.next())
        }
        var r = root
        firsts.insert(r.next())
        for seed: UInt64 in [0, 1, 2, 43, .max] {
            var g = LabRandom(seed: seed)
            firsts.insert(g.next())
            var h = LabRandom(seed: seed).stream("shadow/0")
            firsts.insert(h.next())
        }
        #expect(firsts.count == names.count + 1 + 10)
    }

    @Test func siblingStreamsAreUncorrelated() {
        let root = LabRandom(seed: 3)
        var a = root.stream("client/1")
        var b = root.stream("client/2")
        let n = 50_000
        var sab = 0.0, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0
        for _ in 0..<n {
            let x = a.nextDouble(), y = b.nextDouble()
            sab += x * y; sa += x; sb += y; saa += x * x; sbb += y * y
        }
        let nn = Double(n)
        let cov = sab / nn - (sa / nn) * (sb / nn)
        let corr = cov / ((saa / nn - (sa / nn) * (sa / nn)) * (sbb / nn - (sb / nn) * (sb / nn))).squareRoot()
        // Standard error 1/√n ≈ 0.0045: 0.03 is more than six of them.
        #expect(abs(corr) < 0.03)
    }

    @Test func worksWithStandardLibraryRandomAPIs() {
        var g = LabRandom(seed: 11)
        var h = LabRandom(seed: 11)
        let xs = (0..<100).map { _ in Int.random(in: -5...5, using: &g) }
        let ys = (0..<100).map { _ in Int.random(in: -5...5, using: &h) }
        #expect(xs == ys)
        #expect(xs.allSatisfy { (-5...5).contains($0) })
        #expect(Set(xs).count == 11)
    }
}
