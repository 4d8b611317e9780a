import Codecs
import ExperimentStore
import Foundation

/// Markdown reports of stored runs, with SVG figures beside them.
///
/// For each run: its spec and provenance, the result table, one figure per series name
/// (training curves, ROC curves — overlaid across trials), and, when the run swept one numeric
/// parameter, each metric against it. Files are deterministic for the same stored results.
public enum ReportWriter {
    /// Writes `report.md` (and figures) for the runs into `directory`; returns the files written.
    public static func write(runIDs: [String], store: ResultStore, to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var markdown = "# PrivacyLab report\n\n"
        var written: [URL] = []
        for id in runIDs {
            let run = try store.run(id)
            let trials = try store.trials(runID: run.id)
            let outcomes = try trials.map { try store.outcome(runID: run.id, index: $0.index) }
            let (section, figures) = render(run: run, trials: trials, outcomes: outcomes, figurePrefix: run.id)
            markdown += section
            for (name, svg) in figures {
                let url = directory.appendingPathComponent(name)
                try OutputFile.write(Data(svg.utf8), to: url)
                written.append(url)
            }
            let (gridSection, grids) = try imageGrids(trials: trials, outcomes: outcomes, store: store, figurePrefix: run.id)
            markdown += gridSection
            for (name, png) in grids {
                let url = directory.appendingPathComponent(name)
                try OutputFile.write(png, to: url)
                written.append(url)
            }
        }
        let report = directory.appendingPathComponent("report.md")
        try OutputFile.write(Data(markdown.utf8), to: report)
        return [report] + written
    }

