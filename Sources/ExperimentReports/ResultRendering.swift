import ExperimentSpecs
import ExperimentStore
import Foundation

/// Text and JSON renderings of a run's results (the CLI's table, `--json`, `runs export`).
public enum ResultRendering {
    /// DESIGN.md's machine-readable result:
    /// `{"run": …, "name": …, "kind": …, "seed": …, "trials": [{"params": {…}, "metrics": {…}}]}`.
    public static func json(run: RunRecord, trials: [TrialRecord]) -> String {
        var out = "{\"run\":\(SpecNode.jsonString(run.id)),\"name\":\(SpecNode.jsonString(run.name)),\"kind\":\(SpecNode.jsonString(run.kind)),"
        out += "\"seed\":\(run.seed),\"status\":\(SpecNode.jsonString(run.status.rawValue)),\"code\":\(SpecNode.jsonString(run.codeVersion)),\"trials\":["
        out += trials.map { trial in
            let metrics = trial.metrics.sorted { $0.name < $1.name }.map { "\(SpecNode.jsonString($0.name)):\(number($0.value))" }
            var item = "{\"index\":\(trial.index),\"params\":\(trial.parameters),\"status\":\(SpecNode.jsonString(trial.status.rawValue)),"
            item += "\"metrics\":{\(metrics.joined(separator: ","))}"
            if let error = trial.error { item += ",\"error\":\(SpecNode.jsonString(error))" }
            return item + "}"
        }.joined(separator: ",")
        return out + "]}"
    }

    /// One run without its trials, as `runs list --json` prints it.
    public static func jsonSummary(run: RunRecord) -> String {
        var out = "{\"run\":\(SpecNode.jsonString(run.id)),\"name\":\(SpecNode.jsonString(run.name)),\"kind\":\(SpecNode.jsonString(run.kind)),"
        out += "\"seed\":\(run.seed),\"status\":\(SpecNode.jsonString(run.status.rawValue)),\"trials\":\(run.trialCount),"
        out += "\"created\":\(SpecNode.jsonString(ISO8601DateFormatter().string(from: run.createdAt))),"
        out += "\"spec_file\":\(SpecNode.jsonString(run.specFile)),\"code\":\(SpecNode.jsonString(run.codeVersion))}"
        return out
    }

