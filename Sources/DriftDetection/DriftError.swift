/// Data a drift test cannot take, named by what is wrong.
public enum DriftError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A sample with no rows, or rows of no features.
    case empty(String)
    /// The reference and the tested data have different numbers of features.
    case featureCount(reference: Int, tested: Int)
    /// A value that is NaN or infinite (row and feature).
    case nonFinite(sample: String, row: Int, feature: Int)
    /// A parameter outside its range.
    case parameter(String)
    /// A kernel matrix larger than the test allows.
    case tooLarge(String)

    public var description: String {
        switch self {
        case let .empty(what): return "drift test: \(what) is empty"
        case let .featureCount(reference, tested):
            return "drift test: the reference has \(reference) features per row, the tested data \(tested)"
        case let .nonFinite(sample, row, feature):
            return "drift test: \(sample) row \(row), feature \(feature) is not a finite number"
        case let .parameter(message): return "drift test: \(message)"
        case let .tooLarge(message): return "drift test: \(message)"
        }
    }
}

/// Rows of features, row-major, checked: at least one row and one feature, every value finite.
struct FeatureRows: Sendable {
    let rows: Int
    let features: Int
    let values: [Double]

    init(_ values: [Double], features: Int, name: String) throws(DriftError) {
        guard features >= 1 else { throw .empty("\(name) (rows of 0 features)") }
        guard !values.isEmpty else { throw .empty(name) }
        guard values.count % features == 0 else {
            throw .parameter("\(name) has \(values.count) values, not a whole number of rows of \(features) features")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(sample: name, row: bad / features, feature: bad % features)
        }
        self.rows = values.count / features
        self.features = features
        self.values = values
    }

    func column(_ f: Int) -> [Double] { (0..<rows).map { values[$0 * features + f] } }
}