    /// The Markdown section of one run and its figures (file name → SVG text).
    /// - Parameter metrics: when given, the table shows only the metrics matching these names
    ///   (`*` matches any run of characters), in this order; otherwise membership attacks get one
    ///   row per attack (with bootstrap intervals where computed) and other metrics one column each.
    public static func render(run: RunRecord, trials: [TrialRecord], outcomes: [TrialOutcome], figurePrefix: String,
                              includeProvenance: Bool = true, metrics selection: [String]? = nil,
                              layout: TableLayout = .trials) -> (String, [(String, String)]) {
        var md = ""
        var figures: [(String, String)] = []
        if includeProvenance {
            md += "## \(run.name)\n\n"
            md += "Run `\(run.id)` · kind `\(run.kind)` · seed \(run.seed) · \(run.status.rawValue) · PrivacyLab \(run.codeVersion)\n\n"
            md += "Spec `\(run.specFile)`\(run.overrides.isEmpty ? "" : " with `--set \(run.overrides.joined(separator: " "))`"):\n\n"
            md += "```yaml\n\(run.specText.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n\n"
        }
        if let selection {
            let chosen = selectedMetrics(trials: trials, patterns: selection)
            switch layout {
            case .trials: md += markdownTable(trials: trials, metrics: chosen) + "\n"
            case .parts: md += markdownPartsTable(trials: trials, metrics: chosen) + "\n"
            }
        } else if let attacks = markdownAttackTable(trials: trials) {
            md += attacks + "\n"
            let others = Array(Set(trials.flatMap { $0.metrics.map(\.name) }.filter { !attackParts(trials).contains(String($0.prefix { $0 != "." })) })).sorted()
            if !others.isEmpty { md += markdownTable(trials: trials, metrics: others) + "\n" }
        } else {
            md += markdownTable(trials: trials) + "\n"
        }
        // Reports name the run's id under each title; notebooks, whose outputs must reproduce
        // exactly, name the run by its spec name alone.
        let runSubtitle: String? = includeProvenance ? "run \(run.id)" : nil
        // One figure per series name, trials overlaid.
        var names: [String] = []
        for outcome in outcomes { for s in outcome.series where !names.contains(s.name) { names.append(s.name) } }
        for name in names {
            let curves = zip(trials, outcomes).map { trial, outcome in
                let p = ResultRendering.parameterValues(trial)
                let label = p.isEmpty ? (trials.count == 1 ? nil : "trial \(trial.index)") : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
                return OverlaidTrial(trial: trial, outcome: outcome, label: label)
            }
            guard let svg = overlayFigure(name: name, title: "\(run.name): \(name)", subtitle: runSubtitle, trials: curves) else { continue }
            let file = "\(figurePrefix)-\(slug(name)).svg"
            figures.append((file, svg))
            md += "![\(name)](\(file))\n\n"
        }
        // Each metric against a single swept numeric parameter.
        let parameterSets = trials.map(ResultRendering.parameterValues)
        let sweptKeys = Set(parameterSets.flatMap(\.keys))
        if sweptKeys.count == 1, let key = sweptKeys.first, trials.count > 1,
           parameterSets.allSatisfy({ $0[key].flatMap(Double.init) != nil }) {
            var metricNames = Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
            if metricNames.count > 8 {
                // Many metrics: plot the headline ones (AUC, TPR at 0.1% FPR, ε, accuracies).
                let headline = [".auc", ".tpr@0.001", ".epsilon", ".test_accuracy", ".train_accuracy", ".attack_success_rate"]
                metricNames = metricNames.filter { name in headline.contains { name.hasSuffix($0) } }
            }
            for metric in metricNames {
                // The accountant's ε against the ε the spec asked for says nothing: the audit figure below shows it.
                if metric == "dp.epsilon" && key.hasSuffix("epsilon") { continue }
                let points = zip(parameterSets, trials).compactMap { p, t -> (Double, Double)? in
                    guard let x = p[key].flatMap(Double.init), let y = t.metrics.first(where: { $0.name == metric })?.value, y.isFinite else { return nil }
                    return (x, y)
                }.sorted { $0.0 < $1.0 }
                guard points.count > 1, Set(points.map(\.1)).count > 1 else { continue }
                let file = "\(figurePrefix)-\(slug(metric))-vs-\(slug(key)).svg"
                // ε spans orders of magnitude: log axes.
                let logX = key.hasSuffix("epsilon") && points.allSatisfy { $0.0 > 0 }
                let logY = metric.hasSuffix(".epsilon") && points.allSatisfy { $0.1 > 0 }
                figures.append((file, Figures.linePlot(title: "\(run.name): \(metric) against \(key)", subtitle: runSubtitle,
                                                       series: [Series(name: metric, x: points.map(\.0), y: points.map(\.1), xLabel: key, yLabel: metric)],
                                                       xLabel: key, yLabel: metric, logX: logX, logY: logY)))
                md += "![\(metric) against \(key)](\(file))\n\n"
            }
        }
        // An audit of DP training: each attack's empirical ε lower bound against the accountant's
        // ε, on log axes with y = x (a bound above the line would contradict the accountant).
        let accountant = trials.map { t in t.metrics.first { $0.name == "dp.epsilon" }?.value }
        if trials.count > 1, accountant.allSatisfy({ ($0 ?? 0) > 0 }) {
            let attacks = Array(Set(trials.flatMap { t in t.metrics.map(\.name).filter { $0.hasSuffix(".epsilon") && $0 != "dp.epsilon" } })).sorted()
            let lines = attacks.compactMap { metric -> Series? in
                let points = zip(accountant, trials).compactMap { a, t -> (Double, Double)? in
                    guard let a, let y = t.metrics.first(where: { $0.name == metric })?.value, y.isFinite else { return nil }
                    return (a, max(y, 1e-3))
                }.sorted { $0.0 < $1.0 }
                guard points.count > 1 else { return nil }
                return Series(name: String(metric.dropLast(".epsilon".count)), x: points.map(\.0), y: points.map(\.1),
                              xLabel: "accountant ε", yLabel: "empirical ε lower bound")
            }
            if !lines.isEmpty {
                let file = "\(figurePrefix)-empirical-vs-accountant-epsilon.svg"
                figures.append((file, Figures.linePlot(title: "\(run.name): empirical ε against the accountant's ε", subtitle: runSubtitle,
                                                       series: lines, xLabel: "accountant ε", yLabel: "empirical ε lower bound",
                                                       logX: true, logY: true, diagonal: true)))
                md += "![empirical ε against the accountant's ε](\(file))\n\n"
            }
        }
        return (md, figures)
    }

