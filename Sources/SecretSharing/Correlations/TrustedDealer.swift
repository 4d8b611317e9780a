import Foundation
internal import RingArithmetic

/// A trusted third party that deals correlated randomness to `partyCount` parties.
///
/// Every correlation is *seed-compressed* (the usual PRG compression of dealt correlations):
/// for each request, in the order the parties make them, the dealer draws a
/// fresh 256-bit key per party from its CSPRNG-keyed ChaCha12 stream and sends only that. Each
/// party expands from its key its shares of the correlation's *free* components — uniform
/// values such as a triple's `a` and `b` or a truncation mask's `r` — and, except one
/// *explicit* party, its shares of the *completed* components (`c = a·b`, `⌊r/2^d⌋`, …). The
/// explicit party receives its shares of the completed components instead, computed by the
/// dealer as the correlated value minus the other parties' expanded shares. The explicit party is
/// `sequence mod partyCount` — it rotates from request to request, so the dealer's work is spread
/// over the parties.
///
/// Threads: the dealer's lock guards only the request log and the key draws. The dealer's work
/// for a request — expanding every party's key and computing the explicit share — runs, outside
/// the lock, on the thread of the explicit party when its `DealerTripleProvider` collects the
/// request (the provider is the dealer's window: the party's own code sees only its shares).
/// The other parties expand their keys on their own threads meanwhile, so no party waits on
/// another's request and, on two cores, both halves of the work run at once.
///
/// Security assumption: the dealer is honest and colludes with no party; it never sees the
/// parties' inputs. Each key is known to the dealer and its party only, so a coalition of up to
/// `n - 1` parties sees shares that are ChaCha12 outputs under keys it does not know —
/// pseudorandom under the same PRF assumption as every other mask (`MaskGenerator`) — and the
/// explicit shares are masked by the pseudorandom shares of a party outside the coalition. Up
/// to `n - 1` semi-honest colluding parties therefore learn nothing (CrypTen's trusted-third-
/// party mode). Replace it by a dealer-free `TripleProvider` to drop the assumption.
///
/// Offline bytes: 32 per party and request plus, at the explicit party, its completed
/// components (`8·m·n` for a matrix triple, `8·count` for a Beaver triple), instead of every
/// component at every party.
///
/// Parties must make the same requests in the same order; a mismatch throws `providerFailure`.
/// - Complexity: the dealer's work is that of the correlation (one m×k×n ring product for a
///   matrix triple) plus `O(n)` ChaCha12 words per correlated word, at the explicit party;
///   every other party expands its own key (`O(1)` words per correlated word).
public final class TrustedDealer: @unchecked Sendable {
    /// The number of parties served.
    public let partyCount: Int
    private let lock = NSLock()
    private var random: MaskGenerator
    private let pool = WordBufferPool(limit: 64)
    private var requests: [Request] = []
    private var pending: [[Int: Payload]]
    private var consumed: [Int]

    /// A dealer whose randomness comes from the OS CSPRNG.
    public convenience init(partyCount: Int) {
        self.init(partyCount: partyCount, random: MaskGenerator())
    }

    /// A dealer keyed from a cryptographic random source.
    public convenience init<R: CryptographicRandomNumberGenerator>(
        partyCount: Int, keyingFrom random: inout R
    ) {
        self.init(partyCount: partyCount, random: MaskGenerator(keyingFrom: &random))
    }

    /// A dealer with a fixed seed: reproducible, and insecure (anyone who knows the seed knows
    /// every party's shares). For tests only.
    public static func insecureSeeded(partyCount: Int, seed: UInt64) -> TrustedDealer {
        TrustedDealer(partyCount: partyCount, random: .insecureSeeded(seed))
    }

    private init(partyCount: Int, random: MaskGenerator) {
        precondition(partyCount >= 2, "a dealer serves at least two parties")
        self.partyCount = partyCount
        self.random = random
        self.pending = Array(repeating: [:], count: partyCount)
        self.consumed = Array(repeating: 0, count: partyCount)
    }

    /// The provider through which `party` receives its shares.
    public func provider(for party: Int) -> DealerTripleProvider {
        precondition((0..<partyCount).contains(party), "no party \(party)")
        return DealerTripleProvider(dealer: self, party: party)
    }

