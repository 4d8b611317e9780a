import LabRandom
import Testing

@Suite("The DP noise sampler")
struct PrivacyNoiseTests {
    @Test("the Double form draws nextGaussian's values in order; the Float form (words prefilled in chunks) is reproducible and N(0, 1)")
    func forms() {
        var b = PrivacyRandomness.insecureSeeded(LabRandom(seed: 11))
        var c = PrivacyRandomness.insecureSeeded(LabRandom(seed: 11))
        var doubles = [Double](repeating: 0, count: 5000)
        doubles.withUnsafeMutableBufferPointer { b.addGaussianNoise(to: $0, standardDeviation: 1) }
        let single = (0..<5000).map { _ in c.nextGaussian() }
        #expect(doubles == single)
        func floats(seed: UInt64) -> [Float] {
            var random = PrivacyRandomness.insecureSeeded(LabRandom(seed: seed))
            var out = [Float](repeating: 0, count: 200_000)
            out.withUnsafeMutableBufferPointer { random.addGaussianNoise(to: $0, standardDeviation: 1) }
            return out
        }
        let f = floats(seed: 11)
        #expect(f == floats(seed: 11))
        #expect(f != floats(seed: 12))
        let mean = f.reduce(0.0) { $0 + Double($1) } / Double(f.count)
        let variance = f.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(f.count - 1)
        #expect(abs(mean) < 0.012 && abs(variance - 1) < 0.016)
    }

    @Test("noise added has mean 0, variance σ², and normal tails, and is scaled after adding")
    func moments() {
        var random = PrivacyRandomness.insecureSeeded(LabRandom(seed: 5))
        let n = 400_000, sigma = 3.0
        var values = [Double](repeating: 1, count: n)
        values.withUnsafeMutableBufferPointer { random.addGaussianNoise(to: $0, standardDeviation: sigma) }
        let z = values.map { ($0 - 1) / sigma }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        // Standard errors: 1/√n ≈ 0.0016 for the mean, √(2/n) ≈ 0.0022 for the variance.
        #expect(abs(mean) < 0.008)
        #expect(abs(variance - 1) < 0.012)
        // P(|Z| > 3) = 0.0027 (sd of the count ≈ 33); the ziggurat's tail path must be taken.
        let beyond3 = z.filter { abs($0) > 3 }.count
        #expect(abs(Double(beyond3) - 0.0027 * Double(n)) < 5 * 33)
        #expect(z.contains { abs($0) > 3.4426 })
        var floats = [Float](repeating: 2, count: 4)
        var seeded = PrivacyRandomness.insecureSeeded(LabRandom(seed: 9))
        floats.withUnsafeMutableBufferPointer { seeded.addGaussianNoise(to: $0, standardDeviation: 0, scale: 0.5) }
        #expect(floats == [1, 1, 1, 1])
    }
}
