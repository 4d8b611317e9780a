import Codecs
import Foundation
internal import Prometheus
import Synchronization

/// Continuous monitoring of a served model: Prometheus metrics of the requests, the answered rows
/// per token, the detectors' flags and the drift of the inputs and predictions, and alerts when a
/// detector fires or drift begins.
///
/// The service reports what happens (`answered`, `admitted`, `flagged`); each report takes a lock
/// for a few copies and counter updates. Drift is tested every `every` admitted rows over the last
/// `window` rows by `DriftReference.evaluate`, on a task of its own, never on the request path;
/// while one test runs, the next waits for it (rows keep entering the window). An alert is raised
/// when a test's p-value falls below alpha after being above it (one alert per episode, not one
/// per test); `privacylab_drift_active` shows the state.
///
/// `/metrics` is answered by `ModelService` in the Prometheus text format as `access` says: to
/// anyone who reaches the server, only with the scrape token (its SHA-256 kept, compared in
/// constant time), or not at all. The series carry token ids (client names), counts and p-values;
/// never a secret token or an input.
public final class ServingMonitor: Sendable {
    /// Who may read `/metrics`.
    public enum MetricsAccess: Sendable, Equatable {
        /// Anyone who reaches the server (`serve` on a loopback address without a scrape token).
        case open
        /// A bearer token whose SHA-256 is this digest (32 bytes).
        case token(sha256: [UInt8])
        /// Nobody: `/metrics` answers 404 (alerts are still raised).
        case closed
    }

    /// The drift window's size and schedule.
    public struct DriftSchedule: Sendable, Equatable {
        /// The last `window` admitted rows are tested.
        public var window: Int
        /// A test every `every` admitted rows.
        public var every: Int
        public init(window: Int = 500, every: Int = 100) {
            self.window = window
            self.every = every
        }
    }

    public let drift: DriftReference?
    public let schedule: DriftSchedule
    let alerts: AlertSink
    public let access: MetricsAccess
    private let registry: PrometheusCollectorRegistry
    private let metrics: Metrics
    private let state: Mutex<State>

    struct State {
        var rows: [Float] = []
        var labels: [Int] = []
        /// The ring's next slot and the rows it holds.
        var next = 0
        var held = 0
        var sinceTest = 0
        var testing = false
        var inputDrift = false
        var predictionDrift = false
        var last: DriftReading?
        var tests = 0
        var blocked = Set<String>()
    }

    /// - Parameters:
    ///   - tokens: the ids of the registry's tokens (their per-token series start at 0).
    ///   - drift: the reference to test the window against, or nil for no drift monitoring.
    ///   - webhook: where alerts are POSTed besides the log (see `AlertSink`).
    ///   - log: where alert lines go (default: standard error).
    ///   - access: who may read `/metrics`.
    /// - Throws: `ServingError` for a schedule outside its ranges, a reference of another width, or a bad webhook.
    public init(tokens: [String], drift: DriftReference? = nil, schedule: DriftSchedule = DriftSchedule(), webhook: URL? = nil,
                log: @escaping @Sendable (String) -> Void = AlertSink.standardError, access: MetricsAccess = .open) throws(ServingError) {
        guard (1...100_000).contains(schedule.window), (1...schedule.window).contains(schedule.every) else {
            throw ServingError("the drift window must be 1…100000 rows and the test interval 1…window, got \(schedule.window) and \(schedule.every)")
        }
        if case let .token(digest) = access, digest.count != 32 { throw ServingError("the scrape token's digest must have 32 bytes") }
        let registry = PrometheusCollectorRegistry()
        let metrics = Metrics(registry: registry, tokens: tokens)
        self.registry = registry
        self.metrics = metrics
        self.drift = drift
        self.schedule = schedule
        self.access = access
        alerts = try AlertSink(webhook: webhook, log: log, deliveries: { metrics.webhook[$0]?.increment() })
        var initial = State()
        if let drift {
            initial.rows = [Float](repeating: 0, count: schedule.window * drift.width)
            initial.labels = [Int](repeating: 0, count: schedule.window)
            metrics.alpha.set(to: drift.alpha)
            metrics.inputPValue.set(to: 1)
            metrics.predictionPValue.set(to: 1)
        }
        state = Mutex(initial)
    }

    // MARK: Reports from the service

    /// A request answered: its endpoint, status and time taken.
    func answered(_ endpoint: Endpoint, status: Int, duration: Duration) {
        metrics.requests(registry, endpoint, status).increment()
        if endpoint == .predict && status == 200 { metrics.latency.record(duration) }
    }