    /// The requests served so far, in order: a plan to `preprocess` for a later run of the same
    /// computation.
    public var servedPlan: CorrelationPlan {
        lock.lockPolling()
        defer { lock.unlock() }
        return CorrelationPlan(requests: requests)
    }

    /// Generates, ahead of time, every correlation of `plan` (the offline phase): the keys are
    /// drawn and every party's shares expanded now, so that a computation making exactly these
    /// requests then only collects them. Must be called before any party makes a request.
    public func preprocess(_ plan: CorrelationPlan) {
        lock.lockPolling()
        precondition(requests.isEmpty, "preprocess before any request is served")
        var seeds: [[Seed]] = []
        for (sequence, request) in plan.requests.enumerated() {
            seeds.append(drawSeeds(request, sequence: sequence))
            requests.append(request)
        }
        lock.unlock()
        for (sequence, perParty) in seeds.enumerated() {
            let ready = perParty.map { Payload.ready(materialize($0), bytes: $0.offlineBytes) }
            lock.lockPolling()
            for p in 0..<partyCount { pending[p][sequence] = ready[p] }
            lock.unlock()
        }
    }

    enum Request: Equatable, Sendable {
        case multiplication(Int)
        case matrix(Int, Int, Int)
        case square(Int)
        case truncation(Int, Int)
        case binary(Int)
        case eda(Int)
        case da(Int)
    }

    /// What a party receives for one request: the key it expands (and, at the explicit party,
    /// the dealer's work to do), or shares expanded ahead of time by `preprocess`.
    enum Payload {
        case seeded(Seed)
        case ready([[UInt64]], bytes: Int)
    }

    /// Party `party`'s payload for its next request: drawn now if no party has made this
    /// request yet, else the one drawn for it then. Only key draws happen under the lock.
    func serve(_ request: Request, party: Int) throws(SecretSharingError) -> Payload {
        lock.lockPolling()
        defer { lock.unlock() }
        let sequence = consumed[party]
        if sequence == requests.count {
            let seeds = drawSeeds(request, sequence: sequence)
            requests.append(request)
            for p in 0..<partyCount where p != party { pending[p][sequence] = .seeded(seeds[p]) }
            consumed[party] += 1
            return .seeded(seeds[party])
        }
        guard requests[sequence] == request else {
            throw .providerFailure(
                "party \(party) asked for \(request) as request \(sequence), "
                    + "another party asked for \(requests[sequence])")
        }
        consumed[party] += 1
        return pending[party].removeValue(forKey: sequence)!
    }

    /// One fresh key per party (and, for daBits, one for the dealer's own secret bits), in a
    /// fixed order; the explicit party's seed carries every key. Called under the lock.
    private func drawSeeds(_ request: Request, sequence: Int) -> [Seed] {
        let keys = (0..<partyCount).map { _ in MaskGenerator.drawKey(from: &random) }
        let secret = Layout(request).needsDealerSecret ? MaskGenerator.drawKey(from: &random) : nil
        let explicit = sequence % partyCount
        return (0..<partyCount).map { p in
            Seed(request: request, party: p, key: keys[p],
                 job: p == explicit ? DealerJob(keys: keys, secret: secret) : nil)
        }
    }

    // MARK: Expansion (outside the lock)

    /// This party's components, in the order of `Layout`: the free ones from its key, then the
    /// completed ones — from its key, or from the dealer's work at the explicit party.
    func materialize(_ seed: Seed) -> [[UInt64]] {
        let (free, complete) = materializeInStages(seed)
        return free + complete()
    }

    /// `materialize` in two stages: the free components now, and a closure that produces the
    /// completed ones (expanding the rest of the key, or doing the dealer's work) when called.
    func materializeInStages(_ seed: Seed) -> (free: [[UInt64]], complete: () -> [[UInt64]]) {
        let layout = Layout(seed.request)
        var g = MaskGenerator(key: seed.key)
        var free: [[UInt64]] = []
        free.reserveCapacity(layout.free.count)
        for c in layout.free { free.append(expand(&g, c.count)) }
        let ownFree = free
        let complete: () -> [[UInt64]] = { [self, g] in
            guard let job = seed.job else {
                var rest = g
                return layout.completed.map { self.expand(&rest, $0.count) }
            }
            return self.completedShares(job, request: seed.request, explicit: seed.party, ownFree: ownFree)
        }
        return (free, complete)
    }

