import Codecs
import Foundation

/// The key that unlocks an encrypted store: a 256-bit key-encryption key, read from a key file
/// only its owner can read or from the environment variable `PRIVACY_LAB_STORE_KEY`.
///
/// The store's artifacts are sealed under the store's own random data key; this key only wraps
/// that data key (`ResultStore+Encryption.swift`). The key never appears in a description, a
/// log line or an error: they name where it came from (`source`), never what it is.
public struct StoreKey: Sendable, CustomStringConvertible {
    let secret: SecretKey
    /// Where the key came from, for messages: `key file /path` or `$PRIVACY_LAB_STORE_KEY`.
    public let source: String

    /// The environment variable a key may come from, as 64 hex digits or 44 base64 characters.
    public static let environmentVariable = "PRIVACY_LAB_STORE_KEY"
    /// The largest key file read (a key is 64 hex digits and a newline).
    public static let maximumKeyFileBytes = 1024

    /// A key given as a value (tests, and callers that hold a key from elsewhere).
    public init(secret: SecretKey, source: String) {
        self.secret = secret
        self.source = source
    }

    /// Reads the key file at `url`: 64 hexadecimal digits or 44 base64 characters.
    /// - Throws: `StoreKeyError` when the file is missing or unreadable, when its permissions let
    ///   its group or others read or write it (as ssh refuses such private keys), when another
    ///   user (not root) owns it, or when it holds no 256-bit key.
    public init(keyFile url: URL) throws(StoreKeyError) {
        let source = "key file \(url.path)"
        var read: (bytes: [UInt8], mode: mode_t, owner: uid_t)
        do { read = try InputFile.readWithStatus(url, maximumBytes: Self.maximumKeyFileBytes) } catch {
            throw .unreadable(file: url.path, reason: error.kind == .tooLarge ? "larger than a key file (\(Self.maximumKeyFileBytes) bytes at most)" : error.reason)
        }
        defer { read.bytes.zeroize() }
        guard read.mode & 0o077 == 0 else { throw .tooOpen(file: url.path, mode: read.mode) }
        guard read.owner == geteuid() || read.owner == 0 else { throw .foreignOwner(file: url.path) }
        guard let secret = SecretKey(text: read.bytes) else { throw .malformed(source: source) }
        self.init(secret: secret, source: source)
    }

    /// The key in `environment[StoreKey.environmentVariable]`, or `nil` when it is unset or empty.
    /// - Throws: `StoreKeyError.malformed` when it holds something other than a 256-bit key.
    public init?(environment: [String: String]) throws(StoreKeyError) {
        guard let value = environment[Self.environmentVariable], !value.isEmpty else { return nil }
        let source = "$\(Self.environmentVariable)"
        guard let secret = SecretKey(text: Array(value.utf8)) else { throw .malformed(source: source) }
        self.init(secret: secret, source: source)
    }

    /// Writes a new random key to `url` as 64 hex digits and a newline, with mode 0600, through a
    /// temporary file of that mode renamed into place; an existing file is never replaced. A
    /// missing folder is created with mode 0700.
    /// - Returns: the key written.
    @discardableResult
    public static func generate(writingTo url: URL) throws(StoreKeyError) -> StoreKey {
        let folder = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: folder.path) {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .unwritable(file: url.path, reason: "cannot create its folder: \(error.localizedDescription)")
            }
        }
        let secret = SecretKey.random()
        var text = secret.hexDigits() + [0x0A]
        defer { text.zeroize() }
        do { try OutputFile.write(text, to: url, mode: 0o600, replace: false) } catch {
            throw error.kind == .exists ? .exists(file: url.path) : .unwritable(file: url.path, reason: error.reason)
        }
        return StoreKey(secret: secret, source: "key file \(url.path)")
    }

    public var description: String { "store key from \(source)" }
}

/// A store key that cannot be read or written. Messages name the file or the variable, never
/// the key.
public enum StoreKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    /// The file's mode lets its group or others at it.
    case tooOpen(file: String, mode: mode_t)
    /// Another user (not root) owns the file.
    case foreignOwner(file: String)
    /// No 256-bit key in hex or base64.
    case malformed(source: String)
    /// `generate` does not replace an existing file.
    case exists(file: String)
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read the store key file: \(reason)"
        case let .tooOpen(file, mode):
            return "\(file): permissions \(String(format: "%04o", mode)) are too open; a store key file must be readable by its owner only (chmod 600 \(file))"
        case let .foreignOwner(file): return "\(file): the store key file belongs to another user; a key file must be its reader's own (or root's)"
        case let .malformed(source): return "\(source): no 256-bit store key (expected 64 hexadecimal digits or 44 base64 characters; `privacy-lab store keygen --out FILE` writes one)"
        case let .exists(file): return "\(file): already exists; a new store key is never written over a file (choose another path, or remove it knowing that stores sealed under it become unreadable)"
        case let .unwritable(file, reason): return "\(file): cannot write the store key: \(reason)"
        }
    }
}
