import Tensors

/// The norm that measures a perturbation δ = x′ − x.
public enum PerturbationNorm: String, Sendable, Hashable, Codable, CaseIterable {
    /// ‖δ‖∞ = maxᵢ |δᵢ|: every pixel may move by at most ε.
    case linf
    /// ‖δ‖₂ = (Σᵢ δᵢ²)^½: the energy of the perturbation is at most ε.
    case l2

    /// The norm of each example's perturbation in a batch [N, …].
    public func perExample(_ delta: Tensor) -> [Float] {
        let n = delta.shape.first ?? 0
        let width = n == 0 ? 0 : delta.scalarCount / n
        var result = [Float](repeating: 0, count: n)
        delta.withUnsafeBufferPointer { d in
            for i in 0..<n {
                var acc: Float = 0
                let row = i * width
                switch self {
                case .linf: for j in 0..<width { acc = Swift.max(acc, Swift.abs(d[row + j])) }
                case .l2:
                    for j in 0..<width { acc += d[row + j] * d[row + j] }
                    acc = acc.squareRoot()
                }
                result[i] = acc
            }
        }
        return result
    }
}

/// The valid input range: adversarial inputs are clipped to [lower, upper] elementwise (pixel
/// intensities in [0, 1] for MNIST and Fashion-MNIST).
public struct InputDomain: Sendable, Hashable, Codable {
    public var lower: Float
    public var upper: Float

    public init(lower: Float, upper: Float) {
        precondition(lower < upper, "InputDomain: lower \(lower) must be below upper \(upper)")
        self.lower = lower
        self.upper = upper
    }

    /// Pixel intensities scaled to [0, 1].
    public static let unitInterval = InputDomain(lower: 0, upper: 1)
    /// No clipping.
    public static let unbounded = InputDomain(lower: -.greatestFiniteMagnitude, upper: .greatestFiniteMagnitude)

    /// `value` moved into [lower, upper].
    @inlinable public func clamp(_ value: Float) -> Float { min(upper, max(lower, value)) }
}

/// What the attacker wants.
public enum AttackGoal: Sendable, Hashable {
    /// Any class but the true one: maximise the loss of the true label.
    case untargeted
    /// The given class for each input: minimise the loss of the target label.
    case targeted([Int])

    /// The target of example `i`, if any.
    @inlinable public func target(_ i: Int) -> Int? {
        if case let .targeted(targets) = self { return targets[i] } else { return nil }
    }

    /// The goal restricted to examples `range` of a batch.
    public func slice(_ range: Range<Int>) -> AttackGoal {
        switch self {
        case .untargeted: return .untargeted
        case let .targeted(targets): return .targeted(Array(targets[range]))
        }
    }

    /// The next class after each label (y + 1 mod classes): the conventional deterministic
    /// target choice for targeted robustness figures.
    public static func nextClass(of labels: [Int], classCount: Int) -> AttackGoal {
        .targeted(labels.map { ($0 + 1) % classCount })
    }
}