    /// `count` words of `g`'s stream, in a buffer from the pool.
    private func expand(_ g: inout MaskGenerator, _ count: Int) -> [UInt64] {
        var w = takeBuffer(count)
        w.withUnsafeMutableBufferPointer { g.fill($0) }
        return w
    }

    /// The dealer's work for one request, at the explicit party `e`: the totals of the free
    /// components over every party (`e`'s own expansion given as `ownFree`), the correlated
    /// values computed from them, and `e`'s completed shares, those values minus (or XOR) the
    /// other parties' expanded shares.
    private func completedShares(
        _ job: DealerJob, request: Request, explicit e: Int, ownFree: [[UInt64]]
    ) -> [[UInt64]] {
        let layout = Layout(request)
        var generators = job.keys.map { MaskGenerator(key: $0) }
        // Totals of the free components: e's own shares, plus every other party's expansion.
        var totals: [[UInt64]] = ownFree.map { own in
            var t = takeBuffer(own.count)
            t.withUnsafeMutableBufferPointer { pt in
                own.withUnsafeBufferPointer { po in pt.update(fromContentsOf: po) }
            }
            return t
        }
        for p in 0..<partyCount where p != e {
            for (j, c) in layout.free.enumerated() {
                let part = expand(&generators[p], c.count)
                combine(&totals[j], part, xor: c.xor, subtract: false)
                recycle([part])
            }
        }
        var secret = job.secret.map { MaskGenerator(key: $0) }
        var completed = correlate(request, free: totals, secret: &secret)
        recycle(totals)
        // Subtract the other parties' shares of the completed components (their streams continue
        // after their free components, exactly as they expand them).
        for p in 0..<partyCount where p != e {
            for (j, c) in layout.completed.enumerated() {
                let part = expand(&generators[p], c.count)
                combine(&completed[j], part, xor: c.xor, subtract: true)
                recycle([part])
            }
        }
        return completed
    }

