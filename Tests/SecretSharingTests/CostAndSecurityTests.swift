import Foundation
import SecretSharing
import Testing

@Suite("Rounds and bytes equal the documented formulas")
struct CostTests {
    struct Costs: Sendable, Equatable {
        var measured: [[Int]]  // per op: rounds, bytes
    }

    @Test("every party's rounds and bytes match CostModel", arguments: [2, 3, 4])
    func formulas(parties n: Int) throws {
        let count = 1000
        var rng = TestRandom(seed: 31)
        let x = rng.values(count, -3, 3), y = rng.values(count, -3, 3), big = rng.values(count, -500, 500)
        let results = try Party.insecureRunInMemory(partyCount: n, seed: 4) { p in
            let sx = try p.share(p.index == 0 ? x : nil, shape: [count], owner: 0, bound: 4)
            let sy = try p.share(p.index == 1 ? y : nil, shape: [count], owner: 1, bound: 4)
            let sb = try p.share(p.index == 0 ? big : nil, shape: [count], owner: 0)
            let m1 = try p.share(p.index == 0 ? x : nil, shape: [20, 50], owner: 0, bound: 4)
            let m2 = try p.share(p.index == 0 ? y : nil, shape: [50, 20], owner: 0, bound: 4)
            var out: [[Int]] = []
            func record(_ body: () throws -> Void) rethrows {
                let (_, cost) = try p.measure(body)
                out.append([cost.rounds, cost.bytesSent])
            }
            try record { _ = try p.reveal(sx) }
            try record { _ = try p.multiply(sx, sy) }
            try record { _ = try p.square(sx) }
            try record { _ = try p.matmul(m1, m2) }
            try record { _ = try p.isNegative(sx) }
            try record { _ = try p.relu(sx) }
            try record { _ = try p.exp(sx) }
            try record { _ = try p.sigmoid(sx) }
            try record { _ = try p.sigmoid(sb) }
            try record { _ = try p.maxWithIndex(m1) }
            return Costs(measured: out)
        }
        let m = TruncationMethod.dealerAssisted
        let expected = [
            CostModel.open(words: count, parties: n),
            CostModel.multiply(count: count, parties: n, method: m),
            CostModel.square(count: count, parties: n, method: m),
            CostModel.matmul(m: 20, k: 50, n: 20, parties: n, method: m),
            CostModel.isNegative(count: count, parties: n),
            CostModel.relu(count: count, parties: n),
            CostModel.exp(count: count, iterations: 8, parties: n),
            CostModel.sigmoid(count: count, clamped: false, parties: n, method: m),
            CostModel.sigmoid(count: count, clamped: true, parties: n, method: m),
            CostModel.maxWithIndex(rows: 20, k: 50, parties: n),
        ]
        for party in results {
            for (measured, formula) in zip(party.measured, expected) {
                #expect(measured == [formula.rounds, formula.bytesPerParty])
            }
        }
        // The documented round counts themselves.
        #expect(expected[4].rounds == 8 && expected[5].rounds == 8)
        #expect(expected[7].rounds == 30 && expected[8].rounds == 31)
    }

    @Test("local truncation removes the truncation round and bytes")
    func localTruncation() throws {
        let x: [Double] = (0..<100).map { Double($0) / 10 }
        let costs = try Party.insecureRunInMemory(partyCount: 2, seed: 2, truncation: .localTwoParty) { p in
            let s = try p.share(p.index == 0 ? x : nil, shape: [100], owner: 0)
            let (_, c) = try p.measure { _ = try p.multiply(s, s) }
            return [c.rounds, c.bytesSent]
        }
        let f = CostModel.multiply(count: 100, parties: 2, method: .localTwoParty)
        #expect(costs[0] == [f.rounds, f.bytesPerParty] && f.rounds == 1)
    }
}

