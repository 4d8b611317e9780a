// Bytes sealed with AES-256-GCM (swift-crypto) in a small versioned envelope: the format of
// everything PrivacyLab encrypts at rest.
internal import Crypto
import Foundation

/// Bytes sealed with AES-256-GCM under a `SecretKey`, in PrivacyLab's versioned envelope.
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 4 | magic `PLSD` |
/// | 4 | 1 | format version (1) |
/// | 5 | 1 | algorithm (1: AES-256-GCM) |
/// | 6 | 12 | nonce, fresh from the OS CSPRNG for every seal |
/// | 18 | n | ciphertext (as long as the plaintext) |
/// | 18 + n | 16 | GCM tag |
///
/// The authenticated data is the 18-byte header followed by the caller's `context`: the name
/// the sealed bytes are stored under (an artifact's content address, "the store's data key").
/// Opening with another context fails exactly as a changed byte does, so two sealed files
/// swapped on disk are both refused.
///
/// Laws: `open(seal(p, k, c), k, c) == p`; opening with another key or context, or after any
/// change to any byte (header, nonce, ciphertext, tag), or after truncation, throws and returns
/// nothing. Nonces are random 96-bit values, so one key must not seal more than about 2^32
/// messages (NIST SP 800-38D, §8.3); a store's key seals one message per artifact.
/// - Complexity: O(n) time; `open` allocates only the plaintext's n bytes, once the header has
///   been checked.
public enum SealedData {
    /// The 4 magic bytes, `PLSD`.
    public static let magic: [UInt8] = Array("PLSD".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt8 = 1
    /// The algorithm identifier of AES-256-GCM.
    static let aes256GCM: UInt8 = 1
    public static let headerByteCount = 18
    public static let tagByteCount = 16
    /// Bytes a sealed message has beyond its plaintext.
    public static let overhead = headerByteCount + tagByteCount

    /// `plaintext` sealed under `key`, bound to `context`.
    public static func seal(_ plaintext: some DataProtocol, using key: SecretKey, context: some DataProtocol) -> [UInt8] {
        seal(plaintext, using: key, context: context, nonce: AES.GCM.Nonce())
    }

    /// `seal` with a nonce the caller chooses, for known-answer tests of the format only: a
    /// nonce used twice under one key reveals the XOR of two plaintexts and lets anyone forge tags.
    package static func insecureSeal(_ plaintext: some DataProtocol, using key: SecretKey, context: some DataProtocol,
                                     fixedNonce: [UInt8]) throws -> [UInt8] {
        seal(plaintext, using: key, context: context, nonce: try AES.GCM.Nonce(data: fixedNonce))
    }

    private static func seal(_ plaintext: some DataProtocol, using key: SecretKey, context: some DataProtocol,
                             nonce: AES.GCM.Nonce) -> [UInt8] {
        var header = magic + [version, aes256GCM]
        nonce.withUnsafeBytes { header.append(contentsOf: $0) }
        // Sealing with a 256-bit key and a 12-byte nonce cannot fail.
        let box = try! AES.GCM.seal(plaintext, using: key.key, nonce: nonce, authenticating: header + Array(context))
        var out = header
        out.reserveCapacity(headerByteCount + box.ciphertext.count + tagByteCount)
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
        return out
    }

    /// Whether `bytes` start like a sealed message (its magic); says nothing of its integrity.
    public static func looksSealed(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.count >= magic.count && zip(bytes.prefix(magic.count), magic).allSatisfy { $0 == $1 }
    }

    /// The plaintext of `sealed`, after checking its header, its length and its tag.
    /// - Throws: `SealedDataError`; a wrong key, another context and a changed byte all give
    ///   `.authenticationFailed`, which AES-GCM cannot tell apart.
    public static func open(_ sealed: some Collection<UInt8>, using key: SecretKey, context: some DataProtocol) throws(SealedDataError) -> [UInt8] {
        guard sealed.count >= magic.count else { throw SealedDataError.truncated(byteCount: sealed.count) }
        guard looksSealed(sealed) else { throw SealedDataError.notSealed }
        guard sealed.count >= overhead else { throw SealedDataError.truncated(byteCount: sealed.count) }
        let bytes = Array(sealed)
        guard bytes[4] == version else { throw SealedDataError.unsupportedVersion(bytes[4]) }
        guard bytes[5] == aes256GCM else { throw SealedDataError.unsupportedAlgorithm(bytes[5]) }
        let header = Array(bytes[0..<headerByteCount])
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: bytes[6..<headerByteCount]),
                                            ciphertext: bytes[headerByteCount..<(bytes.count - tagByteCount)],
                                            tag: bytes[(bytes.count - tagByteCount)...])
            return Array(try AES.GCM.open(box, using: key.key, authenticating: header + Array(context)))
        } catch {
            throw SealedDataError.authenticationFailed
        }
    }
}

/// Why sealed bytes could not be opened. The description never holds key material (the opener
/// has none to give) and names no file: the caller adds which file or record it was.
public enum SealedDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than a sealed message's header and tag.
    case truncated(byteCount: Int)
    /// Does not start with the magic `PLSD`: plaintext, or another format.
    case notSealed
    case unsupportedVersion(UInt8)
    case unsupportedAlgorithm(UInt8)
    /// The GCM tag does not match: a byte was changed, the bytes belong under another name, or
    /// the key is not the one that sealed them.
    case authenticationFailed

    public var description: String {
        switch self {
        case let .truncated(count): return "truncated: \(count) bytes, fewer than a sealed message's \(SealedData.overhead) bytes of header and tag"
        case .notSealed: return "not sealed (no PLSD header): a plaintext file where an encrypted one belongs"
        case let .unsupportedVersion(v): return "sealed in format version \(v), which this PrivacyLab does not read (it reads version \(SealedData.version))"
        case let .unsupportedAlgorithm(a): return "sealed with algorithm \(a), which this PrivacyLab does not know"
        case .authenticationFailed: return "authentication failed: tampered with, stored under another name, or sealed under another key"
        }
    }
}
