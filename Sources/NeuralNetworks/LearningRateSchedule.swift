#if canImport(Glibc)
import Glibc
#endif

/// How the learning rate changes over training, evaluated per epoch.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    /// The base rate throughout.
    case constant
    /// The base rate multiplied by `gamma` every `stepSize` epochs (PyTorch's `StepLR`).
    case step(stepSize: Int, gamma: Float)
    /// Cosine annealing from the base rate to `minimum` over `epochs` (PyTorch's
    /// `CosineAnnealingLR` with T_max = epochs): η_e = η_min + (η − η_min)(1 + cos(π e / T)) / 2.
    case cosine(epochs: Int, minimum: Float)

    /// The learning rate for epoch `epoch` (0-based).
    public func learningRate(base: Float, epoch: Int) -> Float {
        switch self {
        case .constant:
            return base
        case let .step(stepSize, gamma):
            return base * Float(pow(Double(gamma), Double(epoch / Swift.max(1, stepSize))))
        case let .cosine(epochs, minimum):
            let progress = Double(Swift.min(epoch, epochs)) / Double(Swift.max(1, epochs))
            return minimum + (base - minimum) * Float((1 + cos(Double.pi * progress)) / 2)
        }
    }
}
