import Codecs
import Foundation
import GRDB

/// A run as stored.
public struct RunRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: String
    public var seed: UInt64
    public var specFile: String
    public var specText: String
    public var overrides: [String]
    public var specHash: String
    public var codeVersion: String
    public var status: RunStatus
    public var trialCount: Int
    public var createdAt: Date
    public var finishedAt: Date?
    /// The worker (`StoreWorker`) that runs it while it is `running`.
    public var workerID: String? = nil

    package init(id: String, name: String, kind: String, seed: UInt64, specFile: String, specText: String, overrides: [String],
                 specHash: String, codeVersion: String, status: RunStatus, trialCount: Int, createdAt: Date, finishedAt: Date?,
                 workerID: String? = nil) {
        self.id = id
        self.name = name
        self.kind = kind
        self.seed = seed
        self.specFile = specFile
        self.specText = specText
        self.overrides = overrides
        self.specHash = specHash
        self.codeVersion = codeVersion
        self.status = status
        self.trialCount = trialCount
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.workerID = workerID
    }
}

public enum RunStatus: String, Sendable, Equatable {
    case running, complete, failed, interrupted
    /// Its process died (killed, out of memory, power cut) while it was running: found so by the
    /// next process that opened the store. Re-running the spec resumes it.
    case crashed
}

/// A trial as stored, with its metrics.
public struct TrialRecord: Sendable, Equatable {
    public var runID: String
    public var index: Int
    /// Canonical JSON of the swept parameters.
    public var parameters: String
    public var seed: UInt64
    public var trialKey: String
    public var status: TrialStatus
    public var error: String?
    public var seconds: Double?
    public var metrics: [Metric]

    public init(runID: String, index: Int, parameters: String, seed: UInt64, trialKey: String, status: TrialStatus,
                error: String? = nil, seconds: Double? = nil, metrics: [Metric]) {
        self.runID = runID
        self.index = index
        self.parameters = parameters
        self.seed = seed
        self.trialKey = trialKey
        self.status = status
        self.error = error
        self.seconds = seconds
        self.metrics = metrics
    }
}

public enum TrialStatus: String, Sendable, Equatable {
    case pending, complete, failed
}

