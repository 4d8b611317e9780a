import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Notebook block options, figure names, deleting runs and collecting artifacts")
struct NotebookOptionsAndStoreCareTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])
    static let block = """
    ```privacy-lab metrics=target.test_*,target.parameters
    version: 1
    name: chosen-metrics
    kind: train
    data: {dataset: synthetic-gaussian, samples: 120}
    model: {epochs: 1}
    sweep:
      model.epochs: [1, 2]
    ```
    """

    @Test("metrics= on the fence picks the table's columns in order; figures are named after the run, so a renamed copy reproduces")
    func metricsOptionAndFigureNames() async throws {
        let w = try Workspace()
        let first = try w.write("first.md", "# A\n\n\(Self.block)\n")
        let copy = try w.write("renamed copy.md", "# A\n\n\(Self.block)\n")
        let a = try await Notebook(url: first).run(runner: runner, options: w.options(jobs: 1), figuresDirectory: w.url.appendingPathComponent("a/figures"))
        let b = try await Notebook(url: copy).run(runner: runner, options: w.options(jobs: 1), figuresDirectory: w.url.appendingPathComponent("b/figures"))
        #expect(a == b)
        let header = try #require(a[0].split(separator: "\n").first { $0.hasPrefix("| model.epochs") })
        #expect(header == "| model.epochs | target.test_accuracy | target.test_loss | target.parameters |")
        #expect(!a[0].contains("train_accuracy |"))
        let figures = try FileManager.default.contentsOfDirectory(atPath: w.url.appendingPathComponent("a/figures").path)
        #expect(!figures.isEmpty && figures.allSatisfy { $0.hasPrefix("chosen-metrics-") })
    }

    @Test("layout=parts gives one row per trial and part, one column per rest of a metric name")
    func partsLayout() throws {
        func trial(_ index: Int, epochs: Int, _ metrics: [(String, Double)]) -> TrialRecord {
            TrialRecord(runID: "r", index: index, parameters: "{\"model.epochs\":\(epochs)}", seed: 1, trialKey: "k\(index)",
                        status: .complete, error: nil, seconds: 1, metrics: metrics.map { Metric(name: $0.0, value: $0.1) })
        }
        let trials = [trial(0, epochs: 1, [("pgd.robust_accuracy@0.1", 0.5), ("pgd.robust_accuracy@0.3", 0.25), ("fgsm.robust_accuracy@0.1", 0.75)]),
                      trial(1, epochs: 2, [("pgd.robust_accuracy@0.1", 0.9), ("fgsm.robust_accuracy@0.1", 1)])]
        let chosen = ReportWriter.selectedMetrics(trials: trials, patterns: ["fgsm.*", "pgd.*"])
        let table = ReportWriter.markdownPartsTable(trials: trials, metrics: chosen).split(separator: "\n").map(String.init)
        #expect(table == ["| model.epochs | part | robust_accuracy@0.1 | robust_accuracy@0.3 |", "|---|---|---|---|",
                          "| 1 | fgsm | 0.7500 | – |", "| 1 | pgd | 0.5000 | 0.2500 |",
                          "| 2 | fgsm | 1 | – |", "| 2 | pgd | 0.9000 | – |"])
        let w = try Workspace()
        let bad = try w.write("n.md", "intro\n\n```privacy-lab layout=parts\nversion: 1\n```\n")
        #expect { _ = try Notebook(url: bad).blocks() } throws: { error in
            "\(error)".contains("n.md:3") && "\(error)".contains("layout=parts needs metrics=")
        }
        let good = try w.write("m.md", "intro\n\n```privacy-lab metrics=pgd.* layout=parts\nversion: 1\n```\n")
        #expect(try Notebook(url: good).blocks().first?.layout == .parts)
    }

    @Test("an unknown fence option is one error naming the notebook's line")
    func unknownOption() throws {
        let w = try Workspace()
        let url = try w.write("n.md", "intro\n\n```privacy-lab colour=red\nversion: 1\n```\n")
        #expect { _ = try Notebook(url: url).blocks() } throws: { error in
            "\(error)".contains("n.md:3") && "\(error)".contains("'colour=red' is not a block option")
        }
    }

    @Test("runs delete removes a run and its results; gc removes only artifacts no trial uses, and stray files")
    func deleteAndCollect() async throws {
        let w = try Workspace()
        let keep = try await runner.run(specURL: try w.write("keep.yaml", sweepSpec), options: w.options(jobs: 1))
        let drop = try await runner.run(specURL: try w.write("drop.yaml", sweepSpec.replacingOccurrences(of: "samples: 300", with: "samples: 301")), options: w.options(jobs: 1))
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let stray = store.artifactsDirectory.appendingPathComponent("models/.tmp-interrupted-write")
        try Data("half".utf8).write(to: stray)
        let keptOutcomes = try keep.trials.map { try store.outcome(runID: keep.run.id, index: $0.index) }
        try store.deleteRun(drop.run.id)
        #expect(throws: StoreError.self) { try store.run(drop.run.id) }
        #expect(try store.trials(runID: drop.run.id).isEmpty)
        let preview = try store.collectGarbage(dryRun: true)
        #expect(preview.artifacts.count >= 4 && preview.strayFiles == ["models/.tmp-interrupted-write"])
        #expect(FileManager.default.fileExists(atPath: stray.path))
        let collected = try store.collectGarbage()
        #expect(collected == preview)
        #expect(!FileManager.default.fileExists(atPath: stray.path))
        // Every artifact the kept run refers to is still intact.
        for outcome in keptOutcomes {
            for artifact in outcome.artifacts { #expect(try ArtifactCache.verifiedData(key: artifact.key, store: store) != nil) }
        }
        #expect(try store.collectGarbage() == ArtifactCollection(kept: collected.kept))
        // While a process works on the store, gc is refused.
        let lease = try store.registerWorker()
        defer { lease.end() }
        #expect(throws: StoreError.self) { try store.collectGarbage() }
    }
}
