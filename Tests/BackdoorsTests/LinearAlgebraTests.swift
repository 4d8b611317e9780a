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

    /// A random d × d orthogonal matrix (columns orthonormal), row-major, from Gram–Schmidt.
    static func randomOrthogonal(_ d: Int, random: inout LabRandom) -> [Double] {
        var g = [Float](repeating: 0, count: d * d)
        g.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        var q = g.map(Double.init)
        for c in 0..<d {
            for p in 0..<c {
                var dot = 0.0
                for r in 0..<d { dot += q[r * d + c] * q[r * d + p] }
                for r in 0..<d { q[r * d + c] -= dot * q[r * d + p] }
            }
            var norm = 0.0
            for r in 0..<d { norm += q[r * d + c] * q[r * d + c] }
            for r in 0..<d { q[r * d + c] /= norm.squareRoot() }
        }
        return q
    }

    /// A = diag(σ) Vᵀ for a random orthogonal V: singular values exactly σ, right singular
    /// vectors the columns of V.
    static func knownSVD(_ sigma: [Double], seed: UInt64) -> (Tensor, v: [Double]) {
        var random = LabRandom(seed: seed)
        let d = sigma.count
        let v = randomOrthogonal(d, random: &random)
        let a = Tensor(shape: [d, d]) { out in
            for i in 0..<d { for j in 0..<d { out[i * d + j] = Float(sigma[i] * v[j * d + i]) } }
        }
        return (a, v)
    }

    @Test("the top singular vector is accurate when σ₂ is within 1% of σ₁ (a change-based stop is not)")
    func topSingularVectorSmallGap() {
        // σ₂/σ₁ = 0.993: power iteration gains only 1.4% per step towards v₁, so a stop on a
        // small change between steps ends several degrees away. The Davis–Kahan stop does not.
        var sigma: [Double] = [10, 9.93]
        for j in 2..<40 { sigma.append(6 - Double(j) * 0.1) }
        for seed in UInt64(1)...4 {
            let (a, v) = Self.knownSVD(sigma, seed: seed)
            var random = LabRandom(seed: seed + 50)
            let (top, value) = LinearAlgebra.topSingularVector(a, random: &random)
            var cosine = 0.0
            for r in 0..<40 { cosine += Double(top[r]) * v[r * 40] }
            let sine = (max(0, 1 - cosine * cosine)).squareRoot()
            #expect(sine < 1e-3, "seed \(seed): sin ∠(v, v₁) = \(sine)")
            #expect(abs(Double(value) - 10) < 1e-3)
        }
    }

    @Test("a repeated top singular value returns a unit vector of the top space, with σ₁ exact")
    func topSingularVectorRepeated() {
        var sigma: [Double] = [5, 5]
        for j in 2..<12 { sigma.append(3 - Double(j) * 0.2) }
        let (a, v) = Self.knownSVD(sigma, seed: 9)
        var random = LabRandom(seed: 10)
        let (top, value) = LinearAlgebra.topSingularVector(a, block: 4, random: &random)
        var inTop = 0.0, norm = 0.0
        for c in 0..<2 {
            var dot = 0.0
            for r in 0..<12 { dot += Double(top[r]) * v[r * 12 + c] }
            inTop += dot * dot
        }
        for r in 0..<12 { norm += Double(top[r]) * Double(top[r]) }
        #expect(abs(norm - 1) < 1e-5)
        #expect(inTop > 1 - 1e-5)
        #expect(abs(Double(value) - 5) < 1e-4)
    }

    @Test("Jacobi: a known 2×2 answer, and H = WΛWᵀ with orthonormal W and descending Λ")
    func symmetricEigen() {
        let two = LinearAlgebra.symmetricEigen([2, 1, 1, 2], size: 2)
        #expect(abs(two.values[0] - 3) < 1e-12 && abs(two.values[1] - 1) < 1e-12)
        #expect(abs(abs(two.vectors[0]) - 0.5.squareRoot()) < 1e-12 && abs(two.vectors[0] - two.vectors[2]) < 1e-12)
        var random = LabRandom(seed: 31)
        for m in [1, 3, 7, 16] {
            var g = [Float](repeating: 0, count: m * m)
            g.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
            var h = [Double](repeating: 0, count: m * m)
            for i in 0..<m { for j in 0..<m { h[i * m + j] = Double(g[i * m + j] + g[j * m + i]) } }
            let (values, w) = LinearAlgebra.symmetricEigen(h, size: m)
            for c in 1..<max(1, m) { #expect(values[c - 1] >= values[c]) }
            for i in 0..<m {
                for j in 0..<m {
                    var rebuilt = 0.0, gram = 0.0
                    for c in 0..<m {
                        rebuilt += w[i * m + c] * values[c] * w[j * m + c]
                        gram += w[c * m + i] * w[c * m + j]
                    }
                    #expect(abs(rebuilt - h[i * m + j]) < 1e-10)
                    #expect(abs(gram - (i == j ? 1 : 0)) < 1e-12)
                }
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
