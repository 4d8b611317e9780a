import ExperimentReports
import ExperimentStore
import Foundation

// MARK: - One trial (`/trial?run=ID&index=N`)

extension ResultsBrowser {
    /// A metric with its bootstrap interval, when the trial stored `<name>_low` and `<name>_high`.
    struct MetricRow {
        var name: String
        var value: Double
        var interval: (low: Double, high: Double)?
    }

    /// The trial's metrics, intervals folded into the metric they bound (`lira.auc` with
    /// `lira.auc_low` and `lira.auc_high` is one row).
    static func metricRows(_ trial: TrialRecord) -> [MetricRow] {
        let byName = Dictionary(trial.metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var bounds = Set<String>()
        for name in byName.keys {
            for suffix in ["_low", "_high"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if byName[base + "_low"] != nil && byName[base + "_high"] != nil && byName[base] != nil { bounds.insert(name) }
            }
        }
        return trial.metrics.filter { !bounds.contains($0.name) }.sorted { $0.name < $1.name }.map { metric in
            let low = byName[metric.name + "_low"], high = byName[metric.name + "_high"]
            return MetricRow(name: metric.name, value: metric.value, interval: low.flatMap { l in high.map { (l, $0) } })
        }
    }

    /// A value with its interval: `0.6955 [0.6574, 0.7362]`.
    static func formatted(_ row: MetricRow) -> String {
        ResultRendering.format(row.value) + (row.interval.map { " [\(ResultRendering.format($0.low)), \(ResultRendering.format($0.high))]" } ?? "")
    }

    /// The metric a comparison form offers first: the first attack's AUC, else the first metric.
    static func headlineMetric(_ metrics: [String]) -> String? {
        metrics.first { $0.hasSuffix(".auc") } ?? metrics.first
    }

    func trialPage(_ request: BrowserRequest, format: Format) throws(BrowserError) -> BrowserResponse {
        guard let runID = request.value("run") else { throw .badRequest("give the trial's run: /trial?run=ID&index=N") }
        let indexText = request.value("index") ?? "0"
        guard let index = Int(indexText), index >= 0 else { throw .badRequest("index '\(indexText.prefix(20))' is not a trial number") }
        let run = try read { () throws(StoreError) in try store.run(runID) }
        let trials = try read { () throws(StoreError) in try store.trials(runID: run.id) }
        guard let trial = trials.first(where: { $0.index == index }) else {
            throw .notFound("run \(run.id) has no trial \(index) (it has \(trials.count))")
        }
        let outcome = try read { () throws(StoreError) in try store.outcome(runID: run.id, index: index) }
        let rows = Self.metricRows(trial)
        let fileName = "privacy-lab-trial-\(slug(run.id))-\(index)"
        if format == .csv {
            return csv([["metric", "value", "low", "high"]] + rows.map { row in
                [row.name, "\(row.value)", row.interval.map { "\($0.low)" } ?? "", row.interval.map { "\($0.high)" } ?? ""]
            }, fileName: fileName)
        }
        let mode = format.mode
        let item = BrowsedTrial(run: run, trial: trial)
        var body = "<h1 id=\"title\">\(html(item.label))</h1>\n"
        if mode.isServed { body += "<div class=\"actions\">\(exportLinks(request))</div>\n" }
        body += "<dl class=\"facts\" id=\"run-facts\">"
        let facts: [(String, String)] = [
            ("run", run.id), ("kind", run.kind), ("run status", run.status.rawValue), ("trial status", trial.status.rawValue),
            ("trial seed", String(trial.seed)), ("spec file", run.specFile),
            ("overrides", run.overrides.isEmpty ? "none" : run.overrides.joined(separator: " ")),
            ("PrivacyLab", run.codeVersion), ("started", ISO8601DateFormatter().string(from: run.createdAt)),
            ("seconds", trial.seconds.map { String(format: "%.1f", $0) } ?? "–"),
        ]
        for (name, value) in facts {
            let shown = name == "run" ? HTMLPage.anchor(value, href: link("/", [("run", run.id)]), mode: mode) : html(value)
            body += "<dt>\(html(name))</dt><dd>\(shown)</dd>"
        }
        body += "</dl>\n"
        if let error = trial.error { body += "<p class=\"error\" id=\"trial-error\">\(html(error))</p>\n" }
        if !item.swept.isEmpty {
            body += "<h2>Parameters</h2>\n<table id=\"parameters\"><tr><th>parameter</th><th>value</th></tr>"
            for key in item.swept.keys.sorted() { body += "<tr><td>\(html(key))</td><td>\(html(item.swept[key]!))</td></tr>" }
            body += "</table>\n"
        }
        body += "<h2>Metrics</h2>\n"
        if rows.isEmpty {
            body += "<p>No metrics stored.</p>\n"
        } else {
            let intervals = rows.contains { $0.interval != nil }
            body += "<table id=\"metrics\"><thead><tr><th>metric</th><th>value</th>\(intervals ? "<th>bootstrap interval</th>" : "")</tr></thead><tbody>\n"
            for row in rows {
                body += "<tr data-metric=\"\(html(row.name))\"><td>\(html(row.name))</td><td class=\"num\">\(html(ResultRendering.format(row.value)))</td>"
                if intervals {
                    body += "<td class=\"num\">" + (row.interval.map { html("[\(ResultRendering.format($0.low)), \(ResultRendering.format($0.high))]") } ?? "") + "</td>"
                }
                body += "</tr>\n"
            }
            body += "</tbody></table>\n"
            if intervals { body += "<p class=\"muted\">Intervals: bootstrap confidence intervals over the audited records (the spec's attack.confidence level).</p>\n" }
        }
        // Figures: the report's own, for this one trial.
        let (_, figures) = ReportWriter.render(run: run, trials: [trial], outcomes: [outcome], figurePrefix: "trial",
                                               includeProvenance: false)
        let grids = (try? ReportWriter.imageGrids(trials: [trial], outcomes: [outcome], store: store, figurePrefix: "trial"))?.1 ?? []
        if !figures.isEmpty || !grids.isEmpty {
            body += "<h2>Figures</h2>\n"
            for (name, svg) in figures { body += "<figure data-figure=\"\(html(name))\">\n\(svg)</figure>\n" }
            for (name, png) in grids {
                body += "<figure data-figure=\"\(html(name))\"><img alt=\"\(html(name))\" src=\"data:image/png;base64,\(png.base64EncodedString())\"></figure>\n"
            }
        }
        if !outcome.artifacts.isEmpty {
            body += "<h2>Artifacts</h2>\n<table id=\"artifacts\"><tr><th>role</th><th>kind</th><th>bytes</th><th>key</th></tr>"
            for artifact in outcome.artifacts {
                let record = try? store.artifactRecord(key: artifact.key)
                body += "<tr><td>\(html(artifact.role))</td><td>\(html(record?.kind ?? "missing"))</td>"
                body += "<td class=\"num\">\(record.map { String($0.byteCount) } ?? "–")</td><td><code>\(html(String(artifact.key.prefix(16))))…</code></td></tr>"
            }
            body += "</table>\n<p class=\"muted\">Artifacts stay in the store; <code>privacy-lab runs export \(html(run.id)) --scores DIR</code> writes score arrays out.</p>\n"
        }
        body += "<h2>Spec</h2>\n<pre id=\"spec\">\(html(run.specText))</pre>\n"
        return render(title: item.label, body: body, format: format, fileName: fileName)
    }

    /// Letters, digits and '-' only (file names of exports).
    func slug(_ text: String) -> String {
        String(text.prefix(64).map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    }
}
