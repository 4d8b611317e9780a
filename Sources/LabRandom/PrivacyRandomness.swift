/// The ChaCha stream cipher (Bernstein 2008; RFC 8439 for 20 rounds) as a random-number
/// generator: the keystream, four blocks at a time in SIMD lanes.
///
/// Keyed from the OS CSPRNG (`SystemRandom`), it is what Linux's `getrandom` itself runs, without
/// a system call per word: DP-SGD draws ~10⁵–10⁶ Gaussian values per step. The default is 8
/// rounds, as Go's runtime generator (`math/rand/v2` ChaCha8Rand) and Aumasson's "Too Much
/// Crypto" (2019) argue suffices (the best known attacks reach 7 rounds); 12 and 20 rounds are
/// available at 1.4× and 2.3× the cost.
/// - Laws: with `init(insecureKey:nonce:counter:)` the output is the RFC 8439 keystream of blocks
///   counter, counter + 1, … in a fixed interleaving: each refill computes blocks b…b+3 in lanes;
///   64-bit word p (0 ≤ p < 32) of the refill is word ⌊p/2⌋ of block b + 2(p mod 2) in its low
///   half and the same word of the next block in its high half.
/// - Complexity: 20 rounds per 64-byte block, four blocks per refill (the 16 state vectors fit
///   the 16 SSE registers), no allocation.
public struct ChaChaRandom: RandomNumberGenerator, Sendable {
    private typealias V = SIMD4<UInt32>
    private typealias Block = (V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V)
    private var key: SIMD8<UInt32>      // the eight key words
    private var nonce: SIMD4<UInt32>    // three nonce words (the fourth unused)
    private var counter: UInt32
    private var output: Block = (V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V())
    private var position = 32
    /// The rotation amounts (16, 12, 8, 7) and their complements, kept in memory: with literal
    /// amounts LLVM fuses the shifts into a vector rotate, which x86 without AVX-512 scalarizes.
    private var rotations = SIMD8<UInt32>(16, 16, 12, 20, 8, 24, 7, 25)
    private var blocksSinceRekey = 0
    private let rekeysFromSystem: Bool
    /// Double rounds per block (rounds / 2).
    private let doubleRounds: Int

    /// The number of rounds: 8, 12 or 20.
    public var rounds: Int { 2 * doubleRounds }

    /// A generator keyed with 256 fresh bits (and a fresh nonce) from the OS CSPRNG; it rekeys
    /// itself from the OS every 2³⁰ blocks (64 GiB).
    public init(rounds: Int = 8) {
        precondition([8, 12, 20].contains(rounds), "ChaChaRandom: 8, 12 or 20 rounds, not \(rounds)")
        doubleRounds = rounds / 2
        var system = SystemRandom()
        var k = SIMD8<UInt32>(), n = SIMD4<UInt32>()
        for i in 0..<8 { k[i] = UInt32(truncatingIfNeeded: system.next()) }
        for i in 0..<3 { n[i] = UInt32(truncatingIfNeeded: system.next()) }
        key = k
        nonce = n
        counter = 0
        rekeysFromSystem = true
    }

    /// A generator with a caller-chosen key: reproducible, therefore not private. For known-answer
    /// tests only.
    public init(insecureKey keyBytes: [UInt8], nonce nonceBytes: [UInt8], counter: UInt32 = 0, rounds: Int = 20) {
        precondition(keyBytes.count == 32 && nonceBytes.count == 12, "ChaChaRandom: a 32-byte key and a 12-byte nonce")
        precondition([8, 12, 20].contains(rounds), "ChaChaRandom: 8, 12 or 20 rounds, not \(rounds)")
        doubleRounds = rounds / 2
        func word(_ bytes: [UInt8], _ i: Int) -> UInt32 {
            UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
        }
        var k = SIMD8<UInt32>(), n = SIMD4<UInt32>()
        for i in 0..<8 { k[i] = word(keyBytes, i) }
        for i in 0..<3 { n[i] = word(nonceBytes, i) }
        key = k
        nonce = n
        self.counter = counter
        rekeysFromSystem = false
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        if position == 32 { refill() }
        let offset = position &* 8
        position &+= 1
        return withUnsafeBytes(of: &output) { $0.load(fromByteOffset: offset, as: UInt64.self) }
    }

    /// Fills `out` with the next `out.count` words (the same words `next()` would give).
    public mutating func fill(_ out: UnsafeMutableBufferPointer<UInt64>) {
        guard let base = out.baseAddress else { return }
        var i = 0
        let n = out.count
        while i < n {
            if position == 32 { refill() }
            let take = Swift.min(32 - position, n - i)
            withUnsafeBytes(of: &output) { raw in
                let words = raw.baseAddress!.assumingMemoryBound(to: UInt64.self) + position
                (base + i).update(from: words, count: take)
            }
            position += take
            i += take
        }
    }

    @inline(__always)
    private static func rotate(_ v: V, _ left: UInt32, _ right: UInt32) -> V { (v &<< left) | (v &>> right) }

