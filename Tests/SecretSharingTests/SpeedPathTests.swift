import Foundation
import RingArithmetic
import SecretSharing
import Testing

/// An independent scalar ChaCha12 (RFC 8439 quarter-round, 12 rounds, 64-bit block counter in
/// words 12–13, words 14–15 zero) laid out in `ChaCha12Keystream`'s documented group order.
private func referenceKeystream(key: [UInt32], groups: Int) -> [UInt64] {
    func rotl(_ v: UInt32, _ n: UInt32) -> UInt32 { (v << n) | (v >> (32 - n)) }
    var out = [UInt64](repeating: 0, count: 128 * groups)
    for g in 0..<groups {
        var halves = [UInt32](repeating: 0, count: 256)  // word w of block l at 16w + l
        for l in 0..<16 {
            let counter = UInt64(16 * g + l)
            let input: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574] + key
                + [UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0]
            var x = input
            func quarter(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
                x[a] &+= x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 16)
                x[c] &+= x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 12)
                x[a] &+= x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 8)
                x[c] &+= x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 7)
            }
            for _ in 0..<6 {
                quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15)
                quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14)
            }
            for w in 0..<16 { halves[16 * w + l] = x[w] &+ input[w] }
        }
        for j in 0..<128 {
            out[128 * g + j] = UInt64(halves[2 * j]) | (UInt64(halves[2 * j + 1]) << 32)
        }
    }
    return out
}

@Suite("The fast paths: ChaCha12 kernel, ring kernel, seed-compressed triples, sockets")
struct SpeedPathTests {
    @Test("MaskGenerator is the ChaCha12 keystream of its key, however the words are drawn")
    func keystream() {
        for seed: UInt64 in [0, 7, 0xDEAD_BEEF] {
            // insecureSeeded keys the generator with four SplitMix64 words, low half first.
            var splitMix = InsecureSplitMix64(seed: seed)
            var key: [UInt32] = []
            for _ in 0..<4 {
                let w = splitMix.next()
                key += [UInt32(truncatingIfNeeded: w), UInt32(truncatingIfNeeded: w >> 32)]
            }
            let expected = referenceKeystream(key: key, groups: 3)
            var whole = MaskGenerator.insecureSeeded(seed)
            #expect(whole.words(384) == expected)
            // Drawn in odd pieces (buffered words, whole groups written in place, one at a time).
            var pieces = MaskGenerator.insecureSeeded(seed)
            var drawn = pieces.words(5) + pieces.words(200)
            for _ in 0..<3 { drawn.append(pieces.next()) }
            drawn += pieces.words(176)
            #expect(drawn == expected)
        }
    }

    @Test("the ring kernel is exact on extreme values and on shapes around its 4×16 tiles",
          arguments: [(4, 16, 16), (5, 3, 17), (8, 100, 24), (12, 7, 9), (100, 100, 100)])
    func ringKernelExtremes(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var g = MaskGenerator.insecureSeeded(UInt64(m * 10_000 + k * 100 + n))
        let extremes: [UInt64] = [0, 1, UInt64.max, 1 << 63, (1 << 63) - 1, 0xFFFF_FFFF, 1 << 32]
        func draw() -> UInt64 {
            let r = g.next()
            return r % 3 == 0 ? extremes[Int(r >> 8) % extremes.count] : g.next()
        }
        let a = (0..<(m * k)).map { _ in draw() }, b = (0..<(k * n)).map { _ in draw() }
        let start = (0..<(m * n)).map { _ in draw() }
        var c = start
        WrappingMatrix.multiplyAccumulate(a, b, into: &c, m: m, k: k, n: n)
        var wrong = 0
        for i in 0..<m {
            for j in 0..<n {
                var s = start[i * n + j]
                for p in 0..<k { s &+= a[i * k + p] &* b[p * n + j] }
                if c[i * n + j] != s { wrong += 1 }
            }
        }
        #expect(wrong == 0, "\(wrong) wrong entries in \(m)x\(k)x\(n)")
    }

    @Test("seed-compressed matrix triples satisfy Σc = (Σa)(Σb); one party per request, rotating, gets C",
          arguments: [2, 3])
    func seededTriples(parties: Int) throws {
        let dealer = TrustedDealer(partyCount: parties)
        let providers = (0..<parties).map { dealer.provider(for: $0) }
        let (m, k, n) = (6, 9, 5)
        let requests = parties + 1
        for _ in 0..<requests {
            let triples = try providers.map { try $0.matrixTriple(m: m, k: k, n: n) }
            func sum(_ parts: [[UInt64]]) -> [UInt64] {
                parts.dropFirst().reduce(parts[0]) { acc, x in zip(acc, x).map { $0 &+ $1 } }
            }
            let a = sum(triples.map(\.a)), b = sum(triples.map(\.b)), c = sum(triples.map(\.c))
            var ab = [UInt64](repeating: 0, count: m * n)
            WrappingMatrix.multiplyAccumulate(a, b, into: &ab, m: m, k: k, n: n)
            #expect(c == ab)
            // Different parties' shares differ (independent keys).
            #expect(triples[0].a != triples[1].a)
        }
        // Offline bytes: a 32-byte key per request, plus the explicit C share at the request's
        // explicit party (request s at party s mod n): party p is explicit for the requests
        // s < requests with s ≡ p.
        for (p, provider) in providers.enumerated() {
            let explicit = (0..<requests).filter { $0 % parties == p }.count
            #expect(provider.offlineBytesReceived == requests * 32 + explicit * 8 * m * n)
        }
    }

