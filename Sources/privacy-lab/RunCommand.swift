import ArgumentParser
import Dispatch
import Foundation
import PrivacyLab

/// The experiment kinds this build of PrivacyLab runs.
enum Kinds {
    static let all: [AnyExperimentKind] = ExperimentCatalog.kinds
}

/// Options shared by the commands that read or write the results store.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "The results database (default ./runs/privacy-lab.sqlite).")
    var store: String = "runs/privacy-lab.sqlite"

    @Option(name: .customLong("store-key-file"),
            help: ArgumentHelp("The key file of an encrypted store (mode 0600; `privacy-lab store keygen` writes one). A new store given a key keeps its artifacts encrypted at rest. Default: the key in $\(StoreKey.environmentVariable), if set.",
                               valueName: "file"))
    var storeKeyFile: String?

    var url: URL { URL(fileURLWithPath: store) }

    /// The store key: from `--store-key-file`, else from `$PRIVACY_LAB_STORE_KEY`, else none.
    func key() throws -> StoreKey? {
        do {
            if let storeKeyFile { return try StoreKey(keyFile: URL(fileURLWithPath: storeKeyFile)) }
            return try StoreKey(environment: ProcessInfo.processInfo.environment)
        } catch { throw CLIError(error.description) }
    }

    func open() throws -> ResultStore {
        let key = try key()
        do { return try ResultStore(url: url, key: key) } catch { throw CLIError(error.description) }
    }

    /// The store for a command that only reads: never created when absent, and usable when the
    /// file is read-only.
    func openReadOnly() throws -> ResultStore {
        let key = try key()
        do { return try ResultStore(url: url, readOnly: true, key: key) } catch { throw CLIError(error.description) }
    }
}

/// An error reported as one line on stderr with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `privacy-lab run SPEC.yaml… [--data-dir DIR] [--store PATH] [--jobs N] [--set key=value]… [--json] [--resume]`
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run experiment specs: every trial of each spec's sweep, stored and reported.",
        discussion: "Kinds: " + Kinds.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; "))

    @Argument(help: "YAML experiment specs.")
    var specs: [String]

    @OptionGroup var location: DataCommand.Location
    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Trials run in parallel (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("set"), help: "Override a spec key: --set model.epochs=10 (repeatable).")
    var overrides: [String] = []

    @Flag(name: .long, help: "Print one JSON object per spec on stdout instead of tables.")
    var json = false

    @Flag(name: .long, help: "Resume the latest unfinished run of each spec (re-running a spec does this too).")
    var resume = false

    @Option(name: .customLong("reuse-code"),
            help: "Also reuse stored results computed by this other code identity, as `runs show` prints it (repeatable). By default only results of this build's exact sources are reused.")
    var reuseCode: [String] = []

    func validate() throws {
        guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must lie in 1…1024, got \(jobs)") }
        guard !specs.isEmpty else { throw ValidationError("give at least one spec file") }
    }

    func run() async throws {
        configureAllocator()
        let runner = ExperimentRunner(kinds: Kinds.all)
        for spec in specs {
            var options = ExperimentRunner.Options(dataDirectory: location.resolve().url, storeURL: storeOptions.url,
                                                   jobs: jobs, codeVersion: PrivacyLabVersion.code)
            options.storeKey = try storeOptions.key()
            options.overrides = overrides
            options.reusableCodeVersions = reuseCode
            options.resume = resume
            options.progress = TerminalProgress()
            let finalOptions = options
            let summary: ExperimentRunner.Summary
            do {
                summary = try await withInterruptHandling {
                    try await runner.run(specURL: URL(fileURLWithPath: spec), options: finalOptions)
                }
            } catch RunnerError.cancelled {
                // The exact command that resumes: the same specs from this one on, same store,
                // data and overrides (finished trials are kept and not recomputed).
                let remaining = specs.drop { $0 != spec }
                var words = ["privacy-lab", "run"] + remaining.map(shellQuoted)
                words += ["--store", shellQuoted(storeOptions.url.path), "--data-dir", shellQuoted(location.resolve().url.path)]
                if let keyFile = storeOptions.storeKeyFile { words += ["--store-key-file", shellQuoted(keyFile)] }
                words += overrides.flatMap { ["--set", shellQuoted($0)] }
                if jobs != ProcessInfo.processInfo.activeProcessorCount { words += ["--jobs", String(jobs)] }
                words += reuseCode.flatMap { ["--reuse-code", shellQuoted($0)] }
                let received = InterruptState.signal
                FileHandle.standardError.write(Data(("privacy-lab: run interrupted\(received == SIGTERM ? " (SIGTERM)" : ""); finished trials are kept. Resume with:\n  "
                                                     + words.joined(separator: " ") + "\n").utf8))
                throw ExitCode(128 + (received == 0 ? SIGINT : received))
            } catch RunnerError.cancelledBeforeStart {
                FileHandle.standardError.write(Data("privacy-lab: \(RunnerError.cancelledBeforeStart.description)\n".utf8))
                let received = InterruptState.signal
                throw ExitCode(128 + (received == 0 ? SIGINT : received))
            } catch let error as RunnerError {
                throw CLIError(error.description)
            }
            printSummary(summary, json: json)
        }
    }
}

