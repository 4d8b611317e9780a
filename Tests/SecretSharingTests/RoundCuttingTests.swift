import Foundation
import SecretSharing
import Testing

/// The protocols that cut rounds for networked runs (issue #22): seed-compressed sharing,
/// revealing a product before its truncation, and the piecewise sigmoid whose powers ride in its
/// comparison's rounds.
@Suite("Fewer rounds: pairwise-key sharing, matmul revealed untruncated, piecewise sigmoid")
struct RoundCuttingTests {
    @Test("after establishPairwiseKeys, sharing with a declared bound sends nothing and opens to the input", arguments: [2, 3])
    func pairwiseSharing(parties n: Int) throws {
        var random = TestRandom(seed: 5)
        let x = random.values(300, -3, 3)
        let out = try Party.insecureRunInMemory(partyCount: n, seed: 5) { p in
            try p.establishPairwiseKeys()
            let (s, cost) = try p.measure {
                try p.share(p.index == n - 1 ? x : nil, shape: [300], owner: n - 1, bound: 4)
            }
            return [Double(cost.rounds), Double(cost.bytesSent)] + (try p.reveal(s))
        }
        for o in out {
            #expect(o[0] == 0 && o[1] == 0, "sharing cost \(o[0]) rounds, \(o[1]) bytes")
            #expect(maxAbsDifference(Array(o[2...]), x) <= 1.0 / 65536)
        }
        // The receivers' shares look nothing like the input (they are keystream words).
        let shares = try Party.insecureRunInMemory(partyCount: 2, seed: 5) { p in
            try p.establishPairwiseKeys()
            return try p.share(p.index == 0 ? x : nil, shape: [300], owner: 0, bound: 4).share
        }
        #expect(shares[1].filter { $0 >> 62 == 0 || $0 >> 62 == 3 }.count < 250)
    }

    @Test("a declared bound below the values is refused at the owner")
    func boundRefused() throws {
        #expect(throws: SecretSharingError.self) {
            _ = try Party.insecureRunInMemory(partyCount: 2, seed: 1) { p in
                try p.establishPairwiseKeys()
                _ = try p.share(p.index == 0 ? [5] : nil, shape: [1], owner: 0, bound: 2)
                return 0
            }
        }
    }

    @Test("revealMatmul gives the exact product of the encoded inputs, with no truncation round")
    func revealMatmul() throws {
        var random = TestRandom(seed: 9)
        let a = random.values(12 * 7, -2, 2), b = random.values(7 * 5, -2, 2)
        let enc = FixedPointEncoder()
        let ea = try enc.encode(a).map { Double(Int64(bitPattern: $0)) }, eb = try enc.encode(b).map { Double(Int64(bitPattern: $0)) }
        var exact = [Double](repeating: 0, count: 12 * 5)
        for i in 0..<12 { for j in 0..<5 { for k in 0..<7 { exact[i * 5 + j] += ea[i * 7 + k] * eb[k * 5 + j] } } }
        exact = exact.map { $0 / (enc.scale * enc.scale) }
        let results = try Party.insecureRunInMemory(partyCount: 2, seed: 3) { p in
            let x = try p.share(p.index == 0 ? a : nil, shape: [12, 7], owner: 0, bound: 2)
            let y = try p.share(p.index == 1 ? b : nil, shape: [7, 5], owner: 1, bound: 2)
            let (v, cost) = try p.measure { try p.revealMatmul(x, y, to: [0]) }
            return (v ?? []) + [Double(cost.rounds)]
        }
        #expect(Array(results[0].dropLast()) == exact)  // bit for bit: no truncation error
        // One run of receives at each party: the opening of E and F, then (at the receiver,
        // straight after) the product's shares; `matmul` then `reveal` would add a truncation.
        #expect(results[0].last == 1 && results[1] == [1])
    }

    @Test("the piecewise sigmoid's table: pieces within 3.7e-5 of σ on [-10, 10]; its series exp agrees with libm")
    func table() {
        let t = PiecewiseSigmoid.table
        var worst = 0.0
        for i in 0...200_000 {
            let x = -10 + 20 * Double(i) / 200_000
            let j = min(Int((x + 10).rounded(.down)), t.pieces.count - 1)
            let c = t.pieces[j]
            let p = c[0] + x * (c[1] + x * (c[2] + x * c[3]))
            worst = max(worst, abs(p - 1 / (1 + Foundation.exp(-x))))
        }
        #expect(worst < 3.7e-5, "worst \(worst)")
        #expect(t.encodedPieces.count == 20 && t.thresholds == Array(-10...10))
        // The fixed series agrees with the C library's exp.
        for x in stride(from: -11.0, through: 11.0, by: 0.37) {
            #expect(abs(PiecewiseSigmoid.logistic(x) - 1 / (1 + Foundation.exp(-x))) < 1e-14)
        }
    }

    @Test("piecewise sigmoid is within 1.2e-4 of σ everywhere, exactly 0 or 1 far out, in 8 rounds",
          arguments: [TruncationMethod.dealerAssisted, .localTwoParty])
    func piecewise(truncation: TruncationMethod) throws {
        var random = TestRandom(seed: 11)
        let x = random.values(400, -12, 12) + [-10, -9.5, 0, 9.999, 10, -300, 250, -10.0001]
        let results = try Party.insecureRunInMemory(partyCount: 2, seed: 4, truncation: truncation) { p in
            let s = try p.share(p.index == 0 ? x : nil, shape: [x.count], owner: 0, bound: 512)
            let (y, cost) = try p.measure { try p.piecewiseSigmoid(s) }
            return (try p.reveal(y)) + [Double(cost.rounds), Double(cost.bytesSent)]
        }
        let got = Array(results[0].prefix(x.count))
        for (v, g) in zip(x, got) {
            #expect(abs(g - 1 / (1 + Foundation.exp(-v))) < 1.2e-4, "x = \(v): \(g)")
        }
        #expect(got[x.count - 3] == 0 && got[x.count - 2] == 1)
        let f = CostModel.piecewiseSigmoid(count: x.count, parties: 2, method: truncation)
        #expect(f.rounds == 8)
        #expect(Int(results[0][x.count]) == f.rounds && Int(results[0][x.count + 1]) == f.bytesPerParty)
    }

    @Test("the 3-party piecewise sigmoid matches σ")
    func threeParties() throws {
        var random = TestRandom(seed: 12)
        let x = random.values(100, -11, 11)
        let got = try mpc(parties: 3) { p in
            try p.reveal(try p.piecewiseSigmoid(try p.share(p.index == 2 ? x : nil, shape: [100], owner: 2, bound: 16)))
        }
        #expect(maxAbsDifference(got, x.map { 1 / (1 + Foundation.exp(-$0)) }) < 1.2e-4)
    }
}
