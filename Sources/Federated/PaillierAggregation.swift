import BigIntegerModule
import Paillier

/// Secure aggregation with additively homomorphic Paillier encryption and several fixed-point
/// values packed into each plaintext.
///
/// A key authority (not the aggregator) holds the private key. Each client encrypts its vector
/// under the public key; the aggregator multiplies the ciphertexts (E(a)·E(b) = E(a + b)); the
/// authority decrypts only that product. Under the DCR assumption the aggregator learns nothing
/// from the ciphertexts, and the authority sees only the sum.
///
/// **Packing.** A value x (a signed `valueBits`-bit integer: |x| < 2^(b−1)) is offset to
/// x + 2^(b−1) ∈ [0, 2^b). A slot is w = b + h bits wide, where h = ⌈log₂ maxClients⌉ is the
/// **carry headroom**: the sum of up to 2^h offset values is below 2^(b+h) = 2^w, so no slot ever
/// carries into the next. A plaintext holds s = ⌊(|n| − 2)/w⌋ slots, m = Σ_j (x_j + 2^(b−1))·2^(w·j)
/// < 2^(|n|−2) < n. After decryption, slot j holds Σ_k x_{k,j} + K·2^(b−1) for K summed clients,
/// from which the exact integer sum is recovered. With a 2048-bit key, b = 48 and h = 10 (1024
/// clients), w = 58 and s = 35 values per ciphertext.
///
/// A value outside the b-bit range throws `fixedPointOverflow` (it would corrupt its
/// neighbour), as does summing more than maxClients inputs.
///
/// - Complexity: per client ⌈L/s⌉ encryptions (fixed-base `PaillierFastEncryptor`); aggregator
///   ⌈L/s⌉·(K − 1) multiplications mod n²; authority ⌈L/s⌉ CRT decryptions.
/// - Reference: Paillier, EUROCRYPT 1999; packing as in e.g. BatchCrypt (Zhang et al., USENIX ATC 2020).
public struct PaillierAggregation: SecureSummation {
    public let privateKey: PaillierPrivateKey
    public let encryptor: PaillierFastEncryptor
    public let valueBits: Int
    public let headroomBits: Int
    public var name: String { "paillier" }

    public init(privateKey: PaillierPrivateKey, valueBits: Int = 48, maxClients: Int = 1024) throws(FederatedError) {
        guard maxClients >= 1 else { throw .invalidConfiguration(field: "secure_aggregation.max_clients", reason: "must be ≥ 1, got \(maxClients)") }
        let headroom = Swift.max(1, Int.bitWidth - (maxClients - 1).leadingZeroBitCount)
        guard valueBits >= 2, valueBits + headroom <= 63 else {
            throw .invalidConfiguration(field: "secure_aggregation.value_bits", reason: "value bits + carry headroom (\(headroom)) must be at most 63, got \(valueBits)")
        }
        guard privateKey.publicKey.bits - 2 >= valueBits + headroom else {
            throw .invalidConfiguration(field: "secure_aggregation.key_bits", reason: "a \(privateKey.publicKey.bits)-bit key cannot hold one \(valueBits + headroom)-bit slot")
        }
        self.privateKey = privateKey
        self.encryptor = PaillierFastEncryptor(publicKey: privateKey.publicKey)
        self.valueBits = valueBits
        self.headroomBits = headroom
    }

    /// w = b + h.
    public var slotBits: Int { valueBits + headroomBits }
    /// s, values per plaintext.
    public var slotsPerCiphertext: Int { (privateKey.publicKey.bits - 2) / slotBits }
    /// The wire size of one ciphertext (an element of Z_{n²}).
    public var ciphertextBytes: Int { (privateKey.publicKey.nSquared.bitWidth + 7) / 8 }

