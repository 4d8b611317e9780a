import BigIntegerModule
import Foundation
import Paillier
import SecretSharing

/// Two-party Beaver triples without a dealer: Gilboa's multiplication-to-addition over the lab's
/// Paillier encryption (the offline phase of SPDZ-style protocols, semi-honest).
///
/// Party 0 holds a Paillier key pair and sends its public modulus once. For a triple each party
/// draws its own uniform shares `a_i, b_i ∈ Z(2^64)`; `c = a·b = a_0b_0 + a_1b_1 + (a_0b_1 + a_1b_0)`
/// and the cross term is turned into additive shares:
/// 1. party 0 sends `E(a_0)` and `E(b_0)` (for a matrix triple, `E(A_0)` and `E(B_0)` elementwise);
/// 2. party 1 computes `E(a_0·b_1 + b_0·a_1 + r)` homomorphically (for matrices, each entry's sum
///    over the inner dimension), with `r` uniform below `2^(2·64 + ⌈log2 k⌉ + 1 + σ)`, σ = 40
///    (statistical hiding), rerandomizes it and sends it back; its cross share is `-r mod 2^64`;
/// 3. party 0 decrypts `v` — an integer below the modulus, so there is no wrap mod n — and its
///    cross share is `v mod 2^64`.
/// Party 1 sees only ciphertexts; party 0 sees `v`, which hides the cross term statistically.
///
/// Only arithmetic correlations are served: multiplication triples, matrix triples and square
/// pairs (enough for matmul and products with `TruncationMethod.localTwoParty`). The others
/// (truncation pairs, binary triples, edaBits, daBits) throw `providerFailure`: comparisons and
/// sigmoid still need a dealer.
///
/// Costs are kept apart from the online phase: `offlineBytesReceived`, `offlineBytesSent`,
/// `offlineSeconds`, on a channel of its own (`link`).
/// - Complexity: per triple element, two encryptions at party 0 and two |64|-bit exponentiations
///   mod n² plus one encryption at party 1; a matrix triple costs `2·m·k·n` exponentiations.
/// - Reference: Gilboa, "Two party RSA key generation" (CRYPTO 1999).
public final class PaillierTripleProvider: TripleProvider {
    private let link: any Channel
    private let privateKey: PaillierPrivateKey?
    private let publicKey: PaillierPublicKey
    private let ciphertextWords: Int
    public private(set) var offlineBytesReceived = 0
    /// Bytes this party sent for correlations.
    public private(set) var offlineBytesSent = 0
    /// Seconds spent generating correlations.
    public private(set) var offlineSeconds = 0.0
    static let statisticalSecurity = 40

