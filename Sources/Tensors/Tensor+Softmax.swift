#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CKernels

// Softmax, log-softmax and cross-entropy along the last axis, computed stably
// (the row maximum is subtracted before exponentiation).

extension Tensor {
    /// Splits the shape into (rows, width of the last axis).
    @usableFromInline
    var rowsAndWidth: (Int, Int) {
        precondition(rank >= 1, "Tensor: a rank-0 tensor has no last axis")
        let width = shape[rank - 1]
        return (width == 0 ? 0 : scalarCount / width, width)
    }

    /// (m, log Σⱼ exp(rowⱼ − m)) with m the row's maximum (0 when it is not finite), so that
    /// log Σⱼ exp rowⱼ = m + the second value without overflow. `scratch` (width floats)
    /// receives the shifted exponentials.
    @inline(__always)
    static func shiftedLogSumExp(_ row: UnsafeMutablePointer<Float>, _ width: Int,
                                 scratch: UnsafeMutablePointer<Float>) -> (Float, Float) {
        var m = -Float.infinity
        for j in 0..<width where row[j] > m { m = row[j] }
        if !m.isFinite { m = 0 }
        let total = pl_exp_shifted_sum(row, scratch, width, m)
        return (m, logf(total))
    }

    /// log-softmax along the last axis: xᵢ − log Σⱼ exp xⱼ.
    public func logSoftmax() -> Tensor {
        let x = self
        let (rows, width) = rowsAndWidth
        let source = storage.pointer
        let y = Tensor(shape: shape) { out in
            for r in 0..<rows {
                let row = source + r * width, target = out.baseAddress! + r * width
                let (m, logSum) = Tensor.shiftedLogSumExp(row, width, scratch: target)
                let lse = m + logSum
                for j in 0..<width { target[j] = row[j] - lse }
            }
        }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            // d/dx: g − softmax(x) · Σ g
            let p = GradientRecording.isEnabled ? x.softmax() : saved.exp()
            return [g - p * g.sum(alongAxes: [-1], keepingDimensions: true)]
        }
    }

    /// softmax along the last axis: exp xᵢ / Σⱼ exp xⱼ.
    public func softmax() -> Tensor {
        let x = self
        let (rows, width) = rowsAndWidth
        let source = storage.pointer
        let y = Tensor(shape: shape) { out in
            for r in 0..<rows {
                let row = source + r * width, target = out.baseAddress! + r * width
                var m = -Float.infinity
                for j in 0..<width where row[j] > m { m = row[j] }
                if !m.isFinite { m = 0 }
                let total = width > 0 ? pl_exp_shifted_sum(row, target, width, m) : 0
                let inverse = 1 / total
                for j in 0..<width { target[j] *= inverse }
            }
        }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            // d/dx: p ⊙ (g − Σ g ⊙ p)
            let p = GradientRecording.isEnabled ? x.softmax() : saved
            return [p * (g - (g * p).sum(alongAxes: [-1], keepingDimensions: true))]
        }
    }

    /// Per-example softmax cross-entropy of logits [n, classes] against integer labels:
    /// loss_i = log Σⱼ exp zᵢⱼ − zᵢ,yᵢ, shape [n].
    ///
    /// Its gradient with respect to the logits is (softmax(z) − onehot(y)) scaled by the
    /// upstream gradient, written in differentiable operations (second derivatives work).
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "Tensor.softmaxCrossEntropy: logits \(logits.shape) do not match \(labels.count) labels")
        let (rows, width) = (logits.shape[0], logits.shape[1])
        for label in labels {
            precondition(label >= 0 && label < width, "Tensor.softmaxCrossEntropy: label \(label) out of range 0..<\(width)")
        }
        let source = logits.storage.pointer
        let losses = Tensor(shape: [rows]) { out in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(width, 1)) { scratch in
                for r in 0..<rows {
                    let row = source + r * width
                    let (m, logSum) = Tensor.shiftedLogSumExp(row, width, scratch: scratch.baseAddress!)
                    out[r] = logSum - (row[labels[r]] - m)
                }
            }
        }
        return losses.recorded(inputs: [logits]) { g, _ in
            let oneHot = Tensor.oneHot(labels, classCount: width)
            return [(logits.softmax() - oneHot) * g.reshaped(to: [rows, 1])]
        }
    }

    /// Rows of the identity: row i has a 1 at column `labels[i]`.
    public static func oneHot(_ labels: [Int], classCount: Int) -> Tensor {
        Tensor(shape: [labels.count, classCount]) { out in
            out.initialize(repeating: 0)
            for (i, label) in labels.enumerated() {
                precondition(label >= 0 && label < classCount, "Tensor.oneHot: label \(label) out of range 0..<\(classCount)")
                out[i * classCount + label] = 1
            }
        }
    }
}
