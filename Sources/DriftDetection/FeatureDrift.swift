/// Drift of each feature by the two-sample Kolmogorov–Smirnov test against a reference sample,
/// with a correction for testing many features: what Alibi Detect's `KSDrift` does (asymptotic
/// p-values, Bonferroni by default, or Benjamini–Hochberg's false discovery rate).
public struct FeatureDriftTest: Sendable {
    public enum Correction: String, Sendable, Codable, CaseIterable {
        /// Drift when the smallest p-value is below significance / features.
        case bonferroni
        /// Drift when Benjamini–Hochberg's procedure at the given rate rejects any feature.
        case falseDiscoveryRate = "fdr"
    }

    public struct Result: Sendable, Equatable {
        /// Per feature, the KS statistic and its uncorrected p-value.
        public var statistics: [Double]
        public var pValues: [Double]
        /// The p-value threshold the correction arrived at (a feature below it drifted).
        public var threshold: Double
        /// Whether the test detects drift.
        public var drift: Bool
        /// The features below the threshold.
        public var driftedFeatures: [Int] { pValues.indices.filter { pValues[$0] < threshold } }
    }

    public let features: Int
    public let significance: Double
    public let correction: Correction
    private let referenceColumns: [[Double]]

    /// - Parameters:
    ///   - reference: rows of `features` values each, row-major.
    ///   - significance: the test's level (Alibi Detect's `p_val`), in (0, 1).
    /// - Throws: `DriftError` for an empty or non-finite reference or a level outside (0, 1).
    public init(reference: [Double], features: Int, significance: Double = 0.05, correction: Correction = .bonferroni) throws(DriftError) {
        guard significance > 0 && significance < 1 else { throw .parameter("significance must lie in (0, 1), got \(significance)") }
        let rows = try FeatureRows(reference, features: features, name: "the reference")
        self.features = features
        self.significance = significance
        self.correction = correction
        referenceColumns = (0..<features).map(rows.column)
    }

    /// Tests `data` (rows of the reference's features, row-major) against the reference.
    public func test(_ data: [Double]) throws(DriftError) -> Result {
        guard data.count % features == 0 || data.isEmpty else {
            throw .featureCount(reference: features, tested: data.count)
        }
        let rows = try FeatureRows(data, features: features, name: "the tested data")
        var statistics = [Double](), pValues = [Double]()
        for f in 0..<features {
            let (d, p) = KolmogorovSmirnov.twoSampleTest(referenceColumns[f], rows.column(f))
            statistics.append(d)
            pValues.append(p)
        }
        let threshold: Double
        switch correction {
        case .bonferroni:
            threshold = significance / Double(features)
        case .falseDiscoveryRate:
            // Benjamini–Hochberg: with p₍₁₎ ≤ … ≤ p₍F₎, the largest i with p₍ᵢ₎ < α·i/F gives the
            // threshold α·i/F (α/F when there is none); every feature below it drifted.
            let sorted = pValues.sorted()
            let last = sorted.indices.last { sorted[$0] < significance * Double($0 + 1) / Double(features) }
            threshold = significance * Double((last ?? 0) + 1) / Double(features)
        }
        return Result(statistics: statistics, pValues: pValues, threshold: threshold,
                      drift: pValues.contains { $0 < threshold })
    }
}