    /// A trial whose curves a figure overlays, and the label its curves carry in the legend
    /// (`nil`: the curve's own label alone).
    public struct OverlaidTrial: Sendable {
        public var trial: TrialRecord
        public var outcome: TrialOutcome
        public var label: String?
        public init(trial: TrialRecord, outcome: TrialOutcome, label: String?) {
            self.trial = trial
            self.outcome = outcome
            self.label = label
        }
    }

    /// The figure (SVG) of the curves named `name` (`membership.roc`, `target.loss_curve`) that
    /// the trials stored, overlaid on shared axes; `nil` when none of them stored such a curve.
    ///
    /// Each curve's legend is its own label followed by its trial's; a ROC curve (log-log) also
    /// shows its AUC and TPR at 0.1% FPR and the FPR floor 1/(non-members) below which it has no
    /// points, with the diagonal of a random guess. Robustness curves get a fixed [0, 1] axis.
    /// Reports (one run's trials) and the results browser (trials of several runs) draw their
    /// overlays with it.
    public static func overlayFigure(name: String, title: String, subtitle: String?, trials: [OverlaidTrial]) -> String? {
        var lines: [Series] = []
        for entry in trials {
            let trial = entry.trial
            for s in entry.outcome.series where s.name == name && !s.x.isEmpty {
                var labelled = s
                labelled.name = [s.label, entry.label].compactMap { $0 }.joined(separator: " ")
                if labelled.name.isEmpty { labelled.name = name }
                // ROC legends carry the curve's AUC and TPR at 0.1% FPR.
                if s.logX && s.logY, let part = s.label,
                   let auc = trial.metrics.first(where: { $0.name == "\(part).auc" })?.value,
                   let tpr = trial.metrics.first(where: { $0.name == "\(part).tpr@0.001" })?.value {
                    labelled.name += " (AUC \(String(format: "%.3f", auc)), TPR@0.1% \(ResultRendering.format(tpr)))"
                }
                lines.append(labelled)
            }
        }
        guard let first = lines.first else { return nil }
        let isROC = first.logX && first.logY
        if name.hasSuffix("robustness_curve") {
            return Figures.robustnessCurve(title: title, subtitle: subtitle, series: lines, xLabel: first.xLabel)
        }
        // The FPR resolution floor: below 1/(non-members) the ROC has no points.
        let nonMembers = trials.compactMap { t in t.trial.metrics.first { $0.name.hasSuffix(".non_members") }?.value }.max()
        let marker = isROC ? nonMembers.flatMap { $0 >= 1 ? Figures.Marker(x: 1 / $0, label: "FPR floor 1/\(Int($0))") : nil } : nil
        return Figures.linePlot(title: title, subtitle: subtitle, series: lines, xLabel: first.xLabel, yLabel: first.yLabel,
                                logX: first.logX, logY: first.logY, diagonal: isROC, marker: marker)
    }

