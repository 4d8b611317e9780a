import BigIntegerModule
import Dispatch
import SecretSharing
import Tensors

/// Secure aggregation by pairwise masking with dropout recovery (Bonawitz et al., "Practical
/// Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, the semi-honest
/// protocol of §4 without the signature layer).
///
/// Participants 0…m−1, threshold t. Every secret below comes from the OS CSPRNG.
///
/// 1. **Advertise keys.** Client u draws an X25519 key pair (a_u, A_u) and sends A_u (32 bytes);
///    the server broadcasts all public keys (`PairwiseKeyAgreement`).
/// 2. **Share keys.** Client u draws a 256-bit self-mask seed b_u and sends each peer v, through
///    the server, the Shamir shares (t of m, over the prime field of `shareModulus`) of a_u's 32
///    bytes and of b_u. (A deployment encrypts each share under a key agreed from a second key
///    pair; the bytes counted here are the shares themselves.)
/// 3. **Masked input.** Each surviving client u derives s_uv = HKDF(X25519(a_u, A_v),
///    "…/pairwise-mask", u, v, A_u, A_v) with every peer v and sends
///    y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv) over Z(2^64). The pairwise
///    masks cancel in the sum over all m clients.
/// 4. **Unmask.** Clients that drop out after step 2 leave their pairwise masks uncancelled. Each
///    survivor sends the server its shares of b_u for every survivor u and of a_v for every dropped
///    v (never both for one client). With ≥ t survivors the server rebuilds b_u and removes PRG(b_u),
///    rebuilds a_v and removes each survivor's mask with v, derived again from a_v and A_u.
///
/// A public key that is not 32 bytes or has small order ends the round with `protocolFailure`
/// naming its owner.
///
/// The PRG is `MaskGenerator` (ChaCha12) keyed with the 256-bit derived key. The output is the
/// exact wrapping sum of the survivors' inputs; the server learns nothing else about them when
/// fewer than t parties collude (Bonawitz et al., Theorem 6.2, honest-but-curious).
///
/// - Complexity: per client m − 1 key agreements and m PRG expansions of L words; server
///   O(m·t²) for the reconstructions plus (|S| + |S|·|D|) PRG expansions. Communication per
///   client: a 32-byte public key and 2(m − 1) shares of `shareBytes` up, L words of masked
///   input, |S| + |D| shares.
public struct PairwiseMasking: SecureSummation {
    /// The prime 2^256 + 297 (the smallest above 2^256): Shamir shares of 32-byte secrets (X25519
    /// secret keys, self-mask seeds) are taken modulo it.
    public static let shareModulus = (BigInteger(1) << 256) + BigInteger(297)
    /// The byte length of a share on the wire (a residue modulo `shareModulus`).
    public static let shareBytes = 33
    /// t; nil means ⌊m/2⌋ + 1 for m participants.
    public let threshold: Int?
    /// How many clients compute their masked inputs at once.
    public let concurrency: Int
    public var name: String { "pairwise-masking" }

    public init(threshold: Int? = nil, concurrency: Int = 1) throws(FederatedError) {
        if let threshold, threshold < 1 {
            throw .invalidConfiguration(field: "secure_aggregation.threshold", reason: "must be ≥ 1, got \(threshold)")
        }
        guard concurrency >= 1 else { throw .invalidConfiguration(field: "jobs", reason: "must be ≥ 1, got \(concurrency)") }
        self.threshold = threshold
        self.concurrency = concurrency
    }

