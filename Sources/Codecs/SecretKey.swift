// 256-bit AES keys held in memory: made by the OS CSPRNG, read from hex or base64 text without
// branches on their digits, never printed.
internal import Crypto
import Foundation

/// A 256-bit AES key.
///
/// The bytes live in swift-crypto's `SymmetricKey`, which zeroes them when the last copy is
/// released. `description` and `debugDescription` never show them, so a key that reaches a log
/// line or an error message by accident prints as `SecretKey(256 bits, redacted)`.
///
/// `@unchecked Sendable`: swift-crypto 3 does not mark `SymmetricKey` `Sendable`, but its bytes
/// are never mutated after creation (copy-on-write storage, written once in `init`), so sharing
/// one between tasks is safe.
public struct SecretKey: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let key: SymmetricKey

    /// The key's length in bytes.
    public static let byteCount = 32

    init(_ key: SymmetricKey) { self.key = key }

    /// A fresh key from the operating system's CSPRNG (`SystemRandomNumberGenerator`, through
    /// swift-crypto).
    public static func random() -> SecretKey { SecretKey(SymmetricKey(size: .bits256)) }

    /// The key made of exactly 32 `bytes`; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        key = SymmetricKey(data: Array(bytes))
    }

    /// Parses a key written as 64 hexadecimal digits (either case) or as 44 characters of
    /// standard base64 (with its one `=`), surrounding whitespace ignored; `nil` for anything
    /// else. The digits are decoded without branches or table look-ups indexed by them, so the
    /// time taken depends only on the text's length.
    public init?(text: some Collection<UInt8>) {
        var trimmed = Array(text)
        defer { trimmed.zeroize() }
        while let last = trimmed.last, Self.isSpace(last) { trimmed.removeLast() }
        var start = 0
        while start < trimmed.count, Self.isSpace(trimmed[start]) { start += 1 }
        let digits = trimmed[start...]
        var decoded: [UInt8]
        switch digits.count {
        case 64: decoded = Self.decodeHex(digits)
        case 44: decoded = Self.decodeBase64(digits)
        default: return nil
        }
        defer { decoded.zeroize() }
        guard decoded.count == Self.byteCount else { return nil }
        key = SymmetricKey(data: decoded)
    }

    /// The 64 lowercase hexadecimal digits of the key, as bytes for a key file (the caller
    /// zeroes them once written). Encoded without branches on the key's bits.
    public func hexDigits() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(2 * Self.byteCount)
        key.withUnsafeBytes { raw in
            for byte in raw {
                out.append(Self.hexDigit(byte >> 4))
                out.append(Self.hexDigit(byte & 15))
            }
        }
        return out
    }

    public var description: String { "SecretKey(256 bits, redacted)" }
    public var debugDescription: String { description }

    // MARK: Constant-time text codecs

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// `0xFF` when `lo <= c <= hi`, else 0, without a branch.
    @inline(__always)
    private static func inRange(_ c: UInt8, _ lo: UInt8, _ hi: UInt8) -> UInt8 {
        // (c - lo) and (hi - c) are both non-negative exactly when c is in range; their sign
        // bits (as Int16) say so.
        let a = Int16(c) - Int16(lo), b = Int16(hi) - Int16(c)
        return UInt8(truncatingIfNeeded: ~((a | b) >> 15))
    }

    /// The hex digit for a nibble, without a branch: '0'+n, plus 39 when n ≥ 10 ('a' - '9' - 1).
    @inline(__always)
    private static func hexDigit(_ n: UInt8) -> UInt8 {
        let isLetter = inRange(n, 10, 15)
        return 0x30 &+ n &+ (isLetter & 39)
    }

    /// 32 bytes from 64 hex digits, or an empty array when a digit is invalid (checked once,
    /// after every digit is decoded).
    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digits.count / 2)
        var invalid: UInt8 = 0
        var i = digits.startIndex, j = 0
        while i < digits.endIndex {
            let (hi, badHi) = nibble(digits[i]), (lo, badLo) = nibble(digits[i + 1])
            out[j] = hi << 4 | lo
            invalid |= badHi | badLo
            i += 2
            j += 1
        }
        if invalid != 0 { out.zeroize(); return [] }
        return out
    }

    /// A hex digit's value and `0xFF` when it is not one.
    @inline(__always)
    private static func nibble(_ c: UInt8) -> (UInt8, UInt8) {
        let digit = inRange(c, 0x30, 0x39), lower = inRange(c, 0x61, 0x66), upper = inRange(c, 0x41, 0x46)
        let value = (digit & (c &- 0x30)) | (lower & (c &- 0x61 &+ 10)) | (upper & (c &- 0x41 &+ 10))
        return (value, ~(digit | lower | upper))
    }

    /// 32 bytes from 44 base64 characters ending in one `=`, or an empty array.
    private static func decodeBase64(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var chars = Array(text)
        defer { chars.zeroize() }
        var invalid: UInt8 = chars[43] == UInt8(ascii: "=") ? 0 : 0xFF
        var bits: UInt32 = 0, count = 0
        var out = [UInt8]()
        out.reserveCapacity(33)
        for c in chars[0..<43] {
            let (value, bad) = sextet(c)
            invalid |= bad
            bits = bits << 6 | UInt32(value)
            count += 6
            if count >= 8 {
                count -= 8
                out.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
            }
        }
        // 43 characters carry 258 bits: 32 bytes and 2 bits that must be zero.
        invalid |= UInt8(truncatingIfNeeded: bits & 3) &* 0xFF
        if invalid != 0 || out.count != byteCount { out.zeroize(); return [] }
        return out
    }

    /// A base64 character's value and `0xFF` when it is not one.
    @inline(__always)
    private static func sextet(_ c: UInt8) -> (UInt8, UInt8) {
        let upper = inRange(c, 0x41, 0x5A), lower = inRange(c, 0x61, 0x7A), digit = inRange(c, 0x30, 0x39)
        let plus = inRange(c, 0x2B, 0x2B), slash = inRange(c, 0x2F, 0x2F)
        let value = (upper & (c &- 0x41)) | (lower & (c &- 0x61 &+ 26)) | (digit & (c &- 0x30 &+ 52)) | (plus & 62) | (slash & 63)
        return (value, ~(upper | lower | digit | plus | slash))
    }
}

extension Array where Element == UInt8 {
    /// Overwrites every byte with zero (secret material that is no longer needed).
    public mutating func zeroize() {
        withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            // Through the array's own storage: the write is not to a dead local the optimizer
            // could drop.
            memset(base, 0, raw.count)
        }
    }
}

// MARK: Wrapping one key under another

extension SecretKey {
    /// This key sealed under `keyEncryptionKey` (AES-256-GCM in `SealedData`'s envelope), bound
    /// to `context`: the form in which a data key is stored beside what it encrypts.
    public func sealed(under keyEncryptionKey: SecretKey, context: some DataProtocol) -> [UInt8] {
        key.withUnsafeBytes { SealedData.seal($0, using: keyEncryptionKey, context: context) }
    }

    /// The key that `sealed(under:context:)` sealed.
    /// - Throws: `SealedDataError` (`.authenticationFailed` for a wrong key-encryption key, another
    ///   context or a changed byte; `.truncated` and the others for bytes that are no sealed key).
    public init(unsealing sealed: some Collection<UInt8>, under keyEncryptionKey: SecretKey,
                context: some DataProtocol) throws(SealedDataError) {
        var bytes = try SealedData.open(sealed, using: keyEncryptionKey, context: context)
        defer { bytes.zeroize() }
        guard let key = SecretKey(bytes: bytes) else { throw .authenticationFailed }
        self = key
    }
}
