import Foundation
import LabRandom
import Tensors

// The little linear algebra the detectors need: centring, the top singular vector (power
// iteration), PCA by orthogonal iteration, k-means and the silhouette score. Matrices are
// row-major `Tensor`s [n, d]; products go through BLAS (`Tensor.matmul`).

public enum LinearAlgebra {
    /// The column means of a matrix [n, d] and the matrix minus them.
    /// - Complexity: O(n·d).
    public static func centred(_ a: Tensor) -> (centred: Tensor, mean: [Float]) {
        precondition(a.rank == 2, "LinearAlgebra.centred: needs a matrix, got shape \(a.shape)")
        let n = a.shape[0], d = a.shape[1]
        var mean = [Double](repeating: 0, count: d)
        a.withUnsafeBufferPointer { x in
            for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
        }
        let meanF = mean.map { Float($0 / Double(max(1, n))) }
        let out = Tensor(shape: [n, d]) { o in
            a.withUnsafeBufferPointer { x in
                meanF.withUnsafeBufferPointer { m in
                    for i in 0..<n { for j in 0..<d { o[i * d + j] = x[i * d + j] - m[j] } }
                }
            }
        }
        return (out, meanF)
    }

    /// The top right singular vector v of A [n, d] (unit length, sign such that its largest
    /// component is positive) and the top singular value σ₁, by block subspace iteration on
    /// G = AᵀA with a Rayleigh–Ritz step.
    ///
    /// Each step maps a d × b orthonormal block Q (b = min(d, `block`)) to Z = Aᵀ(A Q), solves
    /// the small eigenproblem H = QᵀZ = W Θ Wᵀ (Jacobi, in Double), takes the Ritz vector
    /// v = Q w₁ with Ritz value θ₁ = σ₁², and continues from orth(Z W). It stops once the
    /// Davis–Kahan bound on the angle to the true top singular vector,
    /// sin ∠(v, v₁) ≤ ‖G v − θ₁ v‖ / (θ₁ − θ₂), falls below `tolerance`, or once the residual itself
    /// is at the Float32 round-off floor (a repeated top singular value, whose vector is not
    /// unique). The top vector converges at the rate σ_{b+1}² / σ₁² per step instead of plain power
    /// iteration's σ₂² / σ₁², and the stopping rule accounts for the gap: plain power iteration
    /// stopped on a small change between steps ends far from v₁ when σ₂ ≈ σ₁ (a 2.7° error
    /// at σ₂/σ₁ = 0.986 with a step change below 10⁻⁶). With b = d one step is exact.
    ///
    /// Laws: ‖A v‖ = σ₁ ≥ ‖A w‖ for every unit w; AᵀA v = σ₁² v up to the bound.
    /// - Complexity: O(n·d·b) per iteration plus O(b³) for the small eigenproblem, at most
    ///   `iterations`.
    public static func topSingularVector(_ a: Tensor, block: Int = 8, iterations: Int = 500, tolerance: Double = 1e-4,
                                         random: inout LabRandom) -> (vector: [Float], value: Float) {
        precondition(a.rank == 2, "LinearAlgebra.topSingularVector: needs a matrix, got shape \(a.shape)")
        precondition(block >= 1, "LinearAlgebra.topSingularVector: block size \(block) must be positive")
        let d = a.shape[1]
        let b = min(block, d)
        var q = orthonormalColumns(Tensor(shape: [d, b]) { random.fillNormal($0, mean: 0, standardDeviation: 1) })
        var top = [Double](repeating: 0, count: d)
        var theta1 = 0.0
        for _ in 0..<max(1, iterations) {
            let z = withoutGradients { Tensor.matmul(a, Tensor.matmul(a, q), transposeA: true) }   // [d, b] = G Q
            // H = Qᵀ G Q, symmetrised, in Double.
            var h = [Double](repeating: 0, count: b * b)
            q.withUnsafeBufferPointer { qs in
                z.withUnsafeBufferPointer { zs in
                    for i in 0..<b {
                        for j in i..<b {
                            var s = 0.0, t = 0.0
                            for r in 0..<d {
                                s += Double(qs[r * b + i]) * Double(zs[r * b + j])
                                t += Double(qs[r * b + j]) * Double(zs[r * b + i])
                            }
                            h[i * b + j] = (s + t) / 2
                            h[j * b + i] = (s + t) / 2
                        }
                    }
                }
            }
            let (theta, w) = symmetricEigen(h, size: b)
            theta1 = theta[0]
            // Ritz vector v = Q w₁, its image G v = Z w₁, and the residual G v − θ₁ v.
            var residual = 0.0
            q.withUnsafeBufferPointer { qs in
                z.withUnsafeBufferPointer { zs in
                    for r in 0..<d {
                        var v = 0.0, gv = 0.0
                        for c in 0..<b {
                            v += Double(qs[r * b + c]) * w[c * b]
                            gv += Double(zs[r * b + c]) * w[c * b]
                        }
                        top[r] = v
                        residual += (gv - theta1 * v) * (gv - theta1 * v)
                    }
                }
            }
            residual = residual.squareRoot()
            guard theta1 > 0 else { break }
            let gap = b > 1 ? theta[0] - theta[1] : theta[0]
            if residual <= 1e-6 * theta1 || (gap > 0 && residual / gap < tolerance) || b == d { break }
            // Continue from the Ritz block Z W (top Ritz direction first).
            q = orthonormalColumns(Tensor(shape: [d, b]) { out in
                z.withUnsafeBufferPointer { zs in
                    for r in 0..<d {
                        for c in 0..<b {
                            var s = 0.0
                            for k in 0..<b { s += Double(zs[r * b + k]) * w[k * b + c] }
                            out[r * b + c] = Float(s)
                        }
                    }
                }
            })
        }
        let norm = top.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var v = top.map { Float($0 / max(norm, .leastNormalMagnitude)) }
        let largest = v.indices.max { abs(v[$0]) < abs(v[$1]) } ?? 0
        if v[largest] < 0 { v = v.map { -$0 } }
        return (v, Float(max(0, theta1).squareRoot()))
    }

