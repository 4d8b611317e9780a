import Codecs
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom
import Tensors

/// Plans, runs, caches and stores experiments.
///
/// A run: parse the spec (and `--set` overrides), expand the sweep into trials, decode each
/// trial's typed parameters with its kind, then run the pending trials — at most `jobs` at a
/// time — writing each trial's results in one transaction as it finishes. Re-running a spec
/// whose run did not finish resumes that run; a trial whose exact inputs (kind, body, seed,
/// code version) were already computed in any run is copied, not recomputed.
///
/// Several processes may run on one store at once. Each registers as a worker and claims every
/// trial (and every cached artifact) before computing it; a trial another live worker holds is
/// left for last and then waited for and copied, so no two processes compute the same trial. A
/// second `run` of a spec that another process is running joins that run and shares its trials.
///
/// Determinism: a trial's randomness comes only from its seed's named streams and BLAS runs on
/// one thread, so results do not depend on `jobs` or on the order trials finish.
public final class ExperimentRunner: Sendable {
    public let kinds: [AnyExperimentKind]

    public init(kinds: [AnyExperimentKind]) {
        self.kinds = kinds
    }

    public struct Options: Sendable {
        public var overrides: [String] = []
        public var dataDirectory: URL
        public var storeURL: URL
        /// The key of an encrypted store, or the key that makes a new store encrypted
        /// (`ResultStore.init(url:readOnly:key:)`).
        public var storeKey: StoreKey?
        public var jobs: Int
        /// Resume the latest unfinished run of this spec (also done when one exists).
        public var resume = false
        public var progress: (any ProgressReporting)?
        /// The code identity results are keyed by (`PrivacyLabVersion.code`).
        public var codeVersion: String
        /// Other code identities whose stored trials and artifacts this run may reuse, as the
        /// user names them explicitly (results of other code are otherwise never reused).
        public var reusableCodeVersions: [String] = []

        public init(dataDirectory: URL, storeURL: URL, jobs: Int, codeVersion: String = PrivacyLabVersion.code) {
            self.dataDirectory = dataDirectory
            self.storeURL = storeURL
            self.jobs = jobs
            self.codeVersion = codeVersion
        }
    }

    /// A run's outcome: its record and its trials with their metrics.
    public struct Summary: Sendable {
        public var run: RunRecord
        public var trials: [TrialRecord]
        /// Trials computed in this invocation (the others were resumed, copied, or computed by
        /// another process sharing the run).
        public var computed: Int
    }

    /// The trials of a spec with their typed parameters, without running anything.
    ///
    /// When the current task is cancelled (Ctrl-C, SIGTERM) planning stops early and returns the
    /// trials decoded so far; `run` checks for cancellation before it stores anything.
    public func plan(specText: String, file: String, overrides: [String]) throws(SpecError) -> (document: ExperimentDocument, kind: AnyExperimentKind, trials: [(TrialDefinition, any Sendable)]) {
        let document = try ExperimentDocument(yaml: specText, file: file, overrides: overrides, knownKinds: kinds.map(\.name))
        let kind = kinds.first { $0.name == document.kind }!
        var planned: [(TrialDefinition, any Sendable)] = []
        for trial in try document.trials() {
            // An interrupted plan stops early; `run` sees the cancellation and stores nothing.
            if Task.isCancelled { break }
            do { planned.append((trial, try kind.decode(trial.body, file))) } catch let error as SpecError {
                var located = error
                if !trial.parameters.isEmpty { located.message += " (in the trial with \(trial.parametersJSON))" }
                throw located
            } catch {
                throw SpecError(file: file, line: nil, keyPath: "", message: "\(error)")
            }
        }
        return (document, kind, planned)
    }

    /// Runs the spec in `specURL`.
    public func run(specURL: URL, options: Options) async throws -> Summary {
        let specText = try Self.readSpec(specURL)
        return try await run(specText: specText, specURL: specURL, options: options)
    }

