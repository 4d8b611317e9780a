import Codecs
import Foundation
import GRDB

/// Content-addressed artifacts (trained models, score arrays) stored beside the results
/// database and shared by every trial and run that needs the same thing.
///
/// An artifact's key is the SHA-256 of the canonical JSON of everything that determines it
/// (`ArtifactKey` in `ExperimentRunning`): its kind, the spec fields it depends on, the seed and
/// stream it draws from, the input files and the code version. Files are written to a temporary name and renamed into place, then recorded with
/// their size and digest; a file whose size or digest no longer matches is recomputed (in an
/// encrypted store it is refused as tampered with: see `verifiedData`).
/// Concurrent requests for the same key within a process wait for one computation; across
/// processes, the worker that claims the key (`ResultStore.claim`) computes it and the others
/// wait for the stored file, or take over when that worker dies.
public actor ArtifactCache {
    let store: ResultStore
    /// The worker whose claims keep other processes from computing the same artifact.
    let worker: String?
    private var inFlight: [String: Task<Data, any Error>] = [:]

    public init(store: ResultStore, worker: String? = nil) {
        self.store = store
        self.worker = worker
    }

    /// How often a worker waiting for another's artifact or trial looks again.
    package static let pollInterval: Duration = .milliseconds(200)

    /// The artifact's bytes: from the cache when present and intact, else from `produce`, which
    /// is then stored.
    public func data(key: String, kind: String, fileExtension: String,
                     produce: @escaping @Sendable () async throws -> Data) async throws -> Data {
        if let running = inFlight[key] { return try await Self.value(of: running) }
        if let cached = try load(key: key) { return cached }
        let task = Task { [store, worker] () throws -> Data in
            let claimKey = "artifact:\(key)"
            if let worker {
                // Another process computing it: wait for its file (or for it to die or give up).
                while case .heldBy = try store.claim(claimKey, worker: worker) {
                    try await Task.sleep(for: Self.pollInterval)
                    if let cached = try self.load(key: key) { return cached }
                }
            }
            // A stored file refused as tampered with releases the claim too.
            do {
                if let worker, let cached = try self.load(key: key) {
                    try store.release(claimKey, worker: worker)
                    return cached
                }
                let data = try await produce()
                // A computation stopped by cancellation is not stored.
                try Task.checkCancellation()
                try self.save(data, key: key, kind: kind, fileExtension: fileExtension)
                if let worker { try store.release(claimKey, worker: worker) }
                return data
            } catch {
                if let worker { try? store.release(claimKey, worker: worker) }
                throw error
            }
        }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        return try await Self.value(of: task)
    }

    /// The task's value; cancelling the waiting task (Ctrl-C) cancels the computation too, which
    /// an unstructured task would not otherwise see.
    private static func value(of task: Task<Data, any Error>) async throws -> Data {
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Whether an intact artifact with this key exists.
    public func contains(key: String) -> Bool { (try? load(key: key)) != nil }

    private func load(key: String) throws -> Data? {
        try Self.verifiedData(key: key, store: store)
    }


    /// The bytes of the stored artifact `key`, or `nil` when it is unknown, missing, not a
    /// regular file, outside the store's artifacts folder, or (in a plain store) no longer has
    /// the size and SHA-256 recorded when it was written.
    ///
    /// In an encrypted store the file holds the artifact sealed under the store's data key,
    /// bound to `key`; its recorded size and SHA-256 are those of the sealed bytes. A file of
    /// another size (truncated, grown), another digest (a flipped bit), or that fails GCM's
    /// check (another artifact's file swapped in with its record, another key's file, a plaintext
    /// file) throws `StoreError.artifactTampered` naming the file and the artifact: tampering is
    /// reported, not silently recomputed. A sealed file in a plain store is refused the same way
    /// (its store's encryption record was removed).
    ///
    /// Every reader of artifacts (the cache, reports, notebooks, the results browser) goes
    /// through this check, so a file changed on disk is never parsed: its size is checked before
    /// it is read (a sparse 20 GB file is not loaded) and its digest before it is used. A
    /// recorded path that leaves the artifacts folder (`../`, an absolute path, a symbolic link
    /// to elsewhere) is never read: a store copied from someone else cannot point its readers at
    /// the reader's own files.
    public static func verifiedData(key: String, store: ResultStore) throws -> Data? {
        let row = try store.access { db in
            try Row.fetchOne(db, sql: "SELECT path, byte_count, sha256 FROM artifacts WHERE key = ?", arguments: [key])
        }
        guard let row, let path = row["path"] as String?, let byteCount = row["byte_count"] as Int?,
              let digest = row["sha256"] as String?, byteCount >= 0 else { return nil }
        guard let url = confinedURL(path, in: store.artifactsDirectory) else { return nil }
        let bytes: [UInt8]
        do { bytes = try InputFile.read(url, maximumBytes: byteCount) } catch {
            // The size is checked before anything is allocated: a grown file is not read.
            guard store.isEncrypted, error.kind == .tooLarge else { return nil }
            throw StoreError.artifactTampered(file: url.path, artifact: key, reason: error.reason)
        }
        guard bytes.count == byteCount, SHA256.hash(bytes).hex == digest else {
            guard store.isEncrypted else { return nil }
            throw StoreError.artifactTampered(file: url.path, artifact: key,
                                              reason: "its size or SHA-256 is not the one recorded when it was written (\(bytes.count) bytes, \(byteCount) recorded)")
        }
        guard let encryption = store.encryption else {
            // A plaintext artifact never starts with the sealed magic (.npy starts with \x93NUMPY,
            // safetensors with its header's length).
            if SealedData.looksSealed(bytes) {
                throw StoreError.artifactTampered(file: url.path, artifact: key,
                                                  reason: "it is sealed, but the store has no encryption record (was it removed from the database?)")
            }
            return Data(bytes)
        }
        return try encryption.open(bytes, key: key, file: url.path)
    }

    /// The file at `relative` inside `folder`, with symbolic links resolved, or `nil` when it
    /// lies outside the folder (after resolving the folder's own links too).
    static func confinedURL(_ relative: String, in folder: URL) -> URL? {
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.contains("\0") else { return nil }
        let root = folder.resolvingSymlinksInPath().standardizedFileURL.path
        let resolved = folder.appendingPathComponent(relative).resolvingSymlinksInPath().standardizedFileURL
        guard resolved.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return nil }
        return resolved
    }

    /// Writes the artifact (sealed first in an encrypted store: no plaintext byte reaches the
    /// disk, not even in the temporary file) and records its file's size and SHA-256.
    private func save(_ data: Data, key: String, kind: String, fileExtension: String) throws {
        let stored = store.storedBytes(data, key: key)
        let relative = "\(kind)/\(key).\(fileExtension)"
        let folder = store.artifactsDirectory.appendingPathComponent(kind, isDirectory: true)
        let url = store.artifactsDirectory.appendingPathComponent(relative)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try OutputFile.write(stored, to: url)
        } catch {
            throw ArtifactError(file: url.path, reason: "cannot write the artifact: \(error)")
        }
        let digest = SHA256.hash(stored).hex
        try store.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO artifacts (key, kind, path, byte_count, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [key, kind, relative, stored.count, digest, Date().timeIntervalSince1970])
        }
    }

    /// The file of a stored artifact.
    public func url(key: String) throws -> URL? {
        let path = try store.access { db in try String.fetchOne(db, sql: "SELECT path FROM artifacts WHERE key = ?", arguments: [key]) }
        return path.map { store.artifactsDirectory.appendingPathComponent($0) }
    }
}