    /// The eigenvalues (descending) and eigenvectors of a symmetric matrix H [m, m] (row-major),
    /// by the cyclic Jacobi method: rotations zero each off-diagonal entry in turn until the
    /// off-diagonal mass is below 10⁻¹⁴ of the total. Column c of `vectors` (entries
    /// `vectors[r * m + c]`) is the unit eigenvector of `values[c]`.
    ///
    /// Laws: H = W Λ Wᵀ and WᵀW = I up to round-off.
    /// - Complexity: O(m³) per sweep; a few sweeps (quadratic convergence).
    public static func symmetricEigen(_ matrix: [Double], size m: Int, sweeps: Int = 64) -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == m * m, "LinearAlgebra.symmetricEigen: \(matrix.count) entries for a \(m)×\(m) matrix")
        var h = matrix
        var w = [Double](repeating: 0, count: m * m)
        for i in 0..<m { w[i * m + i] = 1 }
        let total = h.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<sweeps {
            var off = 0.0
            for i in 0..<m { for j in 0..<m where j != i { off += h[i * m + j] * h[i * m + j] } }
            if off <= 1e-28 * total || off == 0 { break }
            for p in 0..<m {
                for r in (p + 1)..<m {
                    let hpr = h[p * m + r]
                    if hpr == 0 { continue }
                    // Rotation angle that zeroes H[p, r]: tan 2φ = 2 H[p,r] / (H[r,r] − H[p,p]).
                    let tau = (h[r * m + r] - h[p * m + p]) / (2 * hpr)
                    let t = (tau >= 0 ? 1.0 : -1.0) / (abs(tau) + (1 + tau * tau).squareRoot())
                    let c = 1 / (1 + t * t).squareRoot(), s = t * c
                    for k in 0..<m {   // columns p and r: H ← H J
                        let hkp = h[k * m + p], hkr = h[k * m + r]
                        h[k * m + p] = c * hkp - s * hkr
                        h[k * m + r] = s * hkp + c * hkr
                    }
                    for k in 0..<m {   // rows p and r: H ← Jᵀ H
                        let hpk = h[p * m + k], hrk = h[r * m + k]
                        h[p * m + k] = c * hpk - s * hrk
                        h[r * m + k] = s * hpk + c * hrk
                    }
                    for k in 0..<m {   // W ← W J
                        let wkp = w[k * m + p], wkr = w[k * m + r]
                        w[k * m + p] = c * wkp - s * wkr
                        w[k * m + r] = s * wkp + c * wkr
                    }
                }
            }
        }
        let order = (0..<m).sorted { h[$0 * m + $0] > h[$1 * m + $1] }
        var vectors = [Double](repeating: 0, count: m * m)
        for (c, source) in order.enumerated() { for r in 0..<m { vectors[r * m + c] = w[r * m + source] } }
        return (order.map { h[$0 * m + $0] }, vectors)
    }

    /// The top `components` principal directions of a centred matrix A [n, d] (eigenvectors of
    /// AᵀA, descending) and their eigenvalues, by orthogonal (subspace) iteration:
    /// Qₖ₊₁ = orth(Aᵀ(A Qₖ)) with Gram–Schmidt, until the subspace stops moving.
    /// - Complexity: O(n·d·k) per iteration.
    public static func orthogonalIteration(_ a: Tensor, components k: Int, iterations: Int = 300, tolerance: Float = 1e-6,
                                           random: inout LabRandom) -> (vectors: [[Float]], values: [Float]) {
        precondition(a.rank == 2, "LinearAlgebra.orthogonalIteration: needs a matrix, got shape \(a.shape)")
        let d = a.shape[1]
        let k = min(k, d)
        var q = Tensor(shape: [d, k]) { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        q = orthonormalColumns(q)
        var values = [Float](repeating: 0, count: k)
        for _ in 0..<iterations {
            let z = withoutGradients { Tensor.matmul(a, Tensor.matmul(a, q), transposeA: true) }   // [d, k]
            // Rayleigh quotients qᵢᵀ AᵀA qᵢ.
            z.withUnsafeBufferPointer { zs in
                q.withUnsafeBufferPointer { qs in
                    for c in 0..<k {
                        var s: Float = 0
                        for r in 0..<d { s += zs[r * k + c] * qs[r * k + c] }
                        values[c] = s
                    }
                }
            }
            let next = orthonormalColumns(z)
            // Change of the subspace: compare column by column up to sign.
            var change: Float = 0
            next.withUnsafeBufferPointer { ns in
                q.withUnsafeBufferPointer { qs in
                    for c in 0..<k {
                        var dot: Float = 0
                        for r in 0..<d { dot += ns[r * k + c] * qs[r * k + c] }
                        change = max(change, 1 - abs(dot))
                    }
                }
            }
            q = next
            if change < tolerance { break }
        }
        let qs = q.scalars
        var vectors: [[Float]] = []
        for c in 0..<k {
            var v = (0..<d).map { qs[$0 * k + c] }
            let largest = v.indices.max { abs(v[$0]) < abs(v[$1]) } ?? 0
            if v[largest] < 0 { v = v.map { -$0 } }
            vectors.append(v)
        }
        // Sort by eigenvalue, descending (orthogonal iteration usually already does).
        let order = values.indices.sorted { values[$0] > values[$1] }
        return (order.map { vectors[$0] }, order.map { max(0, values[$0]) })
    }

    /// The columns of Q [d, k] made orthonormal by modified Gram–Schmidt (a column that
    /// vanishes is replaced by a unit basis vector orthogonal to the others).
    static func orthonormalColumns(_ m: Tensor) -> Tensor {
        let d = m.shape[0], k = m.shape[1]
        var out = m.detached()
        out.withUnsafeMutableBufferPointer { q in
            for c in 0..<k {
                for p in 0..<c {
                    var dot: Float = 0
                    for r in 0..<d { dot += q[r * k + c] * q[r * k + p] }
                    for r in 0..<d { q[r * k + c] -= dot * q[r * k + p] }
                }
                var norm: Float = 0
                for r in 0..<d { norm += q[r * k + c] * q[r * k + c] }
                norm = norm.squareRoot()
                if norm < 1e-20 {
                    for r in 0..<d { q[r * k + c] = r == c % d ? 1 : 0 }
                } else {
                    for r in 0..<d { q[r * k + c] /= norm }
                }
            }
        }
        return out
    }

    /// The projection of the rows of A [n, d] on `components` principal directions of the
    /// centred rows: an [n, components] matrix (PCA scores), each column scaled to unit
    /// variance when `whitened` (Z = Â V Λ^(−1/2), the whitening step of FastICA).
    ///
    /// Laws: the columns have mean 0 and are uncorrelated; when whitened, each has variance 1
    /// (population variance, divided by n), except a column whose variance is below 10⁻¹⁰ of
    /// the largest, which is left at 0 rather than amplified.
    /// - Complexity: O(n·d·k) per orthogonal-iteration step, O(n·k) for the scaling.
    public static func principalComponentScores(_ a: Tensor, components: Int, whitened: Bool = false,
                                                random: inout LabRandom) -> Tensor {
        let (c, _) = centred(a)
        let n = a.shape[0], d = a.shape[1], k = min(components, d)
        let basis = orthogonalIteration(c, components: k, random: &random)
        let q = Tensor(shape: [d, k]) { out in
            for j in 0..<k { for r in 0..<d { out[r * k + j] = basis.vectors[j][r] } }
        }
        var scores = withoutGradients { Tensor.matmul(c, q) }
        guard whitened, n > 0 else { return scores }
        scores.withUnsafeMutableBufferPointer { s in
            var variance = [Double](repeating: 0, count: k)
            for i in 0..<n { for j in 0..<k { variance[j] += Double(s[i * k + j]) * Double(s[i * k + j]) } }
            let largest = variance.max() ?? 0
            let scale = variance.map { v in v > 1e-10 * largest && v > 0 ? Float((Double(n) / v).squareRoot()) : 0 }
            for i in 0..<n { for j in 0..<k { s[i * k + j] *= scale[j] } }
        }
        return scores
    }

    /// k-means (Lloyd's algorithm) on the rows of X [n, d], seeded by greedy k-means++, best of
    /// `restarts` runs by inertia (the sum of squared distances to the assigned centre).
    ///
    /// Greedy k-means++ (Arthur & Vassilvitskii 2007, §6; scikit-learn's `KMeans` seeding): each
    /// new centre is the best of 2 + ⌊ln k⌋ candidates drawn with probability ∝ D(x)², the one
    /// that lowers the seeding potential Σ min D² most. Lloyd's algorithm only reaches a local
    /// optimum; restarts keep the lowest inertia (scikit-learn, used by the Activation
    /// Clustering reference code, runs 10).
    /// - Complexity: O(n·d·k·(2 + ln k)) to seed, O(n·d·k) per iteration, per restart.
    public static func kMeans(_ x: Tensor, k: Int, restarts: Int = 10, iterations: Int = 100,
                              random: inout LabRandom) -> (assignments: [Int], centres: [[Float]], inertia: Double) {
        precondition(x.rank == 2 && x.shape[0] >= k && k >= 1, "LinearAlgebra.kMeans: need at least k = \(k) rows, got shape \(x.shape)")
        let n = x.shape[0], d = x.shape[1]
        let points = x.scalars
        let trials = 2 + Int(log(Double(k)))
        var best: (assignments: [Int], centres: [[Float]], inertia: Double)? = nil
        for _ in 0..<max(1, restarts) {
            // Greedy k-means++ seeding.
            var centres = [Float](repeating: 0, count: k * d)
            let first = random.nextInt(below: n)
            for j in 0..<d { centres[j] = points[first * d + j] }
            var nearest = [Double](repeating: 0, count: n)
            var total = 0.0
            points.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    var s: Double = 0
                    for j in 0..<d { let t = Double(p[i * d + j] - p[first * d + j]); s += t * t }
                    nearest[i] = s
                    total += s
                }
            }
            var candidateDistances = [Double](repeating: 0, count: n)
            for c in 1..<max(1, k) where k > 1 {
                var bestPick = -1, bestPotential = Double.infinity
                var bestDistances = nearest
                for _ in 0..<trials {
                    var u = random.nextDouble() * total
                    var pick = n - 1
                    for i in 0..<n { u -= nearest[i]; if u <= 0 { pick = i; break } }
                    var potential = 0.0
                    points.withUnsafeBufferPointer { p in
                        for i in 0..<n {
                            var s: Double = 0
                            for j in 0..<d { let t = Double(p[i * d + j] - p[pick * d + j]); s += t * t }
                            candidateDistances[i] = min(nearest[i], s)
                            potential += candidateDistances[i]
                        }
                    }
                    if potential < bestPotential {
                        bestPotential = potential; bestPick = pick
                        swap(&bestDistances, &candidateDistances)
                    }
                }
                nearest = bestDistances
                total = bestPotential
                for j in 0..<d { centres[c * d + j] = points[bestPick * d + j] }
            }
            var assignments = [Int](repeating: -1, count: n)
            var inertia = 0.0
            for _ in 0..<iterations {
                var changed = false
                inertia = 0
                points.withUnsafeBufferPointer { p in
                    centres.withUnsafeBufferPointer { cs in
                        for i in 0..<n {
                            var bestC = 0, bestD = Double.infinity
                            for c in 0..<k {
                                var s: Double = 0
                                for j in 0..<d { let t = Double(p[i * d + j] - cs[c * d + j]); s += t * t }
                                if s < bestD { bestD = s; bestC = c }
                            }
                            if assignments[i] != bestC { assignments[i] = bestC; changed = true }
                            inertia += bestD
                        }
                    }
                }
                if !changed { break }
                var sums = [Double](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
                for i in 0..<n {
                    let c = assignments[i]
                    counts[c] += 1
                    for j in 0..<d { sums[c * d + j] += Double(points[i * d + j]) }
                }
                for c in 0..<k where counts[c] > 0 {
                    for j in 0..<d { centres[c * d + j] = Float(sums[c * d + j] / Double(counts[c])) }
                }
            }
            if best == nil || inertia < best!.inertia {
                best = (assignments, (0..<k).map { Array(centres[$0 * d ..< ($0 + 1) * d]) }, inertia)
            }
        }
        return best!
    }

    /// The mean silhouette coefficient of a clustering (Rousseeuw 1987): for each point,
    /// s = (b − a) / max(a, b), a the mean distance to its own cluster, b the smallest mean
    /// distance to another cluster; s = 0 for a point alone in its cluster. In [−1, 1]; high
    /// when clusters are compact and apart. Computed on at most `sampleLimit` points drawn
    /// from `random` (all when fewer), against all points.
    /// - Complexity: O(m·n·d) for m evaluated points.
    public static func silhouette(_ x: Tensor, assignments: [Int], k: Int, sampleLimit: Int = 1000,
                                  random: inout LabRandom) -> Double {
        let n = x.shape[0], d = x.shape[1]
        precondition(assignments.count == n, "LinearAlgebra.silhouette: \(assignments.count) assignments for \(n) points")
        var sizes = [Int](repeating: 0, count: k)
        for a in assignments { sizes[a] += 1 }
        guard sizes.filter({ $0 > 0 }).count >= 2 else { return 0 }
        let evaluated = n <= sampleLimit ? Array(0..<n) : random.sampleWithoutReplacement(sampleLimit, from: n)
        let points = x.scalars
        var total = 0.0
        points.withUnsafeBufferPointer { p in
            for i in evaluated {
                var sums = [Double](repeating: 0, count: k)
                for other in 0..<n where other != i {
                    var s: Double = 0
                    for j in 0..<d { let t = Double(p[i * d + j] - p[other * d + j]); s += t * t }
                    sums[assignments[other]] += s.squareRoot()
                }
                let own = assignments[i]
                guard sizes[own] > 1 else { continue }
                let a = sums[own] / Double(sizes[own] - 1)
                var b = Double.infinity
                for c in 0..<k where c != own && sizes[c] > 0 { b = min(b, sums[c] / Double(sizes[c])) }
                total += (b - a) / max(a, b)
            }
        }
        return total / Double(evaluated.count)
    }
}
