import LabRandom

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
/// protocol.
///
/// Laws: given the key, the output is a deterministic function of the number of words drawn so
/// far; under the standard assumption that ChaCha12 is a PRF, the output is indistinguishable
/// from uniform to anyone who does not know the key.
///
/// - Complexity: about 1–2 cycles per byte (four blocks are computed in parallel SIMD lanes).
/// - Reference: D. J. Bernstein, "ChaCha, a variant of Salsa20" (2008); RFC 8439.
/// - Caveat: the key lives in process memory; it is not zeroed on release (Swift arrays give no
///   such guarantee).
public struct MaskGenerator: RandomNumberGenerator, Sendable {
    private var key: SIMD8<UInt32>
    private var counter: UInt64 = 0
    private var buffer: [UInt64] = Array(repeating: 0, count: 32)  // four 64-byte blocks
    private var position = 32

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

    /// A fresh generator whose key is drawn from this one (an independent stream).
    public mutating func split() -> MaskGenerator {
        var copy = MaskGenerator(rawKeyingFrom: &self)
        copy.counter = 0
        return copy
    }

    /// The next 64 uniformly random bits.
    public mutating func next() -> UInt64 {
        if position == 32 { refill() }
        let w = buffer[position]
        position += 1
        return w
    }

    /// Fills `out` with uniformly random words.
    public mutating func fill(_ out: UnsafeMutableBufferPointer<UInt64>) {
        var i = 0
        let n = out.count
        // Drain what is buffered, then write whole batches straight into `out`.
        while i < n && position < 32 {
            out[i] = buffer[position]; position += 1; i += 1
        }
        while n - i >= 32 {
            generateBlocks(into: out.baseAddress! + i)
            i += 32
        }
        while i < n {
            if position == 32 { refill() }
            out[i] = buffer[position]; position += 1; i += 1
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
        var local = buffer
        buffer = []
        local.withUnsafeMutableBufferPointer { generateBlocks(into: $0.baseAddress!) }
        buffer = local
        position = 0
    }

    /// Writes four consecutive ChaCha12 blocks (256 bytes) to `out`.
    private mutating func generateBlocks(into out: UnsafeMutablePointer<UInt64>) {
        // The left shift is written as a multiplication: LLVM otherwise recognises the rotate and
        // scalarises it on targets without a vector rotate instruction (3x slower).
        @inline(__always) func rotl(_ v: SIMD4<UInt32>, _ n: UInt32) -> SIMD4<UInt32> {
            (v &* SIMD4<UInt32>(repeating: 1 &<< n)) | (v &>> SIMD4<UInt32>(repeating: 32 &- n))
        }
        @inline(__always) func quarter(
            _ a: inout SIMD4<UInt32>, _ b: inout SIMD4<UInt32>,
            _ c: inout SIMD4<UInt32>, _ d: inout SIMD4<UInt32>
        ) {
            a &+= b; d ^= a; d = rotl(d, 16)
            c &+= d; b ^= c; b = rotl(b, 12)
            a &+= b; d ^= a; d = rotl(d, 8)
            c &+= d; b ^= c; b = rotl(b, 7)
        }
        let c0 = SIMD4<UInt32>(repeating: 0x6170_7865)
        let c1 = SIMD4<UInt32>(repeating: 0x3320_646e)
        let c2 = SIMD4<UInt32>(repeating: 0x7962_2d32)
        let c3 = SIMD4<UInt32>(repeating: 0x6b20_6574)
        let k0 = SIMD4<UInt32>(repeating: key[0]), k1 = SIMD4<UInt32>(repeating: key[1])
        let k2 = SIMD4<UInt32>(repeating: key[2]), k3 = SIMD4<UInt32>(repeating: key[3])
        let k4 = SIMD4<UInt32>(repeating: key[4]), k5 = SIMD4<UInt32>(repeating: key[5])
        let k6 = SIMD4<UInt32>(repeating: key[6]), k7 = SIMD4<UInt32>(repeating: key[7])
        let base = counter
        let lo = SIMD4<UInt32>(
            UInt32(truncatingIfNeeded: base), UInt32(truncatingIfNeeded: base &+ 1),
            UInt32(truncatingIfNeeded: base &+ 2), UInt32(truncatingIfNeeded: base &+ 3))
        let hi = SIMD4<UInt32>(
            UInt32(truncatingIfNeeded: base >> 32), UInt32(truncatingIfNeeded: (base &+ 1) >> 32),
            UInt32(truncatingIfNeeded: (base &+ 2) >> 32), UInt32(truncatingIfNeeded: (base &+ 3) >> 32))
        counter &+= 4
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var x4 = k0, x5 = k1, x6 = k2, x7 = k3
        var x8 = k4, x9 = k5, x10 = k6, x11 = k7
        var x12 = lo, x13 = hi, x14 = SIMD4<UInt32>(), x15 = SIMD4<UInt32>()
        for _ in 0..<6 {  // 12 rounds: 6 double rounds
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        x0 &+= c0; x1 &+= c1; x2 &+= c2; x3 &+= c3
        x4 &+= k0; x5 &+= k1; x6 &+= k2; x7 &+= k3
        x8 &+= k4; x9 &+= k5; x10 &+= k6; x11 &+= k7
        x12 &+= lo; x13 &+= hi
        // Block b is the words (x0[b], x1[b], ...); pack pairs of 32-bit words little-endian.
        @inline(__always) func pack(_ l: SIMD4<UInt32>, _ h: SIMD4<UInt32>, _ w: Int) {
            for b in 0..<4 { out[b * 8 + w] = UInt64(l[b]) | (UInt64(h[b]) << 32) }
        }
        pack(x0, x1, 0); pack(x2, x3, 1); pack(x4, x5, 2); pack(x6, x7, 3)
        pack(x8, x9, 4); pack(x10, x11, 5); pack(x12, x13, 6); pack(x14, x15, 7)
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
