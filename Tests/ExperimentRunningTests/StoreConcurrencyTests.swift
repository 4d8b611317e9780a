import Codecs
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import TestSupport
import Testing

/// Counts, per test token, how many times each trial and each shared artifact was computed.
final class ComputationCounter: @unchecked Sendable {
    static let shared = ComputationCounter()
    private let counts = Locked([String: Int]())
    func add(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
    func count(_ key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
    func total(prefix: String) -> Int { counts.withLock { $0.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +) } }
}

/// A slow kind: each trial takes `milliseconds` and computes one artifact shared by every trial
/// of every spec with the same token (`shared_artifact: true`), counting both computations.
enum SlowCountingKind: ExperimentKind {
    static let name = "slow-count"
    static let summary = "count computations (tests of runs sharing a store)"
    struct Parameters: Sendable { var token: String; var value: Int; var milliseconds: Int; var sharedArtifact: Bool }
    static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let r = try body.section("work")
        let p = Parameters(token: try r.required("token"), value: try r.required("value"),
                           milliseconds: try r.optional("milliseconds", default: 100), sharedArtifact: try r.optional("shared_artifact", default: false))
        try r.finish()
        return p
    }
    static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        ComputationCounter.shared.add("\(p.token)/trial/\(p.value)")
        if p.sharedArtifact {
            _ = try await context.cachedArray(role: "shared", recipe: ["shared artifact": p.token]) {
                ComputationCounter.shared.add("\(p.token)/artifact")
                try await Task.sleep(for: .milliseconds(4 * p.milliseconds))
                return NumpyArray(shape: [1], values: [1.0])
            }
        }
        try await Task.sleep(for: .milliseconds(p.milliseconds))
        return TrialOutcome(metrics: [Metric(part: "work", "value", Double(p.value))])
    }
}

@Suite("One store, several processes: shared work and crash marking")
struct StoreConcurrencyTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(SlowCountingKind.self)])

    func spec(token: String, name: String = "shared", trials: Int, sharedArtifact: Bool = false) -> String {
        """
        version: 1
        name: \(name)
        kind: slow-count
        seed: 1
        work: {token: \(token), value: 0, milliseconds: 150, shared_artifact: \(sharedArtifact)}
        sweep:
          work.value: [\((0..<trials).map(String.init).joined(separator: ", "))]
        """
    }

    @Test("two runs of one spec on one store at once compute each trial once between them, and both end complete")
    func twoRunsShareTrials() async throws {
        let w = try Workspace()
        let token = "t\(UUID().uuidString.prefix(8))"
        let file = try w.write("s.yaml", spec(token: token, trials: 8))
        let options = w.options(jobs: 2)
        async let a = runner.run(specURL: file, options: options)
        async let b = runner.run(specURL: file, options: options)
        let (first, second) = try await (a, b)
        for value in 0..<8 { #expect(ComputationCounter.shared.count("\(token)/trial/\(value)") == 1, "trial \(value)") }
        #expect(first.computed + second.computed == 8)
        #expect(first.run.status == .complete && second.run.status == .complete)
        for summary in [first, second] {
            #expect(summary.trials.map { $0.metrics.first?.value } == (0..<8).map { Double($0) })
        }
        // Nothing is left claimed or registered once both have finished.
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        #expect(try store.workers().isEmpty)
    }

    @Test("two different specs that need one artifact compute it once: the second process waits for the first's file")
    func twoRunsShareAnArtifact() async throws {
        let w = try Workspace()
        let token = "t\(UUID().uuidString.prefix(8))"
        let one = try w.write("one.yaml", spec(token: token, name: "one", trials: 1, sharedArtifact: true))
        let two = try w.write("two.yaml", spec(token: token, name: "two", trials: 1, sharedArtifact: true).replacingOccurrences(of: "milliseconds: 150", with: "milliseconds: 151"))
        // Two runners stand for two processes: each registers its own worker.
        let options = w.options(jobs: 1)
        async let a = runner.run(specURL: one, options: options)
        async let b = runner.run(specURL: two, options: options)
        _ = try await (a, b)
        #expect(ComputationCounter.shared.count("\(token)/artifact") == 1)
        #expect(ComputationCounter.shared.total(prefix: "\(token)/trial/") == 2)
    }

    @Test("a run whose process died is marked crashed when the store is next opened, and re-running resumes it")
    func deadProcessIsCrashed() async throws {
        let w = try Workspace()
        let token = "t\(UUID().uuidString.prefix(8))"
        let file = try w.write("s.yaml", spec(token: token, trials: 3))
        let url = w.url.appendingPathComponent("runs/store.sqlite")
        let done = try await runner.run(specURL: file, options: w.options(jobs: 1))
        // Make it look as if a worker whose process has exited, on this host, had been running it
        // and died before its last trial.
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let store = try ResultStore(url: url)
        try store.insertWorkerForTesting(id: "w-dead", pid: exited.processIdentifier, heartbeat: Date())
        try store.markRunningForTesting(runID: done.run.id, worker: "w-dead", pendingTrial: 2, claiming: "held-by-the-dead")
        #expect(try ResultStore(url: url, readOnly: true).run(done.run.id).status == .crashed, "a reader sees the crash")
        // The next writable open records it.
        let reopened = try ResultStore(url: url)
        #expect(try reopened.run(done.run.id).status == .crashed)
        #expect(try reopened.workers().allSatisfy { $0.id != "w-dead" })
        #expect(try reopened.claimHolder("held-by-the-dead") == nil)
        let resumed = try await runner.run(specURL: file, options: w.options(jobs: 1))
        #expect(resumed.run.id == done.run.id && resumed.run.status == .complete && resumed.computed == 1)
    }

    @Test("a worker on another host is dead only once its heartbeat is older than the timeout")
    func staleHeartbeat() throws {
        let w = try Workspace()
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let now = Date()
        try store.insertWorkerForTesting(id: "w-remote", host: "another-host", pid: 1, heartbeat: now.addingTimeInterval(-30))
        let mine = try store.registerWorker()
        defer { mine.end() }
        #expect(try store.claim("k", worker: "w-remote", now: now) == .claimed)
        // Fresh enough: the claim holds.
        #expect(try store.claim("k", worker: mine.worker, now: now) == .heldBy(worker: "w-remote"))
        // Stale: its claim is released and taken over.
        let later = now.addingTimeInterval(ResultStore.workerTimeout - 29)
        #expect(try store.claim("k", worker: mine.worker, now: later) == .claimed)
        #expect(try store.workers().map(\.id) == [mine.worker])
    }
}
