import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Federated experiments")
struct FederatedKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(FederatedKind.self)])
    static let spec = """
    version: 1
    name: fl
    kind: federated
    seed: 4
    data: {dataset: synthetic-gaussian, samples: 900, features: 10, classes: 3, separation: 4}
    model: {architecture: mlp, hidden: [16]}
    federation: {clients: 10, partition: dirichlet, alpha: 1, clients_per_round: 10, rounds: 5}
    local: {epochs: 1, batch_size: 16, learning_rate: 0.1}
    strategy: {name: fedavg}
    threat: {attack: none, fraction: 0.3, scale: 10}
    sweep:
      strategy.name: [fedavg, median]
      threat.attack: [none, sign-flip]
    """

    static let single = spec.replacingOccurrences(of: "sweep:\n  strategy.name: [fedavg, median]\n  threat.attack: [none, sign-flip]", with: "")

    func metric(_ summary: ExperimentRunner.Summary, _ trial: Int, _ name: String) -> Double? {
        summary.trials[trial].metrics.first { $0.name == name }?.value
    }

    @Test("a strategy × threat sweep gives one trial per pair, identical across --jobs, with per-round curves in the report")
    func strategyByThreat() async throws {
        let a = try Workspace(), b = try Workspace()
        let one = try await runner.run(specURL: try a.write("f.yaml", Self.spec), options: a.options(jobs: 1))
        let two = try await runner.run(specURL: try b.write("f.yaml", Self.spec), options: b.options(jobs: 3))
        #expect(one.trials.count == 4)
        #expect(one.trials.map { $0.metrics.sorted { $0.name < $1.name } } == two.trials.map { $0.metrics.sorted { $0.name < $1.name } })
        // Trials in sweep order: (fedavg, none), (fedavg, sign-flip), (median, none), (median, sign-flip).
        let accuracies = (0..<4).map { metric(one, $0, "global.test_accuracy") ?? -1 }
        #expect(accuracies[0] > 0.85 && accuracies[2] > 0.85)
        #expect(accuracies[3] > accuracies[1] + 0.2)
        #expect(metric(one, 1, "threat.malicious_clients") == 3)
        let files = try ReportWriter.write(runIDs: [one.run.id], store: try ResultStore(url: a.url.appendingPathComponent("runs/store.sqlite")),
                                           to: a.url.appendingPathComponent("report"))
        #expect(files.contains { $0.lastPathComponent.hasSuffix("federated-accuracy.svg") })
    }

    @Test("secure aggregation, DP-FedAvg and a backdoor report their costs, ε and attack success")
    func secureDPAndBackdoor() async throws {
        let w = try Workspace()
        let secure = Self.single
            + "secure_aggregation: {protocol: masking}\n"
        let s = try await runner.run(specURL: try w.write("s.yaml", secure), options: w.options(jobs: 2))
        #expect((metric(s, 0, "secagg.client_bytes_per_round") ?? 0) > 8 * 200)
        #expect((metric(s, 0, "global.test_accuracy") ?? 0) > 0.85)
        let dp = Self.single
            .replacingOccurrences(of: "clients_per_round: 10", with: "sampling_rate: 0.5")
            .replacingOccurrences(of: "{name: fedavg}", with: "{name: dp-fedavg}")
            + "dp: {clip_norm: 1, noise_multiplier: 1, noise: insecure-reproducible}\n"
        let d = try await runner.run(specURL: try w.write("d.yaml", dp), options: w.options(jobs: 2, store: "runs/d.sqlite"))
        let epsilon = try #require(metric(d, 0, "dp.epsilon"))
        #expect(epsilon > 0 && epsilon.isFinite)
        let backdoor = Self.single
            .replacingOccurrences(of: "attack: none", with: "attack: backdoor")
        let b = try await runner.run(specURL: try w.write("b.yaml", backdoor), options: w.options(jobs: 2, store: "runs/b.sqlite"))
        #expect(metric(b, 0, "backdoor.max_attack_success_rate") != nil)
    }

    @Test("bad federated specs are located errors")
    func errors() {
        let cases = [
            (Self.spec.replacingOccurrences(of: "hidden: [16]", with: "hidden: [16], epochs: 3"), "model.epochs: local training is set under `local:`"),
            (Self.spec.replacingOccurrences(of: "clients_per_round: 10", with: "clients_per_round: 11"), "federation.clients_per_round: must lie in 1...10, got 11"),
            (Self.single.replacingOccurrences(of: "{name: fedavg}", with: "{name: fedsgd}"), "strategy.name: unknown value 'fedsgd'"),
            (Self.single.replacingOccurrences(of: "{name: fedavg}", with: "{name: dp-fedavg}"), "dp-fedavg needs a dp: section"),
            (Self.spec.replacingOccurrences(of: "sweep:", with: "secure_aggregation: {protocol: paillier}\nsweep:"), "secure aggregation works with fedavg"),
            (Self.single + "dp: {clip_norm: 1, noise_multiplier: 1}\n", "a dp: section needs strategy.name: dp-fedavg"),
            (Self.spec.replacingOccurrences(of: "partition: dirichlet", with: "partition: pathological"), "federation.partition: unknown value 'pathological'"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "f.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