    /// Rows answered for a token (200): counted, and with a reference, entered into the window with
    /// their predicted classes; a drift test starts when one is due.
    func admitted(token: String, rows: [Float], labels: [Int]) {
        metrics.rows(registry, token).increment(by: Int64(labels.count))
        guard let drift, rows.count == labels.count * drift.width else { return }
        let width = drift.width, window = schedule.window
        let due: (rows: [Float], labels: [Int])? = state.withLock { s in
            for i in 0..<labels.count {
                let slot = s.next
                s.rows.withUnsafeMutableBufferPointer { dst in
                    rows.withUnsafeBufferPointer { src in
                        for j in 0..<width { dst[slot * width + j] = src[i * width + j] }
                    }
                }
                s.labels[slot] = labels[i]
                s.next = (slot + 1) % window
                s.held = min(window, s.held + 1)
            }
            s.sinceTest += labels.count
            guard s.sinceTest >= schedule.every, !s.testing else { return nil }
            s.sinceTest = 0
            s.testing = true
            // The window's rows, oldest first.
            let start = s.held < window ? 0 : s.next
            let order = (0..<s.held).map { (start + $0) % window }
            var out = [Float](repeating: 0, count: s.held * width)
            for (k, slot) in order.enumerated() { for j in 0..<width { out[k * width + j] = s.rows[slot * width + j] } }
            return (out, order.map { s.labels[$0] })
        }
        guard let due else { return }
        Task.detached(priority: .utility) { [self] in
            self.record(drift.evaluate(rows: due.rows, labels: due.labels))
        }
    }

    /// A token's detector flagged it; it is blocked from now on.
    func flagged(token: String, detector: String, at time: Date) {
        metrics.flags(registry, token, detector).increment()
        blocked([token])
        metrics.alerts[.queryAttack]?.increment()
        alerts.raise(ServingAlert(kind: .queryAttack, time: time, token: token, detector: detector))
    }

    /// Tokens blocked (at start, from the query log; then by flags).
    func blocked(_ tokens: [String]) {
        let count = state.withLock { s in
            s.blocked.formUnion(tokens)
            return s.blocked.count
        }
        metrics.blocked.set(to: Double(count))
    }

    /// A drift test's result: gauges set, alerts raised on the way into drift.
    private func record(_ reading: DriftReading) {
        let (startsInput, startsPrediction) = state.withLock { s in
            let starts = (reading.inputDrift && !s.inputDrift, reading.predictionDrift && !s.predictionDrift)
            s.inputDrift = reading.inputDrift
            s.predictionDrift = reading.predictionDrift
            s.last = reading
            s.tests += 1
            s.testing = false
            return starts
        }
        metrics.windowRows.set(to: Double(reading.rows))
        metrics.inputPValue.set(to: reading.inputPValue)
        metrics.inputStatistic.set(to: reading.inputStatistic)
        metrics.driftedFeatures.set(to: Double(reading.driftedFeatures))
        metrics.predictionPValue.set(to: reading.predictionPValue)
        metrics.predictionStatistic.set(to: reading.predictionStatistic)
        metrics.active[.inputDrift]?.set(to: reading.inputDrift ? 1 : 0)
        metrics.active[.predictionDrift]?.set(to: reading.predictionDrift ? 1 : 0)
        metrics.tests.increment()
        let now = Date()
        if startsInput {
            metrics.alerts[.inputDrift]?.increment()
            alerts.raise(ServingAlert(kind: .inputDrift, time: now, pValue: reading.inputPValue, alpha: reading.alpha, windowRows: reading.rows))
        }
        if startsPrediction {
            metrics.alerts[.predictionDrift]?.increment()
            alerts.raise(ServingAlert(kind: .predictionDrift, time: now, pValue: reading.predictionPValue, alpha: reading.alpha,
                                      windowRows: reading.rows))
        }
    }

    // MARK: What the monitor shows

    /// The last drift test's result and how many tests have run.
    public var lastDrift: (reading: DriftReading?, tests: Int) { state.withLock { ($0.last, $0.tests) } }

    /// Whether `authorization` (an `Authorization` header) may read `/metrics`: always when open,
    /// else a bearer token whose SHA-256 is the scrape token's (compared in constant time).
    func mayScrape(_ authorization: String?) -> Bool {
        let scrapeDigest: [UInt8]
        switch access {
        case .open: return true
        case .closed: return false
        case let .token(digest): scrapeDigest = digest
        }
        guard let header = authorization, header.hasPrefix("Bearer "), header.utf8.count <= 512 else { return false }
        let presented = SHA256.hash(utf8: String(header.dropFirst(7))).bytes
        var difference: UInt8 = 0
        for i in 0..<32 { difference |= scrapeDigest[i] ^ presented[i] }
        return difference == 0
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// Waits until the alerts queued for the webhook have been posted (for shutdown and tests).
    public func drainAlerts() async { await alerts.drain() }
}

/// The service's endpoints, as the request metrics label them.
enum Endpoint: String, Sendable {
    case predict, model, health, openapi, metrics, other

