import LabRandom

/// ChaCha20 (RFC 8439) as a random-number generator: a stream cipher's keystream, eight blocks
/// at a time in SIMD lanes.
///
/// Keyed from the OS CSPRNG (`SystemRandom`) by default, it is what Linux's `getrandom` itself
/// runs, without a system call per word: DP-SGD draws ~10⁵–10⁶ Gaussian values per step.
/// - Laws: with `init(insecureKey:nonce:counter:)`, the words are the RFC 8439 keystream, block
///   after block, read as little-endian UInt64.
/// - Complexity: 20 rounds per 64-byte block; 512 bytes per refill.
public struct ChaCha20Random: RandomNumberGenerator, Sendable {
    private var key: [UInt32]       // 8 words
    private var nonce: [UInt32]     // 3 words
    private var counter: UInt32
    private var buffer = [UInt64](repeating: 0, count: 64)
    private var position = 64
    private var blocksSinceRekey = 0
    private let rekeysFromSystem: Bool

    /// A generator keyed with 256 fresh bits (and a fresh nonce) from the OS CSPRNG; it rekeys
    /// itself from the OS every 2³⁰ blocks (64 GiB).
    public init() {
        var system = SystemRandom()
        key = (0..<8).map { _ in UInt32(truncatingIfNeeded: system.next()) }
        nonce = (0..<3).map { _ in UInt32(truncatingIfNeeded: system.next()) }
        counter = 0
        rekeysFromSystem = true
    }

    /// A generator with a caller-chosen key: reproducible, therefore not private. For known-answer
    /// tests only.
    public init(insecureKey keyBytes: [UInt8], nonce nonceBytes: [UInt8], counter: UInt32 = 0) {
        precondition(keyBytes.count == 32 && nonceBytes.count == 12, "ChaCha20Random: a 32-byte key and a 12-byte nonce")
        func words(_ bytes: [UInt8]) -> [UInt32] {
            stride(from: 0, to: bytes.count, by: 4).map {
                UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
            }
        }
        key = words(keyBytes)
        nonce = words(nonceBytes)
        self.counter = counter
        rekeysFromSystem = false
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        if position == 64 { refill() }
        let word = buffer[position]
        position += 1
        return word
    }

    private mutating func refill() {
        typealias V = SIMD8<UInt32>
        if rekeysFromSystem && blocksSinceRekey >= 1 << 30 { self = ChaCha20Random() }
        let constants: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]
        var lanes = V(0, 1, 2, 3, 4, 5, 6, 7)
        lanes &+= V(repeating: counter)
        var initial = [V](repeating: V(), count: 16)
        for i in 0..<4 { initial[i] = V(repeating: constants[i]) }
        for i in 0..<8 { initial[4 + i] = V(repeating: key[i]) }
        initial[12] = lanes
        for i in 0..<3 { initial[13 + i] = V(repeating: nonce[i]) }
        var (x0, x1, x2, x3) = (initial[0], initial[1], initial[2], initial[3])
        var (x4, x5, x6, x7) = (initial[4], initial[5], initial[6], initial[7])
        var (x8, x9, x10, x11) = (initial[8], initial[9], initial[10], initial[11])
        var (x12, x13, x14, x15) = (initial[12], initial[13], initial[14], initial[15])
        @inline(__always) func rotate(_ v: V, _ n: UInt32) -> V { (v &<< V(repeating: n)) | (v &>> V(repeating: 32 - n)) }
        @inline(__always) func quarter(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V) {
            a &+= b; d ^= a; d = rotate(d, 16)
            c &+= d; b ^= c; b = rotate(b, 12)
            a &+= b; d ^= a; d = rotate(d, 8)
            c &+= d; b ^= c; b = rotate(b, 7)
        }
        for _ in 0..<10 {
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        let out = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15]
        buffer.withUnsafeMutableBufferPointer { b in
            for block in 0..<8 {
                for k in 0..<8 {
                    let lo = UInt64(out[2 * k][block] &+ initial[2 * k][block])
                    let hi = UInt64(out[2 * k + 1][block] &+ initial[2 * k + 1][block])
                    b[block * 8 + k] = lo | hi << 32
                }
            }
        }
        counter &+= 8
        blocksSinceRekey += 8
        position = 0
    }
}

/// The randomness DP-SGD draws its Poisson samples and Gaussian noise from.
///
/// Private by default: ChaCha20 keyed from the OS CSPRNG, so nobody — including whoever knows the
/// experiment's seed — can predict or replay the noise. A seeded `LabRandom` stream is accepted
/// only through `insecureSeeded(_:)`, for reproducible research runs whose released models make
/// no privacy claim against an adversary who knows the seed.
public struct PrivacyRandomness: RandomNumberGenerator, Sendable {
    private var chacha: ChaCha20Random?
    private var seeded: LabRandom?

    /// ChaCha20 keyed from the OS CSPRNG (the default).
    public static func system() -> PrivacyRandomness { PrivacyRandomness(chacha: ChaCha20Random(), seeded: nil) }

    /// A reproducible stream: NOT private against anyone who knows the seed.
    public static func insecureSeeded(_ random: LabRandom) -> PrivacyRandomness {
        PrivacyRandomness(chacha: nil, seeded: random)
    }

    /// Whether this randomness is reproducible (and so unfit for a privacy claim).
    public var isInsecure: Bool { seeded != nil }

    @inline(__always)
    public mutating func next() -> UInt64 {
        if chacha != nil { return chacha!.next() }
        return seeded!.next()
    }

    /// Uniform in (0, 1], 53 bits.
    @inline(__always)
    mutating func nextOpenUnit() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }
}
