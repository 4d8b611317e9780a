import ExperimentKinds
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import TestSupport
import Testing

@Suite("Experiment runner")
struct RunnerTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])

    func metrics(_ summary: ExperimentRunner.Summary) -> [[Metric]] {
        summary.trials.map { $0.metrics.sorted { $0.name < $1.name } }
    }

    @Test("--jobs 1 and --jobs 2 give bit-identical metrics")
    func determinismAcrossJobs() async throws {
        let a = try Workspace(), b = try Workspace()
        let one = try await runner.run(specURL: try a.write("s.yaml", sweepSpec), options: a.options(jobs: 1))
        let two = try await runner.run(specURL: try b.write("s.yaml", sweepSpec), options: b.options(jobs: 2))
        #expect(one.trials.count == 4 && one.trials.allSatisfy { $0.status == .complete })
        #expect(metrics(one) == metrics(two))
        #expect(one.trials.map(\.parameters) == two.trials.map(\.parameters))
        // Different seeds give different models.
        #expect(metrics(one)[2] != metrics(one)[3])
    }

    @Test("re-running a spec reuses stored trials and cached models")
    func reuse() async throws {
        let w = try Workspace()
        let spec = try w.write("s.yaml", sweepSpec)
        let first = try await runner.run(specURL: spec, options: w.options(jobs: 2))
        #expect(first.computed == 4)
        let second = try await runner.run(specURL: spec, options: w.options(jobs: 2))
        #expect(second.computed == 0 && second.run.id != first.run.id)
        #expect(metrics(first) == metrics(second))
        // A changed learning rate is a new trial, computed.
        var changed = w.options(jobs: 2)
        changed.overrides = ["model.learning_rate=0.01"]
        let third = try await runner.run(specURL: spec, options: changed)
        #expect(third.computed == 4)
        #expect(metrics(third) != metrics(first))
    }

    @Test("the store refuses a corrupt file and a newer schema, naming the file")
    func storeFaults() throws {
        let w = try Workspace()
        let corrupt = w.url.appendingPathComponent("corrupt.sqlite")
        try Data(repeating: 0x42, count: 4096).write(to: corrupt)
        #expect { try ResultStore(url: corrupt) } throws: { error in
            (error as? StoreError)?.description.contains("corrupt.sqlite: not a PrivacyLab results store") == true
        }
        let url = w.url.appendingPathComponent("s.sqlite")
        let store = try ResultStore(url: url)
        #expect(try store.appliedMigrations() == ["v1-runs-trials-metrics-artifacts", "v2-workers-claims", "v3-store-encryption"])
        try store.recordForeignMigrationForTesting("v99-from-the-future")
        #expect { try ResultStore(url: url) } throws: { error in
            (error as? StoreError)?.description.contains("written by a newer PrivacyLab") == true
        }
    }

    @Test("a missing spec file and a failing trial are reported, not crashed on")
    func failures() async throws {
        let w = try Workspace()
        await #expect { try await runner.run(specURL: w.url.appendingPathComponent("absent.yaml"), options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("absent.yaml: cannot read the spec")
        }
        // A split that leaves no training examples is an error naming the field, not a crash.
        let tiny = try w.write("t.yaml", "version: 1\nname: t\nkind: train\ndata: {dataset: synthetic-gaussian, samples: 10, test_fraction: 0.99, scaling: standard}\nmodel: {epochs: 1}\n")
        await #expect { try await runner.run(specURL: tiny, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("training part is empty") && "\(error)".contains("data.test_fraction")
        }
        // mnist is not in this empty data folder: the trial fails with the loader's message.
        let spec = try w.write("m.yaml", "version: 1\nname: m\nkind: train\ndata: {dataset: mnist}\nmodel: {epochs: 1}\n")
        await #expect { try await runner.run(specURL: spec, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("trial 0") && "\(error)".contains("mnist")
        }
    }
}
