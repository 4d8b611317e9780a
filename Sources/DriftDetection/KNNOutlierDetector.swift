/// An outlier score for single inputs: the mean Euclidean distance to the k nearest rows of a
/// clean reference sample, with the alarm threshold set on the reference itself so that a chosen
/// share of clean inputs is flagged (each reference row scored against the others). Inputs far
/// from everything clean (adversarial perturbations of images, poisoned or out-of-distribution
/// rows) score high; used as a filter, it drops what scores above the threshold.
public struct KNNOutlierDetector: Sendable {
    public let features: Int
    public let k: Int
    /// The share of clean inputs the threshold flags (on the reference, leave-one-out).
    public let falsePositiveRate: Double
    /// Scores above it are flagged.
    public let threshold: Double
    private let reference: FeatureRows

    /// - Parameters:
    ///   - reference: clean rows of `features` values each, row-major (more than k rows).
    ///   - k: neighbours averaged (≥ 1).
    ///   - falsePositiveRate: in [0, 1).
    /// - Throws: `DriftError` for an empty or non-finite reference, k out of range or a rate
    ///   outside [0, 1).
    /// - Complexity: O(N²·features) to set the threshold.
    public init(reference: [Double], features: Int, k: Int = 5, falsePositiveRate: Double = 0.05) throws(DriftError) {
        let rows = try FeatureRows(reference, features: features, name: "the reference")
        guard k >= 1 && k < rows.rows else { throw .parameter("k must lie in 1…\(rows.rows - 1) for a reference of \(rows.rows) rows, got \(k)") }
        guard falsePositiveRate >= 0 && falsePositiveRate < 1 else {
            throw .parameter("the false-positive rate must lie in [0, 1), got \(falsePositiveRate)")
        }
        self.features = features
        self.k = k
        self.falsePositiveRate = falsePositiveRate
        self.reference = rows
        let own = (0..<rows.rows).map { i in
            Self.score(rows.values, offset: i * features, reference: rows, k: k, skipping: i)
        }.sorted()
        // The smallest score that at most a falsePositiveRate share of the reference exceeds.
        let index = min(own.count - 1, Int((Double(own.count) * (1 - falsePositiveRate)).rounded(.up)) - 1)
        threshold = own[max(0, index)]
    }

    private static func score(_ values: [Double], offset: Int, reference: FeatureRows, k: Int, skipping: Int? = nil) -> Double {
        var nearest = [Double](repeating: .infinity, count: k)   // sorted ascending, squared distances
        let f = reference.features
        reference.values.withUnsafeBufferPointer { r in
            values.withUnsafeBufferPointer { x in
                for j in 0..<reference.rows where j != skipping {
                    var s = 0.0
                    let base = j * f
                    for c in 0..<f {
                        let d = x[offset + c] - r[base + c]
                        s += d * d
                        if s >= nearest[k - 1] { break }
                    }
                    if s < nearest[k - 1] {
                        var at = k - 1
                        while at > 0 && nearest[at - 1] > s { nearest[at] = nearest[at - 1]; at -= 1 }
                        nearest[at] = s
                    }
                }
            }
        }
        return nearest.reduce(0) { $0 + $1.squareRoot() } / Double(k)
    }

    /// Each row's score (rows of the reference's width, row-major).
    /// - Throws: `DriftError` for rows of another width or non-finite values.
    public func scores(_ data: [Double]) throws(DriftError) -> [Double] {
        guard data.count % features == 0 || data.isEmpty else { throw .featureCount(reference: features, tested: data.count) }
        let rows = try FeatureRows(data, features: features, name: "the scored data")
        return (0..<rows.rows).map { Self.score(rows.values, offset: $0 * features, reference: reference, k: k) }
    }

    /// Whether each row scores above the threshold.
    public func flags(_ data: [Double]) throws(DriftError) -> [Bool] { try scores(data).map { $0 > threshold } }
}
