#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// The function of the logits an attack climbs: always computed from the logits z (never from
/// probabilities, whose logarithm underflows where the model is confident).
///
/// For an untargeted attack on label y the attack *maximises*
/// - cross-entropy at temperature T: L = log Σⱼ exp(zⱼ/T) − z_y/T, with
///   ∂L/∂z = (softmax(z/T) − e_y)/T;
/// - the margin (Carlini & Wagner 2017, f₆ without κ): M = maxⱼ≠y zⱼ − z_y, with ∂M/∂z = e_j* − e_y.
///
/// For a targeted attack on target t it maximises −L(z, t) (cross-entropy) or
/// z_t − maxⱼ≠t zⱼ (margin).
///
/// Caveat: at T = 1 the cross-entropy gradient of a model with very large logits (a defensively
/// distilled one) is exactly zero in Float32 — softmax(z) rounds to the one-hot vector — so
/// gradient attacks stall. That is gradient masking, not robustness: the same attack on the
/// margin, or on z/T, restores the gradient (Carlini & Wagner 2016, "Defensive distillation is
/// not robust to adversarial examples").
public enum AttackLoss: Sendable, Hashable {
    case crossEntropy(temperature: Float)
    case margin

    /// Cross-entropy of the logits at temperature 1.
    public static let crossEntropy = AttackLoss.crossEntropy(temperature: 1)

    /// The objective each example's attack maximises and its gradient with respect to the logits.
    /// - Parameters:
    ///   - logits: [N, C].
    ///   - labels: the true labels (used by untargeted goals).
    /// - Complexity: O(N·C).
    public func objective(logits: Tensor, labels: [Int], goal: AttackGoal) -> (values: [Float], gradient: Tensor) {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "AttackLoss: logits \(logits.shape) for \(labels.count) labels")
        let (n, c) = (logits.shape[0], logits.shape[1])
        var values = [Float](repeating: 0, count: n)
        let gradient = Tensor(shape: [n, c]) { g in
            g.initialize(repeating: 0)
            logits.withUnsafeBufferPointer { z in
                for i in 0..<n {
                    let row = i * c
                    let target = goal.target(i)
                    let y = target ?? labels[i]
                    precondition(y >= 0 && y < c, "AttackLoss: class \(y) outside 0..<\(c)")
                    let sign: Float = target == nil ? 1 : -1
                    switch self {
                    case let .crossEntropy(temperature):
                        let inverseT = 1 / temperature
                        var m = -Float.infinity
                        for j in 0..<c { m = Swift.max(m, z[row + j] * inverseT) }
                        var total: Float = 0
                        for j in 0..<c {
                            let e = expf(z[row + j] * inverseT - m)
                            g[row + j] = e
                            total += e
                        }
                        let loss = logf(total) + m - z[row + y] * inverseT
                        values[i] = sign * loss
                        for j in 0..<c {
                            let p = g[row + j] / total
                            g[row + j] = sign * (p - (j == y ? 1 : 0)) * inverseT
                        }
                    case .margin:
                        var best = -Float.infinity, bestIndex = -1
                        for j in 0..<c where j != y && z[row + j] > best { best = z[row + j]; bestIndex = j }
                        guard bestIndex >= 0 else { continue }
                        // untargeted: other − true; targeted: target − other
                        values[i] = sign * (best - z[row + y])
                        g[row + bestIndex] = sign
                        g[row + y] = -sign
                    }
                }
            }
        }
        return (values, gradient)
    }
}
