import ExperimentReports
import ExperimentSpecs
import ExperimentStore

/// A trial with its run, as the browser's pages list it.
struct BrowsedTrial {
    var run: RunRecord
    var trial: TrialRecord
    /// The swept parameters, as display text.
    var swept: [String: String]

    init(run: RunRecord, trial: TrialRecord) {
        self.run = run
        self.trial = trial
        self.swept = ResultRendering.parameterValues(trial)
    }

    /// `RUN/INDEX`, how a comparison names the trial.
    var reference: String { "\(run.id)/\(trial.index)" }

    func metric(_ name: String) -> Double? { trial.metrics.first { $0.name == name }?.value }

    /// The run's name, trial, swept parameters and `--set` overrides:
    /// `quickstart #0 model.epochs=5 seed=8`.
    var label: String {
        let parameters = swept.keys.sorted().map { "\($0)=\(swept[$0]!)" } + run.overrides
        return "\(run.name) #\(trial.index)" + (parameters.isEmpty ? "" : " " + parameters.joined(separator: " "))
    }

    /// Labels for `items`, each made unique by the end of its run id where two would read alike.
    static func distinctLabels(_ items: [BrowsedTrial]) -> [String] {
        let labels = items.map(\.label)
        var counts: [String: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        return zip(items, labels).map { item, label in counts[label]! > 1 ? "\(label) (\(item.run.id.suffix(4)))" : label }
    }
}

/// The value of any spec key for a trial: a swept parameter, the trial's `seed`, or the key's
/// value in the spec body the trial ran (the run's stored spec text with its `--set` overrides
/// and the trial's sweep values applied), as display text.
///
/// Specs are parsed once per run and only when a key is not swept; a spec that no longer parses
/// (a kind this build does not know is no problem: only the document is read) gives no value.
final class ParameterResolver {
    private var bodies: [String: [Int: SpecNode]] = [:]

    func value(_ key: String, of item: BrowsedTrial) -> String? {
        if let swept = item.swept[key] { return swept }
        if key == "seed" { return String(item.trial.seed) }
        if bodies[item.run.id] == nil {
            var byIndex: [Int: SpecNode] = [:]
            if let document = try? ExperimentDocument(yaml: item.run.specText, file: item.run.specFile, overrides: item.run.overrides,
                                                      knownKinds: [item.run.kind]),
               let trials = try? document.trials() {
                for trial in trials { byIndex[trial.index] = trial.body }
            }
            bodies[item.run.id] = byIndex
        }
        guard var node = bodies[item.run.id]?[item.trial.index] else { return nil }
        for step in key.split(separator: ".", omittingEmptySubsequences: false) {
            guard let child = node[String(step)] else { return nil }
            node = child
        }
        return node.displayText
    }
}
