import Foundation

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
/// Parties must make the same requests in the same order; a mismatch throws `providerFailure`.
/// - Complexity: the dealer's work is that of the correlation (one m×k×n ring product for a
///   matrix triple) plus `O(n)` random words per correlated word.
public final class TrustedDealer: @unchecked Sendable {
    /// The number of parties served.
    public let partyCount: Int
    private let lock = NSLock()
    private var random: MaskGenerator
    private var requests: [Request] = []
    private var pending: [[Int: [[UInt64]]]]
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
        lock.lock()
        defer { lock.unlock() }
        return CorrelationPlan(requests: requests)
    }

    /// Generates, ahead of time, every correlation of `plan` (the offline phase), so that a
    /// computation making exactly these requests then only collects them. Must be called before
    /// any party makes a request.
    public func preprocess(_ plan: CorrelationPlan) {
        lock.lock()
        defer { lock.unlock() }
        precondition(requests.isEmpty, "preprocess before any request is served")
        for (sequence, request) in plan.requests.enumerated() {
            let perParty = generate(request)
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

    /// Party `party`'s components for its next request.
    func serve(_ request: Request, party: Int) throws(SecretSharingError) -> [[UInt64]] {
        lock.lock()
        defer { lock.unlock() }
        let sequence = consumed[party]
        if sequence == requests.count {
            let perParty = generate(request)
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

    // MARK: Generation

    /// `count` uniform words for each party (one party's share of a uniform value each).
    private func uniformShares(_ count: Int) -> [[UInt64]] {
        (0..<partyCount).map { _ in random.words(count) }
    }

    /// Additive shares of `value`: uniform for parties 0..<n-1, the last completes the sum.
    private func additiveShares(of value: [UInt64]) -> [[UInt64]] {
        var shares = (0..<(partyCount - 1)).map { _ in random.words(value.count) }
        var last = value
        for s in shares { Ring.subtractInPlace(&last, s) }
        shares.append(last)
        return shares
    }

    /// XOR shares of `value`.
    private func xorShares(of value: [UInt64]) -> [[UInt64]] {
        var shares = (0..<(partyCount - 1)).map { _ in random.words(value.count) }
        var last = value
        for s in shares { last = Ring.xor(last, s) }
        shares.append(last)
        return shares
    }

    private func sumShares(_ shares: [[UInt64]]) -> [UInt64] {
        var total = shares[0]
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
        case let .matrix(m, k, nn):
            let a = uniformShares(m * k), b = uniformShares(k * nn)
            let c = additiveShares(of: Ring.matmul(sumShares(a), sumShares(b), m: m, k: k, n: nn))
            return zip3(a, b, c)
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
        let parts = try dealer.serve(r, party: party)
        for p in parts { offlineBytesReceived += 8 * p.count }
        return parts
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
}
