/// How a fixed-point product is brought back from scale `2^(2f)` to `2^f`.
public enum TruncationMethod: Sendable, Equatable {
    /// Dealer-assisted probabilistic truncation for any number of parties (one round): exact up
    /// to probabilistic rounding — the result is `⌊z/2^d⌋` or `⌊z/2^d⌋ + 1`, unbiased — for every
    /// `|z| < 2^62`, with no failure probability. See `Party.truncate`.
    case dealerAssisted
    /// SecureML's local truncation for two parties (no communication): each party shifts its
    /// own share. For `|z| < 2^ℓ` the result is off by at most one unit with probability at least
    /// `1 - 2^(ℓ+1-64)`, and otherwise wrong by about `2^(64-d)` — a silent failure, which is why
    /// this is not the default. Mohassel and Zhang, "SecureML" (S&P 2017), Theorem 1.
    case localTwoParty
}

/// The cost of one operation as seen by one party.
public struct OperationCost: Sendable, Equatable {
    /// Communication rounds.
    public var rounds: Int
    /// Bytes this party sent in the online phase.
    public var bytesSent: Int
    /// Bytes of correlated randomness this party received (offline phase).
    public var offlineBytes: Int
    /// Wall-clock seconds at this party, including the dealer's work it waited for.
    public var seconds: Double

    public init(rounds: Int, bytesSent: Int, offlineBytes: Int, seconds: Double) {
        self.rounds = rounds
        self.bytesSent = bytesSent
        self.offlineBytes = offlineBytes
        self.seconds = seconds
    }
}

/// One party of an additive secret-sharing computation: its channel, its correlated randomness
/// and its own CSPRNG. Parties share no state; they talk only through `channel`.
///
/// Every party runs the same sequence of operations (single program, multiple data), each on its
/// own shares; the operations are in the `Party+…` extensions. The layers, bottom up:
/// `FixedPointEncoder` (reals ↔ Z(2^64)) → additive shares and `Ring` kernels → `SecretTensor`
/// (flat shares, shape, public bound) → protocols (`Party+Linear`, `+Beaver`, `+Truncation`,
/// `+Comparison`, `+Approximations`) → secure ML (`SecureLogisticRegression`,
/// `SecureMultilayerPerceptron`). Correlated randomness comes only through `TripleProvider`;
/// messages only through `Channel`.
///
/// Security model: semi-honest (honest-but-curious) parties, any `n - 1` of which may collude,
/// and — with `TrustedDealer` — a dealer that follows the protocol and colludes with none.
/// Everything a party receives is uniformly distributed or a public value (shapes, public
/// bounds); outputs are revealed only by `reveal`. No protection against malicious deviation
/// (no MACs), and the public magnitude bounds leak what their definition says (see `share`).
/// - Reference: Knott et al., "CrypTen: secure multi-party computation meets machine learning"
///   (NeurIPS 2021), whose layering this follows.
public final class Party {
    /// This party's network endpoint.
    public let channel: any Channel
    /// This party's source of correlated randomness.
    public let provider: any TripleProvider
    /// The fixed-point encoding shared by all parties.
    public let encoder: FixedPointEncoder
    /// How products are truncated.
    public let truncation: TruncationMethod
    var random: MaskGenerator
    /// Keystreams shared with each other party (`establishPairwiseKeys`), indexed by party;
    /// empty until then. The stream shared with `p` draws the shares `p` receives from this
    /// party's inputs and the shares this party receives from `p`'s.
    var pairwise: [MaskGenerator] = []

    /// This party's index.
    public var index: Int { channel.partyIndex }
    /// The number of parties.
    public var partyCount: Int { channel.partyCount }

    /// A party whose masks come from the OS CSPRNG.
    public convenience init(
        channel: any Channel, provider: any TripleProvider,
        encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted
    ) throws(SecretSharingError) {
        try self.init(channel: channel, provider: provider, encoder: encoder,
                      truncation: truncation, random: MaskGenerator())
    }

