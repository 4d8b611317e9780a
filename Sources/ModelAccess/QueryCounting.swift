import Foundation
import Tensors

/// A model that counts the inputs it is asked about: the query budget of a black-box attack,
/// counted at the API rather than trusted from the attack.
///
/// Law: after any sequence of calls, `queries` is the total number of inputs (rows of the batches)
/// passed to `probabilities(for:)` and `predictedLabels(for:)`, each call counted once (a label
/// query is not also counted as a probability query). Copies share one count; it is safe to query
/// from several tasks at once.
public struct QueryCountingModel<Base: ProbabilityAccess>: ProbabilityAccess {
    public let base: Base
    private let counter = Counter()

    public init(_ base: Base) { self.base = base }

    public var classCount: Int { base.classCount }

    /// The inputs answered so far.
    public var queries: Int { counter.value }

    public func probabilities(for inputs: Tensor) -> Tensor {
        counter.add(inputs.shape.first ?? 0)
        return base.probabilities(for: inputs)
    }

    public func predictedLabels(for inputs: Tensor) -> [Int] {
        counter.add(inputs.shape.first ?? 0)
        return base.predictedLabels(for: inputs)
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func add(_ n: Int) { lock.withLock { count += n } }
    }
}