    /// `a ± b` (or `a ⊕ b`) in place.
    private func combine(_ a: inout [UInt64], _ b: [UInt64], xor: Bool, subtract: Bool) {
        if xor {
            a.withUnsafeMutableBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in for i in 0..<pa.count { pa[i] ^= pb[i] } }
            }
        } else if subtract {
            Ring.subtractInPlace(&a, b)
        } else {
            Ring.addInPlace(&a, b)
        }
    }

    /// The correlated values (the completed components' totals) from the free components'
    /// totals; `secret` is the dealer's own stream, for correlations with no free component.
    private func correlate(_ request: Request, free t: [[UInt64]], secret: inout MaskGenerator?) -> [[UInt64]] {
        switch request {
        case let .multiplication(count):
            var c = takeBuffer(count)
            c.withUnsafeMutableBufferPointer { pc in
                t[0].withUnsafeBufferPointer { a in
                    t[1].withUnsafeBufferPointer { b in for i in 0..<count { pc[i] = a[i] &* b[i] } }
                }
            }
            return [c]
        case let .matrix(m, k, n):
            var c = takeBuffer(m * n)
            c.withUnsafeMutableBufferPointer { pc in
                pc.update(repeating: 0)
                t[0].withUnsafeBufferPointer { pa in
                    t[1].withUnsafeBufferPointer { pb in
                        WrappingMatrix.multiplyAccumulate(pa, pb, into: pc, m: m, k: k, n: n)
                    }
                }
            }
            return [c]
        case let .square(count):
            var c = takeBuffer(count)
            c.withUnsafeMutableBufferPointer { pc in
                t[0].withUnsafeBufferPointer { a in for i in 0..<count { pc[i] = a[i] &* a[i] } }
            }
            return [c]
        case let .truncation(count, shift):
            // High part ⌊r/2^d⌋ and the wrap correction msb(r)·2^(64-d) (see `Party.truncate`).
            let d = UInt64(shift)
            var high = takeBuffer(count), wrap = takeBuffer(count)
            high.withUnsafeMutableBufferPointer { ph in
                wrap.withUnsafeMutableBufferPointer { pw in
                    t[0].withUnsafeBufferPointer { r in
                        for i in 0..<count {
                            ph[i] = r[i] >> d
                            pw[i] = (r[i] >> 63) << (64 - d)
                        }
                    }
                }
            }
            return [high, wrap]
        case let .binary(count):
            var c = takeBuffer(count)
            c.withUnsafeMutableBufferPointer { pc in
                t[0].withUnsafeBufferPointer { a in
                    t[1].withUnsafeBufferPointer { b in for i in 0..<count { pc[i] = a[i] & b[i] } }
                }
            }
            return [c]
        case .eda:
            // The bits of r, XOR-shared: the word itself.
            var bits = takeBuffer(t[0].count)
            bits.withUnsafeMutableBufferPointer { pb in
                t[0].withUnsafeBufferPointer { r in pb.update(fromContentsOf: r) }
            }
            return [bits]
        case let .da(count):
            // Secret bits β (the dealer's own draw, unused bits of the last word zero), XOR-
            // shared and, one word per bit, additively shared.
            let words = (count + 63) / 64
            var beta = [UInt64](repeating: 0, count: words)
            beta.withUnsafeMutableBufferPointer { secret!.fill($0) }
            if count % 64 != 0 { beta[words - 1] &= (UInt64(1) << UInt64(count % 64)) - 1 }
            var arithmetic = takeBuffer(count)
            arithmetic.withUnsafeMutableBufferPointer { pa in
                beta.withUnsafeBufferPointer { pb in
                    for i in 0..<count { pa[i] = (pb[i >> 6] >> UInt64(i & 63)) & 1 }
                }
            }
            return [beta, arithmetic]
        }
    }

    // MARK: Buffers

    /// A buffer from the dealer's pool.
    func takeBuffer(_ count: Int) -> [UInt64] {
        lock.lockPolling()
        defer { lock.unlock() }
        return pool.take(count)
    }

    /// Hands back buffers of used correlations for reuse (see `TripleProvider.recycle`).
    func recycle(_ buffers: consuming [[UInt64]]) {
        lock.lockPolling()
        defer { lock.unlock() }
        for b in buffers { pool.recycle(b) }
    }
}

/// The components of one correlation, in the order a party expands them and the provider
/// returns them: the free ones (uniform, every party expands its share from its key), then the
/// completed ones (correlated; the explicit party gets its share from the dealer).
struct Layout {
    struct Component {
        let count: Int
        /// XOR-shared (packed bits) rather than additively shared.
        let xor: Bool
    }
    let free: [Component]
    let completed: [Component]
    /// Whether the correlated value needs the dealer's own secret randomness (no free part).
    var needsDealerSecret: Bool { free.isEmpty }

    init(_ request: TrustedDealer.Request) {
        func add(_ count: Int) -> Component { Component(count: count, xor: false) }
        func bits(_ count: Int) -> Component { Component(count: count, xor: true) }
        switch request {
        case let .multiplication(count): (free, completed) = ([add(count), add(count)], [add(count)])
        case let .matrix(m, k, n): (free, completed) = ([add(m * k), add(k * n)], [add(m * n)])
        case let .square(count): (free, completed) = ([add(count)], [add(count)])
        case let .truncation(count, _): (free, completed) = ([add(count)], [add(count), add(count)])
        case let .binary(count): (free, completed) = ([bits(count), bits(count)], [bits(count)])
        case let .eda(count): (free, completed) = ([add(count)], [bits(count)])
        case let .da(count): (free, completed) = ([], [bits((count + 63) / 64), add(count)])
        }
    }
}

/// One party's part of one seed-compressed correlation: its key and, at the explicit party,
/// the dealer's work to do.
struct Seed: Sendable {
    let request: TrustedDealer.Request
    let party: Int
    let key: SIMD8<UInt32>
    let job: DealerJob?

    /// Offline bytes received: the key, plus the completed components at the explicit party.
    var offlineBytes: Int {
        let layout = Layout(request)
        let key = layout.free.isEmpty && job != nil ? 0 : 32
        return key + (job == nil ? 0 : layout.completed.reduce(0) { $0 + 8 * $1.count })
    }
}

