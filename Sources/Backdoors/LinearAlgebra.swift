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
    /// component is positive) and the top singular value σ₁, by power iteration on AᵀA.
    ///
    /// vₖ₊₁ = Aᵀ(A vₖ) / ‖Aᵀ(A vₖ)‖ from a random start, until ‖vₖ₊₁ − vₖ‖ < `tolerance`. It
    /// converges at the rate (σ₂/σ₁)² per step.
    /// - Complexity: O(n·d) per iteration, at most `iterations`.
    public static func topSingularVector(_ a: Tensor, iterations: Int = 500, tolerance: Float = 1e-6,
                                         random: inout LabRandom) -> (vector: [Float], value: Float) {
        let basis = orthogonalIteration(a, components: 1, iterations: iterations, tolerance: tolerance, random: &random)
        return (basis.vectors[0], basis.values[0].squareRoot())
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
    /// centred rows: an [n, components] matrix (PCA scores).
    public static func principalComponentScores(_ a: Tensor, components: Int, random: inout LabRandom) -> Tensor {
        let (c, _) = centred(a)
        let d = a.shape[1], k = min(components, d)
        let basis = orthogonalIteration(c, components: k, random: &random)
        let q = Tensor(shape: [d, k]) { out in
            for j in 0..<k { for r in 0..<d { out[r * k + j] = basis.vectors[j][r] } }
        }
        return withoutGradients { Tensor.matmul(c, q) }
    }

    /// k-means (Lloyd's algorithm) on the rows of X [n, d], seeded by k-means++, best of
    /// `restarts` runs by inertia (the sum of squared distances to the assigned centre).
    /// - Complexity: O(n·d·k) per iteration.
    public static func kMeans(_ x: Tensor, k: Int, restarts: Int = 4, iterations: Int = 100,
                              random: inout LabRandom) -> (assignments: [Int], centres: [[Float]], inertia: Double) {
        precondition(x.rank == 2 && x.shape[0] >= k && k >= 1, "LinearAlgebra.kMeans: need at least k = \(k) rows, got shape \(x.shape)")
        let n = x.shape[0], d = x.shape[1]
        let points = x.scalars
        var best: (assignments: [Int], centres: [[Float]], inertia: Double)? = nil
        for _ in 0..<max(1, restarts) {
            // k-means++ seeding.
            var centres = [Float](repeating: 0, count: k * d)
            let first = random.nextInt(below: n)
            for j in 0..<d { centres[j] = points[first * d + j] }
            var nearest = [Double](repeating: .infinity, count: n)
            for c in 1..<max(1, k) where k > 1 {
                var total = 0.0
                for i in 0..<n {
                    var s: Double = 0
                    for j in 0..<d { let t = Double(points[i * d + j] - centres[(c - 1) * d + j]); s += t * t }
                    nearest[i] = min(nearest[i], s)
                    total += nearest[i]
                }
                var u = random.nextDouble() * total
                var pick = n - 1
                for i in 0..<n { u -= nearest[i]; if u <= 0 { pick = i; break } }
                for j in 0..<d { centres[c * d + j] = points[pick * d + j] }
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
