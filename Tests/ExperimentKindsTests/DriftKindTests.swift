import ExperimentKinds
import ExperimentRunning
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Drift kind")
struct DriftKindTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(DriftKind.self)])

    static let spec = """
    version: 1
    kind: drift
    name: drift-test
    seed: 5
    data: {dataset: synthetic-gaussian, samples: 1200, features: 6, classes: 3, separation: 2}
    shift: {method: feature_shift, amount: 0.6, features: [1, 4]}
    test: {methods: [ks, mmd], batches: 8, reference_size: 300, batch_size: 120, permutations: 50}
    """

    func metrics(_ yaml: String) async throws -> [String: Double] {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("d.yaml", yaml), options: w.options(jobs: 1))
        return Dictionary(uniqueKeysWithValues: summary.trials[0].metrics.map { ($0.name, $0.value) })
    }

    @Test("a shift of two features is detected by both tests in most batches; clean batches rarely are; the trial is deterministic")
    func detection() async throws {
        let m = try await metrics(Self.spec)
        for test in ["ks", "mmd"] {
            #expect(try #require(m["\(test).detection_rate"]) >= 0.75, "\(test)")
            #expect(try #require(m["\(test).false_positive_rate"]) <= 0.25, "\(test)")
            #expect(m["\(test).median_p_shifted"]! < m["\(test).median_p_clean"]!)
        }
        #expect(m["shift.features"] == 2 && m["shift.rows"] == 120)
        #expect(try await metrics(Self.spec) == m)
        // No shift: the shifted batches are clean batches too, and detection falls to the false-positive level.
        let none = try await metrics(Self.spec.replacingOccurrences(of: "method: feature_shift", with: "method: none"))
        #expect(none["ks.detection_rate"]! <= 0.25 && none["mmd.detection_rate"]! <= 0.25)
    }

    @Test("bad shift and test sections, and sizes the data cannot give, are named errors")
    func errors() async throws {
        let cases = [
            (Self.spec.replacingOccurrences(of: "features: [1, 4]", with: "features: []"), "shift.features: needs at least one feature index"),
            (Self.spec.replacingOccurrences(of: "method: feature_shift", with: "method: rotate"), "shift.method: unknown value 'rotate'"),
            (Self.spec.replacingOccurrences(of: "batches: 8", with: "batches: 0"), "test.batches"),
            (Self.spec.replacingOccurrences(of: "methods: [ks, mmd]", with: "methods: []"), "test.methods: needs at least one test"),
        ]
        for (yaml, expected) in cases {
            #expect { _ = try runner.plan(specText: yaml, file: "d.yaml", overrides: []) } throws: { error in
                "\(error)".contains(expected)
            }
        }
        let w = try Workspace()
        await #expect { _ = try await runner.run(specURL: try w.write("d.yaml", Self.spec.replacingOccurrences(of: "features: [1, 4]", with: "features: [1, 9]")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("shift.features: feature 9 does not exist in rows of 6 features") }
        await #expect { _ = try await runner.run(specURL: try w.write("e.yaml", Self.spec.replacingOccurrences(of: "reference_size: 300", with: "reference_size: 5000")),
                                                 options: w.options(jobs: 1)) } throws: { "\($0)".contains("test.reference_size: 5000 rows asked") }
    }
}