    /// Runs a spec given as text; `specURL` names it in errors and the store, and relative file
    /// paths in it resolve against its folder (a notebook's block: the notebook).
    public func run(specText: String, specURL: URL, options: Options) async throws -> Summary {
        let (document, kind, planned): (ExperimentDocument, AnyExperimentKind, [(TrialDefinition, any Sendable)])
        do { (document, kind, planned) = try plan(specText: specText, file: specURL.path, overrides: options.overrides) } catch {
            throw RunnerError.spec(error)
        }
        // Interrupted while planning: nothing has been stored yet, and nothing will be.
        if Task.isCancelled { throw RunnerError.cancelledBeforeStart }
        // The content of every outside file a trial reads is part of its key.
        var digests: [String: String] = [:]
        var trialInputs: [Int: [String: String]] = [:]
        var trialFingerprints: [Int: [String]] = [:]
        for (trial, parameters) in planned {
            var inputs: [String: String] = [:]
            for url in kind.files(parameters) {
                if Task.isCancelled { throw RunnerError.cancelledBeforeStart }
                if let known = digests[url.path] { inputs[url.path] = known; continue }
                do throws(InputFileError) {
                    let digest = try InputFile.sha256(url, maximumBytes: Self.maximumInputFileBytes).hex
                    digests[url.path] = digest
                    inputs[url.path] = digest
                } catch {
                    throw RunnerError.spec(SpecError(file: specURL.path, line: nil, keyPath: "", message: "input file \(error.description)"))
                }
            }
            trialInputs[trial.index] = inputs
            trialFingerprints[trial.index] = kind.fingerprints(parameters)
        }
        do {
            try FileManager.default.createDirectory(at: options.storeURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw RunnerError.store(.io(file: options.storeURL.path, reason: "cannot create its folder: \(error.localizedDescription)"))
        }
        let store: ResultStore
        let lease: WorkerLease
        do throws(StoreError) {
            store = try ResultStore(url: options.storeURL, key: options.storeKey)
            lease = try store.registerWorker()
        } catch { throw RunnerError.store(error) }
        defer { lease.end() }
        let worker = lease.worker

        // The run's key (to find an unfinished run of the same spec) and every trial's, under this
        // code and under each code the user allowed reusing. They hold no floating-point value,
        // so encoding them cannot fail.
        let runKey = RunKey(kind: document.kind, name: document.name, seed: document.seed, body: document.body.canonicalJSON,
                            sweep: document.sweep.map { RunKey.Axis(path: $0.path, values: $0.values.map(\.canonicalJSON)) },
                            code: options.codeVersion)
        var trialKeys: [String: [Int: String]] = [:]
        let specHash: String
        do {
            specHash = try CanonicalJSON.sha256(runKey)
            for code in [options.codeVersion] + options.reusableCodeVersions where trialKeys[code] == nil {
                var keys: [Int: String] = [:]
                for (trial, _) in planned {
                    keys[trial.index] = try TrialKey(kind: document.kind, seed: trial.seed, body: trial.body.canonicalJSON, code: code,
                                                     inputs: InputDigest.relative(trialInputs[trial.index] ?? [:]),
                                                     content: trialFingerprints[trial.index] ?? []).hash()
                }
                trialKeys[code] = keys
            }
        } catch {
            throw RunnerError.internalInconsistency("cannot encode a run's or trial's key: \(error)")
        }
        func trialKey(_ trial: TrialDefinition, code: String = options.codeVersion) -> String { trialKeys[code]![trial.index]! }

        if Task.isCancelled { throw RunnerError.cancelledBeforeStart }
        var run: RunRecord
        do throws(StoreError) {
            if let existing = try store.unfinishedRun(specHash: specHash) {
                run = existing
                if existing.status == .running {
                    // Its worker is alive (a dead one's run reads as crashed): share the trials.
                    options.progress?.message("joining run \(run.id), which another process is running: each trial is computed once, by one of them")
                } else {
                    try store.setRunStatus(run.id, .running, worker: worker)
                    options.progress?.message(existing.status == .crashed ? "resuming run \(run.id) (its process died)" : "resuming run \(run.id)")
                }
            } else {
                let stamp = Self.timestamp(Date())
                run = RunRecord(id: "r-\(stamp)-\(specHash.prefix(6))-\(UUID().uuidString.prefix(4).lowercased())", name: document.name, kind: document.kind, seed: document.seed,
                                specFile: specURL.path, specText: specText, overrides: options.overrides, specHash: specHash,
                                codeVersion: options.codeVersion, status: .running, trialCount: planned.count, createdAt: Date(), finishedAt: nil,
                                workerID: worker)
                try store.createRun(run, trials: planned.map { ($0.0.index, $0.0.parametersJSON, $0.0.seed, trialKey($0.0)) })
            }
        } catch { throw RunnerError.store(error) }

        // Pending trials; those computed before (in any run) are copied.
        var pending: [(TrialDefinition, any Sendable)] = []
        do throws(StoreError) {
            let stored = try store.trials(runID: run.id)
            for (trial, parameters) in planned {
                guard let record = stored.first(where: { $0.index == trial.index }), record.status != .complete else { continue }
                if let previous = try store.completedTrial(key: trialKey(trial)), previous.runID != run.id {
                    try store.copyTrial(from: previous, to: run.id, index: trial.index)
                    options.progress?.message("trial \(trial.index): reused results of run \(previous.runID)")
                    continue
                }
                var reused = false
                for code in options.reusableCodeVersions {
                    guard let previous = try store.completedTrial(key: trialKey(trial, code: code)) else { continue }
                    try store.copyTrial(from: previous, to: run.id, index: trial.index)
                    options.progress?.message("trial \(trial.index): reused results of run \(previous.runID), computed by other code (\(code)) as asked")
                    reused = true
                    break
                }
                if reused { continue }
                pending.append((trial, parameters))
            }
        } catch { throw RunnerError.store(error) }

        let jobs = max(1, options.jobs)
        let previousThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previousThreads }
        let cache = ArtifactCache(store: store, worker: worker)
        let datasets = DatasetCache()
        let workers = max(1, jobs / max(1, min(jobs, pending.count)))
        let total = planned.count, alreadyDone = planned.count - pending.count
        options.progress?.started(run: run.id, name: document.name, total: total, done: alreadyDone)

        var failures: [RunnerError] = []
        var computed = 0
        let runID = run.id
        do {
            try await withThrowingTaskGroup(of: (TrialDefinition, TrialResult).self) { group in
                var iterator = pending.makeIterator()
                // Trials another worker held when first tried: taken up last, waiting for them.
                var deferred: [(TrialDefinition, any Sendable)] = []
                var running = 0
                func launch() {
                    let next: (TrialDefinition, any Sendable)
                    let wait: Bool
                    if let item = iterator.next() { (next, wait) = (item, false) } else if !deferred.isEmpty { (next, wait) = (deferred.removeFirst(), true) } else { return }
                    let (trial, parameters) = next
                    running += 1
                    let key = trialKey(trial)
                    let context = TrialContext(trialIndex: trial.index, seed: trial.seed, dataDirectory: options.dataDirectory,
                                               workers: workers, codeVersion: options.codeVersion,
                                               reusableCodeVersions: options.reusableCodeVersions, cache: cache, datasets: datasets,
                                               inputDigests: trialInputs[trial.index] ?? [:],
                                               inputFingerprints: trialFingerprints[trial.index] ?? [],
                                               report: { [progress = options.progress] in progress?.message("trial \(trial.index): \($0)") })
                    group.addTask {
                        // Claim the trial, or learn that it is done or another worker holds it.
                        do {
                            while true {
                                if let previous = try store.completedTrial(key: key) {
                                    return (trial, previous.runID == runID && previous.index == trial.index ? .doneElsewhere : .copy(from: previous))
                                }
                                if case .claimed = try store.claim(key, worker: worker) { break }
                                if !wait { return (trial, .deferred) }
                                try await Task.sleep(for: ArtifactCache.pollInterval)
                            }
                        } catch {
                            return (trial, .failure(error))
                        }
                        options.progress?.trialStarted(index: trial.index, parameters: trial.parametersJSON)
                        let start = ContinuousClock.now
                        do {
                            let outcome = try await kind.execute(parameters, context)
                            let elapsed = ContinuousClock.now - start
                            return (trial, .computed(outcome, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
                        } catch {
                            return (trial, .failure(error))
                        }
                    }
                }
                for _ in 0..<jobs { launch() }
                while running > 0, let (trial, result) = try await group.next() {
                    running -= 1
                    let index = trial.index
                    let claim = (key: trialKey(trial), worker: worker)
                    switch result {
                    case let .computed(outcome, seconds):
                        try store.completeTrial(runID: runID, index: index, outcome: outcome, seconds: seconds, releasing: claim)
                        computed += 1
                        options.progress?.trialFinished(index: index, seconds: seconds, metrics: outcome.metrics)
                    case let .copy(source):
                        try store.copyTrial(from: source, to: runID, index: index)
                        options.progress?.message("trial \(index): reused results of run \(source.runID), computed by another process")
                    case .doneElsewhere:
                        options.progress?.message("trial \(index): computed by another process in this run")
                    case .deferred:
                        deferred.append((trial, planned.first { $0.0.index == index }!.1))
                    case let .failure(error):
                        try? store.release(claim.key, worker: worker)
                        // A trial that stopped because the run was cancelled (whatever error its
                        // loop threw on seeing the cancellation) is not a failure: it stays pending.
                        if error is CancellationError || Task.isCancelled { throw CancellationError() }
                        if let storeError = error as? StoreError { throw storeError }
                        let message = String(describing: error)
                        try store.failTrial(runID: runID, index: index, error: message)
                        failures.append(.trialFailed(index: index, parameters: trial.parametersJSON, reason: message))
                        options.progress?.message("trial \(index) failed: \(message)")
                    }
                    // A finished trial is stored before an interruption is honoured.
                    try Task.checkCancellation()
                    launch()
                }
            }
        } catch is CancellationError {
            try? store.setRunStatus(run.id, .interrupted)
            throw RunnerError.cancelled
        } catch let error as StoreError {
            throw RunnerError.store(error)
        }
        let trials: [TrialRecord]
        do throws(StoreError) {
            // With workers sharing the run, it is complete when every trial is, whoever computed it.
            let stored = try store.trials(runID: run.id)
            try store.setRunStatus(run.id, failures.isEmpty && stored.allSatisfy { $0.status == .complete } ? .complete : .failed)
            run = try store.run(run.id)
            trials = try store.trials(runID: run.id)
        } catch { throw RunnerError.store(error) }
        options.progress?.finished()
        if let first = failures.first { throw first }
        return Summary(run: run, trials: trials, computed: computed)
    }

    /// The largest spec file read (1 MiB): specs are written by hand; anything larger is not one.
    public static let maximumSpecBytes = 1 << 20

    /// The text of the spec at `url`: a regular UTF-8 file of at most `maximumSpecBytes`.
    /// - Throws: `RunnerError.spec` naming the file and why (missing, a directory or FIFO, too
    ///   large, not UTF-8) — never a hang on a FIFO or an allocation of an unbounded file.
    public static func readSpec(_ url: URL) throws(RunnerError) -> String {
        let bytes: [UInt8]
        do throws(InputFileError) { bytes = try InputFile.read(url, maximumBytes: maximumSpecBytes) } catch {
            let reason = error.kind == .tooLarge ? "the spec is larger than \(maximumSpecBytes) bytes" : error.reason
            throw .spec(SpecError(file: url.path, line: nil, keyPath: "", message: "cannot read the spec: \(reason)"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .spec(SpecError(file: url.path, line: nil, keyPath: "", message: "cannot read the spec: it is not UTF-8 text"))
        }
        return text
    }

    /// The largest outside input file a spec may name (64 GiB): hashing it is the only read the
    /// runner makes; each kind bounds what it loads.
    public static let maximumInputFileBytes = 64 << 30

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}

/// How a trial ended in this worker.
enum TrialResult: Sendable {
    case computed(TrialOutcome, seconds: Double)
    /// Completed in another run: its results are copied.
    case copy(from: (runID: String, index: Int))
    /// Completed in this run by another worker sharing it.
    case doneElsewhere
    /// Another live worker holds it: try again after every other trial.
    case deferred
    case failure(any Error)
}