    public func sum(inputs: [[UInt64]], dropouts: Set<Int>) throws -> SecureSum {
        let m = inputs.count
        guard m >= 1 else { throw FederatedError.protocolFailure("no participants") }
        let length = inputs[0].count
        let t = try threshold(participants: m)
        let shamir = try ShamirSharing(modulus: Self.shareModulus, threshold: t)
        let (keyBytes, element) = (PairwiseKeyAgreement.publicKeyBytes, Self.shareBytes)
        var cost = SecureAggregationCost(clientBytesSent: [Int](repeating: 0, count: m), clientBytesReceived: [Int](repeating: 0, count: m),
                                         clientSeconds: [Double](repeating: 0, count: m))

        // Steps 1 and 2: keys and shares (share j of every secret is held by participant j); the
        // clients compute theirs in parallel.
        let setup = ParallelMap.concurrentMap(count: m, concurrency: concurrency) { _ in
            timed { Self.setUp(participants: m, shamir: shamir) }
        }
        let secretKeys = setup.map(\.0.secretKey), publicKeys = setup.map(\.0.secretKey.publicKey), seeds = setup.map(\.0.selfMaskSeed)
        let keyShares = setup.map(\.0.secretKeyShares), seedShares = setup.map(\.0.selfMaskSeedShares)
        for u in 0..<m {
            cost.clientSeconds[u] += setup[u].1
            cost.clientBytesSent[u] += keyBytes + 2 * (m - 1) * element
            cost.clientBytesReceived[u] += (m - 1) * keyBytes + 2 * (m - 1) * element
        }
        cost.serverBytesReceived += m * (keyBytes + 2 * (m - 1) * element)
        cost.serverBytesSent += m * ((m - 1) * keyBytes + 2 * (m - 1) * element)

        let (sk, pk, sd) = (secretKeys, publicKeys, seeds)
        // Step 3: masked inputs of the survivors.
        let survivors = (0..<m).filter { !dropouts.contains($0) }
        guard survivors.count >= t else { throw FederatedError.tooFewSurvivors(survivors: survivors.count, threshold: t) }
        let masked = try ParallelMap.concurrentMap(count: survivors.count, concurrency: concurrency) { index throws -> ([UInt64], Double) in
            let u = survivors[index]
            return try timed { () throws -> [UInt64] in
                try Self.maskedInput(inputs[u], participant: u, secretKey: sk[u], publicKeys: pk, selfMaskSeed: sd[u])
            }
        }
        for (index, u) in survivors.enumerated() {
            cost.clientSeconds[u] += masked[index].1
            cost.clientBytesSent[u] += 8 * length
        }
        cost.serverBytesReceived += survivors.count * 8 * length

        // Step 4: unmasking.
        let dropped = (0..<m).filter { dropouts.contains($0) }
        for u in survivors {
            cost.clientBytesReceived[u] += 8 * (survivors.count + dropped.count)  // the request: who survived, who dropped
            cost.clientBytesSent[u] += (survivors.count + dropped.count) * element
        }
        cost.serverBytesSent += survivors.count * 8 * (survivors.count + dropped.count)
        cost.serverBytesReceived += survivors.count * (survivors.count + dropped.count) * element
        let (total, serverSeconds) = try timed { () throws -> [UInt64] in
            var total = [UInt64](repeating: 0, count: length)
            for (y, _) in masked { RingVector.add(&total, y) }
            let holders = Array(survivors.prefix(t))
            try Self.unmask(&total, survivors: survivors, dropped: dropped, publicKeys: publicKeys, shamir: shamir,
                            selfMaskSeedShares: { u in holders.map { (x: $0 + 1, y: seedShares[u][$0]) } },
                            secretKeyShares: { v in holders.map { (x: $0 + 1, y: keyShares[v][$0]) } })
            return total
        }
        cost.serverSeconds += serverSeconds
        return SecureSum(sum: total, cost: cost)
    }

    /// One participant's secrets of a round (steps 1 and 2): its X25519 key pair a_u, its self-mask
    /// seed b_u, and the Shamir shares of both, share j for participant j (x = j + 1).
    public struct ParticipantSetup: Sendable {
        public let secretKey: PairwiseKeyAgreement.SecretKey
        /// b_u (32 bytes).
        public let selfMaskSeed: [UInt8]
        public let secretKeyShares: [BigInteger]
        public let selfMaskSeedShares: [BigInteger]
    }

    /// t for m participants: the configured threshold, or ⌊m/2⌋ + 1.
    /// - Throws: `invalidConfiguration` when the configured t exceeds m.
    public func threshold(participants m: Int) throws(FederatedError) -> Int {
        let t = threshold ?? (m / 2 + 1)
        guard t <= m else { throw .invalidConfiguration(field: "secure_aggregation.threshold", reason: "\(t) exceeds the \(m) participants") }
        return t
    }

    /// A participant's fresh secrets and their shares for `m` participants (OS CSPRNG); a
    /// deployed client passes the key pair it already advertised.
    public static func setUp(participants m: Int, shamir: ShamirSharing, secretKey: PairwiseKeyAgreement.SecretKey? = nil) -> ParticipantSetup {
        let secret = secretKey ?? PairwiseKeyAgreement.SecretKey.generate()
        let seed = PairwiseKeyAgreement.randomSeed()
        return ParticipantSetup(secretKey: secret, selfMaskSeed: seed,
                                secretKeyShares: shamir.share(BigInteger(bigEndianBytes: secret.rawSecretKey), count: m),
                                selfMaskSeedShares: shamir.share(BigInteger(bigEndianBytes: seed), count: m))
    }