    /// A party whose masks come from a cryptographic random source.
    public convenience init<R: CryptographicRandomNumberGenerator>(
        channel: any Channel, provider: any TripleProvider,
        encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted, keyingFrom random: inout R
    ) throws(SecretSharingError) {
        try self.init(channel: channel, provider: provider, encoder: encoder,
                      truncation: truncation, random: MaskGenerator(keyingFrom: &random))
    }

    /// A party with seeded masks: reproducible, and insecure. For tests only.
    public static func insecureSeeded(
        channel: any Channel, provider: any TripleProvider, seed: UInt64,
        encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted
    ) throws(SecretSharingError) -> Party {
        try Party(channel: channel, provider: provider, encoder: encoder, truncation: truncation,
                  random: .insecureSeeded(seed ^ UInt64(channel.partyIndex) &* 0x9E37_79B9))
    }

    private init(
        channel: any Channel, provider: any TripleProvider, encoder: FixedPointEncoder,
        truncation: TruncationMethod, random: MaskGenerator
    ) throws(SecretSharingError) {
        guard channel.partyCount >= 2 else {
            throw .invalidArgument("secret sharing needs at least 2 parties, got \(channel.partyCount)")
        }
        if truncation == .localTwoParty && channel.partyCount != 2 {
            throw .invalidArgument("local truncation works for exactly 2 parties, not \(channel.partyCount)")
        }
        self.channel = channel
        self.provider = provider
        self.encoder = encoder
        self.truncation = truncation
        self.random = random
    }

    /// Whether `establishPairwiseKeys` has run.
    public var hasPairwiseKeys: Bool { !pairwise.isEmpty }

    /// Agrees on a 256-bit key with every other party (each party draws the keys it shares with
    /// the parties after it from its own CSPRNG and sends them; the channel is confidential — TLS
    /// between processes). From then on `share` with a declared bound sends nothing: the
    /// receivers' shares are the pairwise keystreams' next words, and the owner keeps its value
    /// minus them (seed-compressed sharing, as CrypTen's pseudo-random zero shares).
    ///
    /// Security: a share drawn from a key the receiver knows is exactly as uniform to everyone
    /// else as a share drawn by the owner alone; the owner and the receiver already knew that
    /// share. Every party calls this once, at the same point, before any `share`.
    /// - Cost: 1 round, `8·4` bytes to each later party.
    public func establishPairwiseKeys() throws(SecretSharingError) {
        guard pairwise.isEmpty else { throw .invalidArgument("pairwise keys are already established") }
        var keys = [MaskGenerator](repeating: MaskGenerator.insecureSeeded(0), count: partyCount)
        for p in (index + 1)..<partyCount {
            let words = random.words(4)
            try channel.send(words, to: p)
            keys[p] = MaskGenerator(keyWords: words)
        }
        for p in 0..<index {
            let words = try channel.receive(from: p)
            guard words.count == 4 else { throw .malformedMessage(from: p, expected: 4, received: words.count) }
            keys[p] = MaskGenerator(keyWords: words)
        }
        pairwise = keys
    }

    /// Runs `body` and returns its result with the rounds, bytes and time it cost this party.
    public func measure<T>(_ body: () throws -> T) rethrows -> (T, OperationCost) {
        let before = channel.statistics
        let offlineBefore = provider.offlineBytesReceived
        let clock = ContinuousClock()
        let start = clock.now
        let value = try body()
        let elapsed = clock.now - start
        let delta = channel.statistics.since(before)
        let seconds = Double(elapsed.components.seconds)
            + Double(elapsed.components.attoseconds) * 1e-18
        return (value, OperationCost(
            rounds: delta.rounds, bytesSent: delta.bytesSent,
            offlineBytes: provider.offlineBytesReceived - offlineBefore, seconds: seconds))
    }

    /// The encoded unit `2^f`.
    var one: UInt64 { UInt64(1) << UInt64(encoder.fractionalBits) }

    /// Throws `possibleOverflow` unless `bound < limit`.
    func check(_ operation: String, bound: Double, limit: Double) throws(SecretSharingError) {
        guard bound < limit, bound.isFinite else {
            throw .possibleOverflow(operation: operation, bound: bound, limit: limit)
        }
    }
}
