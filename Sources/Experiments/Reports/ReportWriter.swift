import Codecs
import Foundation
import GRDB

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
                try AtomicFile.write(Data(svg.utf8), to: url)
                written.append(url)
            }
            let (gridSection, grids) = try imageGrids(trials: trials, outcomes: outcomes, store: store, figurePrefix: run.id)
            markdown += gridSection
            for (name, png) in grids {
                let url = directory.appendingPathComponent(name)
                try AtomicFile.write(png, to: url)
                written.append(url)
            }
        }
        let report = directory.appendingPathComponent("report.md")
        try AtomicFile.write(Data(markdown.utf8), to: report)
        return [report] + written
    }

    /// The Markdown section of one run and its figures (file name → SVG text).
    public static func render(run: RunRecord, trials: [TrialRecord], outcomes: [TrialOutcome], figurePrefix: String,
                              includeProvenance: Bool = true) -> (String, [(String, String)]) {
        var md = ""
        var figures: [(String, String)] = []
        if includeProvenance {
            md += "## \(run.name)\n\n"
            md += "Run `\(run.id)` · kind `\(run.kind)` · seed \(run.seed) · \(run.status.rawValue) · PrivacyLab \(run.codeVersion)\n\n"
            md += "Spec `\(run.specFile)`\(run.overrides.isEmpty ? "" : " with `--set \(run.overrides.joined(separator: " "))`"):\n\n"
            md += "```yaml\n\(run.specText.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n\n"
        }
        md += markdownTable(trials: trials) + "\n"
        // One figure per series name, trials overlaid.
        var names: [String] = []
        for outcome in outcomes { for s in outcome.series where !names.contains(s.name) { names.append(s.name) } }
        for name in names {
            var lines: [Series] = []
            for (trial, outcome) in zip(trials, outcomes) {
                for s in outcome.series where s.name == name && !s.x.isEmpty {
                    var labelled = s
                    let p = ResultRendering.parameterValues(trial)
                    let trialLabel = p.isEmpty ? (trials.count == 1 ? nil : "trial \(trial.index)") : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
                    labelled.name = [s.label, trialLabel].compactMap { $0 }.joined(separator: " ")
                    if labelled.name.isEmpty { labelled.name = name }
                    lines.append(labelled)
                }
            }
            guard let first = lines.first else { continue }
            let file = "\(figurePrefix)-\(slug(name)).svg"
            let isROC = first.logX && first.logY
            if name.hasSuffix("robustness_curve") {
                figures.append((file, Figures.robustnessCurve(title: name, series: lines, xLabel: first.xLabel)))
            } else {
                figures.append((file, Figures.linePlot(title: name, series: lines, xLabel: first.xLabel, yLabel: first.yLabel,
                                                       logX: first.logX, logY: first.logY, diagonal: isROC)))
            }
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
                let points = zip(parameterSets, trials).compactMap { p, t -> (Double, Double)? in
                    guard let x = p[key].flatMap(Double.init), let y = t.metrics.first(where: { $0.name == metric })?.value, y.isFinite else { return nil }
                    return (x, y)
                }.sorted { $0.0 < $1.0 }
                guard points.count > 1, Set(points.map(\.1)).count > 1 else { continue }
                let file = "\(figurePrefix)-\(slug(metric))-vs-\(slug(key)).svg"
                figures.append((file, Figures.linePlot(title: "\(metric) against \(key)",
                                                       series: [Series(name: metric, x: points.map(\.0), y: points.map(\.1), xLabel: key, yLabel: metric)],
                                                       xLabel: key, yLabel: metric)))
                md += "![\(metric) against \(key)](\(file))\n\n"
            }
        }
        return (md, figures)
    }

    /// The image grids the trials stored (artifacts whose role is `image-grid/<name>/<columns>`,
    /// `.npy` arrays [images, height, width] of values in [0, 1]) as PNG files, and the Markdown
    /// that shows them. Missing or unreadable artifacts are skipped.
    public static func imageGrids(trials: [TrialRecord], outcomes: [TrialOutcome], store: ResultStore,
                                  figurePrefix: String) throws -> (String, [(String, Data)]) {
        var md = ""
        var files: [(String, Data)] = []
        for (trial, outcome) in zip(trials, outcomes) {
            for artifact in outcome.artifacts where artifact.role.hasPrefix("image-grid/") {
                let parts = artifact.role.split(separator: "/").map(String.init)
                guard parts.count == 3, let columns = Int(parts[2]), columns > 0 else { continue }
                let path = try store.access { db in
                    try String.fetchOne(db, sql: "SELECT path FROM artifacts WHERE key = ?", arguments: [artifact.key])
                }
                guard let path, let data = try? Data(contentsOf: store.artifactsDirectory.appendingPathComponent(path)),
                      let array = try? NumpyArray(npy: data, source: path), array.shape.count == 3, array.shape[0] > 0 else { continue }
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

    /// A Markdown table: parameters then metrics, one row per trial.
    public static func markdownTable(trials: [TrialRecord]) -> String {
        let parameterNames = ResultRendering.orderedParameterNames(trials)
        let metricNames = Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
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