    init(path: String) {
        switch path {
        case "/v1/predict": self = .predict
        case "/v1/model": self = .model
        case "/v1/health": self = .health
        case "/openapi.json": self = .openapi
        case "/metrics": self = .metrics
        default: self = .other
        }
    }
}

/// The Prometheus series of a served model (names start with `privacylab_`).
struct Metrics: Sendable {
    let latency: DurationHistogram
    let blocked: Gauge
    let alpha: Gauge
    let windowRows: Gauge
    let inputPValue: Gauge
    let inputStatistic: Gauge
    let driftedFeatures: Gauge
    let predictionPValue: Gauge
    let predictionStatistic: Gauge
    let tests: Counter
    let active: [ServingAlert.Kind: Gauge]
    let alerts: [ServingAlert.Kind: Counter]
    let webhook: [AlertSink.Delivery: Counter]

    /// `privacylab_<metric>_<unit>`; gauges without a unit (p-values, counts of things now) have none.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "privacylab", metricName: metric, unitName: unit, helpText: help)
    }
    static var requestsName: MetricNameDescriptor { name("http_requests", "total", "HTTP requests answered, by endpoint and status code.") }
    static var rowsName: MetricNameDescriptor { name("rows_answered", "total", "Input rows answered with predictions (status 200), by token id.") }
    static var flagsName: MetricNameDescriptor { name("detector_flags", "total", "Requests a client's detector flagged as a query-based attack, by token id and detector.") }

    init(registry r: PrometheusCollectorRegistry, tokens: [String]) {
        latency = r.makeDurationHistogram(
            descriptor: Self.name("prediction_duration", "seconds", "Time to answer a prediction request (status 200), from the parsed request to the JSON answer."),
            buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5)])
        blocked = r.makeGauge(descriptor: Self.name("tokens_blocked", "", "Tokens blocked because their detector flagged them."))
        alpha = r.makeGauge(descriptor: Self.name("drift_alpha", "", "The level below which a drift p-value raises an alert (--drift-alpha)."))
        windowRows = r.makeGauge(descriptor: Self.name("drift_window_rows", "", "Admitted rows in the window of the last drift test."))
        inputPValue = r.makeGauge(descriptor: Self.name("drift_input_p_value", "",
                                                        "Inputs against the reference: the smallest per-feature Kolmogorov-Smirnov p-value times the features (Bonferroni), at most 1."))
        inputStatistic = r.makeGauge(descriptor: Self.name("drift_input_ks_statistic_max", "", "The largest per-feature Kolmogorov-Smirnov statistic of the window."))
        driftedFeatures = r.makeGauge(descriptor: Self.name("drift_input_features_drifted", "", "Features whose KS p-value is below alpha / features."))
        predictionPValue = r.makeGauge(descriptor: Self.name("drift_prediction_p_value", "",
                                                             "Predicted classes against the reference's: the chi-squared test's p-value."))
        predictionStatistic = r.makeGauge(descriptor: Self.name("drift_prediction_chi2", "", "The chi-squared statistic of the predicted-class histograms."))
        tests = r.makeCounter(descriptor: Self.name("drift_tests", "total", "Drift tests run over the window."))
        let activeName = Self.name("drift_active", "", "1 while the last drift test's p-value is below alpha, by test.")
        active = [.inputDrift: r.makeGauge(descriptor: activeName, labels: [("test", "input")]),
                  .predictionDrift: r.makeGauge(descriptor: activeName, labels: [("test", "prediction")])]
        let alertsName = Self.name("alerts", "total", "Alerts raised (log line and webhook), by kind.")
        alerts = Dictionary(uniqueKeysWithValues: ServingAlert.Kind.allCases.map { ($0, r.makeCounter(descriptor: alertsName, labels: [("kind", $0.rawValue)])) })
        let webhookName = Self.name("alert_webhook", "total", "Alerts for the webhook, by what became of them: sent, failed, dropped (queue full).")
        webhook = Dictionary(uniqueKeysWithValues: AlertSink.Delivery.allCases.map { ($0, r.makeCounter(descriptor: webhookName, labels: [("result", $0.rawValue)])) })
        for token in tokens { _ = rows(r, token) }
        _ = requests(r, .predict, 200)
    }

    func requests(_ r: PrometheusCollectorRegistry, _ endpoint: Endpoint, _ status: Int) -> Counter {
        r.makeCounter(descriptor: Self.requestsName, labels: [("endpoint", endpoint.rawValue), ("code", "\(status)")])
    }

    func rows(_ r: PrometheusCollectorRegistry, _ token: String) -> Counter {
        r.makeCounter(descriptor: Self.rowsName, labels: [("token", token)])
    }

    func flags(_ r: PrometheusCollectorRegistry, _ token: String, _ detector: String) -> Counter {
        r.makeCounter(descriptor: Self.flagsName, labels: [("token", token), ("detector", detector)])
    }
}
