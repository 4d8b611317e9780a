import ExperimentKinds
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// Kill-and-resume: a `privacy-lab run` child process is killed with SIGKILL (or stopped with
/// SIGINT) mid-run; re-running resumes the same run without recomputing or duplicating trials.
@Suite("Interrupted runs resume", .serialized)
struct ResumeTests {
    static let spec = """
    version: 1
    name: resume
    kind: train
    seed: 1
    data: {dataset: synthetic-gaussian, samples: 1500, features: 32, classes: 4, separation: 2}
    model: {architecture: mlp, hidden: [64], epochs: 6, batch_size: 32}
    sweep:
      seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    """

    /// The `privacy-lab` executable built beside the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("privacy-lab")
    }

    func start(_ w: Workspace, spec: URL) throws -> Process {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["run", spec.path, "--store", w.url.appendingPathComponent("runs/store.sqlite").path, "--jobs", "1",
                             "--data-dir", w.url.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until at least `count` trials are complete in the store, or the process ends.
    /// Polls synchronously (sleeping this thread rather than suspending): an awaiting task could
    /// wait behind other tests' CPU-bound work on the cooperative pool while the child runs on.
    func waitForCompletedTrials(_ count: Int, store url: URL, process: Process) -> Int {
        func completed() -> Int? {
            guard let store = try? ResultStore(url: url, readOnly: true), let run = try? store.runs().first,
                  let trials = try? store.trials(runID: run.id) else { return nil }
            return trials.filter { $0.status == .complete }.count
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if let done = completed(), done >= count { return done }
            usleep(20_000)
        }
        return completed() ?? -1
    }

    @Test("SIGKILL mid-run, then re-running resumes without recomputing or duplicating")
    func killAndResume() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "privacy-lab not built at \(Self.executable.path)")
        let w = try Workspace()
        let spec = try w.write("resume.yaml", Self.spec)
        let storeURL = w.url.appendingPathComponent("runs/store.sqlite")
        let process = try start(w, spec: spec)
        let done = waitForCompletedTrials(1, store: storeURL, process: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(done >= 1, "the child run did not complete a trial")
        let store = try ResultStore(url: storeURL)
        let killed = try #require(try store.runs().first)
        let before = try store.trials(runID: killed.id)
        let completeBefore = before.filter { $0.status == .complete }
        // Opening the store found the killed process gone and recorded the crash.
        #expect(killed.status == .crashed)
        #expect(completeBefore.count < 24, "the run finished before it could be killed; make the trials longer")

        let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])
        let resumed = try await runner.run(specURL: spec, options: w.options(jobs: 2))
        #expect(resumed.run.id == killed.id)
        #expect(resumed.computed == 24 - completeBefore.count)
        #expect(resumed.trials.count == 24 && resumed.trials.allSatisfy { $0.status == .complete })
        #expect(try store.runs().count == 1)
        // Results kept from before the kill are untouched, and all equal a clean run's.
        for trial in completeBefore {
            #expect(resumed.trials[trial.index].metrics.sorted { $0.name < $1.name } == trial.metrics.sorted { $0.name < $1.name })
        }
        let clean = try Workspace()
        let reference = try await runner.run(specURL: try clean.write("resume.yaml", Self.spec), options: clean.options(jobs: 2))
        #expect(reference.trials.map { $0.metrics.sorted { $0.name < $1.name } } == resumed.trials.map { $0.metrics.sorted { $0.name < $1.name } })
    }

    @Test("SIGINT stops cleanly: finished trials stored, run marked interrupted, non-zero exit")
    func interrupt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "privacy-lab not built at \(Self.executable.path)")
        let w = try Workspace()
        let spec = try w.write("resume.yaml", Self.spec)
        let storeURL = w.url.appendingPathComponent("runs/store.sqlite")
        let process = try start(w, spec: spec)
        let done = waitForCompletedTrials(1, store: storeURL, process: process)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        try #require(done >= 1)
        #expect(process.terminationStatus == 128 + SIGINT)
        let store = try ResultStore(url: storeURL)
        let run = try #require(try store.runs().first)
        #expect(run.status == .interrupted)
        #expect(try store.trials(runID: run.id).filter { $0.status == .complete }.count >= 1)
    }

    @Test("SIGTERM inside a long trial stops it between mini-batches, exits 143 and prints the exact command that resumes",
          .timeLimit(.minutes(3)))
    func terminateInsideTrial() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "privacy-lab not built at \(Self.executable.path)")
        let w = try Workspace()
        // One trial whose training would take hours if it were not stopped inside it.
        let spec = try w.write("long run.yaml", """
        version: 1
        name: long
        kind: train
        seed: 1
        data: {dataset: synthetic-gaussian, samples: 2000, features: 32, classes: 4, separation: 2}
        model: {architecture: mlp, hidden: [64], epochs: 100000, batch_size: 32}
        """)
        let storeURL = w.url.appendingPathComponent("runs/store.sqlite")
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["run", spec.path, "--store", storeURL.path, "--jobs", "1", "--data-dir", w.url.path, "--set", "model.batch_size=16"]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        // Wait until the trial is running (its run is in the store), then a little into training.
        let deadline = Date().addingTimeInterval(120)
        var started = false
        while Date() < deadline && process.isRunning && !started {
            if let store = try? ResultStore(url: storeURL, readOnly: true), let run = try? store.runs().first {
                started = run.status == .running
            }
            usleep(20_000)
        }
        try #require(started, "the run did not start")
        usleep(300_000)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 128 + SIGTERM)
        let store = try ResultStore(url: storeURL, readOnly: true)
        let run = try #require(try store.runs().first)
        #expect(run.status == .interrupted)
        #expect(try store.trials(runID: run.id).allSatisfy { $0.status != .complete && $0.status != .failed })
        let command = try #require(text.split(separator: "\n").first { $0.hasPrefix("  privacy-lab run ") })
        #expect(command == "  privacy-lab run '\(spec.path)' --store \(storeURL.path) --data-dir \(w.url.path) --set model.batch_size=16 --jobs 1")
    }
}

@Suite("Command-line hygiene")
struct CommandLineHygieneTests {
    func run(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = ResumeTests.executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test("read-only commands never create a store, and data verify fails on a missing folder")
    func readOnlyCommands() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ResumeTests.executable.path))
        let w = try Workspace()
        let store = w.url.appendingPathComponent("none/store.sqlite")
        for command in [["runs", "list"], ["runs", "show", "r-1"], ["runs", "export", "r-1"], ["report", "r-1", "--out", w.url.appendingPathComponent("out").path]] {
            let result = try run(command + ["--store", store.path])
            #expect(result.status != 0, "\(command)")
            #expect(result.errors.contains("no results store"), "\(command): \(result.errors)")
        }
        #expect(!FileManager.default.fileExists(atPath: w.url.appendingPathComponent("none").path))
        let missing = w.url.appendingPathComponent("no-data")
        let verify = try run(["data", "verify", "--data-dir", missing.path])
        #expect(verify.status != 0 && verify.errors.contains("\(missing.path) does not exist"))
    }
}