extension ResultStore {
    /// Creates a run and its pending trials in one transaction.
    public func createRun(_ run: RunRecord, trials: [(index: Int, parameters: String, seed: UInt64, key: String)]) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                INSERT INTO runs (id, name, kind, seed, spec_file, spec_text, overrides, spec_hash, code_version, status, trial_count, created_at, worker_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [run.id, run.name, run.kind, Int64(bitPattern: run.seed), run.specFile, run.specText,
                                 jsonArray(run.overrides), run.specHash, run.codeVersion, run.status.rawValue, run.trialCount,
                                 run.createdAt.timeIntervalSince1970, run.workerID])
            for trial in trials {
                try db.execute(sql: "INSERT INTO trials (run_id, trial_index, parameters, seed, trial_key, status) VALUES (?, ?, ?, ?, ?, 'pending')",
                               arguments: [run.id, trial.index, trial.parameters, Int64(bitPattern: trial.seed), trial.key])
            }
        }
    }

    /// Records a finished trial — metrics, series, artifact references and status — atomically,
    /// releasing the worker's claim on the trial's key in the same transaction.
    public func completeTrial(runID: String, index: Int, outcome: TrialOutcome, seconds: Double,
                              releasing claim: (key: String, worker: String)? = nil) throws(StoreError) {
        try write { db in
            if let claim {
                try db.execute(sql: "DELETE FROM claims WHERE key = ? AND worker_id = ?", arguments: [claim.key, claim.worker])
            }
            try db.execute(sql: "DELETE FROM metrics WHERE run_id = ? AND trial_index = ?", arguments: [runID, index])
            try db.execute(sql: "DELETE FROM series WHERE run_id = ? AND trial_index = ?", arguments: [runID, index])
            try db.execute(sql: "DELETE FROM trial_artifacts WHERE run_id = ? AND trial_index = ?", arguments: [runID, index])
            for metric in outcome.metrics {
                try db.execute(sql: "INSERT INTO metrics (run_id, trial_index, name, value) VALUES (?, ?, ?, ?)",
                               arguments: [runID, index, metric.name, metric.value])
            }
            for series in outcome.series {
                try db.execute(sql: "INSERT INTO series (run_id, trial_index, name, data) VALUES (?, ?, ?, ?)",
                               arguments: [runID, index, series.label.map { "\(series.name)/\($0)" } ?? series.name, series.json])
            }
            for artifact in outcome.artifacts {
                try db.execute(sql: "INSERT OR REPLACE INTO trial_artifacts (run_id, trial_index, role, artifact_key) VALUES (?, ?, ?, ?)",
                               arguments: [runID, index, artifact.role, artifact.key])
            }
            try db.execute(sql: "UPDATE trials SET status = 'complete', error = NULL, seconds = ?, finished_at = ? WHERE run_id = ? AND trial_index = ?",
                           arguments: [seconds, Date().timeIntervalSince1970, runID, index])
        }
    }

    public func failTrial(runID: String, index: Int, error: String, releasing claim: (key: String, worker: String)? = nil) throws(StoreError) {
        try write { db in
            if let claim {
                try db.execute(sql: "DELETE FROM claims WHERE key = ? AND worker_id = ?", arguments: [claim.key, claim.worker])
            }
            try db.execute(sql: "UPDATE trials SET status = 'failed', error = ? WHERE run_id = ? AND trial_index = ?",
                           arguments: [error, runID, index])
        }
    }

    /// Sets a run's status; `running` records the worker that runs it.
    public func setRunStatus(_ id: String, _ status: RunStatus, worker: String? = nil) throws(StoreError) {
        try write { db in
            if status == .running {
                try db.execute(sql: "UPDATE runs SET status = 'running', finished_at = NULL, worker_id = ? WHERE id = ?", arguments: [worker, id])
            } else {
                try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                               arguments: [status.rawValue, Date().timeIntervalSince1970, id])
            }
        }
    }

    /// The most recent run with this spec hash that did not complete, if any.
    public func unfinishedRun(specHash: String) throws(StoreError) -> RunRecord? {
        try access { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE spec_hash = ? AND status != 'complete' ORDER BY created_at DESC LIMIT 1",
                             arguments: [specHash]).map(RunRecord.init(row:)).map { try Self.withLiveness(db, [$0])[0] }
        }
    }

    /// A completed trial anywhere in the store with this key (results are reused, not recomputed).
    public func completedTrial(key: String) throws(StoreError) -> (runID: String, index: Int)? {
        try access { db in
            try Row.fetchOne(db, sql: "SELECT run_id, trial_index FROM trials WHERE trial_key = ? AND status = 'complete' LIMIT 1",
                             arguments: [key]).map { ($0["run_id"] as String, $0["trial_index"] as Int) }
        }
    }

    /// Copies a completed trial's results into another run's trial.
    public func copyTrial(from source: (runID: String, index: Int), to runID: String, index: Int) throws(StoreError) {
        let outcome = try outcome(runID: source.runID, index: source.index)
        try completeTrial(runID: runID, index: index, outcome: outcome, seconds: 0)
    }

    public func runs(limit: Int = 100) throws(StoreError) -> [RunRecord] {
        try access { db in
            try Self.withLiveness(db, try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?", arguments: [limit]).map(RunRecord.init(row:)))
        }
    }

    /// The run with this ID, or the one run whose ID starts with it.
    /// - Throws: `.notFound` when no run matches, `.ambiguous` (listing them) when the prefix
    ///   starts several runs' ids.
    public func run(_ id: String) throws(StoreError) -> RunRecord {
        let found = try access { db in
            // A prefix compared as text (no LIKE: '%' and '_' in the argument are not wildcards).
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id = ? OR substr(id, 1, length(?)) = ? ORDER BY (id = ?) DESC, created_at DESC, id DESC LIMIT 21",
                             arguments: [id, id, id, id]).map(RunRecord.init(row:))
                .map { try Self.withLiveness(db, [$0])[0] }
        }
        guard let first = found.first else { throw .notFound(file: url.path, what: "run '\(id)'") }
        if first.id == id || found.count == 1 { return first }
        throw .ambiguous(file: url.path, prefix: id, matches: found.prefix(20).map(\.id) + (found.count > 20 ? ["…"] : []))
    }

    public func trials(runID: String) throws(StoreError) -> [TrialRecord] {
        try access { db in
            let metricRows = try Row.fetchAll(db, sql: "SELECT trial_index, name, value FROM metrics WHERE run_id = ? ORDER BY trial_index, name",
                                              arguments: [runID])
            var metrics: [Int: [Metric]] = [:]
            for row in metricRows { metrics[row["trial_index"], default: []].append(Metric(name: row["name"], value: row["value"])) }
            return try Row.fetchAll(db, sql: "SELECT * FROM trials WHERE run_id = ? ORDER BY trial_index", arguments: [runID]).map { row in
                TrialRecord(runID: row["run_id"], index: row["trial_index"], parameters: row["parameters"],
                            seed: UInt64(bitPattern: row["seed"] as Int64), trialKey: row["trial_key"],
                            status: TrialStatus(rawValue: row["status"]) ?? .pending, error: row["error"], seconds: row["seconds"],
                            metrics: metrics[row["trial_index"]] ?? [])
            }
        }
    }

    /// A stored trial's results.
    public func outcome(runID: String, index: Int) throws(StoreError) -> TrialOutcome {
        try access { db in
            let metrics = try Row.fetchAll(db, sql: "SELECT name, value FROM metrics WHERE run_id = ? AND trial_index = ? ORDER BY name",
                                           arguments: [runID, index]).map { Metric(name: $0["name"], value: $0["value"]) }
            let series = try Row.fetchAll(db, sql: "SELECT data FROM series WHERE run_id = ? AND trial_index = ? ORDER BY name",
                                          arguments: [runID, index]).compactMap { Series(json: $0["data"]) }
            let artifacts = try Row.fetchAll(db, sql: "SELECT role, artifact_key FROM trial_artifacts WHERE run_id = ? AND trial_index = ? ORDER BY role",
                                             arguments: [runID, index]).map { ArtifactReference(role: $0["role"], key: $0["artifact_key"]) }
            return TrialOutcome(metrics: metrics, series: series, artifacts: artifacts)
        }
    }
}

