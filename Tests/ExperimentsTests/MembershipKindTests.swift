import Foundation
import Testing
import Experiments

@Suite("Membership-inference experiments")
struct MembershipKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self), AnyExperimentKind(MembershipInferenceKind.self)])
    static let spec = """
    version: 1
    name: mia
    kind: membership-inference
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 800, features: 20, classes: 3, separation: 2}
    model: {architecture: mlp, hidden: [32], epochs: 20, batch_size: 32, learning_rate: 0.003}
    attack: {methods: [loss, lira, rmia], reference_models: 4, members: 250, non_members: 250, rmia_population: 100}
    """

    @Test("one spec runs several attacks on shared models, deterministically at any --jobs, reusing models")
    func runsAttacks() async throws {
        let a = try Workspace(), b = try Workspace()
        let one = try await runner.run(specURL: try a.write("m.yaml", Self.spec), options: a.options(jobs: 1))
        let two = try await runner.run(specURL: try b.write("m.yaml", Self.spec), options: b.options(jobs: 2))
        let metrics = one.trials[0].metrics
        for name in ["loss.auc", "lira.auc", "rmia.auc", "lira.tpr@0.001", "lira.tpr@0", "loss.advantage", "rmia.epsilon", "target.train_accuracy"] {
            #expect(metrics.contains { $0.name == name }, "missing \(name)")
        }
        #expect(metrics.sorted { $0.name < $1.name } == two.trials[0].metrics.sorted { $0.name < $1.name })
        let auc = try #require(metrics.first { $0.name == "lira.auc" }).value
        #expect(auc > 0.5 && auc <= 1)
        // Another attack on the same design reuses the target and the reference models.
        let store = try ResultStore(url: a.url.appendingPathComponent("runs/store.sqlite"))
        let before = try FileManager.default.contentsOfDirectory(atPath: store.artifactsDirectory.appendingPathComponent("models").path).count
        #expect(before == 5)
        var more = a.options(jobs: 2)
        more.overrides = ["attack.methods=[loss, lira, rmia, confidence]"]
        let extended = try await runner.run(specURL: try a.write("m.yaml", Self.spec), options: more)
        #expect(extended.trials[0].metrics.contains { $0.name == "confidence.auc" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.artifactsDirectory.appendingPathComponent("models").path).count == before)
        // An offline design trains other reference models (they must not contain the audited examples).
        var offline = a.options(jobs: 2)
        offline.overrides = ["attack.methods=[lira_offline]", "attack.online=false"]
        _ = try await runner.run(specURL: try a.write("m.yaml", Self.spec), options: offline)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.artifactsDirectory.appendingPathComponent("models").path).count == before + 4)
    }

    @Test("attack spec errors are located")
    func errors() {
        let bad = Self.spec.replacingOccurrences(of: "methods: [loss, lira, rmia]", with: "methods: [loss, lria]")
        #expect { _ = try runner.plan(specText: bad, file: "m.yaml", overrides: []) } throws: { error in
            "\(error)".contains("m.yaml:7: attack.methods[1]: unknown value 'lria' (did you mean 'lira'?)")
        }
        let offline = Self.spec.replacingOccurrences(of: "reference_models: 4,", with: "reference_models: 4, online: false,")
        #expect { _ = try runner.plan(specText: offline, file: "m.yaml", overrides: []) } throws: { error in
            "\(error)".contains("'lira' is an online attack but online is false")
        }
    }
}
