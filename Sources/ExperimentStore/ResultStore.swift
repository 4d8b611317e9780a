import Foundation
import GRDB

/// The results store: an SQLite database (WAL mode) holding runs, trials, their parameters,
/// metrics, series and artifact references. Artifacts themselves are files beside it.
///
/// Every trial's results are written in one transaction together with its completion, so a
/// run killed at any moment leaves each trial either complete with all its results or absent.
/// Several processes may run on one store at once: each registers as a worker and claims what it
/// computes (`ResultStore+Workers.swift`); opening a store writable marks `crashed` the runs
/// whose process died.
///
/// A store created with a `StoreKey` keeps its artifacts encrypted at rest
/// (`ResultStore+Encryption.swift`) and opens only with that key.
public final class ResultStore: Sendable {
    /// The database file.
    public let url: URL
    /// The folder of artifacts (`<store folder>/artifacts`).
    public let artifactsDirectory: URL
    let pool: DatabasePool
    /// The unlocked data key of an encrypted store; `nil` for a plain one.
    let encryption: StoreEncryption?

    /// Migrations in order; a store that has applied one this list does not know was written by
    /// a newer PrivacyLab and is refused.
    static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        ("v1-runs-trials-metrics-artifacts", { db in
            try db.create(table: "runs") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("spec_file", .text).notNull()
                t.column("spec_text", .text).notNull()
                t.column("overrides", .text).notNull()
                t.column("spec_hash", .text).notNull().indexed()
                t.column("code_version", .text).notNull()
                t.column("status", .text).notNull()
                t.column("trial_count", .integer).notNull()
                t.column("created_at", .double).notNull()
                t.column("finished_at", .double)
            }
            try db.create(table: "trials") { t in
                t.column("run_id", .text).notNull().references("runs", onDelete: .cascade)
                t.column("trial_index", .integer).notNull()
                t.column("parameters", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("trial_key", .text).notNull().indexed()
                t.column("status", .text).notNull()
                t.column("error", .text)
                t.column("seconds", .double)
                t.column("finished_at", .double)
                t.primaryKey(["run_id", "trial_index"])
            }
            try db.create(table: "metrics") { t in
                t.column("run_id", .text).notNull()
                t.column("trial_index", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["run_id", "trial_index", "name"])
                t.foreignKey(["run_id", "trial_index"], references: "trials", onDelete: .cascade)
            }
            try db.create(table: "series") { t in
                t.column("run_id", .text).notNull()
                t.column("trial_index", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("data", .text).notNull()
                t.primaryKey(["run_id", "trial_index", "name"])
                t.foreignKey(["run_id", "trial_index"], references: "trials", onDelete: .cascade)
            }
            try db.create(table: "artifacts") { t in
                t.primaryKey("key", .text)
                t.column("kind", .text).notNull()
                t.column("path", .text).notNull()
                t.column("byte_count", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("created_at", .double).notNull()
            }
            try db.create(table: "trial_artifacts") { t in
                t.column("run_id", .text).notNull()
                t.column("trial_index", .integer).notNull()
                t.column("role", .text).notNull()
                t.column("artifact_key", .text).notNull().references("artifacts")
                t.primaryKey(["run_id", "trial_index", "role"])
                t.foreignKey(["run_id", "trial_index"], references: "trials", onDelete: .cascade)
            }
        }),
        // Workers (processes running a run), their claims on trial and artifact keys, and the
        // worker that runs each run: two runs share work, and a crashed run is recognised.
        ("v2-workers-claims", { db in
            try db.create(table: "workers") { t in
                t.primaryKey("id", .text)
                t.column("host", .text).notNull()
                t.column("pid", .integer).notNull()
                t.column("started_at", .double).notNull()
                t.column("heartbeat_at", .double).notNull()
            }
            try db.create(table: "claims") { t in
                t.primaryKey("key", .text)
                t.column("worker_id", .text).notNull().indexed()
                t.column("claimed_at", .double).notNull()
            }
            try db.alter(table: "runs") { t in t.add(column: "worker_id", .text) }
        }),
        // Encryption at rest: one row, the store's data key sealed under the user's store key,
        // present only in an encrypted store. An older PrivacyLab refuses a store with this step
        // (newer schema), so it never writes a plaintext artifact into an encrypted store.
        ("v3-store-encryption", { db in
            try db.create(table: "store_encryption") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("format", .integer).notNull()
                t.column("wrapped_key", .blob).notNull()
                t.column("created_at", .double).notNull()
            }
        }),
    ]

