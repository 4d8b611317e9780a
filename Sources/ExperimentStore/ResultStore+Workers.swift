import Foundation
import GRDB

/// A process (one `ExperimentRunner.run`) working on a store: it is registered while it runs,
/// proves it is alive by a heartbeat, and claims every trial and artifact before computing it,
/// so that two runs on one store never compute the same thing and a run whose process died is
/// recognised as crashed.
///
/// Liveness: a worker is dead when it ran on this host and its process no longer exists, or when
/// its heartbeat is older than `ResultStore.workerTimeout` (a worker on another host, or a pid
/// reused after a crash). A dead worker's claims are released and its running runs marked
/// `crashed` by the next writer that opens the store (`reapDeadWorkers`).
public struct StoreWorker: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int32
    public var heartbeat: Date

    /// This process, on this host.
    static func current() -> (host: String, pid: Int32) {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0 ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return (host, getpid())
    }

    /// Whether the worker is dead at `now`: its process is gone (same host) or its heartbeat is stale.
    func isDead(now: Date, timeout: TimeInterval, host currentHost: String) -> Bool {
        if now.timeIntervalSince(heartbeat) > timeout { return true }
        if host == currentHost, pid > 0, kill(pid, 0) != 0, errno == ESRCH { return true }
        return false
    }
}

/// A registered worker that keeps its heartbeat fresh until `end()`.
///
/// The heartbeat runs on a Dispatch timer, not on the Swift concurrency pool, so that trials
/// busy on every cooperative thread do not starve it.
public final class WorkerLease: @unchecked Sendable {
    public let worker: String
    let store: ResultStore
    private let timer: DispatchSourceTimer
    private let lock = NSLock()
    private var ended = false

    init(store: ResultStore, worker: String, interval: TimeInterval) {
        self.store = store
        self.worker = worker
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [store, worker] in
            // A busy store only delays a beat; the timeout is many beats long.
            try? store.write { db in
                try db.execute(sql: "UPDATE workers SET heartbeat_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, worker])
            }
        }
        timer.resume()
    }

    /// Stops the heartbeat and unregisters the worker, releasing every claim it still holds.
    public func end() {
        let first = lock.withLock { () -> Bool in
            defer { ended = true }
            return !ended
        }
        guard first else { return }
        timer.cancel()
        try? store.write { db in
            try db.execute(sql: "DELETE FROM claims WHERE worker_id = ?", arguments: [worker])
            try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [worker])
        }
    }

    deinit { end() }
}

/// What happened when a worker asked for a key.
public enum ClaimResult: Sendable, Equatable {
    /// The key is this worker's to compute.
    case claimed
    /// A live worker is computing it.
    case heldBy(worker: String)
}

extension ResultStore {
    /// How long a worker may go without a heartbeat before it is taken for dead (60 s; beats
    /// every `heartbeatInterval`).
    public static let workerTimeout: TimeInterval = 60
    public static let heartbeatInterval: TimeInterval = 5

    /// Registers a worker for this process and starts its heartbeat.
    public func registerWorker(heartbeatInterval: TimeInterval = ResultStore.heartbeatInterval) throws(StoreError) -> WorkerLease {
        let (host, pid) = StoreWorker.current()
        let id = "w-\(UUID().uuidString.lowercased())"
        let now = Date().timeIntervalSince1970
        try write { db in
            try db.execute(sql: "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, host, Int(pid), now, now])
        }
        return WorkerLease(store: self, worker: id, interval: heartbeatInterval)
    }

    /// The registered workers.
    public func workers() throws(StoreError) -> [StoreWorker] {
        try access { db in try Self.workers(db) }
    }

    static func workers(_ db: Database) throws -> [StoreWorker] {
        try Row.fetchAll(db, sql: "SELECT id, host, pid, heartbeat_at FROM workers").map {
            StoreWorker(id: $0["id"], host: $0["host"], pid: Int32(truncatingIfNeeded: $0["pid"] as Int),
                        heartbeat: Date(timeIntervalSince1970: $0["heartbeat_at"]))
        }
    }

    /// The ids of the workers that are dead at `now`.
    static func deadWorkers(_ db: Database, now: Date, timeout: TimeInterval) throws -> Set<String> {
        let host = StoreWorker.current().host
        return Set(try workers(db).filter { $0.isDead(now: now, timeout: timeout, host: host) }.map(\.id))
    }

    /// Releases dead workers' claims, unregisters them, and marks `crashed` every run left
    /// `running` by a worker that is dead or unknown (a run started before workers were
    /// recorded). Returns the ids of the runs so marked.
    @discardableResult
    public func reapDeadWorkers(now: Date = Date(), timeout: TimeInterval = ResultStore.workerTimeout) throws(StoreError) -> [String] {
        try write { db in try Self.reap(db, now: now, timeout: timeout) }
    }

    static func reap(_ db: Database, now: Date, timeout: TimeInterval) throws -> [String] {
        let dead = try deadWorkers(db, now: now, timeout: timeout)
        for id in dead {
            try db.execute(sql: "DELETE FROM claims WHERE worker_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
        }
        let orphans = try String.fetchAll(db, sql: """
            SELECT id FROM runs WHERE status = 'running'
            AND (worker_id IS NULL OR worker_id NOT IN (SELECT id FROM workers))
            """)
        for id in orphans {
            try db.execute(sql: "UPDATE runs SET status = 'crashed', finished_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, id])
        }
        return orphans
    }

    /// Claims `key` (a trial or artifact key) for `worker`, after releasing dead workers' claims.
    /// A key this worker already holds is claimed again.
    public func claim(_ key: String, worker: String, now: Date = Date()) throws(StoreError) -> ClaimResult {
        try write { db in
            _ = try Self.reap(db, now: now, timeout: Self.workerTimeout)
            if let holder = try String.fetchOne(db, sql: "SELECT worker_id FROM claims WHERE key = ?", arguments: [key]) {
                return holder == worker ? .claimed : .heldBy(worker: holder)
            }
            try db.execute(sql: "INSERT INTO claims (key, worker_id, claimed_at) VALUES (?, ?, ?)",
                           arguments: [key, worker, now.timeIntervalSince1970])
            return .claimed
        }
    }

    /// Releases `worker`'s claim on `key` (nothing when it holds none).
    public func release(_ key: String, worker: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "DELETE FROM claims WHERE key = ? AND worker_id = ?", arguments: [key, worker])
        }
    }

    /// The worker holding `key`, if any.
    public func claimHolder(_ key: String) throws(StoreError) -> String? {
        try access { db in try String.fetchOne(db, sql: "SELECT worker_id FROM claims WHERE key = ?", arguments: [key]) }
    }

    /// Whether `worker` is registered and alive now.
    public func isLive(worker: String, now: Date = Date()) throws(StoreError) -> Bool {
        try access { db in
            guard let found = try Self.workers(db).first(where: { $0.id == worker }) else { return false }
            return !found.isDead(now: now, timeout: Self.workerTimeout, host: StoreWorker.current().host)
        }
    }
}
