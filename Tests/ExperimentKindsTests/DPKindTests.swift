import ExperimentKinds
import ExperimentRunning
import ExperimentTestSupport
import Foundation
import Testing

@Suite("DP-training experiments")
struct DPKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(DPTrainingKind.self)])
    static let spec = """
    version: 1
    name: dp
    kind: dp-training
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 1200, features: 10, classes: 3, separation: 3}
    model: {architecture: mlp, hidden: [16], epochs: 3, batch_size: 64, optimizer: sgd, learning_rate: 0.2}
    privacy: {epsilon: 2, delta: 1.0e-5, max_grad_norm: 1, noise: insecure-reproducible}
    """

    @Test("a calibrated σ spends exactly the target ε, reproducibly with seeded noise")
    func calibratedAndReproducible() async throws {
        let a = try Workspace(), b = try Workspace()
        let one = try await runner.run(specURL: try a.write("d.yaml", Self.spec), options: a.options(jobs: 1))
        let two = try await runner.run(specURL: try b.write("d.yaml", Self.spec), options: b.options(jobs: 2))
        let epsilon = try #require(one.trials[0].metrics.first { $0.name == "dp.epsilon" }).value
        #expect(abs(epsilon - 2) < 2e-3 && epsilon <= 2)
        #expect(one.trials[0].metrics.first { $0.name == "dp.reproducible_noise" }?.value == 1)
        #expect(one.trials[0].metrics.sorted { $0.name < $1.name } == two.trials[0].metrics.sorted { $0.name < $1.name })
        #expect((one.trials[0].metrics.first { $0.name == "target.test_accuracy" }?.value ?? 0) > 0.6)
    }

    @Test("dp-training honours model.schedule (it used to train every epoch at the base rate)")
    func schedule() async throws {
        let a = try Workspace(), b = try Workspace()
        let scheduled = Self.spec.replacingOccurrences(of: "learning_rate: 0.2}", with: "learning_rate: 0.2, schedule: step}")
        #expect(scheduled != Self.spec)
        let constant = try await runner.run(specURL: try a.write("d.yaml", Self.spec), options: a.options(jobs: 1))
        let stepped = try await runner.run(specURL: try b.write("d.yaml", scheduled), options: b.options(jobs: 1))
        func metric(_ r: ExperimentRunner.Summary, _ name: String) -> Double? { r.trials[0].metrics.first { $0.name == name }?.value }
        // The same σ and ε (the schedule does not change the noise), other parameters.
        #expect(metric(constant, "dp.epsilon") == metric(stepped, "dp.epsilon"))
        #expect(metric(constant, "target.train_loss") != nil)
        #expect(metric(constant, "target.train_loss") != metric(stepped, "target.train_loss"))
    }

    @Test("bad privacy sections are located errors")
    func errors() {
        let cases = [
            (Self.spec.replacingOccurrences(of: "epsilon: 2,", with: "epsilon: 2, noise_multiplier: 1,"), "give exactly one of noise_multiplier and epsilon"),
            (Self.spec.replacingOccurrences(of: "delta: 1.0e-5", with: "delta: 1.5"), "privacy.delta: must lie in (0, 1), got 1.5"),
            (Self.spec.replacingOccurrences(of: "insecure-reproducible", with: "reproducible"), "privacy.noise: unknown value 'reproducible'"),
            (Self.spec.replacingOccurrences(of: "epsilon: 2,", with: "epsilon: -1,"), "privacy.epsilon: must lie in (0, 10000], got -1.0"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "d.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}

@Suite("Auditing DP-SGD with membership inference")
struct DPAuditTests {
    @Test("the empirical ε lower bound of every attack stays below the accountant's ε")
    func auditBelowAccountant() async throws {
        let runner = ExperimentRunner(kinds: [AnyExperimentKind(MembershipInferenceKind.self)])
        let spec = """
        version: 1
        name: audit
        kind: membership-inference
        seed: 5
        data: {dataset: synthetic-gaussian, samples: 1000, features: 12, classes: 3, separation: 2}
        model: {architecture: mlp, hidden: [16], epochs: 4, batch_size: 50, optimizer: sgd, learning_rate: 0.2}
        attack: {methods: [loss, lira, rmia], reference_models: 4, members: 300, non_members: 300, rmia_population: 100}
        privacy: {epsilon: 1, delta: 1.0e-5, max_grad_norm: 1, noise: insecure-reproducible}
        sweep:
          privacy.epsilon: [0.5, 4]
        """
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("a.yaml", spec), options: w.options(jobs: 2))
        #expect(summary.trials.count == 2)
        for trial in summary.trials {
            let accountant = try #require(trial.metrics.first { $0.name == "dp.epsilon" }).value
            #expect(accountant > 0.49 && accountant < 4.01)
            for attack in ["loss", "lira", "rmia"] {
                let empirical = try #require(trial.metrics.first { $0.name == "\(attack).epsilon" }).value
                #expect(empirical <= accountant, "\(attack): empirical ε \(empirical) exceeds the accountant's \(accountant)")
            }
        }
    }
}
