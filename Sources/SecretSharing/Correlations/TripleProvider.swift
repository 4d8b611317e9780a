/// This party's shares of elementwise Beaver triples: `c = a·b` over Z(2^64).
public struct BeaverTriples: Sendable {
    public var a: [UInt64], b: [UInt64], c: [UInt64]
    public init(a: [UInt64], b: [UInt64], c: [UInt64]) { self.a = a; self.b = b; self.c = c }
}

/// This party's shares of a matrix Beaver triple: `C = A·B` with `A` m×k, `B` k×n (row-major).
public struct MatrixTriple: Sendable {
    public var a: [UInt64], b: [UInt64], c: [UInt64]
    public init(a: [UInt64], b: [UInt64], c: [UInt64]) { self.a = a; self.b = b; self.c = c }
}

/// This party's shares of square pairs: `c = a²` over Z(2^64).
public struct SquarePairs: Sendable {
    public var a: [UInt64], c: [UInt64]
    public init(a: [UInt64], c: [UInt64]) { self.a = a; self.c = c }
}

/// This party's shares of truncation pairs for a shift by `d` bits: additive shares of a uniform
/// `r`, of `⌊r / 2^d⌋` and of `msb(r) · 2^(64-d)` (see `Party.truncate`).
public struct TruncationPairs: Sendable {
    public var r: [UInt64], rHigh: [UInt64], wrap: [UInt64]
    public init(r: [UInt64], rHigh: [UInt64], wrap: [UInt64]) {
        self.r = r; self.rHigh = rHigh; self.wrap = wrap
    }
}

/// This party's XOR shares of packed AND triples: `c = a & b` bitwise, 64 triples per word.
public struct BinaryTriples: Sendable {
    public var a: [UInt64], b: [UInt64], c: [UInt64]
    public init(a: [UInt64], b: [UInt64], c: [UInt64]) { self.a = a; self.b = b; self.c = c }
}

/// This party's shares of edaBits: a uniform `r` in Z(2^64), additively shared, together with
/// XOR shares of its 64 bits (one word per element).
/// Reference: Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved primitives for MPC over mixed
/// arithmetic-binary circuits" (CRYPTO 2020).
public struct EdaBits: Sendable {
    public var arithmetic: [UInt64], binary: [UInt64]
    public init(arithmetic: [UInt64], binary: [UInt64]) {
        self.arithmetic = arithmetic; self.binary = binary
    }
}

/// This party's shares of daBits: uniform bits `β`, XOR-shared packed 64 to a word (bit `i % 64`
/// of word `i / 64`) and additively shared over Z(2^64) (one word per bit).
public struct DaBits: Sendable {
    public var binary: [UInt64], arithmetic: [UInt64]
    public init(binary: [UInt64], arithmetic: [UInt64]) {
        self.binary = binary; self.arithmetic = arithmetic
    }
}

/// The source of one party's correlated randomness (the offline phase).
///
/// Protocols ask for correlations only through this protocol, in the same order at every party;
/// they never know where the correlations come from. `TrustedDealer` serves them from a trusted
/// third party; a dealer-free provider (triples from Paillier or oblivious transfer between the
/// parties, with its own channel) conforms without any change to the protocols.
public protocol TripleProvider: AnyObject {
    /// Elementwise multiplication triples.
    func multiplicationTriples(count: Int) throws(SecretSharingError) -> BeaverTriples
    /// One matrix multiplication triple for an m×k by k×n product.
    func matrixTriple(m: Int, k: Int, n: Int) throws(SecretSharingError) -> MatrixTriple
    /// Square pairs.
    func squarePairs(count: Int) throws(SecretSharingError) -> SquarePairs
    /// Truncation pairs for a right shift by `shift` bits (1...62).
    func truncationPairs(count: Int, shift: Int) throws(SecretSharingError) -> TruncationPairs
    /// `count` packed words of AND triples (64 triples per word).
    func binaryTriples(count: Int) throws(SecretSharingError) -> BinaryTriples
    /// edaBits.
    func edaBits(count: Int) throws(SecretSharingError) -> EdaBits
    /// daBits (`count` bits).
    func daBits(count: Int) throws(SecretSharingError) -> DaBits
    /// Bytes of correlated randomness received so far (offline communication).
    var offlineBytesReceived: Int { get }
    /// A triple whose `c` share is produced on demand (`PendingTriple.c()`): `a` and `b` are
    /// all a Beaver product needs to send its masked opening, so a provider that must compute
    /// `c` (a dealer's work) can do it while the openings are in flight. The default collects
    /// the whole triple at once. `m`, `k`, `n` as in `matrixTriple`; `m = k = n = 0` with
    /// `count` for elementwise triples.
    func pendingTriple(_ shape: TripleShape) throws(SecretSharingError) -> PendingTriple
    /// Hands back buffers of used correlations (their contents must never be used again), which
    /// the provider may reuse for later ones. Optional: the default keeps nothing.
    func recycle(_ buffers: consuming [[UInt64]])
}

extension TripleProvider {
    public func recycle(_ buffers: consuming [[UInt64]]) {}

    public func pendingTriple(_ shape: TripleShape) throws(SecretSharingError) -> PendingTriple {
        switch shape {
        case let .elementwise(count):
            let t = try multiplicationTriples(count: count)
            return PendingTriple(a: t.a, b: t.b) { () throws(SecretSharingError) in t.c }
        case let .matrix(m, k, n):
            let t = try matrixTriple(m: m, k: k, n: n)
            return PendingTriple(a: t.a, b: t.b) { () throws(SecretSharingError) in t.c }
        }
    }
}

/// The shape of a Beaver triple: elementwise (`c = a ⊙ b`) or a matrix product (`C = A·B`).
public enum TripleShape: Sendable, Equatable {
    case elementwise(count: Int)
    case matrix(m: Int, k: Int, n: Int)
}

/// This party's shares of a Beaver triple whose `c` share is produced on demand, once: see
/// `TripleProvider.pendingTriple`.
public struct PendingTriple {
    public var a: [UInt64], b: [UInt64]
    private let completion: () throws(SecretSharingError) -> [UInt64]

    public init(a: [UInt64], b: [UInt64], completion: @escaping () throws(SecretSharingError) -> [UInt64]) {
        self.a = a
        self.b = b
        self.completion = completion
    }

    /// This party's share of `c` (computed now; call once).
    public func c() throws(SecretSharingError) -> [UInt64] { try completion() }
}
