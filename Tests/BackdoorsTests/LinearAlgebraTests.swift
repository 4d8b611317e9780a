import Backdoors
import LabRandom
import Tensors
import Testing

@Suite("Linear algebra for the detectors")
struct LinearAlgebraTests {
    /// n points in d dimensions: noise of scale `noise` plus `scale`·(±1)·u along a planted unit direction u.
    static func planted(n: Int, d: Int, scale: Float, noise: Float, seed: UInt64) -> (Tensor, [Float]) {
        var random = LabRandom(seed: seed)
        var u = [Float](repeating: 0, count: d)
        u.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / norm }
        let x = Tensor(shape: [n, d]) { out in
            random.fillNormal(out, mean: 0, standardDeviation: noise)
            for i in 0..<n {
                let s: Float = (i % 2 == 0 ? 1 : -1) * scale * (0.5 + random.nextFloat())
                for j in 0..<d { out[i * d + j] += s * u[j] }
            }
        }
        return (x, u)
    }

    @Test("the top singular vector finds a planted direction and beats every random direction")
    func topSingularVector() {
        for seed in UInt64(1)...5 {
            let (x, u) = Self.planted(n: 300, d: 20, scale: 5, noise: 0.5, seed: seed)
            var random = LabRandom(seed: seed + 100)
            let (v, sigma) = LinearAlgebra.topSingularVector(x, random: &random)
            let cosine = abs(zip(u, v).reduce(0) { $0 + $1.0 * $1.1 })
            #expect(cosine > 0.99)
            // Law: ‖A v‖ = σ₁ ≥ ‖A w‖ for every unit w.
            func normAlong(_ w: [Float]) -> Float {
                Tensor.matmul(x, Tensor(shape: [w.count, 1], scalars: w)).scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }
            #expect(abs(normAlong(v) - sigma) / sigma < 1e-3)
            for _ in 0..<20 {
                var w = [Float](repeating: 0, count: 20)
                w.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
                let n = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                #expect(normAlong(w.map { $0 / n }) <= sigma * 1.0001)
            }
        }
    }

    @Test("principal directions are orthonormal, ordered, and agree with a diagonal covariance")
    func pca() {
        // Independent columns with standard deviations 5, 4, 3, 2, 1: the principal directions
        // are the coordinate axes in that order, eigenvalues ≈ n·σ².
        var random = LabRandom(seed: 11)
        let n = 4000, d = 5
        let x = Tensor(shape: [n, d]) { out in
            random.fillNormal(out, mean: 0, standardDeviation: 1)
            for i in 0..<n { for j in 0..<d { out[i * d + j] *= Float(5 - j) } }
        }
        let (c, mean) = LinearAlgebra.centred(x)
        #expect(mean.allSatisfy { abs($0) < 0.3 })
        let basis = LinearAlgebra.orthogonalIteration(c, components: 3, random: &random)
        for a in 0..<3 {
            for b in 0..<3 {
                let dot = zip(basis.vectors[a], basis.vectors[b]).reduce(0) { $0 + $1.0 * $1.1 }
                #expect(abs(dot - (a == b ? 1 : 0)) < 1e-4)
            }
            #expect(abs(basis.vectors[a][a]) > 0.98)
            #expect(abs(basis.values[a] / Float(n) - Float((5 - a) * (5 - a))) < Float((5 - a) * (5 - a)) * 0.1)
        }
        #expect(basis.values[0] >= basis.values[1] && basis.values[1] >= basis.values[2])
        let scores = LinearAlgebra.principalComponentScores(x, components: 2, random: &random)
        #expect(scores.shape == [n, 2])
    }

    @Test("2-means separates two blobs, and the silhouette tells separated from random splits")
    func kMeansAndSilhouette() {
        var random = LabRandom(seed: 21)
        let n = 400, d = 3
        let x = Tensor(shape: [n, d]) { out in
            random.fillNormal(out, mean: 0, standardDeviation: 1)
            for i in 0..<100 { out[i * d] += 12 }        // 100 points in a far blob
        }
        let split = LinearAlgebra.kMeans(x, k: 2, random: &random)
        let blob = split.assignments[0]
        for i in 0..<n { #expect((split.assignments[i] == blob) == (i < 100)) }
        let good = LinearAlgebra.silhouette(x, assignments: split.assignments, k: 2, random: &random)
        let arbitrary = (0..<n).map { $0 % 2 }
        let bad = LinearAlgebra.silhouette(x, assignments: arbitrary, k: 2, random: &random)
        #expect(good > 0.7 && bad < 0.05 && good <= 1 && bad >= -1)
    }
}