    /// Opens (creating when absent) the store at `url`, migrating it to the current schema.
    /// - Parameter key: the store key of an encrypted store; given to a writable open of a new
    ///   (empty) store, it makes that store encrypted (see `StoreEncryption.open`).
    /// - Throws: `StoreError` naming the file when it is not a PrivacyLab store, is corrupt,
    ///   is locked by another process for longer than the busy timeout, or was written by a
    ///   newer PrivacyLab; when it is encrypted and `key` is missing or wrong; when `key` is
    ///   given to a writable open of a plain store that already holds results.
    public init(url: URL, readOnly: Bool = false, key: StoreKey? = nil) throws(StoreError) {
        self.url = url
        self.artifactsDirectory = url.deletingLastPathComponent().appendingPathComponent("artifacts", isDirectory: true)
        // A read-only open creates nothing (no store, no artifacts folder).
        if !readOnly {
            do {
                try FileManager.default.createDirectory(at: artifactsDirectory, withIntermediateDirectories: true)
            } catch {
                throw .io(file: artifactsDirectory.path, reason: "cannot create the artifacts folder: \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly
        if readOnly && !FileManager.default.fileExists(atPath: url.path) {
            throw .notFound(file: url.path, what: "results store")
        }
        // Creating and migrating a store is serialised between processes by a lock file beside
        // it: two runs started together on a new store would otherwise both create its tables.
        var lock: Int32 = -1
        if !readOnly {
            lock = open(url.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard lock >= 0 else { throw .io(file: url.path + ".lock", reason: "cannot open the store's lock file: \(String(cString: strerror(errno)))") }
            while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if lock >= 0 { close(lock) } }
        do {
            pool = try Self.openPool(path: url.path, configuration: configuration)
            var migrator = DatabaseMigrator()
            for (name, migration) in Self.migrations { migrator.registerMigration(name, migrate: migration) }
            let known = Set(Self.migrations.map(\.0))
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw StoreError.newerSchema(file: url.path, migration: unknown)
            }
            if readOnly {
                guard applied.count == known.count else { throw StoreError.notFound(file: url.path, what: "complete schema (an older store; open it writable once to migrate)") }
            } else {
                try migrator.migrate(pool)
                // A run left `running` by a process that died is marked `crashed` now.
                _ = try pool.write { db in try Self.reap(db, now: Date(), timeout: Self.workerTimeout) }
            }
            encryption = try StoreEncryption.open(pool, key: key, readOnly: readOnly, file: url.path)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError(database: error, file: url.path)
        } catch {
            throw .io(file: url.path, reason: "\(error)")
        }
    }

    /// Opens the pool, retrying for up to 10 s while another process holds the lock that
    /// creating a store or switching it to WAL needs (SQLite answers those at once with BUSY,
    /// without the busy timeout): two runs started together on a new store both open it.
    static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        var attempt = 0
        while true {
            do { return try DatabasePool(path: path, configuration: configuration) } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && attempt < 100 {
                attempt += 1
                usleep(100_000)
            }
        }
    }

    /// The schema migrations applied, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try access { db in
            try Row.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid").map { $0[0] as String }
        }
    }

    func access<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch let error as DatabaseError {
            throw StoreError(database: error, file: url.path)
        } catch { throw .io(file: url.path, reason: "\(error)") }
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch let error as DatabaseError {
            throw StoreError(database: error, file: url.path)
        } catch let error as StoreError { throw error } catch { throw .io(file: url.path, reason: "\(error)") }
    }
}

