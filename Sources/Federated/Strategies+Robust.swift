/// Coordinate-wise median of the updates: w_{t+1} = w_t + med_k(Δ_k) coordinate by coordinate
/// (the mean of the two middle values when k is even).
///
/// Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates",
/// ICML 2018. Breakdown point ½ per coordinate; unweighted (example counts are not used, as a
/// malicious client could lie about them).
/// - Complexity: O(d·k log k).
public struct CoordinateMedian: AggregationStrategy {
    public var name: String { "median" }
    public init() {}

    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        guard !results.isEmpty else { throw FederatedError.noResults(round: round) }
        return RobustKernels.coordinatewise(global: global, updates: results.map(\.update), rule: .median)
    }
}

/// Coordinate-wise trimmed mean: per coordinate, drop the ⌊βk⌋ largest and ⌊βk⌋ smallest of the
/// k values and average the rest (Yin et al., ICML 2018). β ∈ [0, ½); the number trimmed is
/// capped so that at least one value remains.
/// - Complexity: O(d·k log k).
public struct TrimmedMean: AggregationStrategy {
    public var beta: Double
    public var name: String { "trimmed-mean" }

    public init(beta: Double = 0.1) throws(FederatedError) {
        guard beta >= 0, beta < 0.5 else { throw .invalidConfiguration(field: "strategy.beta", reason: "must lie in [0, 0.5), got \(beta)") }
        self.beta = beta
    }

    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        guard !results.isEmpty else { throw FederatedError.noResults(round: round) }
        let k = results.count
        let trim = Swift.min(Int((beta * Double(k)).rounded(.down)), (k - 1) / 2)
        return RobustKernels.coordinatewise(global: global, updates: results.map(\.update), rule: .trimmedMean(trim: trim))
    }
}

/// Krum and Multi-Krum (Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant
/// Gradient Descent", NeurIPS 2017).
///
/// With k updates of which at most f are Byzantine, each update's score is the sum of its
/// squared distances to its k − f − 2 nearest other updates; Krum keeps the update of least
/// score, Multi-Krum averages the m updates of least score (m = 1 is Krum). The guarantee needs
/// k ≥ 2f + 3; when dropouts leave fewer clients the neighbourhood is clamped to at least one
/// neighbour (and the guarantee is void for that round).
/// - Complexity: O(k²·d) for the distances.
public struct Krum: AggregationStrategy {
    public var byzantine: Int
    public var selected: Int
    public var name: String { selected == 1 ? "krum" : "multi-krum" }
    /// The clients chosen in the last round, for reports.
    public private(set) var lastSelection: [Int] = []

    public init(byzantine f: Int, selected m: Int = 1) throws(FederatedError) {
        guard f >= 0 else { throw .invalidConfiguration(field: "strategy.byzantine", reason: "must be ≥ 0, got \(f)") }
        guard m >= 1 else { throw .invalidConfiguration(field: "strategy.selected", reason: "must be ≥ 1, got \(m)") }
        byzantine = f
        selected = m
    }

    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        guard !results.isEmpty else { throw FederatedError.noResults(round: round) }
        let updates = results.map(\.update)
        let distances = RobustKernels.pairwiseSquaredDistances(updates)
        let chosen = RobustKernels.krumOrder(distances: distances, candidates: Array(updates.indices), byzantine: byzantine)
            .prefix(Swift.min(selected, updates.count))
        lastSelection = chosen.map { results[$0].client }
        return RobustKernels.mean(global: global, updates: chosen.map { updates[$0] })
    }
}

/// Bulyan (El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed Learning in
/// Byzantium", ICML 2018): Krum applied recursively selects θ = k − 2f updates (each pick removed
/// from the pool before the next), then each coordinate is the mean of the β = θ − 2f selected
/// values closest to their median.
///
/// The guarantee needs k ≥ 4f + 3; with fewer survivors f is lowered to ⌊(k − 3)/4⌋ for that round
/// (0 when k < 7, which makes Bulyan the mean of all updates).
/// - Complexity: O(k²·d + k³) for the selection, O(d·θ log θ) for the coordinate step.
public struct Bulyan: AggregationStrategy {
    public var byzantine: Int
    public var name: String { "bulyan" }

