import Foundation
import SecretSharing
import Testing

@Suite("Linear operations and Beaver products against plaintext")
struct ArithmeticTests {
    @Test("share then reveal returns the encoded values, for 2, 3 and 5 parties")
    func shareReveal() throws {
        for n in [2, 3, 5] {
            var rng = TestRandom(seed: UInt64(n))
            let x = rng.values(500, -1000, 1000)
            let out = try mpc(parties: n) { p in
                let s = try p.share(p.index == 1 ? x : nil, shape: [500], owner: 1)
                return try p.reveal(s)
            }
            #expect(maxAbsDifference(out, x) <= 0.5 / 65536 + 1e-12)
        }
    }

    @Test("add, subtract, public add and integer multiply are exact on encodings")
    func linear() throws {
        var rng = TestRandom(seed: 7)
        let x = rng.values(1000, -100, 100), y = rng.values(1000, -100, 100)
        let c = rng.values(1000, -5, 5)
        let out = try mpc(parties: 3) { p in
            let sx = try p.share(p.index == 0 ? x : nil, shape: [1000], owner: 0)
            let sy = try p.share(p.index == 2 ? y : nil, shape: [1000], owner: 2)
            let sum = try p.reveal(try p.add(sx, sy))
            let diff = try p.reveal(try p.subtract(sx, sy))
            let pub = try p.reveal(try p.add(sx, public: c))
            let triple = try p.reveal(try p.multiply(sx, byInteger: -3))
            return [sum, diff, pub, triple]
        }
        let ulp = 1.0 / 65536
        #expect(maxAbsDifference(out[0], zip(x, y).map { $0 + $1 }) <= 2 * ulp)
        #expect(maxAbsDifference(out[1], zip(x, y).map { $0 - $1 }) <= 2 * ulp)
        #expect(maxAbsDifference(out[2], zip(x, c).map { $0 + $1 }) <= 2 * ulp)
        #expect(maxAbsDifference(out[3], x.map { -3 * $0 }) <= 3 * ulp)
    }

    @Test("Beaver multiply is within 2^-f + input rounding of the plaintext product",
          arguments: [(2, TruncationMethod.dealerAssisted), (3, .dealerAssisted), (2, .localTwoParty)])
    func multiply(parties: Int, truncation: TruncationMethod) throws {
        var rng = TestRandom(seed: 11)
        let x = rng.values(4000, -30, 30), y = rng.values(4000, -30, 30)
        let out = try mpc(parties: parties, truncation: truncation) { p in
            let sx = try p.share(p.index == 0 ? x : nil, shape: [4000], owner: 0)
            let sy = try p.share(p.index == 1 ? y : nil, shape: [4000], owner: 1)
            return try p.reveal(try p.multiply(sx, sy))
        }
        // Encoded inputs are within 2^-17 of x, y: product error ≤ 2^-17(|x|+|y|) + 2^-f.
        let ulp = 1.0 / 65536
        for i in x.indices {
            let tolerance = ulp + ulp / 2 * (abs(x[i]) + abs(y[i])) + ulp * ulp
            #expect(abs(out[i] - x[i] * y[i]) <= tolerance)
        }
    }

