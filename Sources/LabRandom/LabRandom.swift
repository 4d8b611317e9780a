/// A seedable, splittable pseudo-random generator: a root seed gives independent named streams.
///
/// Every random choice in PrivacyLab draws from a stream split off an experiment's seed by a
/// slash-separated path (`"target/train"`, `"shadow/3/init"`, `"client/12/batches"`).
///
/// ## Algorithm (version 1, pinned by known-answer vectors)
///
/// A generator holds a 256-bit **key**, which names its place in the tree of streams, and a
/// 256-bit **state**, which is consumed by drawing. The key never changes after creation.
///
/// - **Root.** `init(seed:)` expands the seed with SplitMix64 (`s += 0x9E3779B97F4A7C15`, then the
///   `mix64` finaliser below) into four words `k0…k3`: the root key. The root state equals the root
///   key, so a root generator is exactly xoshiro256** seeded the conventional way.
/// - **Streams.** `stream(name)` splits `name` at `/`, skips empty components, and absorbs each
///   component's UTF-8 bytes into a copy of the key. Absorbing one 64-bit word `w` is
///
///       x = w ^ k3
///       for i in 0..<4 { k[i] = mix64(k[i] ^ (x &+ φ·(i+1))); x = k[i] }
///
///   with `φ = 0x9E3779B97F4A7C15` and `mix64` the SplitMix64 finaliser, a bijection of `UInt64`:
///   `z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·0x94D049BB133111EB; z ^ z>>31`. A component of `n` bytes absorbs
///   `UInt64(n) ^ 0x4C61625374726561` ("LabStrea"), then its bytes in little-endian 8-byte words
///   (the last zero-padded), then the terminator `0x2F2F2F2F2F2F2F2F`. The child's state equals its
///   key. (An all-zero key, which xoshiro cannot use, is replaced by `(φ, 0, 0, 0)`; it has
///   probability 2⁻²⁵⁶.)
/// - **Drawing.** `next()` is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom
///   number generators", ACM TOMS 2021): period 2²⁵⁶ − 1, passes BigCrush and PractRand.
///
/// ## Laws
///
/// - A child depends only on the root seed and the path: `root.stream("shadow/3")` gives the same
///   values however many values were drawn from `root`, from siblings, or in what order streams were
///   made. The parent's consumed state is never read by `stream`.
/// - Paths compose: `root.stream("shadow").stream("3") == root.stream("shadow/3")`, and empty
///   components vanish: `stream("a//b") == stream("a/b")`, and `stream("")` is `self`'s own stream
///   restarted from its first value.
/// - Two generators are `==` when they sit at the same place in the same tree (same key) and have
///   drawn the same amount (same state): then they give the same values from here on.
/// - Distinct paths give streams that are, for all statistical purposes, independent (the key
///   derivation is a 256-bit non-cryptographic hash; collisions are as unlikely as random 256-bit
///   keys colliding, but an adversary who chooses names could aim for related keys).
///
/// - Complexity: `next()` is a handful of shifts, xors and two multiplications; `stream(_:)` is
///   O(length of the name).
///
/// - Important: Seedable means predictable. Never use `LabRandom` for keys, masks or nonces; use
///   ``SystemRandom``. Cryptographic code may take a `LabRandom` only through APIs named `insecure…`
///   (for known-answer tests).
public struct LabRandom: RandomNumberGenerator, Sendable, Equatable {
    // The key (fixed after creation) names this stream in the tree of streams.
    @usableFromInline internal var k0: UInt64
    @usableFromInline internal var k1: UInt64
    @usableFromInline internal var k2: UInt64
    @usableFromInline internal var k3: UInt64
    // The xoshiro256** state, consumed by drawing.
    @usableFromInline internal var s0: UInt64
    @usableFromInline internal var s1: UInt64
    @usableFromInline internal var s2: UInt64
    @usableFromInline internal var s3: UInt64

    /// The version of the stream algorithm documented above; bumped if any output would change.
    public static let algorithmVersion = 1

    /// Creates the root generator of the stream tree for `seed`.
    ///
    /// Its output is xoshiro256** seeded by four consecutive SplitMix64 outputs of `seed`.
    public init(seed: UInt64) {
        var s = seed
        let a = Self.splitMix64(&s)
        let b = Self.splitMix64(&s)
        let c = Self.splitMix64(&s)
        let d = Self.splitMix64(&s)
        self.init(key: (a, b, c, d))
    }

    @usableFromInline
    internal init(key: (UInt64, UInt64, UInt64, UInt64)) {
        var key = key
        if key.0 | key.1 | key.2 | key.3 == 0 { key.0 = Self.golden }
        (k0, k1, k2, k3) = key
        (s0, s1, s2, s3) = key
    }

    /// Returns the child stream named `name`, a `/`-separated path relative to this stream.
    ///
    /// The child depends only on this stream's key (hence on the root seed and this stream's path)
    /// and on `name`, never on how much has been drawn from `self`.
    /// `stream("a").stream("b") == stream("a/b")`; empty components are skipped.
    ///
    /// - Complexity: O(`name.utf8.count`).
    public func stream(_ name: String) -> LabRandom {
        var key = (k0, k1, k2, k3)
        for component in name.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            Self.absorb(component, into: &key)
        }
        return LabRandom(key: key)
    }

    /// The next 64 uniformly distributed bits (xoshiro256**).
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        Self.step(&s0, &s1, &s2, &s3)
    }

    // MARK: - Primitives shared by the bulk routines

    @usableFromInline static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// One xoshiro256** step on state held in locals (the bulk fills keep the state in registers).
    @inlinable @inline(__always)
    static func step(_ s0: inout UInt64, _ s1: inout UInt64, _ s2: inout UInt64, _ s3: inout UInt64)
        -> UInt64
    {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 &- k))
    }

    /// The SplitMix64 finaliser (Stafford's variant 13), a bijection of `UInt64`.
    static func mix64(_ z: UInt64) -> UInt64 {
        var z = z
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One SplitMix64 step (Steele, Lea and Flood, "Fast splittable pseudorandom number
    /// generators", OOPSLA 2014).
    static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= golden
        return mix64(state)
    }

    static func absorbWord(_ w: UInt64, into key: inout (UInt64, UInt64, UInt64, UInt64)) {
        var x = w ^ key.3
        key.0 = mix64(key.0 ^ (x &+ golden)); x = key.0
        key.1 = mix64(key.1 ^ (x &+ golden &* 2)); x = key.1
        key.2 = mix64(key.2 ^ (x &+ golden &* 3)); x = key.2
        key.3 = mix64(key.3 ^ (x &+ golden &* 4))
    }

    static func absorb(_ bytes: Substring.UTF8View, into key: inout (UInt64, UInt64, UInt64, UInt64)) {
        absorbWord(UInt64(bytes.count) ^ 0x4C61_6253_7472_6561, into: &key)
        var word: UInt64 = 0
        var filled: UInt64 = 0
        for byte in bytes {
            word |= UInt64(byte) << (8 * filled)
            filled += 1
            if filled == 8 {
                absorbWord(word, into: &key)
                word = 0
                filled = 0
            }
        }
        if filled > 0 { absorbWord(word, into: &key) }
        absorbWord(0x2F2F_2F2F_2F2F_2F2F, into: &key)
    }
}
