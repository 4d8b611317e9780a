import Foundation
import ExperimentReports
import ExperimentStore

// MARK: - The runs and trials listing (`/`)

extension ResultsBrowser {
    /// The listing's query, decoded.
    struct ListingQuery {
        var kind: String?
        var name: String?
        var run: String?
        var parameterFilters: [TrialFilter] = []
        var metricFilters: [TrialFilter] = []
        var columns: String
        var limit: Int

        init(_ request: BrowserRequest) throws(BrowserError) {
            kind = request.value("kind")
            name = request.value("name")
            run = request.value("run")
            // Several conditions: the item repeated, or separated by ';' in one box.
            for text in request.values("param").flatMap({ $0.split(separator: ";") }) where !text.trimmingWhitespace.isEmpty {
                parameterFilters.append(try TrialFilter(parsing: String(text), what: "parameter"))
            }
            for text in request.values("metric").flatMap({ $0.split(separator: ";") }) where !text.trimmingWhitespace.isEmpty {
                metricFilters.append(try TrialFilter(parsing: String(text), what: "metric"))
            }
            columns = request.value("columns") ?? ResultsBrowser.defaultColumns
            guard columns.count <= 1000 else { throw .badRequest("the columns list is longer than 1000 characters") }
            let limitText = request.value("limit") ?? "200"
            guard let limit = Int(limitText), (1...ResultsBrowser.maximumRuns).contains(limit) else {
                throw .badRequest("limit '\(limitText.prefix(20))' must be a whole number in 1…\(ResultsBrowser.maximumRuns)")
            }
            self.limit = limit
        }
    }

    func listing(_ request: BrowserRequest, format: Format) throws(BrowserError) -> BrowserResponse {
        let query = try ListingQuery(request)
        let allRuns: [RunRecord]
        if let id = query.run {
            let one = try read { () throws(StoreError) in try store.run(id) }
            allRuns = [one]
        } else {
            allRuns = try read { () throws(StoreError) in try store.runs(limit: query.limit) }
        }
        let kinds = Array(Set(allRuns.map(\.kind))).sorted()
        let runs = allRuns.filter { run in
            (query.kind.map { run.kind == $0 } ?? true)
                && (query.name.map { run.name.localizedCaseInsensitiveContains($0) || run.id.hasPrefix($0) } ?? true)
        }
        let resolver = ParameterResolver()
        var rows: [BrowsedTrial] = []
        var truncated = false
        scan: for run in runs {
            let trials = try read { () throws(StoreError) in try store.trials(runID: run.id) }
            for trial in trials {
                let item = BrowsedTrial(run: run, trial: trial)
                guard query.parameterFilters.allSatisfy({ $0.accepts(resolver.value($0.key, of: item)) }),
                      query.metricFilters.allSatisfy({ f in f.accepts(item.metric(f.key).map { "\($0)" }) }) else { continue }
                guard rows.count < Self.maximumRows else {
                    truncated = true
                    break scan
                }
                rows.append(item)
            }
        }
        // Columns: the swept parameters, the keys filtered on, then the metrics asked for.
        var parameterNames = ResultRendering.orderedParameterNames(rows.map(\.trial))
        for filter in query.parameterFilters where !parameterNames.contains(filter.key) { parameterNames.append(filter.key) }
        let patterns = query.columns.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        let metricNames = ReportWriter.selectedMetrics(trials: rows.map(\.trial), patterns: patterns)
        let allMetrics = Array(Set(rows.flatMap { $0.trial.metrics.map(\.name) })).sorted()

        let header = ["run", "name", "kind", "status", "overrides", "trial", "trial status"] + parameterNames + metricNames
        func cells(_ item: BrowsedTrial) -> [String] {
            [item.run.id, item.run.name, item.run.kind, item.run.status.rawValue, item.run.overrides.joined(separator: " "),
             String(item.trial.index), item.trial.status.rawValue]
                + parameterNames.map { resolver.value($0, of: item) ?? "" }
                + metricNames.map { name in item.metric(name).map(ResultRendering.format) ?? "" }
        }
        if format == .csv {
            // Full precision in CSV: the numbers as stored.
            return csv([header] + rows.map { item in
                Array(cells(item).prefix(7 + parameterNames.count)) + metricNames.map { name in item.metric(name).map { "\($0)" } ?? "" }
            }, fileName: "privacy-lab-runs")
        }
        let mode = format.mode
        var body = "<h1>Runs and trials</h1>\n"
        body += "<p class=\"muted\" id=\"summary\">\(rows.count) trial\(rows.count == 1 ? "" : "s") of \(runs.count) run\(runs.count == 1 ? "" : "s")"
        body += " (store <code>\(html(store.url.lastPathComponent))</code>, read-only)\(filterSummary(query))</p>\n"
        if truncated {
            body += "<p class=\"error\" id=\"truncated\">Only the first \(Self.maximumRows) matching trials are shown: narrow the filters.</p>\n"
        }
        if mode.isServed {
            body += filterForm(query, kinds: kinds)
            body += "<div class=\"actions\">\(exportLinks(request))</div>\n"
        }
        if rows.isEmpty {
            body += "<p id=\"empty\">No trial matches.</p>\n"
        } else {
            if mode.isServed { body += "<form id=\"compare\" method=\"get\" action=\"/compare\"></form>\n" }
            body += "<table id=\"trials\">\n<thead><tr>" + (mode.isServed ? "<th>compare</th>" : "")
            body += header.map { "<th>\(html($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for item in rows {
                let values = cells(item)
                body += "<tr data-run=\"\(html(item.run.id))\" data-trial=\"\(item.trial.index)\">"
                if mode.isServed {
                    body += "<td><input type=\"checkbox\" name=\"t\" value=\"\(html(item.reference))\" form=\"compare\" aria-label=\"select \(html(item.label))\"></td>"
                }
                body += "<td class=\"id\">\(HTMLPage.anchor(item.run.id, href: link("/", [("run", item.run.id)]), mode: mode))</td>"
                body += "<td>\(html(item.run.name))</td><td>\(html(item.run.kind))</td>"
                body += "<td class=\"status-\(html(item.run.status.rawValue))\">\(html(item.run.status.rawValue))</td>"
                body += "<td>\(html(values[4]))</td>"
                body += "<td>\(HTMLPage.anchor("#\(item.trial.index)", href: link("/trial", [("run", item.run.id), ("index", String(item.trial.index))]), mode: mode))</td>"
                body += "<td class=\"status-\(html(item.trial.status.rawValue))\">\(html(item.trial.status.rawValue))</td>"
                for value in values.dropFirst(7).prefix(parameterNames.count) { body += "<td>\(html(value))</td>" }
                for (name, value) in zip(metricNames, values.suffix(metricNames.count)) {
                    body += "<td class=\"num\" data-metric=\"\(html(name))\">\(html(value))</td>"
                }
                body += "</tr>\n"
            }
            body += "</tbody>\n</table>\n"
            if mode.isServed { body += compareControls(metrics: allMetrics, parameters: parameterNames) }
        }
        return render(title: "PrivacyLab runs", body: body, format: format, fileName: "privacy-lab-runs")
    }