/// What the store records of an artifact (its file is `path` inside the artifacts folder).
public struct ArtifactRecord: Sendable, Equatable {
    public var key: String
    public var kind: String
    public var byteCount: Int
    public var sha256: String
    public var createdAt: Date
}

extension ResultStore {
    /// The record of the artifact `key`, or `nil` when the store has none.
    public func artifactRecord(key: String) throws(StoreError) -> ArtifactRecord? {
        try access { db in
            try Row.fetchOne(db, sql: "SELECT key, kind, byte_count, sha256, created_at FROM artifacts WHERE key = ?", arguments: [key]).map {
                ArtifactRecord(key: $0["key"], kind: $0["kind"], byteCount: $0["byte_count"], sha256: $0["sha256"],
                               createdAt: Date(timeIntervalSince1970: $0["created_at"]))
            }
        }
    }
}

extension ResultStore {
    /// The runs with `running` replaced by `crashed` where the worker running them is dead or
    /// unknown: what a reader sees of a crash before a writer records it (`reapDeadWorkers`).
    static func withLiveness(_ db: Database, _ runs: [RunRecord]) throws -> [RunRecord] {
        guard runs.contains(where: { $0.status == .running }) else { return runs }
        let dead = try deadWorkers(db, now: Date(), timeout: workerTimeout)
        let registered = Set(try workers(db).map(\.id))
        return runs.map { run in
            var run = run
            if run.status == .running, run.workerID.map({ dead.contains($0) || !registered.contains($0) }) ?? true { run.status = .crashed }
            return run
        }
    }
}

