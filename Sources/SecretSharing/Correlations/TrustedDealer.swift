import Foundation
internal import RingArithmetic

/// A trusted third party that deals correlated randomness to `partyCount` parties.
///
/// For each request, in the order the parties make them, the dealer draws the correlation from
/// its own CSPRNG, splits every component into fresh additive (or XOR) shares — `n - 1` uniform
/// shares and one that completes the sum — and hands party `i` its shares, through the
/// `DealerTripleProvider` returned by `provider(for:)`.
///
/// Security assumption: the dealer is honest and colludes with no party; it never sees the
/// parties' inputs. Given that, each party's shares are uniform and independent of the others',
/// so up to `n - 1` semi-honest colluding parties learn nothing (as in CrypTen's trusted-third-
/// party mode). Replace it by a dealer-free `TripleProvider` to drop the assumption.
///
/// Matrix triples are *seed-compressed*: the dealer draws a fresh 256-bit key per party from its
/// CSPRNG and sends only that; every party expands its shares of `A` and `B` from its key with
/// ChaCha12 (`MaskGenerator`), parties `0..<n-1` their share of `C` too, and only the last party
/// receives its share of `C` explicitly, `C - Σ_{i<n-1} c_i`. (Computing that share on a thread
/// of the dealer's own, while the parties open their inputs, was measured slower on two cores
/// than computing it at the first request.)
/// Offline bytes: 32 per party plus `8·m·n` for the last, instead of `8·(mk + kn + mn)` per party.
/// Each key is 256 bits of the dealer's ChaCha12 stream, itself keyed from the OS CSPRNG, and is
/// known to the dealer and its party only, so a coalition of up to `n - 1` parties sees shares
/// that are ChaCha12 outputs under keys it does not know: pseudorandom under the same PRF
/// assumption as every other mask (`MaskGenerator`), and the last party's `C` share is masked by
/// the other parties' pseudorandom `c_i`.
///
/// Parties must make the same requests in the same order; a mismatch throws `providerFailure`.
/// - Complexity: the dealer's work is that of the correlation (one m×k×n ring product for a
///   matrix triple) plus `O(n)` random words per correlated word.
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

    /// Generates, ahead of time, every correlation of `plan` (the offline phase), so that a
    /// computation making exactly these requests then only collects them. Must be called before
    /// any party makes a request.
    public func preprocess(_ plan: CorrelationPlan) {
        lock.lockPolling()
        defer { lock.unlock() }
        precondition(requests.isEmpty, "preprocess before any request is served")
        for (sequence, request) in plan.requests.enumerated() {
            let perParty = payloads(request)
            for p in 0..<partyCount { pending[p][sequence] = perParty[p] }
            requests.append(request)
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

    /// What a party receives for one request: its shares, or the key of a seed-compressed
    /// matrix triple.
    enum Payload {
        case explicit([[UInt64]])
        case seeded(SeededMatrixShare)
    }

    /// Party `party`'s payload for its next request.
    func serve(_ request: Request, party: Int) throws(SecretSharingError) -> Payload {
        lock.lockPolling()
        defer { lock.unlock() }
        let sequence = consumed[party]
        if sequence == requests.count {
            let perParty = payloads(request)
            requests.append(request)
            for p in 0..<partyCount where p != party { pending[p][sequence] = perParty[p] }
            consumed[party] += 1
            return perParty[party]
        }
        guard requests[sequence] == request else {
            throw .providerFailure(
                "party \(party) asked for \(request) as request \(sequence), "
                    + "another party asked for \(requests[sequence])")
        }
        consumed[party] += 1
        return pending[party].removeValue(forKey: sequence)!
    }

    /// Party `party`'s components for its next request (explicit shares only).
    func serveExplicit(_ request: Request, party: Int) throws(SecretSharingError) -> [[UInt64]] {
        guard case let .explicit(parts) = try serve(request, party: party) else {
            throw .providerFailure("request \(request) is seed-compressed")
        }
        return parts
    }

    /// Every party's payload for `request`. Matrix triples are seed-compressed: one fresh key per
    /// party, and the last party's `C` share computed now.
    private func payloads(_ request: Request) -> [Payload] {
        guard case let .matrix(m, k, n) = request else {
            return generate(request).map { .explicit($0) }
        }
        let keys = (0..<partyCount).map { _ in MaskGenerator.drawKey(from: &random) }
        let lastC = lastMatrixShare(keys: keys, m: m, k: k, n: n)
        return (0..<partyCount).map { p in
            .seeded(SeededMatrixShare(key: keys[p], explicitC: p == partyCount - 1 ? lastC : nil))
        }
    }

    /// The last party's share of `C = A·B`, from the parties' keys: expands every party's `a_i`,
    /// `b_i` (and `c_i` but the last's) exactly as `DealerTripleProvider` does.
    private func lastMatrixShare(keys: [SIMD8<UInt32>], m: Int, k: Int, n: Int) -> [UInt64] {
        func take(_ count: Int) -> [UInt64] { pool.take(count) }
        func give(_ b: consuming [UInt64]) { pool.recycle(b) }
        var generators = keys.map { MaskGenerator(key: $0) }
        var sa = take(m * k), sb = take(k * n), scratchA = take(m * k), scratchB = take(k * n)
        for i in generators.indices {
            if i == 0 {
                sa.withUnsafeMutableBufferPointer { generators[i].fill($0) }
                sb.withUnsafeMutableBufferPointer { generators[i].fill($0) }
            } else {
                scratchA.withUnsafeMutableBufferPointer { generators[i].fill($0) }
                scratchB.withUnsafeMutableBufferPointer { generators[i].fill($0) }
                Ring.addInPlace(&sa, scratchA)
                Ring.addInPlace(&sb, scratchB)
            }
        }
        var c = take(m * n)
        c.withUnsafeMutableBufferPointer { pc in
            pc.update(repeating: 0)
            sa.withUnsafeBufferPointer { pa in
                sb.withUnsafeBufferPointer { pb in
                    WrappingMatrix.multiplyAccumulate(pa, pb, into: pc, m: m, k: k, n: n)
                }
            }
        }
        give(sa); give(sb); give(scratchA); give(scratchB)
        var other = take(m * n)
        for i in 0..<(keys.count - 1) {
            other.withUnsafeMutableBufferPointer { generators[i].fill($0) }
            Ring.subtractInPlace(&c, other)
        }
        give(other)
        return c
    }

    /// A buffer from the dealer's pool (for a party's expansion of its key).
    func takeBuffer(_ count: Int) -> [UInt64] {
        lock.lockPolling()
        defer { lock.unlock() }
        return pool.take(count)
    }

    // MARK: Generation

    /// Hands back buffers of used correlations for reuse (see `TripleProvider.recycle`).
    func recycle(_ buffers: consuming [[UInt64]]) {
        lock.lockPolling()
        defer { lock.unlock() }
        for b in buffers { pool.recycle(b) }
    }

    /// `count` uniform words (a buffer from the pool, filled from the dealer's CSPRNG).
    private func uniformWords(_ count: Int) -> [UInt64] {
        var w = pool.take(count)
        w.withUnsafeMutableBufferPointer { random.fill($0) }
        return w
    }

    /// `count` uniform words for each party (one party's share of a uniform value each).
    private func uniformShares(_ count: Int) -> [[UInt64]] {
        (0..<partyCount).map { _ in uniformWords(count) }
    }

    /// Additive shares of `value`: uniform for parties 0..<n-1, the last completes the sum.
    private func additiveShares(of value: consuming [UInt64]) -> [[UInt64]] {
        var shares = (0..<(partyCount - 1)).map { _ in uniformWords(value.count) }
        var last = value  // in place when the caller hands its last reference over
        for s in shares { Ring.subtractInPlace(&last, s) }
        shares.append(last)
        return shares
    }

    private func xorShares(of value: [UInt64]) -> [[UInt64]] {
        var shares = (0..<(partyCount - 1)).map { _ in random.words(value.count) }
        var last = value
        for s in shares { last = Ring.xor(last, s) }
        shares.append(last)
        return shares
    }

    /// The sum of the shares, in a buffer from the pool.
    private func sumShares(_ shares: [[UInt64]]) -> [UInt64] {
        var total = pool.take(shares[0].count)
        total.withUnsafeMutableBufferPointer { t in
            shares[0].withUnsafeBufferPointer { s in
                for i in 0..<t.count { t[i] = s[i] }
            }
        }
        for s in shares.dropFirst() { Ring.addInPlace(&total, s) }
        return total
    }

    private func xorAll(_ shares: [[UInt64]]) -> [UInt64] {
        var total = shares[0]
        for s in shares.dropFirst() { total = Ring.xor(total, s) }
        return total
    }

    private func generate(_ request: Request) -> [[[UInt64]]] {
        let n = partyCount
        func zip3(_ x: [[UInt64]], _ y: [[UInt64]], _ z: [[UInt64]]) -> [[[UInt64]]] {
            (0..<n).map { [x[$0], y[$0], z[$0]] }
        }
        switch request {
        case let .multiplication(count):
            let a = uniformShares(count), b = uniformShares(count)
            let c = additiveShares(of: Ring.multiply(sumShares(a), sumShares(b)))
            return zip3(a, b, c)
        case .matrix:
            preconditionFailure("matrix triples are seed-compressed (see payloads)")
        case let .square(count):
            let a = uniformShares(count)
            let sa = sumShares(a)
            let c = additiveShares(of: Ring.multiply(sa, sa))
            return (0..<n).map { [a[$0], c[$0]] }
        case let .truncation(count, shift):
            let r = uniformShares(count)
            let total = sumShares(r)
            let d = UInt64(shift)
            var high = [UInt64](repeating: 0, count: count)
            var wrap = [UInt64](repeating: 0, count: count)
            for i in 0..<count {
                high[i] = total[i] >> d
                wrap[i] = (total[i] >> 63) << (64 - d)
            }
            return zip3(r, additiveShares(of: high), additiveShares(of: wrap))
        case let .binary(count):
            let a = uniformShares(count), b = uniformShares(count)
            let sa = xorAll(a), sb = xorAll(b)
            var c = [UInt64](repeating: 0, count: count)
            for i in 0..<count { c[i] = sa[i] & sb[i] }
            return zip3(a, b, xorShares(of: c))
        case let .eda(count):
            let r = uniformShares(count)
            let bits = xorShares(of: sumShares(r))
            return (0..<n).map { [r[$0], bits[$0]] }
        case let .da(count):
            let words = (count + 63) / 64
            var beta = random.words(words)
            if count % 64 != 0 { beta[words - 1] &= (UInt64(1) << UInt64(count % 64)) - 1 }
            var arithmetic = [UInt64](repeating: 0, count: count)
            for i in 0..<count { arithmetic[i] = (beta[i >> 6] >> UInt64(i & 63)) & 1 }
            let bin = xorShares(of: beta), arith = additiveShares(of: arithmetic)
            return (0..<n).map { [bin[$0], arith[$0]] }
        }
    }
}

/// The sequence of correlation requests of a computation (recorded by `TrustedDealer.servedPlan`).
public struct CorrelationPlan: Sendable, Equatable {
    let requests: [TrustedDealer.Request]
    /// The number of requests.
    public var count: Int { requests.count }
}

/// One party's window onto a `TrustedDealer`.
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
        let parts = try dealer.serveExplicit(r, party: party)
        for p in parts { offlineBytesReceived += 8 * p.count }
        return parts
    }

    public func multiplicationTriples(count: Int) throws(SecretSharingError) -> BeaverTriples {
        let p = try fetch(.multiplication(count))
        return BeaverTriples(a: p[0], b: p[1], c: p[2])
    }

    /// Receives this party's key and expands its shares of `A`, `B` and — but at the last party,
    /// which receives its `C` share explicitly — of `C`, in that order.
    public func matrixTriple(m: Int, k: Int, n: Int) throws(SecretSharingError) -> MatrixTriple {
        guard case let .seeded(share) = try dealer.serve(.matrix(m, k, n), party: party) else {
            throw .providerFailure("the dealer sent explicit shares for a matrix triple")
        }
        offlineBytesReceived += 32
        var g = MaskGenerator(key: share.key)
        var a = dealer.takeBuffer(m * k), b = dealer.takeBuffer(k * n)
        a.withUnsafeMutableBufferPointer { g.fill($0) }
        b.withUnsafeMutableBufferPointer { g.fill($0) }
        if let c = share.explicitC {
            offlineBytesReceived += 8 * c.count
            return MatrixTriple(a: a, b: b, c: c)
        }
        var c = dealer.takeBuffer(m * n)
        c.withUnsafeMutableBufferPointer { g.fill($0) }
        return MatrixTriple(a: a, b: b, c: c)
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

/// One party's part of a seed-compressed matrix triple: its key and, at the last party, its
/// explicit `C` share.
struct SeededMatrixShare: Sendable {
    let key: SIMD8<UInt32>
    let explicitC: [UInt64]?
}