    func filterSummary(_ query: ListingQuery) -> String {
        var parts: [String] = []
        if let kind = query.kind { parts.append("kind \(kind)") }
        if let name = query.name { parts.append("name contains “\(name)”") }
        if let run = query.run { parts.append("run \(run)") }
        parts += (query.parameterFilters + query.metricFilters).map(\.text)
        return parts.isEmpty ? "" : "; filters: " + html(parts.joined(separator: ", "))
    }

    func filterForm(_ query: ListingQuery, kinds: [String]) -> String {
        var form = "<form class=\"filters\" id=\"filters\" method=\"get\" action=\"/\">\n"
        form += "<label>kind<select name=\"kind\"><option value=\"\">any</option>"
        for kind in kinds { form += "<option\(kind == query.kind ? " selected" : "")>\(html(kind))</option>" }
        form += "</select></label>\n"
        form += "<label>name or run id<input type=\"text\" name=\"name\" value=\"\(html(query.name ?? ""))\" placeholder=\"quickstart\"></label>\n"
        form += "<label>parameters<input type=\"text\" name=\"param\" value=\"\(html(query.parameterFilters.map(\.text).joined(separator: "; ")))\" placeholder=\"model.epochs>=10; seed=7\"></label>\n"
        form += "<label>metrics<input type=\"text\" name=\"metric\" value=\"\(html(query.metricFilters.map(\.text).joined(separator: "; ")))\" placeholder=\"lira.auc>0.6\"></label>\n"
        form += "<label>metric columns<input type=\"text\" name=\"columns\" value=\"\(html(query.columns))\" size=\"32\"></label>\n"
        if let run = query.run { form += "<input type=\"hidden\" name=\"run\" value=\"\(html(run))\">" }
        form += "<button type=\"submit\">Filter</button> <a href=\"/\">clear</a>\n</form>\n"
        return form
    }

    /// The controls of the comparison form (its checkboxes sit in the table rows).
    func compareControls(metrics: [String], parameters: [String]) -> String {
        var form = "<div class=\"actions\"><span class=\"muted\">Selected trials:</span>"
        form += "<label><input type=\"radio\" name=\"plot\" value=\"roc\" form=\"compare\" checked> ROC curves (log-log)</label>"
        form += "<label><input type=\"radio\" name=\"plot\" value=\"metric\" form=\"compare\"> metric</label>"
        form += "<select name=\"metric\" form=\"compare\" aria-label=\"metric\">"
        let headline = Self.headlineMetric(metrics)
        for name in metrics { form += "<option\(name == headline ? " selected" : "")>\(html(name))</option>" }
        form += "</select><label>against <input type=\"text\" name=\"parameter\" form=\"compare\" list=\"parameters\" value=\"\(html(parameters.first ?? "seed"))\" aria-label=\"parameter\"></label>"
        form += "<datalist id=\"parameters\">" + (parameters + ["seed"]).map { "<option value=\"\(html($0))\">" }.joined() + "</datalist>"
        form += "<button type=\"submit\" form=\"compare\">Compare</button></div>\n"
        return form
    }
}