    /// Sets up the pair over `link` (a channel used for nothing else): party 0 generates a key of
    /// `keyBits` bits and sends its modulus; party 1 checks it.
    public init(link: any Channel, keyBits: Int = 2048) throws(SecretSharingError) {
        guard link.partyCount == 2 else {
            throw .invalidArgument("Paillier triples are for exactly two parties, not \(link.partyCount)")
        }
        self.link = link
        let words = (keyBits + 63) / 64
        let start = ContinuousClock.now
        if link.partyIndex == 0 {
            do { privateKey = try PaillierPrivateKey.generate(bits: keyBits) } catch {
                throw .providerFailure("Paillier key generation failed: \(error)")
            }
            publicKey = privateKey!.publicKey
            guard let n = publicKey.n.littleEndianWords(count: words) else {
                throw .providerFailure("the Paillier modulus does not fit \(keyBits) bits")
            }
            try link.send(n, to: 1)
            offlineBytesSent += 8 * n.count
        } else {
            privateKey = nil
            let n = try link.receive(from: 0)
            offlineBytesReceived += 8 * n.count
            guard n.count == words else { throw .malformedMessage(from: 0, expected: words, received: n.count) }
            do {
                publicKey = try PaillierPublicKey(n: n.withUnsafeBufferPointer { BigInteger(littleEndianWords: $0) })
            } catch {
                throw .peerFailure(party: 0, reason: "sent an unusable Paillier modulus: \(error)")
            }
        }
        ciphertextWords = 2 * words
        offlineSeconds += Self.seconds(ContinuousClock.now - start)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func uniform(_ count: Int) -> [UInt64] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in g.next() }
    }

    private func encode(_ cs: [PaillierCiphertext]) throws(SecretSharingError) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(cs.count * ciphertextWords)
        for c in cs {
            guard let w = c.value.littleEndianWords(count: ciphertextWords) else {
                throw .providerFailure("a ciphertext does not fit its size")
            }
            out.append(contentsOf: w)
        }
        return out
    }

    private func decode(_ words: [UInt64], count: Int) throws(SecretSharingError) -> [PaillierCiphertext] {
        let other = 1 - link.partyIndex
        guard words.count == count * ciphertextWords else {
            throw .malformedMessage(from: other, expected: count * ciphertextWords, received: words.count)
        }
        var out: [PaillierCiphertext] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let value = words.withUnsafeBufferPointer {
                BigInteger(littleEndianWords: UnsafeBufferPointer(rebasing: $0[(i * ciphertextWords)..<((i + 1) * ciphertextWords)]))
            }
            do { out.append(try PaillierCiphertext(value: value, publicKey: publicKey)) } catch {
                throw .peerFailure(party: other, reason: "sent an invalid Paillier ciphertext")
            }
        }
        return out
    }

    private func send(_ words: [UInt64]) throws(SecretSharingError) {
        try link.send(words, to: 1 - link.partyIndex)
        offlineBytesSent += 8 * words.count
    }

    private func receive() throws(SecretSharingError) -> [UInt64] {
        let w = try link.receive(from: 1 - link.partyIndex)
        offlineBytesReceived += 8 * w.count
        return w
    }

    /// This party's shares of `Σ_l x_0[i,l]·y_1[l,j] + Σ_l y_0[l,j]·x_1[i,l]` for an m×k by k×n
    /// product (elementwise when `elementwise`: k = 1, n = m, entry i only).
    private func crossTerm(x: [UInt64], y: [UInt64], m: Int, k: Int, n: Int, elementwise: Bool) throws(SecretSharingError) -> [UInt64] {
        let outputs = elementwise ? m : m * n
        if link.partyIndex == 0 {
            let plain = (x + y).map { BigInteger($0) }
            let encrypted: [PaillierCiphertext]
            do { encrypted = try publicKey.encrypt(batch: plain) } catch {
                throw .providerFailure("Paillier encryption failed: \(error)")
            }
            try send(try encode(encrypted))
            let answers = try decode(try receive(), count: outputs)
            var share = [UInt64](repeating: 0, count: outputs)
            for i in 0..<outputs {
                let v: BigInteger
                do { v = try privateKey!.decrypt(answers[i]) } catch {
                    throw .providerFailure("Paillier decryption failed")
                }
                share[i] = v.lowBits(64).uint64Value ?? 0
            }
            return share
        } else {
            let received = try decode(try receive(), count: x.count + y.count)
            let ex = Array(received[..<x.count]), ey = Array(received[x.count...])
            let maskBits = 2 * 64 + (k > 1 ? Int.bitWidth - (k - 1).leadingZeroBitCount : 0) + 1 + Self.statisticalSecurity
            var share = [UInt64](repeating: 0, count: outputs)
            var answers: [PaillierCiphertext] = []
            answers.reserveCapacity(outputs)
            for o in 0..<outputs {
                let r = BigInteger.random(bits: maskBits)
                var acc: PaillierCiphertext
                do { acc = try publicKey.encrypt(r) } catch { throw .providerFailure("Paillier encryption failed") }
                if elementwise {
                    acc = acc + ex[o] * BigInteger(y[o]) + ey[o] * BigInteger(x[o])
                } else {
                    let (i, j) = (o / n, o % n)
                    for l in 0..<k {
                        acc = acc + ex[i * k + l] * BigInteger(y[l * n + j]) + ey[l * n + j] * BigInteger(x[i * k + l])
                    }
                }
                answers.append(acc)
                share[o] = 0 &- (r.lowBits(64).uint64Value ?? 0)
            }
            try send(try encode(answers))
            return share
        }
    }

    private func timed<T>(_ body: () throws(SecretSharingError) -> T) throws(SecretSharingError) -> T {
        let start = ContinuousClock.now
        defer { offlineSeconds += Self.seconds(ContinuousClock.now - start) }
        return try body()
    }

    public func multiplicationTriples(count: Int) throws(SecretSharingError) -> BeaverTriples {
        try timed { () throws(SecretSharingError) -> BeaverTriples in
            let a = uniform(count), b = uniform(count)
            // Party 0 sends (a_0, b_0); party 1 multiplies E(a_0) by b_1 and E(b_0) by a_1.
            let cross = try crossTerm(x: a, y: b, m: count, k: 1, n: count, elementwise: true)
            var c = cross
            for i in 0..<count { c[i] = c[i] &+ a[i] &* b[i] }
            return BeaverTriples(a: a, b: b, c: c)
        }
    }

    public func matrixTriple(m: Int, k: Int, n: Int) throws(SecretSharingError) -> MatrixTriple {
        try timed { () throws(SecretSharingError) -> MatrixTriple in
            let a = uniform(m * k), b = uniform(k * n)
            var c = try crossTerm(x: a, y: b, m: m, k: k, n: n, elementwise: false)
            for i in 0..<m {
                for l in 0..<k {
                    let ail = a[i * k + l]
                    for j in 0..<n { c[i * n + j] = c[i * n + j] &+ ail &* b[l * n + j] }
                }
            }
            return MatrixTriple(a: a, b: b, c: c)
        }
    }

    public func squarePairs(count: Int) throws(SecretSharingError) -> SquarePairs {
        try timed { () throws(SecretSharingError) -> SquarePairs in
            // a² = a_0² + a_1² + 2·a_0·a_1: the cross term with y = a (so it counts a_0·a_1 twice).
            let a = uniform(count)
            var c = try crossTerm(x: a, y: a, m: count, k: 1, n: count, elementwise: true)
            for i in 0..<count { c[i] = c[i] &+ a[i] &* a[i] }
            return SquarePairs(a: a, c: c)
        }
    }

    private func unavailable(_ what: String) -> SecretSharingError {
        .providerFailure("\(what) are not generated dealer-free (Paillier serves multiplication and matrix triples and square pairs); use a dealer")
    }

    public func truncationPairs(count: Int, shift: Int) throws(SecretSharingError) -> TruncationPairs { throw unavailable("truncation pairs") }
    public func binaryTriples(count: Int) throws(SecretSharingError) -> BinaryTriples { throw unavailable("binary triples") }
    public func edaBits(count: Int) throws(SecretSharingError) -> EdaBits { throw unavailable("edaBits") }
    public func daBits(count: Int) throws(SecretSharingError) -> DaBits { throw unavailable("daBits") }
}
