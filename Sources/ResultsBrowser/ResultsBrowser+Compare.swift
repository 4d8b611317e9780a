import ExperimentReports
import ExperimentStore
import Foundation

// MARK: - Several trials compared (`/compare?t=ID/N&t=…`)

extension ResultsBrowser {
    /// What a comparison plots.
    enum Plot: String {
        /// The trials' ROC curves overlaid, log-log.
        case roc
        /// A metric against a parameter (any spec key), one line per run (one line in all when
        /// each run gives one trial).
        case metric
    }

    func comparison(_ request: BrowserRequest, format: Format) throws(BrowserError) -> BrowserResponse {
        let references = request.values("t").filter { !$0.isEmpty }
        guard !references.isEmpty else { throw .badRequest("select trials to compare: /compare?t=RUN/INDEX&t=…") }
        guard references.count <= Self.maximumCompared else {
            throw .badRequest("\(references.count) trials selected; at most \(Self.maximumCompared) are compared at once")
        }
        let plotText = request.value("plot") ?? "roc"
        guard let plot = Plot(rawValue: plotText) else { throw .badRequest("unknown plot '\(plotText.prefix(40))' (roc or metric)") }
        var items: [BrowsedTrial] = []
        var outcomes: [TrialOutcome] = []
        var runs: [String: (RunRecord, [TrialRecord])] = [:]
        for reference in references {
            guard let slash = reference.lastIndex(of: "/"), let index = Int(reference[reference.index(after: slash)...]) else {
                throw .badRequest("'\(reference.prefix(80))' names no trial (write RUN/INDEX)")
            }
            let runID = String(reference[..<slash])
            if runs[runID] == nil {
                let run = try read { () throws(StoreError) in try store.run(runID) }
                runs[runID] = (run, try read { () throws(StoreError) in try store.trials(runID: run.id) })
            }
            let (run, trials) = runs[runID]!
            guard let trial = trials.first(where: { $0.index == index }) else { throw .notFound("run \(run.id) has no trial \(index)") }
            guard !items.contains(where: { $0.run.id == run.id && $0.trial.index == index }) else { continue }
            items.append(BrowsedTrial(run: run, trial: trial))
            outcomes.append(try read { () throws(StoreError) in try store.outcome(runID: run.id, index: index) })
        }
        let metricNames = Array(Set(items.flatMap { $0.trial.metrics.map(\.name) })).sorted()
        let parameterNames = ResultRendering.orderedParameterNames(items.map(\.trial))
        let resolver = ParameterResolver()
        let labels = BrowsedTrial.distinctLabels(items)

        if format == .csv {
            let header = ["run", "name", "kind", "trial"] + parameterNames + metricNames
            return csv([header] + items.map { item in
                [item.run.id, item.run.name, item.run.kind, String(item.trial.index)]
                    + parameterNames.map { resolver.value($0, of: item) ?? "" } + metricNames.map { item.metric($0).map { "\($0)" } ?? "" }
            }, fileName: "privacy-lab-compare")
        }
        let mode = format.mode
        var body = "<h1>\(items.count) trial\(items.count == 1 ? "" : "s") compared</h1>\n"
        if mode.isServed {
            body += "<div class=\"actions\">\(exportLinks(request))</div>\n"
            body += plotForm(items: items, plot: plot, request: request, metrics: metricNames, parameters: parameterNames)
        }
        body += "<h2>Figure</h2>\n"
        switch plot {
        case .roc:
            let overlaid = zip(zip(items, outcomes), labels).map { pair, label in
                ReportWriter.OverlaidTrial(trial: pair.0.trial, outcome: pair.1, label: label)
            }
            var names: [String] = []
            for outcome in outcomes { for s in outcome.series where s.logX && s.logY && !names.contains(s.name) { names.append(s.name) } }
            let figures = names.compactMap { name in
                ReportWriter.overlayFigure(name: name, title: "\(name) of \(items.count) trial\(items.count == 1 ? "" : "s")", subtitle: nil, trials: overlaid)
                    .map { (name, $0) }
            }
            if figures.isEmpty { body += "<p id=\"no-figure\">None of the selected trials stored a ROC curve.</p>\n" }
            for (name, svg) in figures { body += "<figure data-figure=\"\(html(name))\">\n\(svg)</figure>\n" }
        case .metric:
            guard let metric = request.value("metric") else { throw .badRequest("plot=metric needs metric=NAME") }
            guard let parameter = request.value("parameter") else { throw .badRequest("plot=metric needs parameter=KEY (a spec key such as model.epochs, or seed)") }
            let logX = request.value("logx") == "1", logY = request.value("logy") == "1"
            var lines: [Series] = []
            var skipped: [String] = []
            var byRun: [(String, [(Double, Double)])] = []
            for item in items {
                guard let x = resolver.value(parameter, of: item).flatMap(Double.init), x.isFinite,
                      let y = item.metric(metric), y.isFinite, (!logX || x > 0), (!logY || y > 0) else {
                    skipped.append(item.label)
                    continue
                }
                let name = "\(item.run.name) (\(item.run.id))"
                if let i = byRun.firstIndex(where: { $0.0 == name }) { byRun[i].1.append((x, y)) } else { byRun.append((name, [(x, y)])) }
            }
            // One trial per run: one line through all of them (a line per run would be a dot each).
            if byRun.count > 1 && byRun.allSatisfy({ $0.1.count == 1 }) { byRun = [(metric, byRun.flatMap(\.1))] }
            for (name, points) in byRun {
                let sorted = points.sorted { $0.0 < $1.0 }
                lines.append(Series(name: name, x: sorted.map(\.0), y: sorted.map(\.1), xLabel: parameter, yLabel: metric))
            }
            if lines.isEmpty {
                body += "<p id=\"no-figure\">No selected trial has both \(html(parameter)) (a number) and \(html(metric)).</p>\n"
            } else {
                let svg = Figures.linePlot(title: "\(metric) against \(parameter)", series: lines, xLabel: parameter, yLabel: metric,
                                           logX: logX, logY: logY)
                body += "<figure data-figure=\"\(html(metric))-vs-\(html(parameter))\">\n\(svg)</figure>\n"
            }
            if !skipped.isEmpty {
                body += "<p class=\"muted\" id=\"skipped\">Not plotted (no numeric \(html(parameter)) or no \(html(metric))): \(html(skipped.joined(separator: "; ")))</p>\n"
            }
        }
        // Metrics down, trials across; a bootstrap interval beside the value it bounds.
        body += "<h2>Metrics</h2>\n<table id=\"compared\"><thead><tr><th>metric</th>"
        for (item, label) in zip(items, labels) {
            body += "<th>\(HTMLPage.anchor(label, href: link("/trial", [("run", item.run.id), ("index", String(item.trial.index))]), mode: mode))<br><span class=\"muted\">\(html(item.run.id))</span></th>"
        }
        body += "</tr></thead><tbody>\n"
        for name in parameterNames {
            body += "<tr><td><em>\(html(name))</em></td>" + items.map { "<td>\(html(resolver.value(name, of: $0) ?? "–"))</td>" }.joined() + "</tr>\n"
        }
        let folded = items.map { Dictionary(Self.metricRows($0.trial).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }) }
        let shownMetrics = Array(Set(folded.flatMap(\.keys))).sorted()
        for name in shownMetrics {
            body += "<tr data-metric=\"\(html(name))\"><td>\(html(name))</td>"
            body += folded.map { rows in "<td class=\"num\">\(html(rows[name].map(Self.formatted) ?? "–"))</td>" }.joined() + "</tr>\n"
        }
        body += "</tbody></table>\n"
        return render(title: "PrivacyLab: \(items.count) trials compared", body: body, format: format, fileName: "privacy-lab-compare")
    }

    func plotForm(items: [BrowsedTrial], plot: Plot, request: BrowserRequest, metrics: [String], parameters: [String]) -> String {
        var form = "<form class=\"filters\" id=\"plot\" method=\"get\" action=\"/compare\">\n"
        for item in items { form += "<input type=\"hidden\" name=\"t\" value=\"\(html(item.reference))\">" }
        form += "<label>plot<select name=\"plot\"><option value=\"roc\"\(plot == .roc ? " selected" : "")>ROC curves (log-log)</option>"
        form += "<option value=\"metric\"\(plot == .metric ? " selected" : "")>metric against parameter</option></select></label>\n"
        let chosenMetric = request.value("metric") ?? Self.headlineMetric(metrics)
        form += "<label>metric<select name=\"metric\">"
        for name in metrics { form += "<option\(name == chosenMetric ? " selected" : "")>\(html(name))</option>" }
        form += "</select></label>\n"
        form += "<label>parameter<input type=\"text\" name=\"parameter\" list=\"parameters\" value=\"\(html(request.value("parameter") ?? parameters.first ?? "seed"))\"></label>"
        form += "<datalist id=\"parameters\">" + (parameters + ["seed"]).map { "<option value=\"\(html($0))\">" }.joined() + "</datalist>\n"
        form += "<label>log x<input type=\"checkbox\" name=\"logx\" value=\"1\"\(request.value("logx") == "1" ? " checked" : "")></label>"
        form += "<label>log y<input type=\"checkbox\" name=\"logy\" value=\"1\"\(request.value("logy") == "1" ? " checked" : "")></label>"
        form += "<button type=\"submit\">Plot</button>\n</form>\n"
        return form
    }
}
