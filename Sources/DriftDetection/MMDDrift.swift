import Foundation
import LabRandom

/// Drift of the joint distribution by the maximum mean discrepancy with a Gaussian kernel and a
/// permutation test, as Alibi Detect's `MMDDrift` computes it: the bandwidth by the median
/// heuristic on the reference (σ² = half the median squared distance between distinct reference
/// rows), the unbiased MMD² from the kernel matrix of reference and tested rows with its diagonal
/// zeroed, and the p-value as the share of permutations of the pooled rows whose MMD² is at least
/// the observed one.
///
/// - Reference: A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf and A. Smola, "A Kernel
///   Two-Sample Test", JMLR 13, 2012.
public struct MMDDriftTest: Sendable {
    public struct Result: Sendable, Equatable {
        /// The unbiased MMD² of reference and tested rows.
        public var mmd2: Double
        /// The share of permutations with an MMD² at least `mmd2`.
        public var pValue: Double
        /// The MMD² above which a permutation test at `significance` detects drift.
        public var threshold: Double
        public var drift: Bool
    }

    /// The most entries of the pooled kernel matrix a test builds (2²⁵ doubles, 256 MiB).
    public static let maximumKernelEntries = 1 << 25

    public let features: Int
    public let permutations: Int
    public let significance: Double
    /// The Gaussian kernel's bandwidth: k(x, y) = exp(−‖x − y‖² / (2σ²)).
    public let sigma: Double
    private let reference: FeatureRows
    /// The reference's kernel matrix, its diagonal zeroed.
    private let referenceKernel: [Double]

    /// - Parameters:
    ///   - reference: rows of `features` values each, row-major (at least 2 rows).
    ///   - sigma: the kernel's bandwidth; nil for the median heuristic on the reference.
    /// - Throws: `DriftError` for an empty or non-finite reference, fewer than 2 rows, a level
    ///   outside (0, 1), no permutations, or a reference whose kernel matrix is too large.
    public init(reference: [Double], features: Int, permutations: Int = 100, significance: Double = 0.05,
                sigma: Double? = nil) throws(DriftError) {
        guard significance > 0 && significance < 1 else { throw .parameter("significance must lie in (0, 1), got \(significance)") }
        guard (1...100_000).contains(permutations) else { throw .parameter("permutations must lie in 1…100000, got \(permutations)") }
        let rows = try FeatureRows(reference, features: features, name: "the reference")
        guard rows.rows >= 2 else { throw .parameter("the reference needs at least 2 rows, got \(rows.rows)") }
        let (entries, overflow) = rows.rows.multipliedReportingOverflow(by: rows.rows)
        guard !overflow && entries <= Self.maximumKernelEntries else {
            throw .tooLarge("a reference of \(rows.rows) rows needs a kernel matrix of more than \(Self.maximumKernelEntries) entries")
        }
        var distances = Self.squaredDistances(rows, rows)
        if let sigma {
            guard sigma.isFinite && sigma > 0 else { throw .parameter("sigma must be a positive number, got \(sigma)") }
            self.sigma = sigma
        } else {
            // The median of the N² squared distances past the N zeros of the diagonal.
            let n = rows.rows
            let sorted = distances.sorted()
            let median = sorted[n + (n * n - n) / 2 - 1]
            guard median > 0 else { throw .parameter("the reference's rows are mostly identical: the median heuristic gives a bandwidth of 0; give sigma") }
            self.sigma = (0.5 * median).squareRoot()
        }
        let gamma = 1 / (2 * self.sigma * self.sigma)
        for i in distances.indices { distances[i] = exp(-gamma * distances[i]) }
        for i in 0..<rows.rows { distances[i * rows.rows + i] = 0 }
        self.features = features
        self.permutations = permutations
        self.significance = significance
        self.reference = rows
        referenceKernel = distances
    }

