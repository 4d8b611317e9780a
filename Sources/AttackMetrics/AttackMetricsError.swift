/// Why a set of attack scores cannot be evaluated.
public enum AttackMetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `scores` and `isMember` have different lengths.
    case countMismatch(scores: Int, labels: Int)
    /// The evaluation set has no members or no non-members, so one of the rates is undefined.
    case missingClass(members: Int, nonMembers: Int)
    /// A score is NaN (infinities are allowed: they order like any other value).
    case nonNumericScore(index: Int)
    /// A parameter is outside its range (a confidence level, a target rate, a replicate count).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case let .countMismatch(scores, labels):
            return "attack metrics: \(scores) scores but \(labels) membership labels"
        case let .missingClass(members, nonMembers):
            return "attack metrics: need at least one member and one non-member, got \(members) members and \(nonMembers) non-members"
        case let .nonNumericScore(index):
            return "attack metrics: score \(index) is NaN"
        case let .invalidParameter(message):
            return "attack metrics: \(message)"
        }
    }
}