    /// Step 4 at the server: removes from `total` (the wrapping sum of the survivors' masked
    /// inputs) every survivor's self mask PRG(b_u), rebuilt from `selfMaskSeedShares(u)`, and every
    /// pairwise mask a survivor u shares with a dropped participant v, derived again from v's
    /// secret key (rebuilt from `secretKeyShares(v)`) and A_u. Indices are positions in
    /// `publicKeys`, as in `maskedInput`.
    ///
    /// Law: with the masked inputs of `survivors` (made against `publicKeys`), `total` becomes
    /// exactly Σ_{u ∈ survivors} x_u.
    /// - Throws: `tooFewSurvivors` or `protocolFailure` when the shares do not rebuild a secret.
    public static func unmask(
        _ total: inout [UInt64], survivors: [Int], dropped: [Int], publicKeys: [[UInt8]], shamir: ShamirSharing,
        selfMaskSeedShares: (Int) -> [(x: Int, y: BigInteger)], secretKeyShares: (Int) -> [(x: Int, y: BigInteger)]
    ) throws(FederatedError) {
        var mask = [UInt64](repeating: 0, count: total.count)
        for u in survivors {
            let seed = try rebuild32(shamir, selfMaskSeedShares(u), what: "self-mask seed", of: u)
            expand(seedWords: KeyWords.words(of: seed), into: &mask)
            RingVector.subtract(&total, mask)
        }
        for v in dropped {
            let raw = try rebuild32(shamir, secretKeyShares(v), what: "secret key", of: v)
            let secret = try PairwiseKeyAgreement.SecretKey(rawSecretKey: raw)
            for u in survivors {
                let key = try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: secret, peerPublicKey: publicKeys[u], own: v, peer: u)
                expand(seedWords: key.words, into: &mask)
                // Survivor u added PRG(s_uv) when u < v and subtracted it otherwise.
                if u < v { RingVector.subtract(&total, mask) } else { RingVector.add(&total, mask) }
            }
        }
    }

    /// Client u's masked input (step 3): y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)
    /// over Z(2^64), with s_uv derived from `secretKey` and v's public key as the server relayed
    /// it (`publicKeys[v]`; `publicKeys[u]` is u's own).
    ///
    /// Law: over all m participants, Σ_u y_u = Σ_u x_u + Σ_u PRG(b_u): the pairwise masks cancel.
    /// - Parameter selfMaskSeed: b_u (32 bytes), or nil for the pairwise masks alone.
    /// - Throws: `protocolFailure` naming the peer whose relayed public key is not 32 bytes or has
    ///   small order.
    public static func maskedInput(
        _ input: [UInt64], participant u: Int, secretKey: PairwiseKeyAgreement.SecretKey, publicKeys: [[UInt8]], selfMaskSeed: [UInt8]?
    ) throws(FederatedError) -> [UInt64] {
        guard publicKeys.indices.contains(u) else { throw .protocolFailure("participant \(u) is not among the \(publicKeys.count) public keys") }
        var y = input
        var mask = [UInt64](repeating: 0, count: input.count)
        if let selfMaskSeed {
            guard selfMaskSeed.count == 32 else { throw .protocolFailure("participant \(u)'s self-mask seed has \(selfMaskSeed.count) bytes, expected 32") }
            expand(seedWords: KeyWords.words(of: selfMaskSeed), into: &mask)
            RingVector.add(&y, mask)
        }
        for v in publicKeys.indices where v != u {
            let key = try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: secretKey, peerPublicKey: publicKeys[v], own: u, peer: v)
            expand(seedWords: key.words, into: &mask)
            if u < v { RingVector.add(&y, mask) } else { RingVector.subtract(&y, mask) }
        }
        return y
    }

    /// A 32-byte secret rebuilt from Shamir shares.
    /// - Throws: `protocolFailure` when the shares give a value of more than 32 bytes.
    static func rebuild32(_ shamir: ShamirSharing, _ shares: [(x: Int, y: BigInteger)], what: String, of owner: Int) throws(FederatedError) -> [UInt8] {
        guard let bytes = try shamir.reconstruct(shares).bigEndianBytes(count: 32) else {
            throw .protocolFailure("the shares of participant \(owner)'s \(what) do not rebuild a 32-byte value")
        }
        return bytes
    }

    /// Fills `out` with the PRG stream of a 256-bit key.
    static func expand(seedWords: [UInt64], into out: inout [UInt64]) {
        var words = KeyWords(words: seedWords)
        var prg = MaskGenerator.insecureKeyed(from: &words)
        out.withUnsafeMutableBufferPointer { prg.fill($0) }
    }
}
