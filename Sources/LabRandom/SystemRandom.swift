/// The operating system's cryptographically secure random number generator.
///
/// The only source PrivacyLab uses for keys, masks and nonces. It wraps the standard library's
/// `SystemRandomNumberGenerator`, which on Linux calls `getrandom(2)` (retrying on `EINTR` and
/// short reads, with `/dev/urandom` as fallback), and `arc4random_buf` on Apple platforms.
///
/// - Laws: not seedable, not reproducible: two instances, or two calls, give independent values.
/// - Caveat: if the OS cannot supply randomness the process traps rather than continue without it.
/// - Complexity: one system call (or a buffered read) per `next()`; ``fill(_:)`` reads 8 bytes at a
///   time.
public struct SystemRandom: RandomNumberGenerator, Sendable {
    private var source = SystemRandomNumberGenerator()

    /// A handle on the OS generator (holds no state of its own).
    public init() {}

    /// 64 bits from the OS CSPRNG.
    public mutating func next() -> UInt64 {
        source.next()
    }

    /// Fills `bytes` with bytes from the OS CSPRNG.
    public mutating func fill(_ bytes: UnsafeMutableRawBufferPointer) {
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count {
            bytes.storeBytes(of: source.next().littleEndian, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        if offset < count {
            var word = source.next()
            while offset < count {
                bytes[offset] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                offset += 1
            }
        }
    }
}
