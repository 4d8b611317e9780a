import DPTraining
import Foundation
import LabRandom
import Testing

@Suite("Privacy randomness")
struct RandomnessTests {
    @Test("ChaCha20 keystream equals RFC 8439 §2.3.2 (block 1) and continues across refills")
    func chachaKnownAnswer() {
        var random = ChaChaRandom(insecureKey: Array(0..<32), nonce: [0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0], counter: 1)
        let words = (0..<128).map { _ in random.next() }
        // Block b + i of a refill: word k sits in the low (even i) or high (odd i) half of 64-bit word 2k + i/2.
        func block(_ refill: Int, _ i: Int) -> String {
            let halves = (0..<16).map { k -> UInt64 in
                let w = words[32 * refill + 2 * k + i / 2]
                return i % 2 == 0 ? w & 0xffff_ffff : w >> 32
            }
            return halves.map { w in (0..<4).map { String(format: "%02x", (w >> (8 * UInt64($0))) & 0xff) }.joined() }.joined()
        }
        #expect(block(0, 0) ==
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
        // Block counter 9: the first block of the third four-block refill (reference: OpenSSL via
        // Python's `cryptography`).
        #expect(block(2, 0) ==
            "2c6adee93873e496ea51d673aae37c0437653ee2496fc772c0408575fc6a7457a66ce34a9971e31a82244c67b9b58b50f23ac977574928378aea473c65018bd5")
    }

    @Test("ChaCha with 8 and 12 rounds matches the reference block function (chacha_reference.py)")
    func reducedRounds() {
        let expected = [
            8: "eead9dfbbc60443e9d6811bab8e60a3ac6001e0dfb985f65efcb0ea42454411c64747ef73d4766e0c20e19208e5cb11777d487263152e65dc5ff947fcab23b2b",
            12: "7f8b136677c73799e3e7777d16e6d8ccc787ce39694990c628e087029ce9190bda4be31ac3fe2102a9ad737cf82fa3b06e68b63371c65c827299040ade1ba8a0",
        ]
        for (rounds, hex) in expected {
            var random = ChaChaRandom(insecureKey: Array(0..<32), nonce: [0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0], counter: 1, rounds: rounds)
            #expect(random.rounds == rounds)
            let words = (0..<32).map { _ in random.next() }
            let block = (0..<16).map { k -> String in
                let w = words[2 * k] & 0xffff_ffff
                return (0..<4).map { String(format: "%02x", (w >> (8 * UInt64($0))) & 0xff) }.joined()
            }.joined()
            #expect(block == hex, "ChaCha\(rounds)")
        }
    }

    @Test("bulk fill gives the same words as next()")
    func bulkFill() {
        var a = ChaChaRandom(insecureKey: Array(repeating: 7, count: 32), nonce: Array(repeating: 1, count: 12))
        var b = a
        let one = (0..<100).map { _ in a.next() }
        var bulk = [UInt64](repeating: 0, count: 100)
        _ = b.next()
        bulk[0] = one[0]
        bulk.withUnsafeMutableBufferPointer { b.fill(UnsafeMutableBufferPointer(rebasing: $0[1..<100])) }
        #expect(bulk == one)
    }

    @Test("OS-keyed generators differ from each other")
    func systemKeyed() {
        var a = ChaChaRandom(), b = ChaChaRandom()
        #expect((0..<4).map { _ in a.next() } != (0..<4).map { _ in b.next() })
        #expect(!PrivacyRandomness.system().isInsecure)
        #expect(PrivacyRandomness.insecureSeeded(LabRandom(seed: 1)).isInsecure)
    }

    @Test("the ziggurat noise is N(0, σ²): moments, tails and a Kolmogorov–Smirnov distance")
    func gaussianNoise() {
        let n = 400_000, sigma = 2.5
        var values = [Float](repeating: 0, count: n)
        var optimizer = DPOptimizer(wrapping: SGDStub(), noiseMultiplier: sigma, clipping: .flat(maxNorm: 1),
                                    expectedBatchSize: 1, randomness: .insecureSeeded(LabRandom(seed: 5)))
        let noise = optimizer.privatizedGradients(shapes: [[n]])[0].scalars
        for i in 0..<n { values[i] = noise[i] / Float(sigma) }
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        let kurtosis = values.reduce(0.0) { $0 + pow(Double($1) - mean, 4) } / Double(n) / (variance * variance)
        #expect(abs(mean) < 5 * (1 / Double(n).squareRoot()))
        #expect(abs(variance - 1) < 0.01)
        #expect(abs(kurtosis - 3) < 0.05)
        // Beyond the ziggurat's base layer r ≈ 3.44 (tail sampler): P(|Z| > 3.5) = 4.65e-4.
        let tail = Double(values.filter { abs($0) > 3.5 }.count) / Double(n)
        #expect(abs(tail - 4.6525e-4) < 5 * (4.65e-4 / Double(n)).squareRoot())
        // KS distance to Φ.
        let sorted = values.sorted()
        var worst = 0.0
        for (i, v) in sorted.enumerated() where i % 7 == 0 {
            let cdf = 0.5 * erfc(-Double(v) / 2.0.squareRoot())
            worst = max(worst, abs(cdf - Double(i) / Double(n)), abs(cdf - Double(i + 1) / Double(n)))
        }
        #expect(worst < 1.63 / Double(n).squareRoot())   // 1 % critical value
    }

    @Test("Poisson batches have mean qN and variance qN(1 − q)")
    func poissonBatches() {
        let sampler = PoissonSampler(samplingProbability: 0.03)
        var random = PrivacyRandomness.insecureSeeded(LabRandom(seed: 11))
        let n = 2000, trials = 4000
        var sizes: [Double] = []
        var inclusion = [Int](repeating: 0, count: n)
        for _ in 0..<trials {
            let batch = sampler.sample(populationSize: n, using: &random)
            #expect(batch == batch.sorted() && Set(batch).count == batch.count && (batch.last ?? 0) < n)
            sizes.append(Double(batch.count))
            for i in batch { inclusion[i] += 1 }
        }
        let mean = sizes.reduce(0, +) / Double(trials)
        let variance = sizes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(trials - 1)
        let expectedVariance = 2000 * 0.03 * 0.97
        #expect(abs(mean - 60) < 5 * (expectedVariance / Double(trials)).squareRoot())
        #expect(abs(variance / expectedVariance - 1) < 0.1)
        // Every index is equally likely: first and last fifths agree.
        let first = inclusion[0..<400].reduce(0, +), last = inclusion[1600..<2000].reduce(0, +)
        #expect(abs(Double(first - last)) < 5 * (2 * 400 * 4000 * 0.03).squareRoot())
        #expect(PoissonSampler(samplingProbability: 1).sample(populationSize: 5, using: &random) == [0, 1, 2, 3, 4])
    }
}