    /// A JSON number, or null for NaN and infinities.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// One row per trial: its swept parameters and every metric (CSV).
    public static func csv(run: RunRecord, trials: [TrialRecord]) -> String {
        let parameterNames = orderedParameterNames(trials)
        let metricNames = Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
        var lines = [(["run", "trial", "status"] + parameterNames + metricNames).map(csvField).joined(separator: ",")]
        for trial in trials {
            let parameters = parameterValues(trial)
            var row = [run.id, String(trial.index), trial.status.rawValue]
            row += parameterNames.map { parameters[$0] ?? "" }
            row += metricNames.map { name in trial.metrics.first { $0.name == name }.map { "\($0.value)" } ?? "" }
            lines.append(row.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A CSV field: quoted (inner quotes doubled) when it holds a comma, a quote or a newline.
    public static func csvField(_ s: String) -> String {
        s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// A fixed-width table: parameters then metrics, one row per trial (metrics with 4
    /// significant digits).
    public static func table(trials: [TrialRecord], metrics wanted: [String]? = nil) -> String {
        let parameterNames = orderedParameterNames(trials)
        let metricNames = wanted ?? Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
        let header = ["trial"] + parameterNames + metricNames
        var rows: [[String]] = []
        for trial in trials {
            let parameters = parameterValues(trial)
            var row = [String(trial.index)] + parameterNames.map { parameters[$0] ?? "" }
            row += metricNames.map { name in
                guard trial.status == .complete else { return trial.status.rawValue }
                return trial.metrics.first { $0.name == name }.map { format($0.value) } ?? "–"
            }
            rows.append(row)
        }
        return renderTable(header: header, rows: rows)
    }

    /// Metrics down the rows, trials across: easier to read when there are many metrics and few
    /// trials.
    public static func transposedTable(trials: [TrialRecord]) -> String {
        let metricNames = Array(Set(trials.flatMap { $0.metrics.map(\.name) })).sorted()
        let header = ["metric"] + trials.map { trial in
            let p = parameterValues(trial)
            return p.isEmpty ? "trial \(trial.index)" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
        }
        let rows = metricNames.map { name in
            [name] + trials.map { trial in trial.metrics.first { $0.name == name }.map { format($0.value) } ?? "–" }
        }
        return renderTable(header: header, rows: rows)
    }

    /// For membership-inference results: per trial, one row per attack with AUC and TPR at
    /// 10%, 1%, 0.1% and 0% FPR (the field's headline numbers), advantage and empirical ε;
    /// `nil` when the trials hold no attack metrics.
    public static func attackTable(trials: [TrialRecord]) -> String? {
        let columns = [("AUC", "auc"), ("TPR@10%", "tpr@0.1"), ("TPR@1%", "tpr@0.01"), ("TPR@0.1%", "tpr@0.001"),
                       ("TPR@0%", "tpr@0"), ("advantage", "advantage"), ("ε lower bound", "epsilon")]
        var out = ""
        for trial in trials {
            let attacks = trial.metrics.compactMap { m -> String? in
                guard let dot = m.name.firstIndex(of: "."), m.name[m.name.index(after: dot)...] == "tpr@0.01" else { return nil }
                return String(m.name[..<dot])
            }
            guard !attacks.isEmpty else { continue }
            let p = parameterValues(trial)
            let target = ["train_accuracy", "test_accuracy"].compactMap { name in
                trial.metrics.first { $0.name == "target.\(name)" }.map { "\(name.replacingOccurrences(of: "_", with: " ")) \(format($0.value))" }
            }.joined(separator: ", ")
            out += (p.isEmpty ? "" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ") + " · ") + "target: \(target)\n"
            // A value with a bootstrap interval shows it: "0.6955 [0.661, 0.729]".
            let rows = attacks.map { attack in
                [attack] + columns.map { _, suffix in
                    guard let value = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)" })?.value else { return "–" }
                    guard let low = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)_low" })?.value,
                          let high = trial.metrics.first(where: { $0.name == "\(attack).\(suffix)_high" })?.value else { return format(value) }
                    return "\(format(value)) [\(format(low)), \(format(high))]"
                }
            }
            out += renderTable(header: ["attack"] + columns.map(\.0), rows: rows)
            if trial.metrics.contains(where: { $0.name.hasSuffix(".auc_low") }) {
                out += "(brackets: bootstrap confidence intervals over the audited records, attack.confidence level)\n"
            }
            if let negatives = trial.metrics.first(where: { $0.name == "target.non_members" })?.value, negatives > 0, negatives < 1e15 {
                let unresolved = [(0.01, "1%"), (0.001, "0.1%"), (0.0001, "0.01%")].filter { $0.0 * negatives < 1 }.map(\.1)
                if !unresolved.isEmpty {
                    out += "(\(Int(negatives)) non-members resolve FPR down to \(format(100 / negatives))%: TPR at \(unresolved.joined(separator: ", ")) FPR equals TPR at 0%)\n"
                }
            }
            out += "\n"
        }
        return out.isEmpty ? nil : out
    }

    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded() && abs(value) < 1e9 { return String(Int64(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e6 {
            let digits = max(0, 3 - Int(Foundation.floor(Foundation.log10(magnitude))))
            return String(format: "%.\(digits)f", value)
        }
        return String(format: "%.3e", value)
    }

    public static func renderTable(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }

    public static func orderedParameterNames(_ trials: [TrialRecord]) -> [String] {
        var names: [String] = []
        for trial in trials { for key in parameterValues(trial).keys.sorted() where !names.contains(key) { names.append(key) } }
        return names
    }

    /// The swept parameters of a trial as display text.
    public static func parameterValues(_ trial: TrialRecord) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(trial.parameters.utf8)) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object {
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                result[key] = String(decoding: data, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return result
    }
}
