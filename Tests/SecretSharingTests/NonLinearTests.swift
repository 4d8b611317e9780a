import Foundation
import SecretSharing
import Testing

@Suite("Comparison, ReLU, max and approximations against plaintext")
struct NonLinearTests {
    @Test("isNegative, sign and ReLU are exact, including values near zero and the range ends",
          arguments: [2, 3])
    func comparisons(parties: Int) throws {
        var rng = TestRandom(seed: 21)
        let x = rng.values(3000, -1e6, 1e6) + rng.values(1000, -1e-3, 1e-3)
            + [0, 1.0 / 65536, -1.0 / 65536, 1e12, -1e12, 5e12, -5e12]
        let n = x.count
        let out = try mpc(parties: parties) { p in
            let s = try p.share(p.index == 0 ? x : nil, shape: [n], owner: 0)
            let neg = try p.reveal(try p.isNegative(s))
            let sign = try p.reveal(try p.sign(s))
            let relu = try p.reveal(try p.relu(s))
            return [neg.map { $0 ? 1.0 : 0.0 }, sign, relu]
        }
        let scale = 65536.0
        for i in 0..<n {
            let encoded = (x[i] * scale).rounded() / scale
            #expect(out[0][i] == (encoded < 0 ? 1 : 0))
            #expect(out[1][i] == (encoded < 0 ? -1 : 1))
            #expect(out[2][i] == max(encoded, 0))
        }
    }

    @Test("max and argmax of rows match plaintext; ties go to the first index")
    func maxArgmax() throws {
        var rng = TestRandom(seed: 3)
        let (rows, k) = (40, 13)
        var values = rng.values(rows * k, -50, 50)
        // Row 0 has a tie for the maximum at columns 4 and 9.
        values[4] = 60; values[9] = 60
        let x = values
        let out = try mpc(parties: 3) { p in
            let s = try p.share(p.index == 0 ? x : nil, shape: [rows, k], owner: 0)
            let (m, a) = try p.maxWithIndex(s)
            return [try p.reveal(m), try p.reveal(a)]
        }
        let scale = 65536.0
        for i in 0..<rows {
            let row = (0..<k).map { (x[i * k + $0] * scale).rounded() / scale }
            let best = row.max()!
            #expect(out[0][i] == best)
            #expect(out[1][i] == Double(row.firstIndex(of: best)!))
        }
        #expect(out[1][0] == 4)
    }

    @Test("exp is within its documented error on [-4, 4]; larger bounds are refused, not wrapped")
    func exp() throws {
        var rng = TestRandom(seed: 8)
        let x = rng.values(4000, -4, 4) + [0, -4, 4]
        let n = x.count
        let out = try mpc { p in
            let s = try p.share(p.index == 0 ? x : nil, shape: [n], owner: 0, bound: 4)
            return try p.reveal(try p.exp(s))
        }
        #expect(throws: SecretSharingError.self) {
            _ = try mpc { p in
                let s = try p.share(p.index == 0 ? [1, 2] : nil, shape: [2], owner: 0, bound: 64)
                return try p.reveal(try p.exp(s))
            }
        }
        let m = 256.0, ulp = 1.0 / 65536
        var worstRelative = 0.0
        for i in 0..<n {
            let truth = Foundation.exp(x[i])
            let taylorError = truth * (Foundation.exp(abs(x[i]) * x[i] * x[i] / (5 * m * m)) - 1)
            // Rounding: the squarings run with fewer extra bits when the bound is 4 (p = 8 - 2).
            let rounding = (m + 2) * ulp / 4 * max(1, truth) + ulp
            #expect(abs(out[i] - truth) <= taylorError + rounding)
            worstRelative = max(worstRelative, abs(out[i] - truth) / truth)
        }
        #expect(worstRelative < 1e-3)
    }

    @Test("reciprocal is within its documented error on several domains")
    func reciprocal() throws {
        var rng = TestRandom(seed: 12)
        for (lo, hi) in [(1.0, 2.0), (0.5, 8.0), (1.0, 100.0)] {
            let x = rng.values(2000, lo, hi)
            let out = try mpc { p in
                let s = try p.share(p.index == 0 ? x : nil, shape: [2000], owner: 0)
                return try p.reveal(try p.reciprocal(s, domain: lo...hi))
            }
            let ulp = 1.0 / 65536
            let tolerance = 2 * ulp * (1 / lo) + 4 * ulp * (1 + 1 / lo)
            #expect(maxAbsDifference(out, x.map { 1 / $0 }) <= tolerance)
        }
    }

    @Test("sigmoid is within 1.7e-4 of the logistic function everywhere, with and without clamping")
    func sigmoid() throws {
        var rng = TestRandom(seed: 13)
        let small = rng.values(2000, -12, 12)
        let large = rng.values(1000, -5000, 5000) + rng.values(1000, -20, 20) + [256, -256, 0]
        for x in [small, large] {
            let n = x.count
            let out = try mpc { p in
                let s = try p.share(p.index == 0 ? x : nil, shape: [n], owner: 0)
                return try p.reveal(try p.sigmoid(s))
            }
            let tolerance = 6.6e-5 + 8.8e-6 + 6.0 / 65536
            #expect(maxAbsDifference(out, x.map { 1 / (1 + Foundation.exp(-$0)) }) <= tolerance)
        }
    }
}
