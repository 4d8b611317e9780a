import BigIntegerModule
import Federated
import LabRandom
import Paillier
import Testing

@Suite("Secure aggregation")
struct SecureAggregationTests {
    @Test("the Shamir field of the masking protocol is the smallest prime above 2^256")
    func shareField() {
        let p = PairwiseMasking.shareModulus
        #expect(p.isProbablePrime(rounds: 20))
        #expect(p == (BigInteger(1) << 256).nextProbablePrime())
        #expect(p.bigEndianBytes.count == PairwiseMasking.shareBytes)
    }

    @Test("key agreement is symmetric, and no two pairs (nor swapped indices) derive the same seed")
    func keyAgreement() throws {
        let keys = (0..<6).map { _ in PairwiseKeyAgreement.SecretKey.generate() }
        #expect(Set(keys.map(\.publicKey)).count == 6 && keys.allSatisfy { $0.publicKey.count == 32 })
        var seeds: [PairwiseKeyAgreement.PairSecret] = []
        for u in 0..<6 {
            for v in (u + 1)..<6 {
                let uv = try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: keys[u], peerPublicKey: keys[v].publicKey, own: u, peer: v)
                let vu = try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: keys[v], peerPublicKey: keys[u].publicKey, own: v, peer: u)
                #expect(uv == vu, "pair (\(u), \(v))")
                seeds.append(uv)
            }
        }
        // 15 pairs, 15 distinct seeds.
        for i in seeds.indices { for j in seeds.indices where j > i { #expect(seeds[i] != seeds[j], "pairs \(i) and \(j)") } }
        // The same two keys under other participant indices give another seed.
        let renamed = try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: keys[0], peerPublicKey: keys[1].publicKey, own: 0, peer: 2)
        #expect(renamed != seeds[0])
        // A secret key survives its raw bytes (what dropout recovery shares), and is never printed.
        let rebuilt = try PairwiseKeyAgreement.SecretKey(rawSecretKey: keys[0].rawSecretKey)
        #expect(rebuilt.publicKey == keys[0].publicKey)
        #expect(try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: rebuilt, peerPublicKey: keys[1].publicKey, own: 0, peer: 1) == seeds[0])
        let printed = "\(keys[0]) \(String(reflecting: keys[0])) \(seeds[0]) \(String(reflecting: seeds[0]))"
        let secretHex = keys[0].rawSecretKey.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(!printed.contains(secretHex.prefix(8)) && printed.contains("redacted"))
    }

    @Test("a tampered public key is refused with an error naming its owner: wrong length or small order")
    func tamperedPublicKey() throws {
        let a = PairwiseKeyAgreement.SecretKey.generate(), b = PairwiseKeyAgreement.SecretKey.generate()
        #expect(throws: FederatedError.protocolFailure("participant 1's public key has 31 bytes, expected 32 (an X25519 key)")) {
            try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: a, peerPublicKey: Array(b.publicKey.dropLast()), own: 0, peer: 1)
        }
        #expect(throws: FederatedError.protocolFailure("participant 1's public key has 33 bytes, expected 32 (an X25519 key)")) {
            try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: a, peerPublicKey: b.publicKey + [0], own: 0, peer: 1)
        }
        #expect(throws: FederatedError.protocolFailure("participant 1's public key has 0 bytes, expected 32 (an X25519 key)")) {
            try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: a, peerPublicKey: [], own: 0, peer: 1)
        }
        // Points of small order force a zero shared secret (RFC 7748 §6.1): 0, 1 and a point of order 8.
        let order8 = bytes(hex: "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
        for weak in [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31), order8] {
            #expect(throws: FederatedError.protocolFailure("participant 1's public key has small order (the shared secret would be zero)")) {
                try PairwiseKeyAgreement.derive(.pairwiseMask, secretKey: a, peerPublicKey: weak, own: 0, peer: 1)
            }
        }
        // In the protocol: a client refuses a relayed key that was cut short.
        var relayed = [a.publicKey, b.publicKey, PairwiseKeyAgreement.SecretKey.generate().publicKey]
        relayed[2].removeLast(4)
        #expect(throws: FederatedError.protocolFailure("participant 2's public key has 28 bytes, expected 32 (an X25519 key)")) {
            try PairwiseMasking.maskedInput([1, 2, 3], participant: 0, secretKey: a, publicKeys: relayed, selfMaskSeed: nil)
        }
        #expect(throws: FederatedError.self) {
            try PairwiseKeyAgreement.SecretKey(rawSecretKey: [UInt8](repeating: 7, count: 31))
        }
    }

    @Test("pairwise masks hide each input and cancel in the sum over all clients, not over fewer")
    func masksCancel() throws {
        let inputs = randomVectors(count: 5, length: 64, magnitude: 1 << 40, seed: 6)
        let keys = (0..<5).map { _ in PairwiseKeyAgreement.SecretKey.generate() }
        let masked = try (0..<5).map { u in
            try PairwiseMasking.maskedInput(inputs[u], participant: u, secretKey: keys[u], publicKeys: keys.map(\.publicKey), selfMaskSeed: nil)
        }
        #expect(wrappingSum(masked) == wrappingSum(inputs))
        for u in 0..<5 {
            // Each word of a masked input differs from the input (a 2^-64 chance per word otherwise).
            #expect(zip(masked[u], inputs[u]).allSatisfy { $0 != $1 }, "client \(u)")
        }
        #expect(wrappingSum(Array(masked.prefix(4))) != wrappingSum(Array(inputs.prefix(4))))
    }

    @Test("Shamir: any t shares rebuild the secret, t − 1 do not")
    func shamir() throws {
        let q = PairwiseMasking.shareModulus
        let sharing = try ShamirSharing(modulus: q, threshold: 3)
        let secret = BigInteger.random(bits: 256)
        let shares = sharing.share(secret, count: 6)
        for subset in [[0, 1, 2], [5, 3, 1], [2, 4, 5], [0, 1, 2, 3, 4, 5]] {
            #expect(try sharing.reconstruct(subset.map { (x: $0 + 1, y: shares[$0]) }) == secret)
        }
        let weaker = try ShamirSharing(modulus: q, threshold: 2)
        #expect(try weaker.reconstruct([0, 1].map { (x: $0 + 1, y: shares[$0]) }) != secret)
        #expect(throws: FederatedError.tooFewSurvivors(survivors: 2, threshold: 3)) {
            try sharing.reconstruct([0, 1].map { (x: $0 + 1, y: shares[$0]) })
        }
    }

    @Test("fixed point: encoding rounds to 2^-f, sums decode exactly, overflow throws")
    func fixedPoint() throws {
        let format = try FixedPointFormat(fractionalBits: 16, valueBits: 40)
        let a = try format.encodeContribution([0.5, -1.25, 3e-6], weight: 2, party: 0)
        let b = try format.encodeContribution([0.25, 0.25, 0], weight: 1, party: 1)
        let sum = format.decodeSum(wrappingSum([a, b]), count: 2)
        #expect(sum.sum[0] == 1.25 && sum.sum[1] == -2.25 && sum.totalWeight == 3)
        #expect(abs(sum.sum[2] - 6e-6) <= 0.5 / 65536)
        #expect(throws: FederatedError.fixedPointOverflow(party: 4, index: 1, value: 1e9, limit: format.limit)) {
            try format.encodeContribution([0, 1e9], weight: 1, party: 4)
        }
        #expect(throws: FederatedError.self) { try format.encodeContribution([.nan], weight: 1, party: 0) }
    }

    @Test("pairwise masking returns the exact sum, with and without dropouts after sharing")
    func pairwiseMasking() throws {
        let inputs = randomVectors(count: 6, length: 300, magnitude: 1 << 40, seed: 1)
        let protocolValue = try PairwiseMasking(concurrency: 2)
        let full = try protocolValue.sum(inputs: inputs, dropouts: [])
        #expect(full.sum == wrappingSum(inputs))
        let partial = try protocolValue.sum(inputs: inputs, dropouts: [1, 4])
        #expect(partial.sum == wrappingSum([inputs[0], inputs[2], inputs[3], inputs[5]]))
        // Costs: every client sent its key and shares; survivors their masked input too.
        #expect(partial.cost.clientBytesSent[1] == 32 + 2 * 5 * 33)
        #expect(partial.cost.clientBytesSent[0] > partial.cost.clientBytesSent[1] + 8 * 300)
        #expect(partial.cost.serverBytesReceived > 4 * 8 * 300)
    }

    @Test("pairwise masking refuses to unmask with fewer survivors than the threshold")
    func maskingThreshold() throws {
        let inputs = randomVectors(count: 5, length: 10, magnitude: 100, seed: 2)
        let protocolValue = try PairwiseMasking(threshold: 4)
        #expect(throws: FederatedError.tooFewSurvivors(survivors: 3, threshold: 4)) { try protocolValue.sum(inputs: inputs, dropouts: [0, 2]) }
    }

    @Test("additive sharing among K servers returns the exact sum and counts the servers' opening")
    func additiveSharing() throws {
        let inputs = randomVectors(count: 5, length: 200, magnitude: 1 << 50, seed: 3)
        for servers in [2, 3] {
            let result = try AdditiveSharingAggregation(servers: servers).sum(inputs: inputs, dropouts: [2])
            #expect(result.sum == wrappingSum([inputs[0], inputs[1], inputs[3], inputs[4]]))
            #expect(result.cost.clientBytesSent[0] == servers * 8 * 200)
            #expect(result.cost.clientBytesSent[2] == 0)
            #expect(result.cost.serverBytesSent == servers * (servers - 1) * 8 * 200)
        }
        #expect(throws: FederatedError.self) { try AdditiveSharingAggregation(servers: 1) }
    }

    @Test("Paillier packing: slots of b + ⌈log₂ K⌉ bits, exact packed sums, overflow refused")
    func paillier() throws {
        var seeded = LabRandom(seed: 11)
        let key = try PaillierPrivateKey.insecureGenerate(bits: 512, using: &seeded)
        let aggregation = try PaillierAggregation(privateKey: key, valueBits: 40, maxClients: 8)
        #expect(aggregation.slotBits == 43)
        #expect(aggregation.slotsPerCiphertext == 510 / 43)
        let inputs = randomVectors(count: 8, length: 50, magnitude: (1 << 39) - 1, seed: 4)
        let result = try aggregation.sum(inputs: inputs, dropouts: [])
        #expect(result.sum == wrappingSum(inputs))
        let partial = try aggregation.sum(inputs: inputs, dropouts: [0, 7])
        #expect(partial.sum == wrappingSum(Array(inputs[1..<7])))
        let ciphertexts = (50 + aggregation.slotsPerCiphertext - 1) / aggregation.slotsPerCiphertext
        #expect(partial.cost.clientBytesSent[1] == ciphertexts * aggregation.ciphertextBytes)
        var tooBig = inputs
        tooBig[3][7] = UInt64(1) << 39
        #expect(throws: FederatedError.fixedPointOverflow(party: 3, index: 7, value: Double(1 << 39), limit: Double(1 << 39))) {
            try aggregation.sum(inputs: tooBig, dropouts: [])
        }
        let nine = randomVectors(count: 9, length: 3, magnitude: 10, seed: 5)
        #expect(throws: FederatedError.self) { try aggregation.sum(inputs: nine, dropouts: []) }
    }
}
