/// Why a membership-inference attack cannot run on the signals or models it was given.
public enum MembershipInferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two inputs that must describe the same examples or models have different sizes.
    case shapeMismatch(String)
    /// An online attack needs, for every audited example, reference models trained with it (IN)
    /// and without it (OUT).
    case missingReferenceModels(example: Int, inModels: Int, outModels: Int, needed: String)
    /// A parameter is out of range.
    case invalidParameter(String)
    /// Training a reference, shadow or attack model failed.
    case training(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(message):
            return "membership inference: \(message)"
        case let .missingReferenceModels(example, inModels, outModels, needed):
            return "membership inference: example \(example) has \(inModels) IN and \(outModels) OUT reference models; \(needed)"
        case let .invalidParameter(message):
            return "membership inference: \(message)"
        case let .training(message):
            return "membership inference: training failed: \(message)"
        }
    }
}
