public import RingArithmetic

/// The fixed-point encoding secure aggregation sums (the lab's `FixedPointCode`, with f and the
/// value bits chosen by the spec): a real x becomes the integer round(x·2^f),
/// stored as a two's-complement word of Z(2^64).
///
/// Laws: for |x| < `limit`, |decode(encode(x)) − x| ≤ 2^−(f+1); encodings add in Z(2^64), so the
/// wrapping sum of encodings decodes to the sum of the rounded values exactly while that sum stays
/// below 2^63 in magnitude. `encodeContribution` refuses (throws) a value at or above `limit`
/// instead of wrapping it.
///
/// A client's contribution (v, w) is encoded as d + 1 words: round(w·v_i·2^f) for each i, then
/// round(w·2^f), so that one sum gives both Σ w_k v_k and Σ w_k.
public struct FixedPointFormat: Sendable, Equatable, Hashable {
    /// The lab's fixed-point code with these f and value bits.
    public let code: FixedPointCode
    /// f, the number of fractional bits.
    public var fractionalBits: Int { code.fractionalBits }
    /// Values must stay below 2^(valueBits − 1 − f) in magnitude (and sums below 2^63).
    public var valueBits: Int { code.valueBits }

    /// - Parameters:
    ///   - fractionalBits: f in 1...40.
    ///   - valueBits: bits of a signed encoded value, in f+2...62 (Paillier slots are sized from it).
    public init(fractionalBits: Int = 24, valueBits: Int = 48) throws(FederatedError) {
        guard (1...40).contains(fractionalBits) else {
            throw .invalidConfiguration(field: "secure_aggregation.fractional_bits", reason: "must lie in 1...40, got \(fractionalBits)")
        }
        guard (fractionalBits + 2...62).contains(valueBits), let code = FixedPointCode(fractionalBits: fractionalBits, valueBits: valueBits) else {
            throw .invalidConfiguration(field: "secure_aggregation.value_bits", reason: "must lie in \(fractionalBits + 2)...62, got \(valueBits)")
        }
        self.code = code
    }

    /// 2^f.
    public var scale: Double { code.scale }
    /// The largest magnitude an encoded real may have: 2^(valueBits − 1 − f).
    public var limit: Double { code.limit }

    /// The d + 1 words of contribution (v, w) of client `party`.
    public func encodeContribution(_ vector: [Float], weight: Double, party: Int) throws(FederatedError) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: vector.count + 1)
        let code = self.code
        var bad: (Int, Double)? = nil
        vector.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<v.count {
                    let x = weight * Double(v[i])
                    guard let word = code.encode(x) else { bad = (i, x); return }
                    o[i] = word
                }
            }
        }
        if let (i, x) = bad { throw .fixedPointOverflow(party: party, index: i, value: x, limit: code.limit) }
        guard let weightWord = code.encode(weight) else {
            throw .fixedPointOverflow(party: party, index: vector.count, value: weight, limit: code.limit)
        }
        out[vector.count] = weightWord
        return out
    }

    /// The weighted sum encoded by `words` (d + 1 words from summing contributions of `count` clients).
    public func decodeSum(_ words: [UInt64], count: Int) -> WeightedSum {
        let decoded = code.decode(words)
        return WeightedSum(sum: Array(decoded.dropLast()), totalWeight: decoded[words.count - 1], count: count)
    }
}

/// Z(2^64) vector kernels.
public enum RingVector {
    /// a += b (wrapping).
    public static func add(_ a: inout [UInt64], _ b: [UInt64]) {
        precondition(a.count == b.count, "RingVector.add: lengths \(a.count) and \(b.count)")
        a.withUnsafeMutableBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count { x[i] &+= y[i] }
            }
        }
    }

    /// a −= b (wrapping).
    static func subtract(_ a: inout [UInt64], _ b: [UInt64]) {
        precondition(a.count == b.count, "RingVector.subtract: lengths \(a.count) and \(b.count)")
        a.withUnsafeMutableBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count { x[i] &-= y[i] }
            }
        }
    }

    /// The wrapping sum of equal-length vectors (the plaintext oracle of every protocol).
    public static func sum(_ vectors: [[UInt64]]) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: vectors.first?.count ?? 0)
        for v in vectors { add(&out, v) }
        return out
    }
}

/// What one secure summation cost: bytes on the wire and compute time, per client and at the
/// server(s).
public struct SecureAggregationCost: Sendable, Equatable, Codable {
    /// Bytes each participating client sent (index = position in the participant list; 0 for a
    /// client that dropped before sending anything).
    public var clientBytesSent: [Int]
    /// Bytes each participating client received.
    public var clientBytesReceived: [Int]
    /// Compute seconds of each client (key agreement, sharing, masking or encryption).
    public var clientSeconds: [Double]
    /// Bytes received by the server side (all servers together).
    public var serverBytesReceived: Int
    /// Bytes sent by the server side (including server-to-server traffic).
    public var serverBytesSent: Int
    /// Compute seconds of the server side (unmasking, reconstruction, homomorphic sums, decryption).
    public var serverSeconds: Double

    public init(clientBytesSent: [Int] = [], clientBytesReceived: [Int] = [], clientSeconds: [Double] = [],
                serverBytesReceived: Int = 0, serverBytesSent: Int = 0, serverSeconds: Double = 0) {
        self.clientBytesSent = clientBytesSent
        self.clientBytesReceived = clientBytesReceived
        self.clientSeconds = clientSeconds
        self.serverBytesReceived = serverBytesReceived
        self.serverBytesSent = serverBytesSent
        self.serverSeconds = serverSeconds
    }

    /// The mean over clients of bytes sent.
    public var meanClientBytesSent: Double { clientBytesSent.isEmpty ? 0 : Double(clientBytesSent.reduce(0, +)) / Double(clientBytesSent.count) }
    /// The mean over clients of compute seconds.
    public var meanClientSeconds: Double { clientSeconds.isEmpty ? 0 : clientSeconds.reduce(0, +) / Double(clientSeconds.count) }
}

/// The result of a secure summation: the wrapping sum of the survivors' inputs, and its cost.
public struct SecureSum: Sendable, Equatable {
    public var sum: [UInt64]
    public var cost: SecureAggregationCost

    public init(sum: [UInt64], cost: SecureAggregationCost) {
        self.sum = sum
        self.cost = cost
    }
}

/// A protocol that lets a server learn Σ_k x_k over Z(2^64) of the clients' vectors and nothing
/// else about them.
///
/// `inputs[i]` is participant i's vector; participants in `dropouts` took part in the protocol's
/// setup but their input never arrives (they are still passed so that a protocol can be checked,
/// but it must not read their input). The sum is over the others, bit-exact.
public protocol SecureSummation: Sendable {
    var name: String { get }
    func sum(inputs: [[UInt64]], dropouts: Set<Int>) throws -> SecureSum
}

/// Elapsed seconds of `body` on the monotonic clock.
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let clock = ContinuousClock()
    var value: T? = nil
    let elapsed = try clock.measure { value = try body() }
    return (value!, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}
