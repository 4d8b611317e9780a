import Codecs
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
        public var jobs: Int
        /// Resume the latest unfinished run of this spec (also done when one exists).
        public var resume = false
        public var progress: (any ProgressReporting)?
        public var codeVersion: String

        public init(dataDirectory: URL, storeURL: URL, jobs: Int, codeVersion: String = PrivacyLabVersion.string) {
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
        /// Trials computed in this invocation (the others were resumed or copied).
        public var computed: Int
    }

    /// The trials of a spec with their typed parameters, without running anything.
    public func plan(specText: String, file: String, overrides: [String]) throws(SpecError) -> (document: ExperimentDocument, kind: AnyExperimentKind, trials: [(TrialDefinition, any Sendable)]) {
        let document = try ExperimentDocument(yaml: specText, file: file, overrides: overrides, knownKinds: kinds.map(\.name))
        let kind = kinds.first { $0.name == document.kind }!
        var planned: [(TrialDefinition, any Sendable)] = []
        for trial in try document.trials() {
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
        let specText: String
        do { specText = try String(contentsOf: specURL, encoding: .utf8) } catch {
            throw RunnerError.spec(SpecError(file: specURL.path, line: nil, keyPath: "", message: "cannot read the spec: \(error.localizedDescription)"))
        }
        let (document, kind, planned): (ExperimentDocument, AnyExperimentKind, [(TrialDefinition, any Sendable)])
        do { (document, kind, planned) = try plan(specText: specText, file: specURL.path, overrides: options.overrides) } catch {
            throw RunnerError.spec(error)
        }
        do {
            try FileManager.default.createDirectory(at: options.storeURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw RunnerError.store(.io(file: options.storeURL.path, reason: "cannot create its folder: \(error.localizedDescription)"))
        }
        let store: ResultStore
        do throws(StoreError) { store = try ResultStore(url: options.storeURL) } catch { throw RunnerError.store(error) }

        let bodyJSON = document.body.canonicalJSON
        let sweepJSON = "[" + document.sweep.map { "[\(SpecNode.jsonString($0.path)),[\($0.values.map(\.canonicalJSON).joined(separator: ","))]]" }.joined(separator: ",") + "]"
        let specHash = SHA256.hash(utf8: "spec v1\n\(document.kind)\n\(document.name)\n\(document.seed)\n\(bodyJSON)\n\(sweepJSON)\n\(options.codeVersion)").hex
        // The content of every outside file a trial reads is part of its key.
        var digests: [String: String] = [:]
        var trialInputs: [Int: [String: String]] = [:]
        for (trial, parameters) in planned {
            var inputs: [String: String] = [:]
            for url in kind.files(parameters) {
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
        }
        func trialKey(_ trial: TrialDefinition) -> String {
            var text = "trial v1\n\(document.kind)\n\(trial.seed)\n\(trial.body.canonicalJSON)\n\(options.codeVersion)"
            if let inputs = trialInputs[trial.index], !inputs.isEmpty {
                text += "\ninputs: " + inputs.values.sorted().joined(separator: ",")
            }
            return SHA256.hash(utf8: text).hex
        }

        var run: RunRecord
        do throws(StoreError) {
            if let existing = try store.unfinishedRun(specHash: specHash) {
                run = existing
                try store.setRunStatus(run.id, .running)
                options.progress?.message("resuming run \(run.id)")
            } else {
                let stamp = Self.timestamp(Date())
                run = RunRecord(id: "r-\(stamp)-\(specHash.prefix(6))-\(UUID().uuidString.prefix(4).lowercased())", name: document.name, kind: document.kind, seed: document.seed,
                                specFile: specURL.path, specText: specText, overrides: options.overrides, specHash: specHash,
                                codeVersion: options.codeVersion, status: .running, trialCount: planned.count, createdAt: Date(), finishedAt: nil)
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
                pending.append((trial, parameters))
            }
        } catch { throw RunnerError.store(error) }

        let jobs = max(1, options.jobs)
        let previousThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previousThreads }
        let cache = ArtifactCache(store: store)
        let datasets = DatasetCache()
        let workers = max(1, jobs / max(1, min(jobs, pending.count)))
        let total = planned.count, alreadyDone = planned.count - pending.count
        options.progress?.started(run: run.id, name: document.name, total: total, done: alreadyDone)

        var failures: [RunnerError] = []
        do {
            try await withThrowingTaskGroup(of: (Int, Result<(TrialOutcome, Double), any Error>).self) { group in
                var iterator = pending.makeIterator()
                var running = 0
                func launch() {
                    guard let (trial, parameters) = iterator.next() else { return }
                    running += 1
                    let context = TrialContext(trialIndex: trial.index, seed: trial.seed, dataDirectory: options.dataDirectory,
                                               workers: workers, codeVersion: options.codeVersion, cache: cache, datasets: datasets,
                                               inputDigests: trialInputs[trial.index] ?? [:],
                                               report: { [progress = options.progress] in progress?.message("trial \(trial.index): \($0)") })
                    options.progress?.trialStarted(index: trial.index, parameters: trial.parametersJSON)
                    group.addTask {
                        let start = ContinuousClock.now
                        do {
                            let outcome = try await kind.execute(parameters, context)
                            let elapsed = ContinuousClock.now - start
                            return (trial.index, .success((outcome, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)))
                        } catch {
                            return (trial.index, .failure(error))
                        }
                    }
                }
                for _ in 0..<jobs { launch() }
                while running > 0, let (index, result) = try await group.next() {
                    running -= 1
                    switch result {
                    case let .success((outcome, seconds)):
                        try store.completeTrial(runID: run.id, index: index, outcome: outcome, seconds: seconds)
                        options.progress?.trialFinished(index: index, seconds: seconds, metrics: outcome.metrics)
                    case let .failure(error):
                        if error is CancellationError { throw CancellationError() }
                        let parameters = planned.first { $0.0.index == index }?.0.parametersJSON ?? ""
                        let message = String(describing: error)
                        try store.failTrial(runID: run.id, index: index, error: message)
                        failures.append(.trialFailed(index: index, parameters: parameters, reason: message))
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
            try store.setRunStatus(run.id, failures.isEmpty ? .complete : .failed)
            run = try store.run(run.id)
            trials = try store.trials(runID: run.id)
        } catch { throw RunnerError.store(error) }
        options.progress?.finished()
        if let first = failures.first { throw first }
        return Summary(run: run, trials: trials, computed: pending.count)
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
