import ExperimentKinds
import ExperimentRunning
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Extraction kind")
struct ExtractionKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(ExtractionKind.self)])

    static let spec = """
    version: 1
    kind: extraction
    name: extraction-test
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 1500, features: 6, classes: 3, separation: 2}
    victim: {architecture: mlp, hidden: [16], epochs: 20, batch_size: 32, learning_rate: 0.01}
    surrogate: {architecture: mlp, hidden: [16], epochs: 30, batch_size: 16, learning_rate: 0.01}
    extraction: {victim_examples: 300, methods: [knockoff, jacobian], budgets: [6, 60, 300], seed_size: 6, clip: [-8, 8]}
    outputs: [full, top-1, label-only]
    membership: {examples: 100, attack_epochs: 5}
    transfer_attack: {epsilon: 0.5, steps: 5, step_size: 0.2, examples: 100}
    """

    func metrics(_ yaml: String) async throws -> [String: Double] {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("x.yaml", yaml), options: w.options(jobs: 1))
        return Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
    }

    @Test("knockoff steals the victim with high fidelity, more with more queries; every method spends exactly the largest budget; top-1-preserving policies keep the accuracy; deterministic")
    func run() async throws {
        let m = try await metrics(Self.spec)
        for policy in ["full", "top-1", "label-only"] {
            let high = try #require(m["knockoff/\(policy).fidelity@300"]), low = try #require(m["knockoff/\(policy).fidelity@6"])
            #expect(high >= 0.85 && high > low, "\(policy): fidelity \(low) at 6 queries, \(high) at 300")
            for method in ["knockoff", "jacobian"] {
                #expect(m["\(method)/\(policy).queries"] == 300, "\(method)/\(policy)")
                #expect(m["\(method)/\(policy).queries@300"] == 300)
                #expect(m["\(method)/\(policy).queries@60"]! <= 60)
                for part in ["mia-confidence", "mia-stolen-shadow"] { #expect((0...1).contains(m["\(part)/\(policy).auc"]!)) }
                #expect((0...1).contains(m["transfer-\(method)/\(policy).success"]!))
            }
            #expect(m["output/\(policy).accuracy"] == m["victim.test_accuracy"], "\(policy) changes the predicted label")
        }
        #expect(m["output/label-only.ece"]! > m["output/full.ece"]!)
        #expect(m["transfer-whitebox.success"] != nil)
        #expect(try await metrics(Self.spec) == m)
    }

    @Test("bad extraction, outputs and attack sections are errors naming the key and the fix")
    func errors() async throws {
        let cases = [
            (Self.spec.replacingOccurrences(of: "[full, top-1, label-only]", with: "[full, top-0]"), "outputs: 'top-0' is not an output policy"),
            (Self.spec.replacingOccurrences(of: "[full, top-1, label-only]", with: "[full, full]"), "outputs: 'full' is named twice"),
            (Self.spec.replacingOccurrences(of: "budgets: [6, 60, 300]", with: "budgets: [60, 6]"), "extraction.budgets: list the budgets in ascending order"),
            (Self.spec.replacingOccurrences(of: "seed_size: 6", with: "seed_size: 500"), "extraction.seed_size: the Jacobian seed set (500) is larger than the largest budget (300)"),
            (Self.spec.replacingOccurrences(of: "seed_size: 6", with: "seed_size: 6, reservoir_start: 2"), "reservoir sampling needs both reservoir_start"),
            (Self.spec.replacingOccurrences(of: "methods: [knockoff, jacobian]", with: "methods: [steal]"), "unknown value 'steal'; expected one of knockoff, jacobian"),
            (Self.spec.replacingOccurrences(of: "clip: [-8, 8]", with: "clip: [1, 0]"), "extraction.clip: expected [lower, upper]"),
            (Self.spec.replacingOccurrences(of: "step_size: 0.2", with: "step_size: 0"), "transfer_attack.step_size"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "x.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
        let w = try Workspace()
        await #expect { _ = try await runner.run(specURL: try w.write("a.yaml", Self.spec.replacingOccurrences(of: "budgets: [6, 60, 300]", with: "budgets: [6, 60, 5000]")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("the knockoff pool has") }
        await #expect { _ = try await runner.run(specURL: try w.write("b.yaml", Self.spec.replacingOccurrences(of: "victim_examples: 300", with: "victim_examples: 5000")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("extraction.victim_examples: 5000 rows") }
    }
}