    /// The packed plaintexts of one client's vector.
    public func pack(_ values: [UInt64], party: Int) throws(FederatedError) -> [BigInteger] {
        let s = slotsPerCiphertext, w = slotBits
        let offset = Int64(1) << Int64(valueBits - 1)
        var plaintexts: [BigInteger] = []
        plaintexts.reserveCapacity((values.count + s - 1) / s)
        var start = 0
        while start < values.count {
            let end = Swift.min(values.count, start + s)
            var m = BigInteger(0)
            for j in stride(from: end - 1, through: start, by: -1) {
                let x = Int64(bitPattern: values[j])
                guard x > -offset, x < offset else {
                    throw .fixedPointOverflow(party: party, index: j, value: Double(x), limit: Double(offset))
                }
                m = (m << w) + BigInteger(UInt64(x + offset))
            }
            plaintexts.append(m)
            start = end
        }
        return plaintexts
    }

    /// The sums of `count` clients' values from the decrypted packed sums.
    public func unpack(_ plaintexts: [BigInteger], length: Int, count: Int) throws(FederatedError) -> [UInt64] {
        let s = slotsPerCiphertext, w = slotBits
        let offsetTotal = BigInteger(count) << (valueBits - 1)
        var out = [UInt64](repeating: 0, count: length)
        for i in 0..<length {
            let (c, j) = i.quotientAndRemainder(dividingBy: s)
            guard c < plaintexts.count else { throw .protocolFailure("the decrypted sum has too few plaintexts") }
            let slot = (plaintexts[c] >> (w * j)).lowBits(w) - offsetTotal
            guard let value = slot.intValue else { throw .protocolFailure("slot \(i) does not hold a 64-bit sum") }
            out[i] = UInt64(bitPattern: Int64(value))
        }
        return out
    }

    public func sum(inputs: [[UInt64]], dropouts: Set<Int>) throws -> SecureSum {
        let m = inputs.count
        guard m >= 1 else { throw FederatedError.protocolFailure("no participants") }
        let survivors = (0..<m).filter { !dropouts.contains($0) }
        guard !survivors.isEmpty else { throw FederatedError.tooFewSurvivors(survivors: 0, threshold: 1) }
        guard survivors.count <= 1 << headroomBits else {
            throw FederatedError.invalidConfiguration(field: "secure_aggregation.max_clients", reason: "\(survivors.count) inputs exceed the carry headroom of \(1 << headroomBits)")
        }
        let length = inputs[0].count
        var cost = SecureAggregationCost(clientBytesSent: [Int](repeating: 0, count: m), clientBytesReceived: [Int](repeating: 0, count: m),
                                         clientSeconds: [Double](repeating: 0, count: m))
        let publicKeyBytes = (privateKey.publicKey.n.bitWidth + 7) / 8
        var aggregate: [PaillierCiphertext] = []
        var serverSeconds = 0.0
        for u in survivors {
            let (ciphertexts, seconds) = try timed { () throws -> [PaillierCiphertext] in
                try encryptor.encrypt(batch: pack(inputs[u], party: u))
            }
            cost.clientSeconds[u] = seconds
            cost.clientBytesReceived[u] = publicKeyBytes
            cost.clientBytesSent[u] = ciphertexts.count * ciphertextBytes
            cost.serverBytesReceived += ciphertexts.count * ciphertextBytes
            let (_, addSeconds) = timed {
                if aggregate.isEmpty { aggregate = ciphertexts } else { for i in aggregate.indices { aggregate[i] = aggregate[i] + ciphertexts[i] } }
            }
            serverSeconds += addSeconds
        }
        cost.serverBytesSent += m * publicKeyBytes + aggregate.count * ciphertextBytes  // key broadcast, sum to the authority
        let (total, decryptSeconds) = try timed { () throws -> [UInt64] in
            let plaintexts = try privateKey.decrypt(batch: aggregate)
            return try unpack(plaintexts, length: length, count: survivors.count)
        }
        cost.serverSeconds = serverSeconds + decryptSeconds
        return SecureSum(sum: total, cost: cost)
    }
}
