/// Errors of model-inversion attacks configured against a model or an observation they cannot use.
///
/// Access a model does not offer at all is ruled out by the type system (MI-Face asks for
/// `ProbabilityAccess & InputGradientAccess`, attribute inference for `ProbabilityAccess`); these
/// errors cover what types cannot express: an observed update whose tensors do not match the
/// model, an architecture an analytic attack does not apply to, a configuration out of range.
public enum InversionError: Error, Equatable, CustomStringConvertible {
    /// The observed gradients or weight deltas do not match the model's parameters.
    case observationMismatch(String)
    /// The attack needs a layer structure the model does not have (e.g. analytic recovery
    /// needs a fully-connected layer with a bias).
    case unsupportedArchitecture(attack: String, reason: String)
    /// A parameter of the attack is out of range.
    case invalidConfiguration(String)
    /// Inputs (records, images, labels) that do not fit the model or each other.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .observationMismatch(message): return "observed update: \(message)"
        case let .unsupportedArchitecture(attack, reason): return "\(attack) does not apply to this model: \(reason)"
        case let .invalidConfiguration(message): return "inversion configuration: \(message)"
        case let .invalidInput(message): return "inversion input: \(message)"
        }
    }
}
