import Tensors

/// What a decision-based attack (HopSkipJump, the Boundary attack) found for each example: the
/// closest adversarial input, its distance in the attack's norm, the queries spent, and the
/// distance reached after every improvement (so one run answers "how close within q queries?" for
/// every budget q up to the one it had).
///
/// Laws: `success[i]` exactly when an adversarial input was found (`distances[i]` finite); the
/// adversarial input of a success is misclassified by the model (each candidate is kept only after
/// the model said so); `trace[i]` is increasing in queries and decreasing in distance, and its last
/// entry's distance is `distances[i]`.
public struct DecisionBasedResult: Sendable {
    /// One improvement: the distance reached once `queries` queries had been spent.
    public struct Improvement: Sendable, Hashable {
        public var queries: Int
        public var distance: Float
    }

    public var norm: PerturbationNorm
    /// The closest adversarial input per example (the original where none was found).
    public var adversarial: Tensor
    /// Its distance to the original in `norm` (∞ where none was found).
    public var distances: [Float]
    /// Queries spent per example.
    public var queries: [Int]
    /// The improvements per example, in the order they were found.
    public var trace: [[Improvement]]

    public var success: [Bool] { distances.map { $0.isFinite } }

    /// The share of examples with an adversarial input within `epsilon`.
    public func successRate(within epsilon: Float) -> Double {
        Double(distances.filter { $0 <= epsilon }.count) / Double(max(1, distances.count))
    }

    /// The distance each example had reached after at most `budget` queries (∞ where none yet).
    public func distances(withinQueries budget: Int) -> [Float] {
        trace.map { improvements in improvements.last(where: { $0.queries <= budget })?.distance ?? .infinity }
    }
}
