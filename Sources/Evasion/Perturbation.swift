import LabRandom
import ModelAccess
import Tensors

// The arithmetic every gradient attack shares: a step along the gradient's steepest-ascent
// direction for the norm, the projection back onto the ε-ball around the original input, and the
// clipping into the valid input range. All of it runs over raw buffers, one example at a time.

enum PerturbationKernels {
    /// x ← clip(Π_{‖x − x₀‖ ≤ ε}(x + α·d(g)), domain), where d(g) = sign(g) for L∞ and g/‖g‖₂ for
    /// L2 (no move where g = 0), for every example of the batch.
    ///
    /// For L∞ the ball and the domain are boxes, so clamping to one then the other gives their
    /// intersection. For L2, clipping into the domain after the projection only shrinks each
    /// |δᵢ| (x₀ lies in the domain), so the result stays in the ball.
    static func ascend(_ x: inout Tensor, origin: Tensor, gradient: Tensor, stepSize: Float, norm: PerturbationNorm,
                       epsilon: Float, domain: InputDomain) {
        precondition(x.shape == origin.shape && x.shape == gradient.shape,
                     "attack step: shapes \(x.shape), \(origin.shape), \(gradient.shape) differ")
        let n = x.shape.first ?? 0
        guard n > 0 else { return }
        let width = x.scalarCount / n
        let (lo, hi) = (domain.lower, domain.upper)
        origin.withUnsafeBufferPointer { x0 in
            gradient.withUnsafeBufferPointer { g in
                x.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        let row = i * width
                        switch norm {
                        case .linf:
                            for j in row..<(row + width) {
                                let s: Float = g[j] > 0 ? 1 : (g[j] < 0 ? -1 : 0)
                                var value = v[j] + stepSize * s
                                value = Swift.min(Swift.max(value, x0[j] - epsilon), x0[j] + epsilon)
                                v[j] = Swift.min(Swift.max(value, lo), hi)
                            }
                        case .l2:
                            var gg: Float = 0
                            for j in row..<(row + width) { gg += g[j] * g[j] }
                            let scale = gg > 0 ? stepSize / gg.squareRoot() : 0
                            var dd: Float = 0
                            for j in row..<(row + width) {
                                v[j] += scale * g[j]
                                let d = v[j] - x0[j]
                                dd += d * d
                            }
                            let shrink: Float = dd > epsilon * epsilon ? epsilon / dd.squareRoot() : 1
                            for j in row..<(row + width) {
                                let value = x0[j] + (v[j] - x0[j]) * shrink
                                v[j] = Swift.min(Swift.max(value, lo), hi)
                            }
                        }
                    }
                }
            }
        }
    }

    /// A uniformly random point of the ε-ball around each input, clipped into the domain:
    /// δ ~ U[−ε, ε]ᵈ for L∞; for L2, δ = ε·u^{1/d}·n/‖n‖ with n ~ N(0, I), u ~ U(0, 1) (uniform in
    /// the ball's volume).
    static func randomStart(around origin: Tensor, norm: PerturbationNorm, epsilon: Float, domain: InputDomain,
                            random: inout LabRandom) -> Tensor {
        let n = origin.shape.first ?? 0
        var x = origin
        guard n > 0, epsilon > 0 else { return x }
        let width = origin.scalarCount / n
        let (lo, hi) = (domain.lower, domain.upper)
        var noise = [Float](repeating: 0, count: width)
        x.withUnsafeMutableBufferPointer { v in
            for i in 0..<n {
                let row = i * width
                noise.withUnsafeMutableBufferPointer { buffer in
                    switch norm {
                    case .linf:
                        random.fillUniform(buffer, low: -epsilon, high: epsilon)
                    case .l2:
                        random.fillNormal(buffer, mean: 0, standardDeviation: 1)
                        var s: Float = 0
                        for j in 0..<width { s += buffer[j] * buffer[j] }
                        let u = Float(random.nextDouble())
                        let radius = epsilon * Float(pow(Double(u), 1 / Double(width)))
                        let scale = s > 0 ? radius / s.squareRoot() : 0
                        for j in 0..<width { buffer[j] *= scale }
                    }
                    for j in 0..<width { v[row + j] = Swift.min(Swift.max(v[row + j] + buffer[j], lo), hi) }
                }
            }
        }
        return x
    }

    /// The gradient of the attack objective with respect to the inputs, with the logits at `x`.
    static func objectiveGradient<M: LogitGradientAccess>(_ model: M, at x: Tensor, labels: [Int], goal: AttackGoal,
                                                         loss: AttackLoss) -> (logits: Tensor, gradient: Tensor) {
        let result = model.logitsAndInputGradients(for: x) { logits in
            loss.objective(logits: logits, labels: labels, goal: goal).gradient
        }
        return (result.logits, result.inputGradients)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
