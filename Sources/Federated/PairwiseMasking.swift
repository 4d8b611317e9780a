import BigIntegerModule
import Dispatch
import SecretSharing

/// Secure aggregation by pairwise masking with dropout recovery (Bonawitz et al., "Practical
/// Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, the semi-honest
/// protocol of §4 without the signature layer).
///
/// Participants 0…m−1, threshold t. Every secret below comes from the OS CSPRNG.
///
/// 1. **Advertise keys.** Client u draws a DH secret a_u and sends A_u = g^(a_u) mod p; the
///    server broadcasts all public keys.
/// 2. **Share keys.** Client u draws a self-mask seed b_u and sends each peer v, through the
///    server, the Shamir shares (t of m) of a_u and of b_u. (A deployment encrypts each share under
///    a second pairwise key; the bytes counted here are the shares themselves.)
/// 3. **Masked input.** Each surviving client u agrees s_uv = KDF(A_v^(a_u)) with every peer v and
///    sends y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv) over Z(2^64). The pairwise
///    masks cancel in the sum over all m clients.
/// 4. **Unmask.** Clients that drop out after step 2 leave their pairwise masks uncancelled. Each
///    survivor sends the server its shares of b_u for every survivor u and of a_v for every dropped
///    v (never both for one client). With ≥ t survivors the server rebuilds b_u and removes PRG(b_u),
///    rebuilds a_v and removes each survivor's mask with v, recomputed as A_u^(a_v).
///
/// The PRG is `MaskGenerator` (ChaCha12) keyed with the 256-bit derived key. The output is the
/// exact wrapping sum of the survivors' inputs; the server learns nothing else about them when
/// fewer than t parties collude (Bonawitz et al., Theorem 6.2, honest-but-curious).
///
/// - Complexity: per client m − 1 key agreements and m PRG expansions of L words; server
///   O(m·t²) for the reconstructions plus (|S| + |S|·|D|) PRG expansions. Communication per
///   client: 1 + 2(m − 1) group elements up, L words of masked input, |S| + |D| shares.
public struct PairwiseMasking: SecureSummation {
    public let group: DiffieHellmanGroup
    /// t; nil means ⌊m/2⌋ + 1 for m participants.
    public let threshold: Int?
    /// How many clients compute their masked inputs at once.
    public let concurrency: Int
    public var name: String { "pairwise-masking" }

    public init(group: DiffieHellmanGroup = .modp2048, threshold: Int? = nil, concurrency: Int = 1) throws(FederatedError) {
        if let threshold, threshold < 1 {
            throw .invalidConfiguration(field: "secure_aggregation.threshold", reason: "must be ≥ 1, got \(threshold)")
        }
        guard concurrency >= 1 else { throw .invalidConfiguration(field: "jobs", reason: "must be ≥ 1, got \(concurrency)") }
        self.group = group
        self.threshold = threshold
        self.concurrency = concurrency
    }

