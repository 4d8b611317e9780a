// MARK: A dealer in another process: requests and answers as word messages.

extension TrustedDealer.Request {
    /// The request as words: a tag and up to three sizes.
    var words: [UInt64] {
        switch self {
        case let .multiplication(c): return [1, UInt64(c)]
        case let .matrix(m, k, n): return [2, UInt64(m), UInt64(k), UInt64(n)]
        case let .square(c): return [3, UInt64(c)]
        case let .truncation(c, d): return [4, UInt64(c), UInt64(d)]
        case let .binary(c): return [5, UInt64(c)]
        case let .eda(c): return [6, UInt64(c)]
        case let .da(c): return [7, UInt64(c)]
        }
    }

    /// The request `words` encode, refusing unknown tags, wrong lengths and sizes over
    /// `maximumWords` correlated words (so that a request cannot make the dealer allocate
    /// without bound).
    init(words w: [UInt64], maximumWords: Int) throws(SecretSharingError) {
        func size(_ i: Int) throws(SecretSharingError) -> Int {
            guard w[i] >= 1, w[i] <= UInt64(maximumWords) else {
                throw .invalidArgument("a correlation request's size \(w[i]) is outside 1…\(maximumWords)")
            }
            return Int(w[i])
        }
        let lengths: [UInt64: Int] = [1: 2, 2: 4, 3: 2, 4: 3, 5: 2, 6: 2, 7: 2]
        guard let tag = w.first, let length = lengths[tag], w.count == length else {
            throw .invalidArgument("malformed correlation request (\(w.count) words)")
        }
        switch tag {
        case 1: self = .multiplication(try size(1))
        case 2:
            let (m, k, n) = (try size(1), try size(2), try size(3))
            guard m <= maximumWords / k, k <= maximumWords / n, m <= maximumWords / n else {
                throw .invalidArgument("a matrix triple of \(m)×\(k)×\(n) is over \(maximumWords) words")
            }
            self = .matrix(m, k, n)
        case 3: self = .square(try size(1))
        case 4:
            let c = try size(1)
            guard (1...62).contains(w[2]) else { throw .invalidArgument("truncation shift \(w[2]) is outside 1…62") }
            self = .truncation(c, Int(w[2]))
        case 5: self = .binary(try size(1))
        case 6: self = .eda(try size(1))
        default: self = .da(try size(1))
        }
    }
}

extension TrustedDealer {
    /// The dealer's answer to `party`'s next request, given as words (the dealer runs in its
    /// own process and the request came over the network): the party's components, as
    /// `[k, count_1, …, count_k, component_1…, component_k…]`. Requests are served in each
    /// party's order exactly as in-process, so a remote dealer with the same seed deals the
    /// same shares as `insecureSeeded` does in one process.
    /// - Throws: `invalidArgument` for a malformed request, `providerFailure` when parties'
    ///   requests disagree.
    public func answer(_ requestWords: [UInt64], party: Int, maximumWords: Int = 1 << 26) throws(SecretSharingError) -> [UInt64] {
        guard (0..<partyCount).contains(party) else { throw .invalidArgument("no party \(party)") }
        let request = try Request(words: requestWords, maximumWords: maximumWords)
        let parts: [[UInt64]]
        switch try serve(request, party: party) {
        case let .ready(p, _): parts = p
        case let .seeded(seed): parts = materialize(seed)
        }
        var out: [UInt64] = [UInt64(parts.count)] + parts.map { UInt64($0.count) }
        out.reserveCapacity(out.count + parts.reduce(0) { $0 + $1.count })
        for p in parts { out.append(contentsOf: p) }
        recycle(parts)
        return out
    }
}

/// A party's `TripleProvider` served by a dealer in another process: each request is sent as
/// words through `exchange` (which returns the dealer's answer, `TrustedDealer.answer`) and the
/// answer is checked against the request's layout before use.
public final class RemoteDealerProvider: TripleProvider {
    private let exchange: ([UInt64]) throws(SecretSharingError) -> [UInt64]
    public private(set) var offlineBytesReceived = 0

    public init(exchange: @escaping ([UInt64]) throws(SecretSharingError) -> [UInt64]) {
        self.exchange = exchange
    }

    private func fetch(_ r: TrustedDealer.Request) throws(SecretSharingError) -> [[UInt64]] {
        let answer = try exchange(r.words)
        offlineBytesReceived += 8 * answer.count
        let layout = Layout(r)
        let expected = (layout.free + layout.completed).map(\.count)
        guard answer.count == 1 + expected.count + expected.reduce(0, +), answer[0] == UInt64(expected.count),
              zip(answer[1...expected.count], expected).allSatisfy({ $0 == UInt64($1) }) else {
            throw .providerFailure("the dealer's answer does not have the shape of the request")
        }
        var parts: [[UInt64]] = []
        var offset = 1 + expected.count
        for c in expected {
            parts.append(Array(answer[offset..<(offset + c)]))
            offset += c
        }
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
        guard (1...62).contains(shift) else { throw .invalidArgument("truncation shift \(shift) is outside 1...62") }
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