extension RunRecord {
    init(row: Row) {
        id = row["id"]
        name = row["name"]
        kind = row["kind"]
        seed = UInt64(bitPattern: row["seed"] as Int64)
        specFile = row["spec_file"]
        specText = row["spec_text"]
        overrides = (try? JSONDecoder().decode([String].self, from: Data((row["overrides"] as String).utf8))) ?? []
        specHash = row["spec_hash"]
        codeVersion = row["code_version"]
        status = RunStatus(rawValue: row["status"]) ?? .failed
        trialCount = row["trial_count"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        workerID = row["worker_id"]
    }
}

func jsonArray(_ strings: [String]) -> String {
    "[" + strings.map(JSONText.string).joined(separator: ",") + "]"
}

/// What `collectGarbage` removed (or would remove).
public struct ArtifactCollection: Sendable, Equatable {
    /// Artifacts no trial refers to, as paths relative to the artifacts folder.
    public var artifacts: [String] = []
    /// Files in the artifacts folder that are no artifact (left by a crash mid-write).
    public var strayFiles: [String] = []
    public var bytes: Int = 0
    /// Artifacts still referenced.
    public var kept: Int = 0

    public init(artifacts: [String] = [], strayFiles: [String] = [], bytes: Int = 0, kept: Int = 0) {
        self.artifacts = artifacts
        self.strayFiles = strayFiles
        self.bytes = bytes
        self.kept = kept
    }
}

extension ResultStore {
    /// Deletes a run with its trials, metrics, series and artifact references (the artifacts
    /// themselves stay for `collectGarbage`).
    /// - Throws: `.database` when a live process is running the run.
    public func deleteRun(_ id: String) throws(StoreError) {
        try write { db in
            _ = try Self.reap(db, now: Date(), timeout: Self.workerTimeout)
            guard let row = try Row.fetchOne(db, sql: "SELECT status, worker_id FROM runs WHERE id = ?", arguments: [id]) else {
                throw StoreError.notFound(file: url.path, what: "run '\(id)'")
            }
            if (row["status"] as String) == "running", let worker = row["worker_id"] as String?,
               try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workers WHERE id = ?", arguments: [worker]) == 1 {
                throw StoreError.database(file: url.path, reason: "run '\(id)' is being run by a live process; stop it first")
            }
            try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
        }
    }

    /// Removes the artifacts no stored trial refers to, and files in the artifacts folder that
    /// are no recorded artifact, in one transaction that no process can start a run during.
    /// - Throws: `.locked` when another process is running on the store (its unfinished trials'
    ///   artifacts are not referenced yet).
    public func collectGarbage(dryRun: Bool = false) throws(StoreError) -> ArtifactCollection {
        let folder = artifactsDirectory
        return try write { db in
            _ = try Self.reap(db, now: Date(), timeout: Self.workerTimeout)
            if let live = try Self.workers(db).first {
                throw StoreError.database(file: url.path, reason: "process \(live.pid) on \(live.host) is running on this store; collect garbage when it finishes")
            }
            var result = ArtifactCollection()
            let unreferenced = try Row.fetchAll(db, sql: """
                SELECT key, path, byte_count FROM artifacts WHERE key NOT IN (SELECT artifact_key FROM trial_artifacts) ORDER BY path
                """)
            let recorded = Set(try String.fetchAll(db, sql: "SELECT path FROM artifacts"))
            result.kept = recorded.count - unreferenced.count
            for row in unreferenced {
                result.artifacts.append(row["path"])
                result.bytes += row["byte_count"] as Int
            }
            // Files that are no artifact at all: temporary files of interrupted writes.
            if let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) {
                for case let file as URL in walker {
                    guard (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                    let relative = String(file.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
                    if !recorded.contains(relative) {
                        result.strayFiles.append(relative)
                        result.bytes += (try? file.resourceValues(forKeys: [.fileSizeKey]))?.fileSize ?? 0
                    }
                }
            }
            result.strayFiles.sort()
            guard !dryRun else { return result }
            for row in unreferenced {
                try db.execute(sql: "DELETE FROM artifacts WHERE key = ?", arguments: [row["key"] as String])
            }
            // Rows go with the transaction; a file that cannot be removed is a stray file for the next collection.
            for path in result.artifacts + result.strayFiles {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(path))
            }
            return result
        }
    }
}
