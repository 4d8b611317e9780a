import ExperimentKinds
import ExperimentRunning
import ExperimentSpecs
import ExperimentTestSupport
import Foundation
import LabRandom
import NeuralNetworks
import Testing

@Suite("Evasion and poisoning experiments")
struct EvasionKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(EvasionKind.self), AnyExperimentKind(PoisoningKind.self)])
    static let evasion = """
    version: 1
    name: ev
    kind: evasion
    seed: 3
    data: {dataset: synthetic-patterns, samples_per_class: 30, side: 16, noise: 0.25}
    model: {architecture: mlp, hidden: [32], epochs: 10, batch_size: 32, learning_rate: 0.003}
    attack: {methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]}
    """
    static let poisoning = """
    version: 1
    name: po
    kind: poisoning
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 600, features: 8, classes: 4, separation: 6}
    model: {architecture: logistic, epochs: 15, batch_size: 32, learning_rate: 0.02}
    poison: {method: random, rate: 0.3}
    filters: {methods: [loss, knn, centroid], removal_fraction: 0.3}
    """

    @Test("an evasion trial reports a falling robustness curve per attack and loss, reproducibly")
    func evasionCurve() async throws {
        let a = try Workspace(), b = try Workspace()
        let one = try await runner.run(specURL: try a.write("e.yaml", Self.evasion), options: a.options(jobs: 1))
        let two = try await runner.run(specURL: try b.write("e.yaml", Self.evasion), options: b.options(jobs: 1))
        let metrics = one.trials[0].metrics
        func value(_ name: String) throws -> Double { try #require(metrics.first { $0.name == name }, "\(name)").value }
        let clean = try value("target.clean_accuracy")
        #expect(clean > 0.8)
        for part in ["fgsm", "pgd", "fgsm-margin", "pgd-margin"] {
            #expect(try value("\(part).robust_accuracy@0.0") == clean)
            let low = try value("\(part).robust_accuracy@0.05"), high = try value("\(part).robust_accuracy@0.15")
            #expect(high <= low)
            #expect(try value("\(part).mean_perturbation@0.15") <= 0.15 + 1e-6)
        }
        let pgd = try value("pgd.robust_accuracy@0.15"), fgsm = try value("fgsm.robust_accuracy@0.15")
        #expect(pgd <= fgsm)
        #expect(metrics.sorted { $0.name < $1.name } == two.trials[0].metrics.sorted { $0.name < $1.name })
    }

    static func modelSpec(_ yaml: String) throws -> ModelSpec {
        try ModelSpec.decode(SpecReader(SpecNode.parse(yaml: yaml, file: "m.yaml"), file: "m.yaml", path: "model"))
    }

    @Test("a strided cnn without pooling builds Wong, Rice & Kolter's MNIST network; the default keeps conv + pool blocks")
    func stridedCNN() throws {
        let wong = try Self.modelSpec("{architecture: cnn, channels: [16, 32], kernel_size: 4, stride: 2, padding: 1, pooling: none, hidden: [100]}")
        #expect(try wong.layers(inputShape: [1, 28, 28], classes: 10) == [
            .conv2d(inChannels: 1, outChannels: 16, kernelSize: 4, stride: 2, padding: 1), .relu,
            .conv2d(inChannels: 16, outChannels: 32, kernelSize: 4, stride: 2, padding: 1), .relu,
            .flatten, .dense(inputs: 1568, outputs: 100), .relu, .dense(inputs: 100, outputs: 10),
        ])
        let madry = try Self.modelSpec("{architecture: cnn, channels: [32, 64], kernel_size: 5, hidden: [1024]}")
        #expect(try madry.layers(inputShape: [1, 28, 28], classes: 10) == [
            .conv2d(inChannels: 1, outChannels: 32, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
            .conv2d(inChannels: 32, outChannels: 64, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
            .flatten, .dense(inputs: 3136, outputs: 1024), .relu, .dense(inputs: 1024, outputs: 10),
        ])
        // The layer shapes the spec computes are the ones the model checks.
        for layers in [try wong.layers(inputShape: [1, 28, 28], classes: 10), try madry.layers(inputShape: [1, 28, 28], classes: 10)] {
            _ = try Sequential(inputShape: [1, 28, 28], layers: layers, random: LabRandom(seed: 1))
        }
        // Images too small for the blocks are a model error, not a crash.
        let deep = try Self.modelSpec("{architecture: cnn, channels: [8, 8, 8], kernel_size: 3, stride: 2, padding: 0, pooling: none}")
        #expect(throws: ModelError.self) { _ = try deep.layers(inputShape: [1, 6, 6], classes: 10) }
        let pooled = try Self.modelSpec("{architecture: cnn, channels: [8, 8, 8], kernel_size: 3}")
        #expect(throws: ModelError.self) { _ = try pooled.layers(inputShape: [1, 4, 4], classes: 10) }
    }

    @Test("a k-NN input detector flags few clean inputs, and FGSM's inputs once the budget moves them far from the data")
    func detector() async throws {
        let w = try Workspace()
        let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15]", with: "methods: [fgsm], epsilons: [0, 0.05, 0.3]")
            + "\ndetector: {method: knn, k: 5, false_positive_rate: 0.05, reference: 200}\n"
        let summary = try await runner.run(specURL: try w.write("d.yaml", spec), options: w.options(jobs: 1))
        let m = Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
        let clean = try #require(m["detector.clean_flagged"])
        #expect(clean < 0.2)
        #expect(try #require(m["fgsm.detected@0.0"]) == clean, "ε = 0 leaves the inputs as they are")
        let small = try #require(m["fgsm.detected@0.05"]), large = try #require(m["fgsm.detected@0.3"])
        #expect(large > small && large > clean + 0.3, "\(small) at 0.05, \(large) at 0.3")
        let bad = Self.evasion + "\ndetector: {k: 300, reference: 200}\n"
        #expect { _ = try runner.plan(specText: bad, file: "e.yaml", overrides: []) } throws: { "\($0)".contains("detector.k: must be smaller than reference (200), got 300") }
    }

    @Test("the black-box Square Attack reports robust accuracy and its queries per budget; more ε fools more")
    func squareAttack() async throws {
        let w = try Workspace()
        let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]",
                                                     with: "methods: [square], epsilons: [0, 0.1, 0.3], queries: 200")
        let summary = try await runner.run(specURL: try w.write("s.yaml", spec), options: w.options(jobs: 1))
        let m = Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
        let clean = try #require(m["target.clean_accuracy"])
        #expect(try #require(m["square.robust_accuracy@0.0"]) == clean)
        #expect(m["square.robust_accuracy@0.3"]! < m["square.robust_accuracy@0.1"]! && m["square.robust_accuracy@0.3"]! < clean - 0.3)
        #expect(m["square.mean_perturbation@0.3"]! <= 0.3 + 1e-6)
        // At ε = 0 nothing changes: inputs the model gets right cost the whole budget, the others one query.
        #expect(m["square.median_queries@0.0"] == 200 && m["square.median_queries@0.3"]! < 200)
        // Success against the query budget only grows with the budget, and ends at the fooling rate.
        let budgets = [50, 100, 200].map { m["square.success_rate@0.3@q\($0)"]! }
        #expect(budgets[0] <= budgets[1] && budgets[1] <= budgets[2] && budgets[2] == m["square.fooling_rate@0.3"]!)
        // The L2 attack: its perturbations stay in the L2 ball.
        let l2 = spec.replacingOccurrences(of: "epsilons: [0, 0.1, 0.3], queries: 200", with: "epsilons: [0, 1, 3], queries: 100, norm: l2, square_fraction: 0.3")
        let l2Summary = try await runner.run(specURL: try w.write("s2.yaml", l2), options: w.options(jobs: 1))
        let l2m = Dictionary(uniqueKeysWithValues: l2Summary.trials[0].metrics.map { ($0.name, $0.value) })
        #expect(l2m["square.robust_accuracy@3.0"]! < l2m["square.robust_accuracy@1.0"]!)
        #expect(l2m["square.median_perturbation@3.0"]! > 0 && l2m["square.median_perturbation@3.0"]! <= 3 + 1e-4)
    }

    @Test("HopSkipJump from labels alone: robust accuracy falls as ε grows, with its distances and queries")
    func hopSkipJump() async throws {
        let w = try Workspace()
        let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]",
                                                     with: "methods: [hop_skip_jump], norm: l2, epsilons: [0, 1, 3, 100], steps: 6, queries: 1500, examples: 20")
        let summary = try await runner.run(specURL: try w.write("h.yaml", spec), options: w.options(jobs: 1))
        let m = Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
        let clean = try #require(m["target.clean_accuracy"])
        #expect(m["hop_skip_jump.robust_accuracy@0.0"] == clean)
        let curve = [1.0, 3.0, 100.0].map { m["hop_skip_jump.robust_accuracy@\($0)"]! }
        #expect(curve[0] >= curve[1] && curve[1] >= curve[2] && curve[2] < clean - 0.5)
        #expect(m["hop_skip_jump.median_distance"]! > 0 && m["hop_skip_jump.mean_queries"]! <= 1500)
        #expect(m["hop_skip_jump.median_distance@q1500"] == m["hop_skip_jump.median_distance"])
        #expect(m["hop_skip_jump.median_distance@q375"]! >= m["hop_skip_jump.median_distance@q1500"]!)
    }

    @Test("the Boundary attack and HopSkipJump in L∞ report success and median distance against the query budget")
    func decisionBasedBudgets() async throws {
        let w = try Workspace()
        let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]",
                                                     with: "methods: [boundary], norm: l2, epsilons: [0, 2, 100], queries: 1000, query_budgets: [100, 1000], examples: 10")
        let summary = try await runner.run(specURL: try w.write("b.yaml", spec), options: w.options(jobs: 1))
        let m = Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
        #expect(m["boundary.median_distance@q100"]! > m["boundary.median_distance@q1000"]!)
        #expect(m["boundary.success_rate@q1000"]! >= 0.9 && m["boundary.mean_queries"]! <= 1000)
        #expect(m["boundary.robust_accuracy@100.0"]! < 0.1)
        let linf = spec.replacingOccurrences(of: "methods: [boundary], norm: l2, epsilons: [0, 2, 100]", with: "methods: [hop_skip_jump], norm: linf, epsilons: [0, 0.1, 1], steps: 5")
        let linfSummary = try await runner.run(specURL: try w.write("h.yaml", linf), options: w.options(jobs: 1))
        let l = Dictionary(uniqueKeysWithValues: linfSummary.trials[0].metrics.map { ($0.name, $0.value) })
        #expect(l["hop_skip_jump.median_distance"]! > 0 && l["hop_skip_jump.median_distance"]! < 1)
        #expect(l["hop_skip_jump.median_distance@q100"]! >= l["hop_skip_jump.median_distance@q1000"]!)
        #expect(l["hop_skip_jump.robust_accuracy@1.0"]! < 0.1)
    }

    @Test("the transfer attack buys the victim's labels, trains a surrogate, and fools the victim more as ε grows")
    func transfer() async throws {
        let w = try Workspace()
        let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]",
                                                     with: "methods: [transfer], epsilons: [0, 0.05, 0.3], steps: 10, step_size: 0.05, examples: 20, transfer_queries: 50")
        let summary = try await runner.run(specURL: try w.write("t.yaml", spec), options: w.options(jobs: 1))
        let m = Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
        #expect(m["transfer.surrogate_queries"] == 50 && m["transfer.queries_per_input"] == 1)
        #expect(m["transfer.success_rate@0.0"] == 0)
        #expect(m["transfer.success_rate@0.3"]! > m["transfer.success_rate@0.05"]! && m["transfer.success_rate@0.3"]! > 0.5)
        #expect(m["transfer.median_perturbation@0.3"]! <= 0.3 + 1e-6)
        // Too few held-out rows for the queries: one clear error.
        let short = spec.replacingOccurrences(of: "transfer_queries: 50", with: "transfer_queries: 5000")
        await #expect { _ = try await runner.run(specURL: try w.write("t2.yaml", short), options: w.options(jobs: 1)) } throws: {
            "\($0)".contains("attack.transfer_queries: 5000 victim queries need as many test rows")
        }
    }

    @Test("bad black-box settings give one clear error naming the field")
    func badBlackBoxSpecs() throws {
        func fails(_ attack: String, _ message: String) {
            let spec = Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd], epsilons: [0, 0.05, 0.15], steps: 8, step_size: 0.02, losses: [cross-entropy, margin]", with: attack)
            #expect { _ = try runner.plan(specText: spec, file: "e.yaml", overrides: []) } throws: { "\($0)".contains(message) }
        }
        fails("methods: [boundary], norm: linf", "attack.norm: the Boundary attack is an L2 attack")
        fails("methods: [square], queries: 100, query_budgets: [50, 500]", "attack.query_budgets: each budget must lie in [1, queries = 100], got 500")
        fails("methods: [transfer], transfer_method: cw", "transfer_method")
        fails("methods: [transfer], transfer_queries: 0", "transfer_queries")
    }

    @Test("a poisoning trial reports removal TPR/FPR per filter and accuracy recovered")
    func poisoningFilters() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("p.yaml", Self.poisoning), options: w.options(jobs: 1))
        let metrics = summary.trials[0].metrics
        func value(_ name: String) throws -> Double { try #require(metrics.first { $0.name == name }, "\(name)").value }
        #expect(try value("poison.flipped") == 135)  // 30% of the 450 training examples (75/25 split)
        for filter in ["loss", "knn", "centroid"] {
            #expect(try value("\(filter).removal_tpr") > 0.5)
            #expect(try value("\(filter).removal_fpr") < 0.2)
            #expect(try value("\(filter).test_accuracy") >= 0)
        }
    }

    @Test("bad attack, defence and poison sections are located errors")
    func errors() {
        let cases = [
            (Self.evasion.replacingOccurrences(of: "methods: [fgsm, pgd]", with: "methods: [cw]"), "attack.methods[0]: unknown value 'cw'"),
            (Self.evasion.replacingOccurrences(of: "epsilons: [0, 0.05, 0.15]", with: "epsilons: [-1]"), "attack.epsilons"),
            (Self.evasion.replacingOccurrences(of: "steps: 8,", with: "steps: 0,"), "attack.steps"),
            (Self.evasion + "\ndefence: {method: distillation, temperature: 0}\n", "defence.temperature"),
            (Self.evasion + "\ndefence: {method: adversarial-training, epsilon_warmup_epochs: -1}\n", "defence.epsilon_warmup_epochs"),
            (Self.evasion.replacingOccurrences(of: "architecture: mlp,", with: "architecture: cnn, stride: 0,"), "model.stride"),
            (Self.evasion.replacingOccurrences(of: "architecture: mlp,", with: "architecture: cnn, kernel_size: 4, padding: 4,"),
             "model.padding: must be smaller than kernel_size (4), got 4"),
            (Self.evasion.replacingOccurrences(of: "architecture: mlp,", with: "architecture: cnn, pooling: average,"),
             "model.pooling: unknown value 'average'"),
            (Self.poisoning.replacingOccurrences(of: "rate: 0.3", with: "rate: 1.5"), "poison.rate"),
            (Self.poisoning.replacingOccurrences(of: "method: random, rate: 0.3", with: "method: targeted, source: 2, target: 2"), "poison.target"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "e.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
