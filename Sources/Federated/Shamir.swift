import BigIntegerModule

/// Shamir's t-of-n secret sharing over the prime field Z_q (Shamir, "How to Share a Secret",
/// CACM 1979).
///
/// A secret s ∈ Z_q becomes the shares f(1), …, f(n) of a random polynomial f of degree t − 1 with
/// f(0) = s; any t shares give s by Lagrange interpolation at 0, f(0) = Σ_i y_i Π_{j≠i} x_j/(x_j − x_i),
/// and any t − 1 shares are uniformly distributed whatever s is. Coefficients come from the OS
/// CSPRNG.
/// - Complexity: sharing O(n·t) multiplications mod q; reconstruction O(t²) plus t inversions.
public struct ShamirSharing: Sendable {
    public let modulus: BigInteger
    public let threshold: Int

    /// - Parameters:
    ///   - modulus: a prime q (the caller's responsibility; the DH group's q is one).
    ///   - threshold: t ≥ 1.
    public init(modulus: BigInteger, threshold: Int) throws(FederatedError) {
        guard threshold >= 1 else { throw .invalidConfiguration(field: "secure_aggregation.threshold", reason: "must be ≥ 1, got \(threshold)") }
        self.modulus = modulus
        self.threshold = threshold
    }

    /// The shares f(1), …, f(`count`) of `secret` (which must lie in [0, q)).
    public func share(_ secret: BigInteger, count: Int) -> [BigInteger] {
        precondition(secret >= 0 && secret < modulus, "ShamirSharing: the secret must lie in [0, q)")
        precondition(count >= threshold, "ShamirSharing: \(count) shares cannot meet threshold \(threshold)")
        var coefficients = [secret]
        for _ in 1..<threshold { coefficients.append(BigInteger.random(below: modulus)) }
        return (1...count).map { x in
            // Horner's rule.
            var y = BigInteger(0)
            let bx = BigInteger(x)
            for c in coefficients.reversed() { y = (y * bx + c).modulo(modulus) }
            return y
        }
    }

    /// The secret from at least `threshold` shares (x, f(x)) with distinct x ≥ 1; only the first
    /// `threshold` are used.
    public func reconstruct(_ shares: [(x: Int, y: BigInteger)]) throws(FederatedError) -> BigInteger {
        guard shares.count >= threshold else {
            throw .tooFewSurvivors(survivors: shares.count, threshold: threshold)
        }
        let used = Array(shares.prefix(threshold))
        guard Set(used.map(\.x)).count == used.count, used.allSatisfy({ $0.x >= 1 }) else {
            throw .protocolFailure("Shamir shares must have distinct positive x")
        }
        var secret = BigInteger(0)
        for (i, share) in used.enumerated() {
            var numerator = BigInteger(1), denominator = BigInteger(1)
            for (j, other) in used.enumerated() where j != i {
                numerator = (numerator * BigInteger(other.x)).modulo(modulus)
                denominator = (denominator * BigInteger(other.x - share.x)).modulo(modulus)
            }
            guard let inverse = denominator.inverse(modulo: modulus) else {
                throw .protocolFailure("Shamir reconstruction: a denominator is not invertible (is q prime?)")
            }
            secret = (secret + share.y * numerator.multiplied(by: inverse, modulo: modulus)).modulo(modulus)
        }
        return secret
    }
}