@Suite("Overflow is reported, never silent")
struct OverflowTests {
    @Test("encoding a value at or beyond 2^(62-f) throws, naming the index")
    func encoding() throws {
        let e = FixedPointEncoder()
        #expect(throws: SecretSharingError.encodingOverflow(value: 70368744177664, limit: 70368744177664, index: 1)) {
            _ = try e.encode([1, 70368744177664])
        }
        #expect(throws: SecretSharingError.self) { _ = try e.encode(Double.nan) }
        #expect(throws: SecretSharingError.self) { _ = try e.encode(-Double.infinity) }
        #expect(try e.encode(-70368744177663) == UInt64(bitPattern: -70368744177663 << 16))
        let e8 = FixedPointEncoder(fractionalBits: 8)
        #expect(e8.limit == Double(UInt64(1) << 54))
        #expect(e8.decode(try e8.encode(-2.5)) == -2.5)
    }

    @Test("a product whose bound could wrap is refused before anything is computed")
    func products() throws {
        // |x|, |y| ≤ 2^16: the product bound 2^32 is beyond 2^(62-32) = 2^30.
        let x: [Double] = [65536, -3]
        #expect(throws: SecretSharingError.possibleOverflow(operation: "multiply", bound: 65536.0 * 65536.0, limit: 1073741824)) {
            _ = try mpc { p in
                let s = try p.share(p.index == 0 ? x : nil, shape: [2], owner: 0, bound: 65536)
                return try p.reveal(try p.multiply(s, s))
            }
        }
        // A matmul's bound grows with the inner dimension.
        // 1000 · 2048 · 2048 > 2^30, though 2048² alone is not.
        let a = [Double](repeating: 100, count: 4 * 1000)
        #expect(throws: SecretSharingError.self) {
            _ = try mpc { p in
                let s = try p.share(p.index == 0 ? a : nil, shape: [4, 1000], owner: 0, bound: 2048)
                let t = try p.share(p.index == 0 ? a : nil, shape: [1000, 4], owner: 0, bound: 2048)
                return try p.reveal(try p.matmul(s, t))
            }
        }
        // Within range, the same values multiply correctly.
        let ok = try mpc { p in
            let s = try p.share(p.index == 0 ? [30000, -3] : nil, shape: [2], owner: 0, bound: 30000)
            return try p.reveal(try p.multiply(s, s))
        }
        #expect(ok == [900_000_000, 9])
    }

    @Test("a false bound assertion is caught when revealing")
    func falseBound() throws {
        #expect(throws: SecretSharingError.boundViolated(operation: "reveal", value: 100, bound: 1)) {
            _ = try mpc { p in
                let s = try p.share(p.index == 0 ? [100] : nil, shape: [1], owner: 0)
                return try p.reveal(s.assumingBound(1))
            }
        }
        #expect(throws: SecretSharingError.self) {
            _ = try mpc { p in try p.reveal(try p.share(p.index == 0 ? [5] : nil, shape: [1], owner: 0, bound: 2)) }
        }
    }
}

/// A channel that records what its party receives (the party's view), for security tests.
final class RecordingChannel: Channel, @unchecked Sendable {
    let inner: any Channel
    var received: [UInt64] = []
    init(_ inner: any Channel) { self.inner = inner }
    var partyIndex: Int { inner.partyIndex }
    var partyCount: Int { inner.partyCount }
    var statistics: CommunicationStatistics { inner.statistics }
    func send(_ words: [UInt64], to party: Int) throws(SecretSharingError) { try inner.send(words, to: party) }
    func receive(from party: Int) throws(SecretSharingError) -> [UInt64] {
        let m = try inner.receive(from: party)
        received.append(contentsOf: m)
        return m
    }
}

@Suite("Shares and transcripts reveal nothing")
struct SecurityTests {
    /// Pearson's chi-square statistic of the top 4 bits of `words` against the uniform law.
    func chiSquareTopNibble(_ words: [UInt64]) -> Double {
        var counts = [Double](repeating: 0, count: 16)
        for w in words { counts[Int(w >> 60)] += 1 }
        let expected = Double(words.count) / 16
        return counts.reduce(0) { $0 + ($1 - expected) * ($1 - expected) / expected }
    }

    /// Two-sample chi-square statistic on the top 4 bits.
    func chiSquareTwoSample(_ a: [UInt64], _ b: [UInt64]) -> Double {
        var ca = [Double](repeating: 0, count: 16), cb = ca
        for w in a { ca[Int(w >> 60)] += 1 }
        for w in b { cb[Int(w >> 60)] += 1 }
        var stat = 0.0
        for i in 0..<16 {
            let total = ca[i] + cb[i]
            guard total > 0 else { continue }
            let ea = total * Double(a.count) / Double(a.count + b.count)
            let eb = total - ea
            stat += (ca[i] - ea) * (ca[i] - ea) / ea + (cb[i] - eb) * (cb[i] - eb) / eb
        }
        return stat
    }