/// A finished run as `run` prints it: JSON, or its id line and its table.
func printSummary(_ summary: ExperimentRunner.Summary, json: Bool) {
    if json {
        print(ResultRendering.json(run: summary.run, trials: summary.trials))
        return
    }
    print("run \(summary.run.id) · \(summary.run.name) · \(summary.run.kind) · seed \(summary.run.seed)")
    if let attacks = ResultRendering.attackTable(trials: summary.trials) {
        print(attacks)
        return
    }
    let wide = Set(summary.trials.flatMap { $0.metrics.map(\.name) }).count > 6
    print(wide && summary.trials.count <= 4 ? ResultRendering.transposedTable(trials: summary.trials)
                                            : ResultRendering.table(trials: summary.trials))
}

/// Runs `body`, cancelling it on Ctrl-C (SIGINT) or SIGTERM so that the runner stops cleanly
/// with finished trials stored.
/// A second signal ends the process at once (the store is transactional, so nothing finished is
/// lost).
func withInterruptHandling<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let sources = [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if InterruptState.record(number) {
                FileHandle.standardError.write(Data("privacy-lab: stopping (finished trials are kept); signal again to stop at once\n".utf8))
                task.cancel()
            } else {
                _exit(128 + number)
            }
        }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    return try await task.value
}

/// The first interrupting signal received (0 before any).
enum InterruptState {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var first: Int32 = 0

    static var signal: Int32 { lock.withLock { first } }

    /// Records `number`; true when it is the first signal.
    static func record(_ number: Int32) -> Bool {
        lock.withLock {
            guard first == 0 else { return false }
            first = number
            return true
        }
    }
}

/// A word for a POSIX shell: single-quoted unless it needs no quoting.
func shellQuoted(_ word: String) -> String {
    let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@".contains($0) }
    return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

@_silgen_name("mallopt") func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// Keeps large tensors in the heap instead of a fresh zeroed mmap for every allocation.
func configureAllocator() {
    _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
    _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 256 << 20)
}