    @inline(__always)
    private static func quarter(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V, _ r: SIMD8<UInt32>) {
        a &+= b; d ^= a; d = rotate(d, r[0], r[1])
        c &+= d; b ^= c; b = rotate(b, r[2], r[3])
        a &+= b; d ^= a; d = rotate(d, r[4], r[5])
        c &+= d; b ^= c; b = rotate(b, r[6], r[7])
    }

    private mutating func refill() {
        if rekeysFromSystem && blocksSinceRekey >= 1 << 30 { self = ChaChaRandom(rounds: rounds) }
        let j0 = V(repeating: 0x6170_7865), j1 = V(repeating: 0x3320_646e)
        let j2 = V(repeating: 0x7962_2d32), j3 = V(repeating: 0x6b20_6574)
        let j4 = V(repeating: key[0]), j5 = V(repeating: key[1]), j6 = V(repeating: key[2]), j7 = V(repeating: key[3])
        let j8 = V(repeating: key[4]), j9 = V(repeating: key[5]), j10 = V(repeating: key[6]), j11 = V(repeating: key[7])
        let j12 = V(0, 1, 2, 3) &+ V(repeating: counter)
        let j13 = V(repeating: nonce[0]), j14 = V(repeating: nonce[1]), j15 = V(repeating: nonce[2])
        var (x0, x1, x2, x3, x4, x5, x6, x7) = (j0, j1, j2, j3, j4, j5, j6, j7)
        var (x8, x9, x10, x11, x12, x13, x14, x15) = (j8, j9, j10, j11, j12, j13, j14, j15)
        let r = rotations
        for _ in 0..<doubleRounds {
            Self.quarter(&x0, &x4, &x8, &x12, r); Self.quarter(&x1, &x5, &x9, &x13, r)
            Self.quarter(&x2, &x6, &x10, &x14, r); Self.quarter(&x3, &x7, &x11, &x15, r)
            Self.quarter(&x0, &x5, &x10, &x15, r); Self.quarter(&x1, &x6, &x11, &x12, r)
            Self.quarter(&x2, &x7, &x8, &x13, r); Self.quarter(&x3, &x4, &x9, &x14, r)
        }
        output = (x0 &+ j0, x1 &+ j1, x2 &+ j2, x3 &+ j3, x4 &+ j4, x5 &+ j5, x6 &+ j6, x7 &+ j7,
                  x8 &+ j8, x9 &+ j9, x10 &+ j10, x11 &+ j11, x12 &+ j12, x13 &+ j13, x14 &+ j14, x15 &+ j15)
        counter &+= 4
        blocksSinceRekey += 4
        position = 0
    }
}

/// PrivacyLab's one source of DP noise: the randomness DP-SGD draws its Poisson samples and
/// Gaussian noise from, and DP-FedAvg its server-side noise.
///
/// Private by default: ChaCha keyed from the OS CSPRNG, so nobody — including whoever knows the
/// experiment's seed — can predict or replay the noise. A seeded `LabRandom` stream is accepted
/// only through `insecureSeeded(_:)`, for reproducible research runs whose released models make
/// no privacy claim against an adversary who knows the seed.
public struct PrivacyRandomness: RandomNumberGenerator, Sendable {
    // Both sources are stored unwrapped (an optional of the 600-byte ChaCha state would be
    // copied on every draw); `isInsecure` says which one is used.
    private var chacha: ChaChaRandom
    private var seeded: LabRandom
    /// Whether this randomness is reproducible (and so unfit for a privacy claim).
    public let isInsecure: Bool

    /// ChaCha (8 rounds by default) keyed from the OS CSPRNG: the default.
    public static func system(rounds: Int = 8) -> PrivacyRandomness {
        PrivacyRandomness(chacha: ChaChaRandom(rounds: rounds), seeded: LabRandom(seed: 0), isInsecure: false)
    }

    /// A reproducible stream: NOT private against anyone who knows the seed.
    public static func insecureSeeded(_ random: LabRandom) -> PrivacyRandomness {
        PrivacyRandomness(chacha: ChaChaRandom(insecureKey: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 12)),
                          seeded: random, isInsecure: true)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        isInsecure ? seeded.next() : chacha.next()
    }

    /// The randomness of one named part of a mechanism (a round, a step): a child stream of the
    /// seeded stream (`LabRandom.stream(_:)`), or fresh ChaCha keyed from the OS CSPRNG with this
    /// randomness's rounds.
    public func stream(_ name: String) -> PrivacyRandomness {
        isInsecure ? .insecureSeeded(seeded.stream(name)) : .system(rounds: chacha.rounds)
    }

    /// Fills `out` with the next words.
    public mutating func fill(_ out: UnsafeMutableBufferPointer<UInt64>) {
        if isInsecure {
            for i in out.indices { out[i] = seeded.next() }
        } else {
            chacha.fill(out)
        }
    }

    /// Uniform in (0, 1], 53 bits.
    @inline(__always)
    public mutating func nextOpenUnit() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }
}
