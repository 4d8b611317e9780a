import ExperimentKinds
import ExperimentRunning
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Query-detection kind")
struct QueryDetectionKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(QueryDetectionKind.self)])

    static let spec = """
    version: 1
    kind: query-detection
    name: query-detection-test
    seed: 3
    data: {dataset: synthetic-patterns, samples_per_class: 60, side: 16, noise: 0.25}
    model: {architecture: mlp, hidden: [32], epochs: 10, batch_size: 32, learning_rate: 0.003}
    attacks: {methods: [square, hop_skip_jump], inputs: 4, queries: 300, epsilon: 0.1, steps: 4}
    benign: {streams: 4, length: 40}
    detectors:
      knn: {k: 5, false_positive_rate: 0.01, calibration: 100, pooling: 2}
      blacklight: {window: 20, top: 30, threshold: 15}
      prada: {delta: 0.9, minimum_distances: 20}
    """

    func metrics(_ yaml: String) async throws -> [String: Double] {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("q.yaml", yaml), options: w.options(jobs: 1))
        return Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
    }

    @Test("every detector reports on every attack and on benign clients; Blacklight catches the Square Attack's near-duplicate queries; the trial is deterministic")
    func detection() async throws {
        let m = try await metrics(Self.spec)
        for detector in ["knn", "blacklight", "prada"] {
            for attack in ["square", "hop_skip_jump"] {
                let rate = try #require(m["\(detector)/\(attack).detection_rate"], "\(detector)/\(attack)")
                #expect((0...1).contains(rate))
                // A stream stopped before the attack's first success was flagged.
                #expect(try #require(m["\(detector)/\(attack).stopped_before_success"]) <= rate)
                #expect(m["\(detector)/\(attack).median_perturbation_when_blocked"] != nil)
            }
            #expect((0...1).contains(try #require(m["\(detector)/benign.false_positive_rate"])))
        }
        #expect(m["square.success_rate"]! > 0)
        #expect(m["blacklight/square.detection_rate"] == 1)
        #expect(m["blacklight/benign.false_positive_rate"] == 0)
        #expect(try await metrics(Self.spec) == m)
        // Only the detectors named run.
        let spec = Self.spec.components(separatedBy: "detectors:")[0] + "detectors: {knn: {k: 5, calibration: 100}}\n"
        let one = try await metrics(spec)
        #expect(one["knn/benign.false_positive_rate"] != nil && one["blacklight/benign.false_positive_rate"] == nil)
    }

    @Test("extraction clients: each method's streams go through every detector; Jacobian augmentation's synthetic queries are flagged by PRADA more often than Knockoff's natural ones, and its stolen model agrees with the target above chance")
    func extractionClients() async throws {
        let spec = Self.spec.replacingOccurrences(of: "benign: {streams: 4, length: 40}", with: """
            benign: {streams: 4, length: 40}
            extraction: {methods: [jacobian, knockoff], clients: 3, queries: 160, seed_size: 10, lambda: 0.1}
            """)
        let m = try await metrics(spec)
        for method in ["jacobian", "knockoff"] {
            #expect(try #require(m["\(method).median_queries"]) <= 160)
            // Ten balanced classes: chance agreement is about 1/10.
            #expect(try #require(m["\(method).median_fidelity"]) > 0.2, "\(method): \(m.filter { $0.key.contains(method) })")
            for detector in ["knn", "blacklight", "prada"] {
                #expect((0...1).contains(try #require(m["\(detector)/\(method).detection_rate"], "\(detector)/\(method)")))
            }
        }
        #expect(m["prada/jacobian.detection_rate"]! > m["prada/knockoff.detection_rate"]!)
        // An imported target needs the stolen model's architecture.
        let imported = spec.replacingOccurrences(of: "model: {architecture: mlp, hidden: [32], epochs: 10, batch_size: 32, learning_rate: 0.003}",
                                                 with: "model: {checkpoint: m.safetensors, layers: l.json}")
        #expect { _ = try runner.plan(specText: imported, file: "q.yaml", overrides: []) } throws: { "\($0)".contains("surrogate") || "\($0)".contains("m.safetensors") }
    }

    @Test("bad attack, benign and detector sections, and sizes the data cannot give, are named errors")
    func errors() async throws {
        let cases = [
            (Self.spec.replacingOccurrences(of: "methods: [square, hop_skip_jump]", with: "methods: []"), "attacks.methods: name at least one attack"),
            (Self.spec.replacingOccurrences(of: "methods: [square, hop_skip_jump]", with: "methods: [boundaryless]"), "attacks.methods"),
            (Self.spec.replacingOccurrences(of: "threshold: 15", with: "threshold: 31"), "detectors.blacklight.threshold: cannot exceed top (30)"),
            (Self.spec.replacingOccurrences(of: "k: 5,", with: "k: 100,"), "detectors.knn.k: must be smaller than calibration (100)"),
            (Self.spec.replacingOccurrences(of: "prada: {delta: 0.9", with: "prada: {delta: 1.5"), "detectors.prada.delta"),
            (Self.spec.replacingOccurrences(of: "inputs: 4, queries: 300", with: "inputs: 10000, queries: 1000000"), "exceeds the 100,000,000 queries"),
            (Self.spec.replacingOccurrences(of: "benign: {streams: 4", with: "benign: {streams: 4, colour: red"), "benign.colour: unknown key"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "q.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
        let w = try Workspace()
        await #expect { _ = try await runner.run(specURL: try w.write("q.yaml", Self.spec.replacingOccurrences(of: "length: 40", with: "length: 100000")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("benign.length: streams of 100000 distinct inputs asked") }
        await #expect { _ = try await runner.run(specURL: try w.write("r.yaml", Self.spec.replacingOccurrences(of: "window: 20", with: "window: 300")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("detectors.blacklight.window: 300 values, but an input has 256") }
    }
}