    @Test("a single party's shares are uniform whatever the secret (chi-square, 15 d.o.f.)")
    func sharesUniform() throws {
        // 15 degrees of freedom: P(χ² > 59.7) ≈ 1e-6, so eight checks on OS randomness fail
        // spuriously about once in 10⁵ runs, while a biased share generator fails at once.
        for secret in [0.0, 1.0, -1.0, 123456.789] {
            let values = [Double](repeating: secret, count: 20000)
            let shares = try Party.runInMemory(partyCount: 3) { p in
                try p.share(p.index == 0 ? values : nil, shape: [values.count], owner: 0).share
            }
            for party in 1..<3 {
                #expect(chiSquareTopNibble(shares[party]) < 59.7)
            }
        }
    }

    @Test("party 1's transcript has the same distribution whatever party 0's inputs")
    func transcriptIndependence() throws {
        func view(_ input: Double) throws -> [UInt64] {
            let values = [Double](repeating: input, count: 3000)
            let dealer = TrustedDealer(partyCount: 2)
            let views = try InMemoryNetwork.run(partyCount: 2) { channel in
                let recording = RecordingChannel(channel)
                let p = try Party(channel: recording, provider: dealer.provider(for: channel.partyIndex))
                let s = try p.share(p.index == 0 ? values : nil, shape: [3000], owner: 0, bound: 1024)
                _ = try p.relu(try p.multiply(s, s))
                return recording.received
            }
            return views[1]
        }
        let a = try view(0.5), b = try view(-11.0)
        #expect(a.count == b.count)
        #expect(chiSquareTopNibble(a) < 37.7)
        #expect(chiSquareTopNibble(b) < 37.7)
        #expect(chiSquareTwoSample(a, b) < 37.7)
    }
}

@Suite("Four parties and misuse")
struct MorePartiesTests {
    @Test("matmul, ReLU and sigmoid are right for 4 parties")
    func fourParties() throws {
        var rng = TestRandom(seed: 44)
        let a = rng.values(6 * 9, -3, 3), b = rng.values(9 * 4, -3, 3), x = rng.values(500, -30, 30)
        let out = try mpc(parties: 4) { p in
            let sa = try p.share(p.index == 3 ? a : nil, shape: [6, 9], owner: 3)
            let sb = try p.share(p.index == 2 ? b : nil, shape: [9, 4], owner: 2)
            let sx = try p.share(p.index == 1 ? x : nil, shape: [500], owner: 1)
            return [try p.reveal(try p.matmul(sa, sb)), try p.reveal(try p.relu(sx)),
                    try p.reveal(try p.sigmoid(sx))]
        }
        var product = [Double](repeating: 0, count: 24)
        for i in 0..<6 { for j in 0..<4 { for t in 0..<9 { product[i * 4 + j] += a[i * 9 + t] * b[t * 4 + j] } } }
        #expect(maxAbsDifference(out[0], product) < 1e-3)
        #expect(maxAbsDifference(out[1], x.map { max(0, $0) }) <= 1.0 / 65536)
        #expect(maxAbsDifference(out[2], x.map { 1 / (1 + Foundation.exp(-$0)) }) <= 6.6e-5 + 8.8e-6 + 6.0 / 65536)
    }

    @Test("parties that ask the dealer for different correlations get an error, not wrong shares")
    func dealerMismatch() throws {
        #expect(throws: SecretSharingError.self) {
            _ = try mpc(parties: 2) { p in
                let s = try p.share(p.index == 0 ? [1, 2, 3] : nil, shape: [3], owner: 0)
                // Party 1 runs a different program from party 0.
                return p.index == 0 ? try p.reveal(try p.multiply(s, s)) : try p.reveal(try p.relu(s))
            }
        }
    }

    @Test("a message of the wrong length from a peer is reported as malformed")
    func malformedMessage() throws {
        #expect(throws: SecretSharingError.malformedMessage(from: 0, expected: 3, received: 2)) {
            _ = try InMemoryNetwork.run(partyCount: 2) { channel in
                if channel.partyIndex == 0 {
                    try channel.send([1, 2], to: 1)
                    return [UInt64]()
                }
                return try channel.openAdditive([1, 2, 3])
            }
        }
    }
}

@Suite("MPC benchmark arguments")
struct BenchmarkArgumentTests {
    @Test("a party count outside 2…maximumParties is an error, not an abort")
    func partyRange() {
        for parties in [1, MPCBenchmark.maximumParties + 1, 100_000] {
            #expect(throws: SecretSharingError.self) { _ = try MPCBenchmark.run(parties: parties, repetitions: 1, names: ["multiply10k"]) }
        }
    }
}