    public init(byzantine f: Int) throws(FederatedError) {
        guard f >= 0 else { throw .invalidConfiguration(field: "strategy.byzantine", reason: "must be ≥ 0, got \(f)") }
        byzantine = f
    }

    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        guard !results.isEmpty else { throw FederatedError.noResults(round: round) }
        let updates = results.map(\.update)
        let k = updates.count
        let f = Swift.min(byzantine, Swift.max(0, (k - 3) / 4))
        let theta = k - 2 * f
        let distances = RobustKernels.pairwiseSquaredDistances(updates)
        var pool = Array(updates.indices)
        var selection: [Int] = []
        while selection.count < theta {
            let best = RobustKernels.krumOrder(distances: distances, candidates: pool, byzantine: f)[0]
            selection.append(best)
            pool.removeAll { $0 == best }
        }
        let beta = theta - 2 * f
        let chosen = selection.map { updates[$0] }
        return RobustKernels.coordinatewise(global: global, updates: chosen, rule: .closestToMedian(count: beta))
    }
}

/// Kernels shared by the robust rules.
enum RobustKernels {
    /// A per-coordinate statistic of k values.
    enum CoordinateRule {
        case median
        /// The mean after dropping `trim` values at each end.
        case trimmedMean(trim: Int)
        /// The mean of the `count` values closest to the median (Bulyan's second step).
        case closestToMedian(count: Int)
    }

    /// w + (per-coordinate statistic of the k updates). The updates are first transposed into one
    /// d×k buffer so that each coordinate's k values are contiguous and sorted in place.
    static func coordinatewise(global: [Float], updates: [[Float]], rule: CoordinateRule) -> [Float] {
        let d = global.count, k = updates.count
        var columns = [Float](repeating: 0, count: d * k)
        columns.withUnsafeMutableBufferPointer { c in
            for (j, update) in updates.enumerated() {
                precondition(update.count == d, "RobustKernels: an update of \(update.count) values, expected \(d)")
                update.withUnsafeBufferPointer { u in
                    for i in 0..<d { c[i * k + j] = u[i] }
                }
            }
        }
        var out = [Float](repeating: 0, count: d)
        columns.withUnsafeMutableBufferPointer { c in
            global.withUnsafeBufferPointer { g in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<d {
                        var column = UnsafeMutableBufferPointer(rebasing: c[(i * k)..<(i * k + k)])
                        column.sort()
                        let median = k % 2 == 1 ? Double(column[k / 2]) : (Double(column[k / 2 - 1]) + Double(column[k / 2])) / 2
                        let value: Double
                        switch rule {
                        case .median:
                            value = median
                        case let .trimmedMean(trim):
                            var s = 0.0
                            for j in trim..<(k - trim) { s += Double(column[j]) }
                            value = s / Double(k - 2 * trim)
                        case let .closestToMedian(count):
                            // The values closest to the median form a contiguous window of the sorted
                            // column, shrunk from the side farther from the median.
                            var lo = 0, hi = k
                            while hi - lo > count {
                                if abs(Double(column[lo]) - median) > abs(Double(column[hi - 1]) - median) { lo += 1 } else { hi -= 1 }
                            }
                            var s = 0.0
                            for j in lo..<hi { s += Double(column[j]) }
                            value = s / Double(hi - lo)
                        }
                        o[i] = Float(Double(g[i]) + value)
                    }
                }
            }
        }
        return out
    }

    /// w + the mean of the updates.
    static func mean(global: [Float], updates: [[Float]]) -> [Float] {
        var sum = [Double](repeating: 0, count: global.count)
        for u in updates { VectorMath.axpy(1, u, &sum) }
        let inv = 1 / Double(updates.count)
        return VectorMath.adding(global, sum.map { $0 * inv })
    }

    /// The symmetric k×k matrix of ‖Δ_i − Δ_j‖².
    static func pairwiseSquaredDistances(_ updates: [[Float]]) -> [[Double]] {
        let k = updates.count
        var d = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for i in 0..<k {
            for j in (i + 1)..<Swift.max(i + 1, k) {
                let v = VectorMath.squaredDistance(updates[i], updates[j])
                d[i][j] = v
                d[j][i] = v
            }
        }
        return d
    }

    /// The candidates ordered by Krum score (ties by position), computed within `candidates`.
    static func krumOrder(distances: [[Double]], candidates: [Int], byzantine f: Int) -> [Int] {
        let n = candidates.count
        let neighbours = Swift.max(1, Swift.min(n - 1, n - f - 2))
        var scores: [(score: Double, index: Int)] = []
        for i in candidates {
            var ds = candidates.filter { $0 != i }.map { distances[i][$0] }
            ds.sort()
            scores.append((ds.prefix(neighbours).reduce(0, +), i))
        }
        scores.sort { $0.score != $1.score ? $0.score < $1.score : $0.index < $1.index }
        return scores.map(\.index)
    }
}
