/// Why a federated simulation, a strategy or a secure-aggregation protocol could not proceed.
///
/// Outside input (configurations decoded from specs, ciphertexts, shares) gets one of these,
/// never a crash; each message names the field or party and what was expected.
public enum FederatedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration field is out of range (`field`, then what was expected).
    case invalidConfiguration(field: String, reason: String)
    /// A fixed-point value does not fit its encoding (coordinate `index` of party `party`).
    case fixedPointOverflow(party: Int, index: Int, value: Double, limit: Double)
    /// Fewer clients survived than the secret-sharing threshold needs to unmask the sum.
    case tooFewSurvivors(survivors: Int, threshold: Int)
    /// A secure-aggregation step failed (malformed share, wrong key, decryption error).
    case protocolFailure(String)
    /// Every sampled client failed or dropped out in `round`: there is nothing to aggregate.
    case noResults(round: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, reason): return "federated configuration: \(field): \(reason)"
        case let .fixedPointOverflow(party, index, value, limit):
            return "fixed-point overflow: client \(party), coordinate \(index): |\(value)| ≥ \(limit); lower fractional_bits or clip updates"
        case let .tooFewSurvivors(survivors, threshold):
            return "secure aggregation: \(survivors) clients survived, the threshold is \(threshold): the sum cannot be unmasked"
        case let .protocolFailure(message): return "secure aggregation: \(message)"
        case let .noResults(round): return "round \(round): every sampled client failed or dropped out"
        }
    }
}
