import ExperimentKinds
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Backdoor experiments")
struct BackdoorKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(BackdoorKind.self)])
    static let spec = """
    version: 1
    name: bd
    kind: backdoor
    seed: 3
    data: {dataset: synthetic-patterns, samples_per_class: 60, side: 12, noise: 0.1, test_fraction: 0.25}
    model: {architecture: cnn, channels: [8], kernel_size: 3, hidden: [32], epochs: 10, batch_size: 32, optimizer: adam, learning_rate: 0.003}
    attack: {trigger: patch, pattern: checkerboard, size: 3, margin: 0, target: 0, poison_rate: 0.25, rate_of: target-class}
    detect:
      - {method: spectral-signatures, classes: target, expected_poison_fraction: 0.25}
      - {method: activation-clustering, criterion: relative-size}
      - {method: strip, overlays: 10, false_rejection_rate: 0.05}
      - {method: neural-cleanse, steps: 5, clean_samples: 40, unlearn_epochs: 1}
      - {method: fine-pruning, fine_tune_epochs: 1}
    """

    @Test("one spec attacks once and runs every detector on the same cached model and poisoned set")
    func runsDetectors() async throws {
        let w = try Workspace()
        let one = try await runner.run(specURL: try w.write("b.yaml", Self.spec), options: w.options(jobs: 1))
        let metrics = one.trials[0].metrics
        func value(_ name: String) throws -> Double { try #require(metrics.first { $0.name == name }, "missing \(name)").value }
        #expect(try value("backdoor.clean_accuracy") > 0.8)
        #expect(try value("backdoor.attack_success_rate") > 0.8)
        #expect(try value("ss.tpr") >= 0.6)     // removing 1.5× at random would catch 37.5%
        for part in ["ss", "ac-size", "strip", "nc", "fp"] {
            _ = try value("\(part).clean_accuracy")
            _ = try value("\(part).attack_success_rate")
        }
        for name in ["ac-size.tpr", "ac-size.fpr", "strip.tpr", "strip.fpr", "nc.target_anomaly_index", "fp.pruned_channels"] { _ = try value(name) }
        // The poisoned set and the backdoored model are artifacts: a second spec with only one
        // detector reuses them (no new model is trained but the retrained one).
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let models = store.artifactsDirectory.appendingPathComponent("models")
        let arrays = store.artifactsDirectory.appendingPathComponent("arrays")
        let modelCount = try FileManager.default.contentsOfDirectory(atPath: models.path).count
        #expect(modelCount == 3)      // backdoored, retrained after SS, retrained after AC
        #expect(try FileManager.default.contentsOfDirectory(atPath: arrays.path).count == 2)
        let onlySS = Self.spec.components(separatedBy: "\n").filter { !$0.contains("{method:") || $0.contains("spectral") }
            .joined(separator: "\n").replacingOccurrences(of: "name: bd", with: "name: bd-ss")
        let second = try await runner.run(specURL: try w.write("c.yaml", onlySS), options: w.options(jobs: 1))
        #expect(second.trials[0].metrics.first { $0.name == "backdoor.attack_success_rate" } == metrics.first { $0.name == "backdoor.attack_success_rate" })
        #expect(second.trials[0].metrics.first { $0.name == "ss.attack_success_rate" } == metrics.first { $0.name == "ss.attack_success_rate" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).count == modelCount)
    }

    @Test("attack and detect errors are located")
    func errors() {
        let cases = [
            (Self.spec.replacingOccurrences(of: "trigger: patch", with: "trigger: stamp"), "attack.trigger: unknown value 'stamp'"),
            (Self.spec.replacingOccurrences(of: "target: 0, poison_rate", with: "targeting: all-to-all, poison_rate"), "attack.rate_of: 'target-class' needs targeting: all-to-one"),
            (Self.spec.replacingOccurrences(of: "method: strip", with: "method: strp"), "detect[2].method: unknown value 'strp'"),
            (Self.spec.replacingOccurrences(of: "overlays: 10", with: "overlay: 10"), "detect[2].overlay: unknown key"),
            (Self.spec.replacingOccurrences(of: "criterion: relative-size", with: "criterion: relative-size}\n  - {method: activation-clustering"), "two steps report as 'ac-size'"),
            (Self.spec.replacingOccurrences(of: "criterion: relative-size", with: "criterion: relative-size, reduction: ica"), "detect[1].reduction: unknown value 'ica'"),
            (Self.spec.replacingOccurrences(of: "expected_poison_fraction: 0.25", with: "expected_poison_fraction: 0.25, reduction: pca"), "detect[0].reduction: only activation-clustering has a reduction"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "b.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
