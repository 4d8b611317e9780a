import BigIntegerModule
import Federated
import LabRandom
import Paillier
import Testing

@Suite("Secure aggregation")
struct SecureAggregationTests {
    @Test("the DH group is RFC 3526's safe prime: p and q = (p − 1)/2 are prime, 2 has order q")
    func safePrimeGroup() {
        let group = DiffieHellmanGroup.modp2048
        #expect(group.p.bitWidth == 2048)
        #expect(group.p.isProbablePrime(rounds: 10))
        #expect(group.q.isProbablePrime(rounds: 10))
        #expect(group.g.power(group.q, modulo: group.p) == 1)
    }

    @Test("key agreement is symmetric, bound to the pair, and rejects degenerate public keys")
    func keyAgreement() throws {
        let group = DiffieHellmanGroup.modp2048
        let a = group.generateKeyPair(), b = group.generateKeyPair(), c = group.generateKeyPair()
        let ab = try group.agree(secret: a.secret, peerPublicKey: b.publicKey, first: 0, second: 1)
        let ba = try group.agree(secret: b.secret, peerPublicKey: a.publicKey, first: 1, second: 0)
        #expect(ab == ba)
        #expect(try group.agree(secret: a.secret, peerPublicKey: c.publicKey, first: 0, second: 2) != ab)
        #expect(try group.agree(secret: a.secret, peerPublicKey: b.publicKey, first: 0, second: 2) != ab)
        #expect(throws: FederatedError.self) { try group.agree(secret: a.secret, peerPublicKey: 1, first: 0, second: 1) }
        #expect(throws: FederatedError.self) { try group.agree(secret: a.secret, peerPublicKey: group.p - 1, first: 0, second: 1) }
    }

    @Test("Shamir: any t shares rebuild the secret, t − 1 do not")
    func shamir() throws {
        let q = DiffieHellmanGroup.modp2048.q
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
        #expect(partial.cost.clientBytesSent[1] == 256 + 2 * 5 * 256)
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
