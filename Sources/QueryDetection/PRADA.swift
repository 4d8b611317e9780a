/// PRADA (Juuti et al. 2019): detects model-extraction attacks from the distribution of distances
/// between a client's queries. For each class c the detector keeps a growing set G_c of the
/// client's queries answered c; every new query x answered c adds its distance to the nearest
/// member of G_c (L2) to the set D, and joins G_c when that distance exceeds the class's threshold
/// T_c = max(T_c, mean − standard deviation of the distances that made members join). Natural
/// queries give distances close to normally distributed; synthetic extraction queries (small
/// steps from seeds) do not. Once D holds more than `minimumDistances` values, the stream is
/// flagged at every query where the Shapiro–Wilk statistic W of D is below `delta`.
///
/// A stream whose distances are all equal (W undefined) is flagged: it is as far from a normal
/// distribution as distances get. The standard deviation is the population one.
///
/// - Paper: M. Juuti, S. Szyller, S. Marchal and N. Asokan, "PRADA: Protecting Against DNN Model
///   Stealing Attacks", IEEE EuroS&P 2019, Algorithm 1.
public struct PRADA: QueryDetector {
    public let inputWidth: Int
    public let delta: Double
    public let minimumDistances: Int
    /// The most queries a growing set keeps (bounds memory and time per query).
    public let maximumGrowingSet: Int

    private var growing: [Int: [Float]] = [:]
    private var joinDistances: [Int: (count: Int, sum: Double, sumOfSquares: Double)] = [:]
    private var thresholds: [Int: Double] = [:]
    /// D, in ascending order.
    private(set) var distances: [Double] = []

    /// - Throws: `QueryDetectionError` naming a setting out of range.
    public init(inputWidth: Int, delta: Double = 0.95, minimumDistances: Int = 100, maximumGrowingSet: Int = 100_000) throws(QueryDetectionError) {
        guard inputWidth > 0 else { throw QueryDetectionError("queries need at least one feature, got \(inputWidth)") }
        guard delta > 0, delta < 1 else { throw QueryDetectionError("delta: the Shapiro–Wilk threshold must be in (0, 1), got \(delta)") }
        guard minimumDistances >= 3, minimumDistances <= 1_000_000 else {
            throw QueryDetectionError("minimum_distances: must be 3…1,000,000 (Shapiro–Wilk needs 3 values), got \(minimumDistances)")
        }
        guard maximumGrowingSet >= 1, maximumGrowingSet.multipliedReportingOverflow(by: inputWidth).partialValue <= 1 << 30,
              !maximumGrowingSet.multipliedReportingOverflow(by: inputWidth).overflow else {
            throw QueryDetectionError("maximum_growing_set: \(maximumGrowingSet) queries of \(inputWidth) features exceed 2^30 values")
        }
        self.inputWidth = inputWidth
        self.delta = delta
        self.minimumDistances = minimumDistances
        self.maximumGrowingSet = maximumGrowingSet
    }

    /// The Shapiro–Wilk statistic of the distances so far (`nil` below three, 0 when all equal).
    public var statistic: Double? {
        guard distances.count >= 3 else { return nil }
        return (try? ShapiroWilk.statistic(sorted: distances)) ?? 0
    }

    public mutating func observe(_ query: UnsafeBufferPointer<Float>, answer c: Int) -> Bool {
        let members = growing[c, default: []]
        if members.isEmpty {
            growing[c] = Array(query)
            thresholds[c] = 0
        } else {
            var nearest = Double.infinity
            members.withUnsafeBufferPointer { all in
                for j in 0..<(members.count / inputWidth) {
                    nearest = min(nearest, squaredDistance(query, UnsafeBufferPointer(rebasing: all[j * inputWidth..<(j + 1) * inputWidth])))
                }
            }
            let d = nearest.squareRoot()
            // Binary insertion keeps D sorted: O(log n) to find, O(n) to shift, no sort per query.
            var lo = 0, hi = distances.count
            while lo < hi { let mid = (lo + hi) / 2; if distances[mid] <= d { lo = mid + 1 } else { hi = mid } }
            distances.insert(d, at: lo)
            if d > thresholds[c]!, members.count / inputWidth < maximumGrowingSet {
                growing[c]!.append(contentsOf: query)
                var s = joinDistances[c] ?? (0, 0, 0)
                s = (s.count + 1, s.sum + d, s.sumOfSquares + d * d)
                joinDistances[c] = s
                let mean = s.sum / Double(s.count)
                let sd = max(0, s.sumOfSquares / Double(s.count) - mean * mean).squareRoot()
                thresholds[c] = max(thresholds[c]!, mean - sd)
            }
        }
        guard distances.count > minimumDistances else { return false }
        return statistic! < delta
    }
}