    /// ‖aᵢ − bⱼ‖² for every pair, [a.rows × b.rows].
    private static func squaredDistances(_ a: FeatureRows, _ b: FeatureRows) -> [Double] {
        var out = [Double](repeating: 0, count: a.rows * b.rows)
        let f = a.features
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                for i in 0..<a.rows {
                    for j in 0..<b.rows {
                        var s = 0.0
                        for k in 0..<f {
                            let d = x[i * f + k] - y[j * f + k]
                            s += d * d
                        }
                        out[i * b.rows + j] = s
                    }
                }
            }
        }
        return out
    }

    /// Tests `data` (rows of the reference's features, row-major) against the reference; the
    /// permutations are drawn from `random`.
    /// - Throws: `DriftError` for fewer than 2 rows, rows of another width, non-finite values, or a
    ///   pooled kernel matrix above `maximumKernelEntries`.
    /// - Complexity: O((N + M)²·(features + permutations)).
    public func test(_ data: [Double], random: LabRandom) throws(DriftError) -> Result {
        guard data.count % features == 0 || data.isEmpty else { throw .featureCount(reference: features, tested: data.count) }
        let tested = try FeatureRows(data, features: features, name: "the tested data")
        guard tested.rows >= 2 else { throw .parameter("the tested data needs at least 2 rows, got \(tested.rows)") }
        let n = reference.rows, m = tested.rows, total = n + m
        let (entries, overflow) = total.multipliedReportingOverflow(by: total)
        guard !overflow && entries <= Self.maximumKernelEntries else {
            throw .tooLarge("\(n) reference and \(m) tested rows need a kernel matrix of more than \(Self.maximumKernelEntries) entries")
        }
        // The pooled kernel matrix: reference rows first, then the tested ones.
        let gamma = 1 / (2 * sigma * sigma)
        var kernel = [Double](repeating: 0, count: total * total)
        for i in 0..<n {
            for j in 0..<n { kernel[i * total + j] = referenceKernel[i * n + j] }
        }
        let cross = Self.squaredDistances(reference, tested)
        for i in 0..<n {
            for j in 0..<m {
                let k = exp(-gamma * cross[i * m + j])
                kernel[i * total + n + j] = k
                kernel[(n + j) * total + i] = k
            }
        }
        let within = Self.squaredDistances(tested, tested)
        for i in 0..<m {
            for j in 0..<m where i != j { kernel[(n + i) * total + n + j] = exp(-gamma * within[i * m + j]) }
        }
        let grandTotal = kernel.reduce(0, +)

        func mmd2(firstGroup inFirst: [Bool]) -> Double {
            // With u = K·1_first: S_first = 1_firstᵀu, S_cross = 1_secondᵀu, S_second = ΣK − S_first − 2·S_cross.
            var sFirst = 0.0, sCross = 0.0
            kernel.withUnsafeBufferPointer { k in
                for i in 0..<total {
                    var u = 0.0
                    let row = i * total
                    for j in 0..<total where inFirst[j] { u += k[row + j] }
                    if inFirst[i] { sFirst += u } else { sCross += u }
                }
            }
            let sSecond = grandTotal - sFirst - 2 * sCross
            return sFirst / Double(n * (n - 1)) + sSecond / Double(m * (m - 1)) - 2 * sCross / Double(n * m)
        }
        let observed = mmd2(firstGroup: (0..<total).map { $0 < n })
        var stream = random
        var permuted = [Double]()
        permuted.reserveCapacity(permutations)
        for _ in 0..<permutations {
            let order = stream.permutation(total)
            var inFirst = [Bool](repeating: false, count: total)
            for position in 0..<n { inFirst[order[position]] = true }
            permuted.append(mmd2(firstGroup: inFirst))
        }
        let pValue = Double(permuted.filter { $0 >= observed }.count) / Double(permutations)
        let descending = permuted.sorted(by: >)
        let threshold = descending[min(permutations - 1, Int(significance * Double(permutations)))]
        return Result(mmd2: observed, pValue: pValue, threshold: threshold, drift: pValue < significance)
    }
}