/// The dealer's work for one correlation: every party's key (and the dealer's own secret key,
/// for daBits). Carried by the explicit party's seed and run on its thread by the provider —
/// the dealer's code, never the party's.
struct DealerJob: Sendable {
    let keys: [SIMD8<UInt32>]
    let secret: SIMD8<UInt32>?
}

/// The sequence of correlation requests of a computation (recorded by `TrustedDealer.servedPlan`).
public struct CorrelationPlan: Sendable, Equatable {
    let requests: [TrustedDealer.Request]
    /// The number of requests.
    public var count: Int { requests.count }
}

/// One party's window onto a `TrustedDealer`: collects this party's payload for each request
/// and expands it (running the dealer's work when this party is the request's explicit party).
public final class DealerTripleProvider: TripleProvider, @unchecked Sendable {
    private let dealer: TrustedDealer
    /// The party served.
    public let party: Int
    public private(set) var offlineBytesReceived = 0

    init(dealer: TrustedDealer, party: Int) {
        self.dealer = dealer
        self.party = party
    }

    private func fetch(_ r: TrustedDealer.Request) throws(SecretSharingError) -> [[UInt64]] {
        switch try dealer.serve(r, party: party) {
        case let .ready(parts, bytes):
            offlineBytesReceived += bytes
            return parts
        case let .seeded(seed):
            offlineBytesReceived += seed.offlineBytes
            return dealer.materialize(seed)
        }
    }

    /// The triple's `a` and `b` now; its `c` — at the request's explicit party, the dealer's
    /// work — when `PendingTriple.c()` is called.
    public func pendingTriple(_ shape: TripleShape) throws(SecretSharingError) -> PendingTriple {
        let request: TrustedDealer.Request
        switch shape {
        case let .elementwise(count): request = .multiplication(count)
        case let .matrix(m, k, n): request = .matrix(m, k, n)
        }
        switch try dealer.serve(request, party: party) {
        case let .ready(parts, bytes):
            offlineBytesReceived += bytes
            return PendingTriple(a: parts[0], b: parts[1]) { () throws(SecretSharingError) in parts[2] }
        case let .seeded(seed):
            offlineBytesReceived += seed.offlineBytes
            let (free, complete) = dealer.materializeInStages(seed)
            return PendingTriple(a: free[0], b: free[1]) { () throws(SecretSharingError) in complete()[0] }
        }
    }

    public func multiplicationTriples(count: Int) throws(SecretSharingError) -> BeaverTriples {
        let p = try fetch(.multiplication(count))
        return BeaverTriples(a: p[0], b: p[1], c: p[2])
    }

    public func matrixTriple(m: Int, k: Int, n: Int) throws(SecretSharingError) -> MatrixTriple {
        let p = try fetch(.matrix(m, k, n))
        return MatrixTriple(a: p[0], b: p[1], c: p[2])
    }

    public func squarePairs(count: Int) throws(SecretSharingError) -> SquarePairs {
        let p = try fetch(.square(count))
        return SquarePairs(a: p[0], c: p[1])
    }

    public func truncationPairs(count: Int, shift: Int) throws(SecretSharingError) -> TruncationPairs {
        guard (1...62).contains(shift) else {
            throw .invalidArgument("truncation shift \(shift) is outside 1...62")
        }
        let p = try fetch(.truncation(count, shift))
        return TruncationPairs(r: p[0], rHigh: p[1], wrap: p[2])
    }

    public func binaryTriples(count: Int) throws(SecretSharingError) -> BinaryTriples {
        let p = try fetch(.binary(count))
        return BinaryTriples(a: p[0], b: p[1], c: p[2])
    }

    public func edaBits(count: Int) throws(SecretSharingError) -> EdaBits {
        let p = try fetch(.eda(count))
        return EdaBits(arithmetic: p[0], binary: p[1])
    }

    public func daBits(count: Int) throws(SecretSharingError) -> DaBits {
        let p = try fetch(.da(count))
        return DaBits(binary: p[0], arithmetic: p[1])
    }

    public func recycle(_ buffers: consuming [[UInt64]]) {
        dealer.recycle(buffers)
    }
}
