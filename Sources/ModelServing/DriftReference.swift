import DriftDetection

/// What the served inputs and predictions are compared with: a reference sample of inputs (for
/// instance training rows) and the served model's predicted classes on it.
///
/// `evaluate` is a pure function of a window of admitted rows and their predicted classes: the
/// inputs by per-feature Kolmogorov–Smirnov tests with Bonferroni's correction (the smallest
/// p-value times the number of features, at most 1, against `alpha`), the predictions by a χ²
/// test of the class histogram (`LabelDriftTest`). Both p-values are asymptotic.
///
/// - Complexity: a test sorts each feature of the reference and the window:
///   O(F·(N log N + W log W)) for F features, N reference rows and W window rows; on MNIST
///   (784 features, 1,000 reference rows, 500 window rows) some tens of milliseconds, which is why
///   the monitor runs it every K rows off the request path.
public struct DriftReference: Sendable {
    public let width: Int
    public let rows: Int
    public let classes: Int
    /// The level at which a p-value is drift (`--drift-alpha`).
    public let alpha: Double
    private let inputs: FeatureDriftTest
    private let labels: LabelDriftTest
    /// The most reference rows (the sorted columns are kept per feature).
    public static let maximumRows = 20_000

    /// - Parameters:
    ///   - inputs: `rows × width` values, row-major, every one finite.
    ///   - predictions: the served model's class for each reference row.
    /// - Throws: `ServingError` naming what is wrong.
    public init(inputs: [Float], width: Int, predictions: [Int], classes: Int, alpha: Double) throws(ServingError) {
        guard alpha > 0 && alpha < 1 else { throw ServingError("the drift level must lie in (0, 1), got \(alpha)") }
        guard width >= 1, !inputs.isEmpty, inputs.count % width == 0 else {
            throw ServingError("the reference must hold whole rows of \(width) values, got \(inputs.count) values")
        }
        let rows = inputs.count / width
        guard rows >= 2, rows <= Self.maximumRows else { throw ServingError("the reference must have 2…\(Self.maximumRows) rows, got \(rows)") }
        guard predictions.count == rows else { throw ServingError("\(predictions.count) predictions for \(rows) reference rows") }
        do {
            self.inputs = try FeatureDriftTest(reference: inputs.map(Double.init), features: width, significance: alpha, correction: .bonferroni)
            labels = try LabelDriftTest(referenceCounts: try LabelDriftTest.counts(predictions, classes: classes), significance: alpha)
        } catch { throw ServingError("the reference: \(error)") }
        self.width = width
        self.rows = rows
        self.classes = classes
        self.alpha = alpha
    }

    /// Tests a window of admitted rows (`labels.count × width` values) and their predicted classes.
    /// A window the tests refuse (none can be built by the service: it admits finite rows of the
    /// model's width and labels of its classes) reads as no drift.
    public func evaluate(rows window: [Float], labels predicted: [Int]) -> DriftReading {
        let n = predicted.count
        guard n >= 1, window.count == n * width,
              let features = try? inputs.test(window.map(Double.init)),
              let counts = try? LabelDriftTest.counts(predicted, classes: classes),
              let histogram = try? labels.test(counts: counts) else {
            return DriftReading(rows: n, inputPValue: 1, inputStatistic: 0, driftedFeatures: 0, predictionPValue: 1, predictionStatistic: 0,
                                alpha: alpha)
        }
        let smallest = features.pValues.min() ?? 1
        return DriftReading(rows: n, inputPValue: min(1, smallest * Double(width)), inputStatistic: features.statistics.max() ?? 0,
                            driftedFeatures: features.driftedFeatures.count, predictionPValue: histogram.pValue,
                            predictionStatistic: histogram.statistic, alpha: alpha)
    }
}

/// One evaluation of the drift monitor over its window.
public struct DriftReading: Sendable, Equatable {
    /// Rows in the window tested.
    public var rows: Int
    /// The smallest per-feature KS p-value times the number of features (Bonferroni), at most 1.
    public var inputPValue: Double
    /// The largest per-feature KS statistic.
    public var inputStatistic: Double
    /// Features whose p-value is below alpha / features.
    public var driftedFeatures: Int
    /// The χ² p-value of the window's predicted-class histogram against the reference's.
    public var predictionPValue: Double
    public var predictionStatistic: Double
    public var alpha: Double

    public var inputDrift: Bool { inputPValue < alpha }
    public var predictionDrift: Bool { predictionPValue < alpha }
}