    public func sum(inputs: [[UInt64]], dropouts: Set<Int>) throws -> SecureSum {
        let m = inputs.count
        guard m >= 1 else { throw FederatedError.protocolFailure("no participants") }
        let length = inputs[0].count
        let t = threshold ?? (m / 2 + 1)
        guard t <= m else { throw FederatedError.invalidConfiguration(field: "secure_aggregation.threshold", reason: "\(t) exceeds the \(m) participants") }
        let shamir = try ShamirSharing(modulus: group.q, threshold: t)
        let element = group.elementBytes
        var cost = SecureAggregationCost(clientBytesSent: [Int](repeating: 0, count: m), clientBytesReceived: [Int](repeating: 0, count: m),
                                         clientSeconds: [Double](repeating: 0, count: m))

        // Steps 1 and 2: keys and shares (share j of every secret is held by participant j); the
        // clients compute theirs in parallel.
        let setup = try Self.boundedMap(count: m, concurrency: concurrency) { _ in
            timed { () -> (secret: BigInteger, publicKey: BigInteger, seed: BigInteger, keyShares: [BigInteger], seedShares: [BigInteger]) in
                let (secret, publicKey) = group.generateKeyPair()
                let seed = BigInteger.random(bits: 256)
                return (secret, publicKey, seed, shamir.share(secret, count: m), shamir.share(seed, count: m))
            }
        }
        let secretKeys = setup.map(\.0.secret), publicKeys = setup.map(\.0.publicKey), seeds = setup.map(\.0.seed)
        let keyShares = setup.map(\.0.keyShares), seedShares = setup.map(\.0.seedShares)
        for u in 0..<m {
            cost.clientSeconds[u] += setup[u].1
            cost.clientBytesSent[u] += element + 2 * (m - 1) * element
            cost.clientBytesReceived[u] += (m - 1) * element + 2 * (m - 1) * element
        }
        cost.serverBytesReceived += m * (element + 2 * (m - 1) * element)
        cost.serverBytesSent += m * ((m - 1) * element + 2 * (m - 1) * element)

        let (sk, pk, sd) = (secretKeys, publicKeys, seeds)
        // Step 3: masked inputs of the survivors.
        let survivors = (0..<m).filter { !dropouts.contains($0) }
        guard survivors.count >= t else { throw FederatedError.tooFewSurvivors(survivors: survivors.count, threshold: t) }
        let masked = try Self.boundedMap(count: survivors.count, concurrency: concurrency) { index throws -> ([UInt64], Double) in
            let u = survivors[index]
            return try timed { () throws -> [UInt64] in
                var y = inputs[u]
                var mask = [UInt64](repeating: 0, count: length)
                Self.expand(seedWords: KeyWords.words(of: sd[u].bigEndianBytes(count: 32) ?? []), into: &mask)
                RingVector.add(&y, mask)
                for v in 0..<m where v != u {
                    let key = try group.agree(secret: sk[u], peerPublicKey: pk[v], first: u, second: v)
                    Self.expand(seedWords: key, into: &mask)
                    if u < v { RingVector.add(&y, mask) } else { RingVector.subtract(&y, mask) }
                }
                return y
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
            var mask = [UInt64](repeating: 0, count: length)
            for u in survivors {
                let seed = try shamir.reconstruct(holders.map { (x: $0 + 1, y: seedShares[u][$0]) })
                Self.expand(seedWords: KeyWords.words(of: seed.bigEndianBytes(count: 32) ?? []), into: &mask)
                RingVector.subtract(&total, mask)
            }
            for v in dropped {
                let secret = try shamir.reconstruct(holders.map { (x: $0 + 1, y: keyShares[v][$0]) })
                for u in survivors {
                    let key = try group.agree(secret: secret, peerPublicKey: publicKeys[u], first: u, second: v)
                    Self.expand(seedWords: key, into: &mask)
                    // Survivor u added PRG(s_uv) when u < v and subtracted it otherwise.
                    if u < v { RingVector.subtract(&total, mask) } else { RingVector.add(&total, mask) }
                }
            }
            return total
        }
        cost.serverSeconds += serverSeconds
        return SecureSum(sum: total, cost: cost)
    }

    /// Fills `out` with the PRG stream of a 256-bit key.
    static func expand(seedWords: [UInt64], into out: inout [UInt64]) {
        var words = KeyWords(words: seedWords)
        var prg = MaskGenerator.insecureKeyed(from: &words)
        out.withUnsafeMutableBufferPointer { prg.fill($0) }
    }

    /// `body(0..<count)` with at most `concurrency` calls at once on Dispatch threads, results in
    /// index order; rethrows the first error by index.
    static func boundedMap<T: Sendable>(count: Int, concurrency: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let slots = UnsafeMutablePointer<Result<T, any Error>?>.allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        defer { slots.deinitialize(count: count); slots.deallocate() }
        nonisolated(unsafe) let shared = slots
        let workers = Swift.max(1, Swift.min(concurrency, count))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < count {
                shared[i] = Result { try body(i) }
                i += workers
            }
        }
        return try (0..<count).map { try slots[$0]!.get() }
    }
}
