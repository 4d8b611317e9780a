import Codecs
import Foundation
import GRDB

/// A store's encryption at rest, once unlocked: its data key.
///
/// An encrypted store has one random 256-bit data key, made when the store is created. The
/// `store_encryption` table holds it only sealed under the user's `StoreKey` (AES-256-GCM,
/// `SealedData`), so the database alone reveals nothing of it, and a wrong store key fails
/// GCM's tag check at open. Every artifact file (model checkpoints, `.npy` arrays) is sealed
/// under the data key, bound to its content address, before it reaches the disk, and opened
/// after its recorded size and digest (of the sealed bytes) are checked.
///
/// What is not encrypted: the database's rows (runs, specs, parameters, metrics, series,
/// artifact keys and sizes). They are the results the lab reports, and every command lists them;
/// artifacts hold what an adversary would want (trained weights, per-example scores,
/// reconstructed training images). A store whose rows must be secret too belongs on an encrypted
/// volume.
struct StoreEncryption: Sendable {
    let dataKey: SecretKey

    /// The context the data key is sealed under.
    static let dataKeyContext = Array("privacy-lab store data key v1".utf8)
    /// The format of the `store_encryption` row this code writes and reads.
    static let format = 1

    /// The context an artifact is sealed under: its content address, so that a sealed file moved
    /// under another artifact's name does not open.
    static func artifactContext(key: String) -> [UInt8] { Array("privacy-lab artifact v1 \(key)".utf8) }

    /// The encryption of the store open in `pool`, unlocked by `key`; for a writable open of a
    /// new store given a key, made now.
    ///
    /// | store | no key | key |
    /// |---|---|---|
    /// | encrypted | refused (`encryptionKeyRequired`) | unlocked, or `wrongEncryptionKey` |
    /// | plain, holding runs or artifacts | plain | read-only: plain; writable: refused (`plaintextStore`) |
    /// | plain and empty | plain | read-only: plain; writable: encrypted from now on |
    static func open(_ pool: DatabasePool, key: StoreKey?, readOnly: Bool, file: String) throws -> StoreEncryption? {
        let row = try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT format, wrapped_key FROM store_encryption WHERE id = 1")
        }
        if let row {
            guard let key else { throw StoreError.encryptionKeyRequired(file: file) }
            guard let format = row["format"] as Int?, format == Self.format else {
                throw StoreError.database(file: file, reason: "encrypted in a format this PrivacyLab does not know (\((row["format"] as Int?).map(String.init) ?? "none")); upgrade PrivacyLab to read it")
            }
            guard let wrapped = row["wrapped_key"] as Data?,
                  let dataKey = try? SecretKey(unsealing: wrapped, under: key.secret, context: dataKeyContext) else {
                throw StoreError.wrongEncryptionKey(file: file, keySource: key.source)
            }
            return StoreEncryption(dataKey: dataKey)
        }
        guard let key, !readOnly else { return nil }
        return try pool.write { db in
            let used = try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM artifacts)") ?? 0
            guard used == 0 else { throw StoreError.plaintextStore(file: file, keySource: key.source) }
            let dataKey = SecretKey.random()
            try db.execute(sql: "INSERT INTO store_encryption (id, format, wrapped_key, created_at) VALUES (1, ?, ?, ?)",
                           arguments: [Self.format, Data(dataKey.sealed(under: key.secret, context: dataKeyContext)),
                                       Date().timeIntervalSince1970])
            return StoreEncryption(dataKey: dataKey)
        }
    }

    /// The bytes to write for artifact `key`.
    func seal(_ data: Data, key: String) -> [UInt8] {
        SealedData.seal(data, using: dataKey, context: Self.artifactContext(key: key))
    }

    /// The plaintext of the stored bytes of artifact `key` (file `file`).
    func open(_ stored: [UInt8], key: String, file: String) throws(StoreError) -> Data {
        do { return Data(try SealedData.open(stored, using: dataKey, context: Self.artifactContext(key: key))) } catch {
            throw StoreError.artifactTampered(file: file, artifact: key, reason: error.description)
        }
    }
}

extension ResultStore {
    /// Whether the store's artifacts are encrypted at rest.
    public var isEncrypted: Bool { encryption != nil }

    /// The bytes a new artifact's file holds: sealed in an encrypted store, else `data` itself.
    func storedBytes(_ data: Data, key: String) -> [UInt8] {
        encryption.map { $0.seal(data, key: key) } ?? Array(data)
    }
}
