// SHA-256 (FIPS 180-4) for PrivacyLab's checksums and content keys, by swift-crypto.
internal import Crypto

/// A SHA-256 digest: 32 bytes, printed as 64 lowercase hexadecimal digits.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes, big-endian words in order.
    public let bytes: [UInt8]

    /// Wraps 32 digest bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes, got \(bytes.count)")
        self.bytes = bytes
    }

    /// Parses 64 hexadecimal digits (either case); `nil` for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let hi = Self.nibble(utf8[2 * i]), let lo = Self.nibble(utf8[2 * i + 1]) else {
                return nil
            }
            out[i] = hi << 4 | lo
        }
        bytes = out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The 64 lowercase hexadecimal digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }
}

/// Incremental SHA-256 hashing (FIPS 180-4), computed by swift-crypto.
///
/// Feed bytes with `update` in pieces of any size, then call `finalize()` once. The one-shot
/// `SHA256.hash(_:)` does both. The digests are those of FIPS 180-4 (the known-answer tests
/// check them), so keys and checksums written by earlier versions still match.
///
/// This is the lab's one SHA-256 type: it wraps `Crypto.SHA256` (BoringSSL's implementation on
/// Linux, CryptoKit's on Apple platforms) behind the API the lab already used, and Codecs is the
/// one target that imports swift-crypto.
///
/// - Complexity: O(n) for n bytes.
///
/// Sendable: `Crypto.SHA256` is a copy-on-write value (a shared BoringSSL context is copied
/// before it is mutated), which swift-crypto 3 does not mark `Sendable` on Linux.
public struct SHA256: @unchecked Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    /// Hashes `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        SHA256Digest(bytes: Array(Crypto.SHA256.hash(data: bytes)))
    }

    /// Hashes raw memory in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Hashes the UTF-8 bytes of a string.
    public static func hash(utf8 string: String) -> SHA256Digest {
        hash(Array(string.utf8))
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: [UInt8]) {
        hasher.update(data: bytes)
    }

    /// Appends raw memory to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        hasher.update(bufferPointer: bytes)
    }

    /// The digest of everything appended so far.
    public mutating func finalize() -> SHA256Digest {
        SHA256Digest(bytes: Array(hasher.finalize()))
    }
}
