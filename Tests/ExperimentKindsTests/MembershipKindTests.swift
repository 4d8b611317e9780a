import Codecs
import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import MembershipInference
import Testing

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

    @Test("runs export --scores writes each attack's scores, the membership and the audited records' indices")
    func exportsScores() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("m.yaml", Self.spec), options: w.options(jobs: 2))
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let folder = w.url.appendingPathComponent("scores")
        let written = try ScoreExport.write(runID: summary.run.id, store: store, to: folder)
        #expect(written.files.map(\.lastPathComponent) == ["lira.npy", "loss.npy", "rmia.npy", "members.npy", "indices.npy"])
        #expect(written.trialsWithoutIndices.isEmpty)
        func read(_ name: String) throws -> NumpyArray {
            try NumpyArray(npy: InputFile.read(folder.appendingPathComponent(name), maximumBytes: 1 << 20))
        }
        // The design audits 250 members then 250 non-members, distinct records of the data.
        #expect(try read("members.npy").booleans() == [Bool](repeating: true, count: 250) + [Bool](repeating: false, count: 250))
        let indices = try read("indices.npy").integers()
        #expect(indices.count == 500 && Set(indices).count == 500 && indices.allSatisfy { $0 >= 0 && $0 < 800 })
        let lira = try read("lira.npy")
        #expect(lira.dataType == .float64 && lira.shape == [500])
        // The exported scores are the ones the metrics were computed from.
        let auc = try AttackEvaluationCheck.auc(scores: lira.doubles(), isMember: read("members.npy").booleans())
        #expect(abs(auc - (summary.trials[0].metrics.first { $0.name == "lira.auc" }?.value ?? -1)) < 1e-12)
    }

    @Test("every attack knob is read from the spec and validated")
    func attackOptions() throws {
        let knobs = Self.spec.replacingOccurrences(of: "rmia_population: 100}", with: """
            rmia_population: 100, augmentations: [identity, flip, {shift: [2, -1]}], confidence: 0.9,
                     offline_interpolation: 0.5, gamma: 2, bootstrap: 10, delta: 1e-5,
                     shadow: {models: 3, model: {epochs: 4, hidden: [8]}, features: log_probabilities, hidden_units: 0,
                              epochs: 7, batch_size: 16, learning_rate: 0.01, observations_per_class: 500},
                     label_only: {perturbations: 12, noise: 0.25}}
            """)
        let planned = try runner.plan(specText: knobs, file: "m.yaml", overrides: [])
        let p = try #require(planned.trials.first?.1 as? MembershipInferenceKind.Parameters)
        #expect(p.attack.augmentations.map(\.augmentation) == [.identity, .horizontalFlip, .shift(dx: 2, dy: -1)])
        #expect(p.attack.confidence == 0.9 && p.attack.offlineInterpolation == 0.5 && p.attack.gamma == 2 && p.attack.delta == 1e-5)
        #expect(p.attack.shadow.models == 3)
        // The shadow recipe is the target's with the overridden keys.
        #expect(p.attack.shadow.model.training.epochs == 4 && p.attack.shadow.model.hidden == [8])
        #expect(p.attack.shadow.model.training.batchSize == 32 && p.attack.shadow.model.training.learningRate == 0.003)
        #expect(p.attack.shadow.attack == ShadowModelAttack.Options(features: .logProbabilities, hiddenUnits: 0, epochs: 7, batchSize: 16,
                                                                     learningRate: 0.01, maximumObservationsPerClass: 500))
        #expect(p.attack.labelOnly == LabelOnlyAttack.Options(perturbations: 12, noiseStandardDeviation: 0.25))
        let plain = try #require(try runner.plan(specText: Self.spec, file: "m.yaml", overrides: []).trials.first?.1 as? MembershipInferenceKind.Parameters)
        #expect(plain.attack.shadow.model == plain.model, "without overrides the shadow models train like the target")

        let errors: [(String, String)] = [
            ("global_variance: true", "attack.global_variance: LiRA's variance mode is chosen per method: lira_global"),
            ("shadow: {models: 0}", "attack.shadow.models: must lie in 1…1024, got 0"),
            ("shadow: {model: {epohcs: 3}}", "attack.shadow.model.epohcs: unknown key (did you mean 'epochs'?)"),
            ("shadow: {features: logits}", "attack.shadow.features: unknown value 'logits'"),
            ("label_only: {noise: -1}", "attack.label_only.noise: must lie in 0.0…1000000.0, got -1.0"),
            ("label_only: {perturbation: 3}", "attack.label_only.perturbation: unknown key (did you mean 'perturbations'?)"),
            ("augmentations: [flop]", "attack.augmentations[0]: unknown value 'flop' (did you mean 'flip'?)"),
            ("augmentations: [{shift: [0, 0]}]", "attack.augmentations[0].shift: expected [dx, dy]"),
            ("augmentations: []", "attack.augmentations: needs at least one query view"),
            ("confidence: 1.5", "attack.confidence: must lie in 0.5…0.999"),
            ("bootstrap: 1", "attack.bootstrap: needs at least 2 replicates"),
        ]
        for (knob, message) in errors {
            let spec = Self.spec.replacingOccurrences(of: "rmia_population: 100}", with: "rmia_population: 100, \(knob)}")
            #expect { _ = try runner.plan(specText: spec, file: "m.yaml", overrides: []) } throws: { error in
                if !"\(error)".contains(message) { Issue.record("\(error) does not contain \(message)") }
                return "\(error)".contains(message)
            }
        }
        #expect { _ = try runner.plan(specText: Self.spec.replacingOccurrences(of: "methods: [loss, lira, rmia]", with: "methods: [lira_global]")
                                      .replacingOccurrences(of: "reference_models: 4,", with: "reference_models: 4, online: false,"),
                                      file: "m.yaml", overrides: []) } throws: { "\($0)".contains("use 'lira_offline_global'") }
    }

    @Test("Shokri's shadow attack trains its own shadow models, on records never audited")
    func shadowSetting() async throws {
        let w = try Workspace()
        let spec = Self.spec.replacingOccurrences(of: "methods: [loss, lira, rmia]", with: "methods: [shadow, lira_global]")
            .replacingOccurrences(of: "rmia_population: 100}", with: "shadow: {models: 3, model: {epochs: 5}, hidden_units: 0, epochs: 10}}")
        let summary = try await runner.run(specURL: try w.write("m.yaml", spec), options: w.options(jobs: 2))
        let metrics = summary.trials[0].metrics
        #expect(metrics.contains { $0.name == "shadow.auc" } && metrics.contains { $0.name == "lira_global.auc" })
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let roles = try store.outcome(runID: summary.run.id, index: 0).artifacts.map(\.role)
        #expect(roles.filter { $0.hasPrefix("shadow-model-") }.count == 3)
        #expect(roles.filter { $0.hasPrefix("reference-model-") }.count == 4)
        // 1 target + 4 references + 3 shadows, each its own training run.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.artifactsDirectory.appendingPathComponent("models").path).count == 8)
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

/// The AUC as the Mann–Whitney statistic: the fraction of (member, non-member) pairs the scores
/// order correctly, ties counting one half (an oracle independent of AttackMetrics).
enum AttackEvaluationCheck {
    static func auc(scores: [Double], isMember: [Bool]) -> Double {
        let positives = scores.indices.filter { isMember[$0] }.map { scores[$0] }
        let negatives = scores.indices.filter { !isMember[$0] }.map { scores[$0] }
        var total = 0.0
        for p in positives { for q in negatives { total += p > q ? 1 : p == q ? 0.5 : 0 } }
        return total / Double(positives.count * negatives.count)
    }
}