    /// The image grids the trials stored (artifacts whose role is `image-grid/<name>/<columns>`,
    /// `.npy` arrays [images, height, width] of values in [0, 1]) as PNG files, and the Markdown
    /// that shows them. Missing, unreadable or altered artifacts (size or SHA-256 no longer those
    /// recorded) are skipped.
    public static func imageGrids(trials: [TrialRecord], outcomes: [TrialOutcome], store: ResultStore,
                                  figurePrefix: String) throws -> (String, [(String, Data)]) {
        var md = ""
        var files: [(String, Data)] = []
        for (trial, outcome) in zip(trials, outcomes) {
            for artifact in outcome.artifacts where artifact.role.hasPrefix("image-grid/") {
                let parts = artifact.role.split(separator: "/").map(String.init)
                guard parts.count == 3, let columns = Int(parts[2]), columns > 0 else { continue }
                // Only an artifact whose size and digest still match the store is parsed.
                guard let data = try ArtifactCache.verifiedData(key: artifact.key, store: store),
                      let array = try? NumpyArray(npy: data, source: artifact.key), array.shape.count == 3,
                      array.shape.allSatisfy({ $0 > 0 }) else { continue }
                let (n, h, w) = (array.shape[0], array.shape[1], array.shape[2])
                let values = array.floats()
                let images = (0..<n).map { i in Array(values[(i * h * w)..<((i + 1) * h * w)]) }
                let scale = max(1, min(4, 96 / max(h, w)))
                let png = Figures.imageGridPNG(images: images, height: h, width: w, columns: columns, scale: scale)
                let p = ResultRendering.parameterValues(trial)
                let label = p.isEmpty ? (trials.count == 1 ? "" : "-trial-\(trial.index)") : "-" + slug(p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: "-"))
                let file = "\(figurePrefix)-\(slug(parts[1]))\(label).png"
                files.append((file, Data(png)))
                md += "![\(parts[1])\(label.isEmpty ? "" : " " + label.dropFirst())](\(file))\n\n"
            }
        }
        return (md, files)
    }

    /// The metric names matching `patterns` (`*` matches any run of characters), pattern by
    /// pattern in the order given, each pattern's matches sorted.
    public static func selectedMetrics(trials: [TrialRecord], patterns: [String]) -> [String] {
        let all = Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
        var chosen: [String] = []
        for pattern in patterns {
            for name in all where matches(name, pattern) && !chosen.contains(name) { chosen.append(name) }
        }
        return chosen
    }

    /// Whether `name` matches `pattern`, whose `*` stands for any run of characters.
    static func matches(_ name: String, _ pattern: String) -> Bool {
        let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count > 1 else { return name == pattern }
        guard name.hasPrefix(pieces[0]) else { return false }
        var rest = name.dropFirst(pieces[0].count)
        for (k, piece) in pieces.enumerated().dropFirst() {
            if k == pieces.count - 1 { return piece.isEmpty || (rest.hasSuffix(piece) && rest.count >= piece.count) }
            guard let found = rest.range(of: piece) else { return false }
            rest = rest[found.upperBound...]
        }
        return true
    }

    /// The membership attacks the trials report (the parts with a `tpr@0.01` metric).
    static func attackParts(_ trials: [TrialRecord]) -> Set<String> {
        Set(trials.flatMap { t in t.metrics.compactMap { m -> String? in
            m.name.hasSuffix(".tpr@0.01") ? String(m.name.dropLast(".tpr@0.01".count)) : nil
        } })
    }

    /// Membership attacks as Markdown: one row per trial and attack, with the swept parameters,
    /// AUC, TPR at 10%, 1% and 0.1% FPR, advantage and the ε lower bound; a value computed with
    /// a bootstrap shows its interval, `0.696 [0.661, 0.729]`. Nil when no trial has an attack.
    public static func markdownAttackTable(trials: [TrialRecord]) -> String? {
        let parts = attackParts(trials)
        guard !parts.isEmpty else { return nil }
        let parameterNames = ResultRendering.orderedParameterNames(trials)
        let columns = [("AUC", "auc"), ("TPR@10%", "tpr@0.1"), ("TPR@1%", "tpr@0.01"), ("TPR@0.1%", "tpr@0.001"),
                       ("advantage", "advantage"), ("ε lower bound", "epsilon")]
        let header = parameterNames + ["attack"] + columns.map(\.0)
        var md = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for trial in trials {
            let p = ResultRendering.parameterValues(trial)
            let attacks = trial.metrics.compactMap { m -> String? in
                m.name.hasSuffix(".tpr@0.01") ? String(m.name.dropLast(".tpr@0.01".count)) : nil
            }
            for attack in attacks {
                func value(_ suffix: String) -> String {
                    guard let v = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)" })?.value else { return "–" }
                    var cell = ResultRendering.format(v)
                    if let low = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)_low" })?.value,
                       let high = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)_high" })?.value {
                        cell += " [\(ResultRendering.format(low)), \(ResultRendering.format(high))]"
                    }
                    return cell
                }
                let cells = parameterNames.map { p[$0] ?? "" } + [attack] + columns.map { value($0.1) }
                md += "| " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return md
    }

    /// How a table of chosen metrics is laid out.
    public enum TableLayout: String, Sendable {
        /// One row per trial (or, with many metrics and few trials, one row per metric).
        case trials
        /// One row per trial and part (the metric name before its first `.`), one column per
        /// rest of the name: `pgd.robust_accuracy@0.3` is row `pgd`, column `robust_accuracy@0.3`.
        case parts
    }

    /// A Markdown table of `metrics` with one row per trial and part, the swept parameters first,
    /// then the part, then one column per distinct rest of a metric name, in the order the
    /// metrics are given; a part without that metric shows `–`.
    public static func markdownPartsTable(trials: [TrialRecord], metrics: [String]) -> String {
        var parts: [String] = []
        var columns: [String] = []
        for name in metrics {
            let part = String(name.prefix { $0 != "." })
            let rest = name.count > part.count ? String(name.dropFirst(part.count + 1)) : name
            if !parts.contains(part) { parts.append(part) }
            if !columns.contains(rest) { columns.append(rest) }
        }
        let parameterNames = ResultRendering.orderedParameterNames(trials)
        let header = parameterNames + ["part"] + columns
        var md = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for trial in trials {
            let p = ResultRendering.parameterValues(trial)
            for part in parts {
                let values = columns.map { column -> String in
                    guard trial.status == .complete else { return trial.status.rawValue }
                    return trial.metrics.first { $0.name == part + "." + column }.map { ResultRendering.format($0.value) } ?? "–"
                }
                guard values.contains(where: { $0 != "–" }) else { continue }
                md += "| " + (parameterNames.map { p[$0] ?? "" } + [part] + values).joined(separator: " | ") + " |\n"
            }
        }
        return md
    }

    /// A Markdown table: parameters then metrics (all, or those given), one row per trial.
    public static func markdownTable(trials: [TrialRecord], metrics: [String]? = nil) -> String {
        let parameterNames = ResultRendering.orderedParameterNames(trials)
        let metricNames = metrics ?? Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
        if metricNames.count > 8 && trials.count <= 6 {
            // Metrics down, trials across.
            var header = ["metric"]
            for trial in trials {
                let p = ResultRendering.parameterValues(trial)
                header.append(p.isEmpty ? "value" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: ", "))
            }
            var md = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
            for name in metricNames {
                md += "| \(name) | " + trials.map { t in t.metrics.first { $0.name == name }.map { ResultRendering.format($0.value) } ?? "–" }
                    .joined(separator: " | ") + " |\n"
            }
            return md
        }
        let header = parameterNames + metricNames
        var md = "| " + (header.isEmpty ? ["trial"] : header).joined(separator: " | ") + " |\n"
        md += "|" + (header.isEmpty ? ["trial"] : header).map { _ in "---" }.joined(separator: "|") + "|\n"
        for trial in trials {
            let p = ResultRendering.parameterValues(trial)
            let cells = parameterNames.map { p[$0] ?? "" } + metricNames.map { name in
                trial.status == .complete ? (trial.metrics.first { $0.name == name }.map { ResultRendering.format($0.value) } ?? "–") : trial.status.rawValue
            }
            md += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return md
    }

    static func slug(_ s: String) -> String {
        String(s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }).split(separator: "-").joined(separator: "-")
    }
}
