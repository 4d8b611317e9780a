/// Errors of planting, detecting or removing a backdoor from outside parameters or data.
public enum BackdoorError: Error, Equatable, CustomStringConvertible {
    /// A parameter outside its valid range, with what was expected.
    case invalidParameter(String)
    /// The data cannot serve the request (too few samples of a class, no sample of another class).
    case insufficientData(String)
    /// The model does not have what a defence needs (no hidden layer, no convolution layer).
    case unsupportedModel(String)

    public var description: String {
        switch self {
        case let .invalidParameter(message): return "backdoor: \(message)"
        case let .insufficientData(message): return "backdoor: not enough data: \(message)"
        case let .unsupportedModel(message): return "backdoor: unsupported model: \(message)"
        }
    }
}