    @Test("local truncation is refused for three parties: it is only correct for two")
    func localTruncationNeedsTwoParties() throws {
        #expect(throws: SecretSharingError.invalidArgument("local truncation works for exactly 2 parties, not 3")) {
            _ = try mpc(parties: 3, truncation: .localTwoParty) { p in try p.reveal(try p.share(p.index == 0 ? [1.0] : nil, shape: [1], owner: 0)) }
        }
    }

    @Test("dealer truncation is unbiased: mean error over many products is near zero")
    func truncationUnbiased() throws {
        // 1/3 · 3 at 16 bits: the product of encodings sits between grid points.
        let n = 20000
        let x = [Double](repeating: 1.0 / 3.0, count: n), y = [Double](repeating: 0.7, count: n)
        let out = try mpc { p in
            let sx = try p.share(p.index == 0 ? x : nil, shape: [n], owner: 0)
            let sy = try p.share(p.index == 0 ? y : nil, shape: [n], owner: 0)
            return try p.reveal(try p.multiply(sx, sy))
        }
        let scale = 65536.0
        let exact = (1.0 / 3.0 * scale).rounded() * (0.7 * scale).rounded() / (scale * scale)
        let meanError = out.reduce(0) { $0 + ($1 - exact) } / Double(n)
        // Each error is in (-ulp, ulp), so the mean of 20000 has standard deviation < ulp/141.
        #expect(abs(meanError) < 5.0 / scale / 141)
        let values = Set(out)
        #expect(values.count == 2)  // rounded down or up, never anything else
    }

    @Test("matmul matches the plaintext product within one unit per element")
    func matmul() throws {
        var rng = TestRandom(seed: 5)
        let (m, k, n) = (7, 13, 5)
        let a = rng.values(m * k, -4, 4), b = rng.values(k * n, -4, 4)
        for parties in [2, 3] {
            let out = try mpc(parties: parties) { p in
                let sa = try p.share(p.index == 0 ? a : nil, shape: [m, k], owner: 0)
                let sb = try p.share(p.index == parties - 1 ? b : nil, shape: [k, n], owner: parties - 1)
                return try p.reveal(try p.matmul(sa, sb))
            }
            let scale = 65536.0
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0
                    for t in 0..<k {
                        exact += (a[i * k + t] * scale).rounded() * (b[t * n + j] * scale).rounded()
                    }
                    exact /= scale * scale
                    #expect(abs(out[i * n + j] - exact) < 1 / scale)
                }
            }
        }
    }

    @Test("public scalar, public tensor and square agree with plaintext")
    func publicAndSquare() throws {
        var rng = TestRandom(seed: 9)
        let x = rng.values(2000, -20, 20), c = rng.values(2000, -3, 3)
        let out = try mpc(parties: 2) { p in
            let sx = try p.share(p.index == 0 ? x : nil, shape: [2000], owner: 0)
            return [try p.reveal(try p.multiply(sx, byScalar: 0.37)),
                    try p.reveal(try p.multiply(sx, byPublic: c)),
                    try p.reveal(try p.square(sx))]
        }
        #expect(maxAbsDifference(out[0], x.map { $0 * 0.37 }) < 4e-4)
        #expect(maxAbsDifference(out[1], zip(x, c).map { $0 * $1 }) < 4e-4)
        #expect(maxAbsDifference(out[2], x.map { $0 * $0 }) < 1e-3)
    }

    @Test("scaled matmul equals s·(A·B) within one unit, in the rounds of one matmul")
    func scaledMatmul() throws {
        var rng = TestRandom(seed: 15)
        let a = rng.values(12 * 40, -4, 4), b = rng.values(40 * 3, -1, 1)
        let s = 0.013
        struct Out: Sendable, Equatable { var values: [Double]; var rounds: Int }
        let out = try mpc(parties: 3) { p in
            let sa = try p.share(p.index == 0 ? a : nil, shape: [12, 40], owner: 0)
            let sb = try p.share(p.index == 1 ? b : nil, shape: [40, 3], owner: 1)
            let (z, cost) = try p.measure { try p.matmul(sa, sb, scaledBy: s) }
            return Out(values: try p.reveal(z), rounds: cost.rounds)
        }
        var expected = [Double](repeating: 0, count: 36)
        for i in 0..<12 { for j in 0..<3 { for t in 0..<40 { expected[i * 3 + j] += a[i * 40 + t] * b[t * 3 + j] } } }
        expected = expected.map { $0 * s }
        // Input rounding 2^-17 on each factor over 40 terms, s's encoding error 2^-17 · |AB|, one unit.
        #expect(maxAbsDifference(out.values, expected) < 40 * 5 * 1.0 / 131072 * s + 160.0 / 131072 + 1.0 / 65536)
        #expect(out.rounds == CostModel.matmul(m: 12, k: 40, n: 3, parties: 3, method: .dealerAssisted).rounds)
    }
}