/// `privacy-lab runs list | show ID | export ID --format csv|json | delete ID… | gc`
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List, show, export and delete stored runs; remove artifacts no run uses.",
        subcommands: [List.self, Show.self, Export.self, Delete.self, GC.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The most recent runs.")
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "How many runs to list.") var limit = 50
        @Flag(help: "Print a JSON array instead of a table.") var json = false

        func validate() throws {
            guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must lie in 1…1000000, got \(limit)") }
        }

        func run() throws {
            let store = try storeOptions.openReadOnly()
            let runs: [RunRecord]
            do { runs = try store.runs(limit: limit) } catch { throw CLIError(error.description) }
            if json {
                print("[" + runs.map(ResultRendering.jsonSummary(run:)).joined(separator: ",") + "]")
                return
            }
            let rows = runs.map { r in
                [r.id, r.name, r.kind, String(r.seed), r.status.rawValue, String(r.trialCount),
                 ISO8601DateFormatter().string(from: r.createdAt)]
            }
            print(ResultRendering.renderTable(header: ["id", "name", "kind", "seed", "status", "trials", "created"], rows: rows), terminator: "")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A run's spec, trials and metrics.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The run ID (or a unique prefix).") var id: String
        @Flag(help: "Print the run and its trials as JSON (as `run --json`).") var json = false

        func run() throws {
            let store = try storeOptions.openReadOnly()
            do {
                let run = try store.run(id)
                let trials = try store.trials(runID: run.id)
                if json {
                    print(ResultRendering.json(run: run, trials: trials))
                    return
                }
                print("run \(run.id) · \(run.name) · \(run.kind) · seed \(run.seed) · \(run.status.rawValue) · PrivacyLab \(run.codeVersion)")
                print("spec \(run.specFile)\(run.overrides.isEmpty ? "" : " with --set " + run.overrides.joined(separator: " "))")
                print(ResultRendering.transposedTable(trials: trials))
                for trial in trials where trial.error != nil { print("trial \(trial.index) failed: \(trial.error!)") }
            } catch { throw CLIError(error.description) }
        }
    }

    struct Export: ParsableCommand {
        enum Format: String, ExpressibleByArgument { case csv, json }
        static let configuration = CommandConfiguration(
            abstract: "A run's results as CSV or JSON on stdout, or its per-example scores as .npy files.",
            discussion: "With --scores DIR: each attack's scores <attack>.npy (float64), members.npy (0/1) and indices.npy (int64), one folder per trial when the run has several (see the README).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The run ID (or a unique prefix).") var id: String
        @Option(help: "csv or json.") var format: Format = .json
        @Option(help: "Write per-example scores, membership and record indices as .npy files into this folder.") var scores: String?
        @Flag(help: "With --scores: print the files written as JSON on stdout.") var json = false

        func run() throws {
            let store = try storeOptions.openReadOnly()
            if let scores {
                let written: ScoreExport.Written
                do {
                    written = try ScoreExport.write(runID: try store.run(id).id, store: store, to: URL(fileURLWithPath: scores))
                } catch let error as StoreError { throw CLIError(error.description) } catch let error as RunnerError { throw CLIError(error.description) }
                if json {
                    let data = try JSONSerialization.data(withJSONObject: ["files": written.files.map(\.path)], options: [.sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    for file in written.files { print(file.path) }
                }
                if !written.trialsWithoutIndices.isEmpty {
                    FileHandle.standardError.write(Data("note: trials \(written.trialsWithoutIndices.map(String.init).joined(separator: ", ")) were stored before record indices were kept; no indices.npy for them\n".utf8))
                }
                return
            }
            do {
                let run = try store.run(id)
                let trials = try store.trials(runID: run.id)
                switch format {
                case .json: print(ResultRendering.json(run: run, trials: trials))
                case .csv: print(ResultRendering.csv(run: run, trials: trials), terminator: "")
                }
            } catch { throw CLIError(error.description) }
        }
    }
}

extension RunsCommand {
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete runs with their trials and results (artifacts stay until `runs gc`).",
            discussion: "A run that a live process is running is refused. Give full ids or unique prefixes.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Run IDs (or unique prefixes).") var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("give at least one run id") }
        }

        func run() throws {
            guard FileManager.default.fileExists(atPath: storeOptions.url.path) else {
                throw CLIError("\(storeOptions.url.path): no results store")
            }
            let store = try storeOptions.open()
            do {
                // Resolve every id first: one bad id deletes nothing.
                let runs = try ids.map { try store.run($0) }
                for run in runs {
                    try store.deleteRun(run.id)
                    print("deleted \(run.id) (\(run.name), \(run.trialCount) trials)")
                }
            } catch let error as StoreError { throw CLIError(error.description) }
        }
    }

    struct GC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove artifacts (models, score arrays) that no stored trial refers to, and stray files in the artifacts folder.",
            discussion: "Refused while another process is running on the store (its trials' artifacts are not referenced until they finish).")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(name: .customLong("dry-run"), help: "Only print what would be removed.") var dryRun = false
        @Flag(help: "Print a JSON summary.") var json = false

        func run() throws {
            guard FileManager.default.fileExists(atPath: storeOptions.url.path) else {
                throw CLIError("\(storeOptions.url.path): no results store")
            }
            let result: ArtifactCollection
            let store = try storeOptions.open()
            do {
                result = try store.collectGarbage(dryRun: dryRun)
            } catch let error as StoreError { throw CLIError(error.description) }
            if json {
                printJSON(["dry_run": dryRun, "artifacts": result.artifacts.count, "stray_files": result.strayFiles.count,
                           "bytes": result.bytes, "kept": result.kept])
                return
            }
            for path in result.artifacts + result.strayFiles { print((dryRun ? "would remove " : "removed ") + path) }
            print("\(dryRun ? "would free" : "freed") \(result.bytes) bytes: \(result.artifacts.count) unreferenced artifacts, \(result.strayFiles.count) stray files; \(result.kept) artifacts kept")
        }
    }
}
