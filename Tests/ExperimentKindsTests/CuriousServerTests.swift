import ExperimentKinds
import ExperimentRunning
import ExperimentTestSupport
import Foundation
import Testing

/// The honest-but-curious federated server wired to gradient inversion: exact recovery of a
/// client's image from its plaintext update, much worse from a securely aggregated sum, and
/// located errors when the spec makes the server's replay impossible.
@Suite("Curious federated server")
struct CuriousServerTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(FederatedKind.self)])
    static let spec = """
    version: 1
    name: curious
    kind: federated
    seed: 5
    data: {dataset: synthetic-patterns, samples_per_class: 4, classes: 4, side: 8, noise: 0.05}
    model: {architecture: mlp, hidden: [32], activation: sigmoid}
    federation: {clients: 12, partition: iid, clients_per_round: 8, rounds: 1}
    local: {epochs: 1, batch_size: 4, learning_rate: 0.1}
    strategy: {name: fedavg}
    server_attack: {method: idlg, round: 1, clients: 2, iterations: 200}
    sweep:
      secure_aggregation.protocol: [none, masking]
    """

    func metric(_ summary: ExperimentRunner.Summary, _ trial: Int, _ name: String) -> Double? {
        summary.trials[trial].metrics.first { $0.name == name }?.value
    }

    @Test("plaintext FedAvg gives the client's image away; the masked sum of eight clients does not")
    func plaintextVersusSecure() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("c.yaml", Self.spec), options: w.options(jobs: 2))
        #expect(summary.trials.count == 2)
        #expect(metric(summary, 0, "server_attack.saw_individual_updates") == 1)
        #expect(metric(summary, 0, "server_attack.observed_updates") == 2)
        #expect(metric(summary, 1, "server_attack.saw_individual_updates") == 0)
        #expect(metric(summary, 1, "server_attack.examples_per_update") == 8)
        let plain = try #require(metric(summary, 0, "server_attack.psnr"))
        let masked = try #require(metric(summary, 1, "server_attack.psnr"))
        #expect(plain > 40, "plaintext reconstruction PSNR \(plain) dB")
        #expect(masked < plain - 15, "secure-aggregation PSNR \(masked) dB against plaintext \(plain) dB")
        #expect(metric(summary, 0, "server_attack.label_accuracy") == 1)
    }

    @Test("a server attack against momentum clients or past the last round is a located spec error")
    func badSpecs() throws {
        let single = Self.spec.replacingOccurrences(of: "sweep:\n  secure_aggregation.protocol: [none, masking]", with: "")
        let momentum = single.replacingOccurrences(of: "learning_rate: 0.1}", with: "learning_rate: 0.1, momentum: 0.9}")
        #expect { _ = try runner.plan(specText: momentum, file: "m.yaml", overrides: []) } throws: { "\($0)".contains("server_attack") && "\($0)".contains("momentum") }
        let late = single.replacingOccurrences(of: "round: 1, clients: 2", with: "round: 3, clients: 2")
        #expect { _ = try runner.plan(specText: late, file: "l.yaml", overrides: []) } throws: { "\($0)".contains("server_attack.round") }
        let typo = single.replacingOccurrences(of: "iterations: 200", with: "iteratons: 200")
        #expect { _ = try runner.plan(specText: typo, file: "t.yaml", overrides: []) } throws: { "\($0)".contains("iterations") }
    }
}