    @Test("every correlation kind is consistent across parties when the parties collect concurrently",
          arguments: [2, 3])
    func concurrentCorrelations(parties: Int) throws {
        let dealer = TrustedDealer(partyCount: parties)
        // Each party collects the same sequence of requests on its own thread; the shares are
        // then recombined and checked against each correlation's law.
        let count = 3000, shift = 16
        let collected = try InMemoryNetwork.run(partyCount: parties) { channel -> [[[UInt64]]] in
            let provider = dealer.provider(for: channel.partyIndex)
            var out: [[[UInt64]]] = []
            for _ in 0..<2 {
                let t = try provider.multiplicationTriples(count: count)
                let sq = try provider.squarePairs(count: count)
                let tr = try provider.truncationPairs(count: count, shift: shift)
                let bt = try provider.binaryTriples(count: count)
                let eda = try provider.edaBits(count: count)
                let da = try provider.daBits(count: 100)
                out.append([t.a, t.b, t.c, sq.a, sq.c, tr.r, tr.rHigh, tr.wrap, bt.a, bt.b, bt.c,
                            eda.arithmetic, eda.binary, da.binary, da.arithmetic])
            }
            return out
        }
        func add(_ j: Int, _ r: Int) -> [UInt64] {
            var total = collected[0][r][j]
            for p in 1..<parties { for i in total.indices { total[i] &+= collected[p][r][j][i] } }
            return total
        }
        func xor(_ j: Int, _ r: Int) -> [UInt64] {
            var total = collected[0][r][j]
            for p in 1..<parties { for i in total.indices { total[i] ^= collected[p][r][j][i] } }
            return total
        }
        for r in 0..<2 {
            let a = add(0, r), b = add(1, r), c = add(2, r)
            let ab: [UInt64] = zip(a, b).map { x, y -> UInt64 in x &* y }
            #expect(ab == c, "Beaver triples")
            let sa = add(3, r), sc = add(4, r)
            let squares: [UInt64] = sa.map { x -> UInt64 in x &* x }
            #expect(squares == sc, "square pairs")
            let rr = add(5, r), high = add(6, r), wrap = add(7, r)
            let expectedHigh: [UInt64] = rr.map { r -> UInt64 in r >> UInt64(shift) }
            #expect(expectedHigh == high, "truncation high part")
            let expectedWrap: [UInt64] = rr.map { r -> UInt64 in (r >> 63) << UInt64(64 - shift) }
            #expect(expectedWrap == wrap, "truncation wrap part")
            let ba = xor(8, r), bb = xor(9, r), bc = xor(10, r)
            let ands: [UInt64] = zip(ba, bb).map { x, y -> UInt64 in x & y }
            #expect(ands == bc, "binary triples")
            #expect(add(11, r) == xor(12, r), "edaBits: the binary shares are the bits of the arithmetic value")
            let beta = xor(13, r), bits = add(14, r)
            #expect(beta.count == 2)
            #expect(beta[1] >> 36 == 0, "daBits: unused bits are zero")
            let expectedBits: [UInt64] = (0..<100).map { i -> UInt64 in (beta[i >> 6] >> UInt64(i & 63)) & 1 }
            #expect(bits == expectedBits, "daBits")
            // Shares are not degenerate: the first party's share of a is not the whole of a.
            #expect(collected[0][r][0] != a)
        }
    }

    @Test("a seeded dealer is reproducible: the same seed gives the same triples")
    func seededDealerDeterministic() throws {
        func triple() throws -> [[UInt64]] {
            let dealer = TrustedDealer.insecureSeeded(partyCount: 2, seed: 9)
            return try (0..<2).flatMap { p -> [[UInt64]] in
                let t = try dealer.provider(for: p).matrixTriple(m: 3, k: 4, n: 5)
                return [t.a, t.b, t.c]
            }
        }
        #expect(try triple() == triple())
    }

    @Test("2-party matmul with local truncation: one round, within one unit except with tiny probability")
    func localMatmul() throws {
        var rng = TestRandom(seed: 21)
        let (m, k, n) = (20, 30, 10)
        let a = rng.values(m * k, -1, 1), b = rng.values(k * n, -1, 1)
        let results = try Party.insecureRunInMemory(partyCount: 2, seed: 3, truncation: .localTwoParty) { p in
            let sa = try p.share(p.index == 0 ? a : nil, shape: [m, k], owner: 0)
            let sb = try p.share(p.index == 1 ? b : nil, shape: [k, n], owner: 1)
            let (z, cost) = try p.measure { try p.matmul(sa, sb) }
            return (cost.rounds, cost.bytesSent, try p.reveal(z))
        }
        #expect(results[0].0 == 1 && results[0].1 == 8 * (m * k + k * n))
        let scale = 65536.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0
                for t in 0..<k { exact += (a[i * k + t] * scale).rounded() * (b[t * n + j] * scale).rounded() }
                exact /= scale * scale
                // SecureML: off by at most one unit, unless a share lands within |z| of the wrap
                // (probability below 2^(ℓ+1-64) ≈ 2^-28 here).
                #expect(abs(results[0].2[i * n + j] - exact) <= 1 / scale)
            }
        }
    }

    @Test("sockets carry messages larger than the kernel's buffer both ways at once, and reuse buffers")
    func largeSocketMessages() throws {
        let words = 3 << 20  // 24 MiB each way, beyond any socket buffer
        let sums = try SocketNetwork.run(partyCount: 2) { channel -> [UInt64] in
            var out: [UInt64] = []
            for round in 0..<3 {
                let mine = [UInt64](repeating: UInt64(channel.partyIndex + 1 + round), count: words)
                let opened = try channel.openAdditive(mine)
                out.append(opened[0])
                out.append(opened[words - 1])
                channel.recycle(opened)
            }
            return out
        }
        #expect(sums[0] == [3, 3, 5, 5, 7, 7] && sums[1] == sums[0])
    }
}
