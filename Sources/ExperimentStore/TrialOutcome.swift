import Foundation

/// One named number of a trial's result: `<part>.<metric>`, e.g. `target.test_accuracy`,
/// `lira.tpr@0.001`.
public struct Metric: Sendable, Equatable, Hashable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }

    public init(part: String, _ metric: String, _ value: Double) {
        self.init(name: "\(part).\(metric)", value: value)
    }
}

/// A curve a trial produced (a training curve, a ROC curve), for tables and figures.
public struct Series: Sendable, Equatable {
    /// The figure this curve belongs to (`membership.roc`, `target.loss_curve`).
    public var name: String
    /// The curve's label within its figure (`lira`), when a figure holds several per trial.
    public var label: String?
    public var x: [Double]
    public var y: [Double]
    public var xLabel: String
    public var yLabel: String
    /// Plot on logarithmic axes (ROC curves are shown log-log).
    public var logX: Bool
    public var logY: Bool

    public init(name: String, label: String? = nil, x: [Double], y: [Double], xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        precondition(x.count == y.count, "Series \(name): \(x.count) x values for \(y.count) y values")
        self.name = name
        self.label = label
        self.x = x
        self.y = y
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
    }

    struct Stored: Codable {
        var name: String, label: String?, x: [Double], y: [Double], xLabel: String, yLabel: String, logX: Bool, logY: Bool
    }

    var json: String {
        let stored = Stored(name: name, label: label, x: x, y: y, xLabel: xLabel, yLabel: yLabel, logX: logX, logY: logY)
        return String(decoding: (try? JSONEncoder().encode(stored)) ?? Data(), as: UTF8.self)
    }

    init?(json: String) {
        guard let s = try? JSONDecoder().decode(Stored.self, from: Data(json.utf8)), s.x.count == s.y.count else { return nil }
        self.init(name: s.name, label: s.label, x: s.x, y: s.y, xLabel: s.xLabel, yLabel: s.yLabel, logX: s.logX, logY: s.logY)
    }
}

/// An artifact a trial used or produced, by its content key.
public struct ArtifactReference: Sendable, Equatable {
    /// What the artifact is to the trial, e.g. `target-model`, `reference-scores`.
    public var role: String
    public var key: String

    public init(role: String, key: String) {
        self.role = role
        self.key = key
    }
}

/// The result of one trial.
public struct TrialOutcome: Sendable, Equatable {
    public var metrics: [Metric]
    public var series: [Series]
    public var artifacts: [ArtifactReference]

    public init(metrics: [Metric] = [], series: [Series] = [], artifacts: [ArtifactReference] = []) {
        self.metrics = metrics
        self.series = series
        self.artifacts = artifacts
    }

    /// The value of the metric with this name.
    public subscript(metric name: String) -> Double? { metrics.first { $0.name == name }?.value }
}