/// A store that cannot be opened, read or written.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case notAStore(file: String)
    case locked(file: String)
    case newerSchema(file: String, migration: String)
    case notFound(file: String, what: String)
    /// A run-id prefix that starts several runs' ids (they are listed, newest first).
    case ambiguous(file: String, prefix: String, matches: [String])
    case io(file: String, reason: String)
    case database(file: String, reason: String)
    /// An encrypted store opened without its store key.
    case encryptionKeyRequired(file: String)
    /// A store key that does not unseal the store's data key.
    case wrongEncryptionKey(file: String, keySource: String)
    /// A store key given to a writable open of a plain store that already holds results.
    case plaintextStore(file: String, keySource: String)
    /// An artifact file of an encrypted store that fails its size, digest or GCM check.
    case artifactTampered(file: String, artifact: String, reason: String)

    init(database error: DatabaseError, file: String) {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: self = .notAStore(file: file)
        case .SQLITE_BUSY, .SQLITE_LOCKED: self = .locked(file: file)
        default: self = .database(file: file, reason: error.message ?? "\(error.resultCode)")
        }
    }

    public var description: String {
        switch self {
        case let .notAStore(file): return "\(file): not a PrivacyLab results store (corrupt or another kind of file)"
        case let .locked(file): return "\(file): the results store is locked by another process; try again when it finishes"
        case let .newerSchema(file, migration): return "\(file): written by a newer PrivacyLab (schema step '\(migration)'); upgrade PrivacyLab to read it"
        case let .notFound(file, what): return "\(file): no \(what)"
        case let .ambiguous(file, prefix, matches):
            return "\(file): '\(prefix)' starts \(matches.count) run ids; give more of one: \(matches.joined(separator: ", "))"
        case let .io(file, reason): return "\(file): \(reason)"
        case let .database(file, reason): return "\(file): \(reason)"
        case let .encryptionKeyRequired(file):
            return "\(file): the store is encrypted at rest; give its key with --store-key-file FILE or in $\(StoreKey.environmentVariable)"
        case let .wrongEncryptionKey(file, source):
            return "\(file): the \(source) does not unlock this encrypted store (a wrong key, or its key record was tampered with)"
        case let .plaintextStore(file, source):
            return "\(file): this store holds results written without encryption, and a store key was given (\(source)); "
                + "a store is encrypted from its creation: use a new --store with the key, or open this one without it"
        case let .artifactTampered(file, artifact, reason):
            return "\(file): artifact \(artifact) was tampered with or is not sealed under this store's key (wrong key); refused: \(reason)"
        }
    }
}

extension ResultStore {
    /// Marks a migration this version does not know as applied (tests of the newer-schema refusal).
    public func recordForeignMigrationForTesting(_ identifier: String) throws(StoreError) {
        try write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier]) }
    }

    /// Records an artifact row as a store written elsewhere might hold it, `path` relative to the
    /// artifacts folder and not checked (tests of readers that must stay inside that folder).
    public func recordArtifactForTesting(key: String, kind: String, path: String, byteCount: Int, sha256: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO artifacts (key, kind, path, byte_count, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [key, kind, path, byteCount, sha256, Date().timeIntervalSince1970])
        }
    }

    /// Registers a worker as another process would (tests of liveness).
    public func insertWorkerForTesting(id: String, host: String? = nil, pid: Int32, heartbeat: Date) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, host ?? StoreWorker.current().host, Int(pid), heartbeat.timeIntervalSince1970, heartbeat.timeIntervalSince1970])
        }
    }

    /// Puts a finished run back to `running` by `worker` with one trial pending, as a process
    /// killed inside that trial would leave it (tests of crash marking).
    public func markRunningForTesting(runID: String, worker: String, pendingTrial: Int, claiming key: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO claims (key, worker_id, claimed_at) VALUES (?, ?, ?)", arguments: [key, worker, Date().timeIntervalSince1970])
            try db.execute(sql: "UPDATE runs SET status = 'running', finished_at = NULL, worker_id = ? WHERE id = ?", arguments: [worker, runID])
            try db.execute(sql: "DELETE FROM metrics WHERE run_id = ? AND trial_index = ?", arguments: [runID, pendingTrial])
            try db.execute(sql: "UPDATE trials SET status = 'pending', seconds = NULL, finished_at = NULL WHERE run_id = ? AND trial_index = ?",
                           arguments: [runID, pendingTrial])
        }
    }
}
