import LabRandom
internal import RingArithmetic

/// A random source that is safe for cryptographic masks: the operating system's CSPRNG.
///
/// Only generators that draw from the OS CSPRNG conform (the lab's `SystemRandom` and the
/// standard library's `SystemRandomNumberGenerator`). Seedable generators (`LabRandom`) do not:
/// they reach the MPC engine only through APIs whose names say `insecure`, for reproducible tests.
public protocol CryptographicRandomNumberGenerator: RandomNumberGenerator {}

extension SystemRandom: CryptographicRandomNumberGenerator {}
extension SystemRandomNumberGenerator: CryptographicRandomNumberGenerator {}

/// A ChaCha12 keystream used to draw masks and shares in bulk.
///
/// The 256-bit key is drawn once from a caller-supplied generator (the OS CSPRNG by default), and
/// the keystream is expanded with the ChaCha block function (RFC 8439 layout, 64-bit block
/// counter, zero nonce) reduced to 12 rounds, as in the `rand` crate's `StdRng` (Go's runtime
/// generator uses 8); the best known attacks reach 7 rounds (Aumasson, "Too much crypto", 2019).
/// Expanding a 256-bit OS seed with a stream cipher is how the Linux kernel's own `getrandom`
/// works; drawing every mask word through a system call would make it the bottleneck of every
/// protocol. Words come in the group order of `ChaCha12Keystream` (16 blocks at a time, a fixed
/// permutation of the standard keystream).
///
/// Laws: given the key, the output is a deterministic function of the number of words drawn so
/// far (the same on every CPU); under the standard assumption that ChaCha12 is a PRF, the output
/// is indistinguishable from uniform to anyone who does not know the key.
///
/// - Complexity: about 0.3 cycles per byte with AVX-512 (`ChaCha12Keystream`'s C kernel, 16
///   blocks per vector), 1–2 without.
/// - Reference: D. J. Bernstein, "ChaCha, a variant of Salsa20" (2008); RFC 8439.
/// - Caveat: the key lives in process memory; it is not zeroed on release (Swift arrays give no
///   such guarantee).
public struct MaskGenerator: RandomNumberGenerator, Sendable {
    private var key: SIMD8<UInt32>
    private var counter: UInt64 = 0
    private var buffer: [UInt64] = Array(repeating: 0, count: ChaCha12Keystream.groupWords)
    private var position = ChaCha12Keystream.groupWords

    /// A generator keyed from the OS CSPRNG (`SystemRandom`).
    public init() {
        var system = SystemRandom()
        self.init(keyingFrom: &system)
    }

    /// A generator keyed from a cryptographic random source.
    public init<R: CryptographicRandomNumberGenerator>(keyingFrom random: inout R) {
        self.init(rawKeyingFrom: &random)
    }

    /// A generator keyed from any generator, seedable ones included: for reproducible tests only.
    /// Masks drawn this way are predictable by anyone who knows the seed.
    public static func insecureKeyed<R: RandomNumberGenerator>(from random: inout R) -> MaskGenerator {
        MaskGenerator(rawKeyingFrom: &random)
    }

    /// A generator keyed by a 64-bit seed: for reproducible tests only.
    public static func insecureSeeded(_ seed: UInt64) -> MaskGenerator {
        var splitMix = InsecureSplitMix64(seed: seed)
        return MaskGenerator(rawKeyingFrom: &splitMix)
    }

    private init<R: RandomNumberGenerator>(rawKeyingFrom random: inout R) {
        var k = SIMD8<UInt32>()
        for i in 0..<4 {
            let w = random.next()
            k[2 * i] = UInt32(truncatingIfNeeded: w)
            k[2 * i + 1] = UInt32(truncatingIfNeeded: w >> 32)
        }
        key = k
    }

    /// A generator with the given key (a key drawn by `drawKey` from a secure generator).
    init(key: SIMD8<UInt32>) { self.key = key }

    /// A generator keyed by four words drawn from a secure generator (a pairwise key).
    init(keyWords w: [UInt64]) {
        var k = SIMD8<UInt32>()
        for i in 0..<4 {
            k[2 * i] = UInt32(truncatingIfNeeded: w[i])
            k[2 * i + 1] = UInt32(truncatingIfNeeded: w[i] >> 32)
        }
        self.key = k
    }

    /// A fresh 256-bit key drawn from `generator` (for a party's seed-compressed shares).
    static func drawKey(from generator: inout MaskGenerator) -> SIMD8<UInt32> {
        var k = SIMD8<UInt32>()
        for i in 0..<4 {
            let w = generator.next()
            k[2 * i] = UInt32(truncatingIfNeeded: w)
            k[2 * i + 1] = UInt32(truncatingIfNeeded: w >> 32)
        }
        return k
    }

    /// A fresh generator whose key is drawn from this one (an independent stream).
    public mutating func split() -> MaskGenerator {
        var copy = MaskGenerator(rawKeyingFrom: &self)
        copy.counter = 0
        return copy
    }

    /// The next 64 uniformly random bits.
    public mutating func next() -> UInt64 {
        if position == ChaCha12Keystream.groupWords { refill() }
        let w = buffer[position]
        position += 1
        return w
    }

    /// Fills `out` with uniformly random words.
    public mutating func fill(_ out: UnsafeMutableBufferPointer<UInt64>) {
        let group = ChaCha12Keystream.groupWords
        var i = 0
        let n = out.count
        // Drain what is buffered, then write whole groups straight into `out`.
        if position < group {
            let take = Swift.min(n, group - position)
            buffer.withUnsafeBufferPointer { b in
                for j in 0..<take { out[j] = b[position + j] }
            }
            position += take
            i = take
        }
        let whole = (n - i) / group * group
        if whole > 0 {
            ChaCha12Keystream.fill(key: key, counter: counter,
                                   into: UnsafeMutableBufferPointer(rebasing: out[i..<(i + whole)]))
            counter &+= UInt64(whole / group * 16)
            i += whole
        }
        if i < n {
            refill()
            let take = n - i
            buffer.withUnsafeBufferPointer { b in
                for j in 0..<take { out[i + j] = b[j] }
            }
            position = take
        }
    }

    /// `count` uniformly random words.
    public mutating func words(_ count: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: count) { buf, initialized in
            fill(buf)
            initialized = count
        }
    }

    private mutating func refill() {
        let k = key, c = counter
        buffer.withUnsafeMutableBufferPointer { ChaCha12Keystream.fill(key: k, counter: c, into: $0) }
        counter &+= 16
        position = 0
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a seedable generator used only to key insecure,
/// reproducible mask generators in tests.
public struct InsecureSplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
