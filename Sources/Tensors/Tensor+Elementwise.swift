#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CKernels

// Element-wise unary operations, each with its derivative written in differentiable
// operations (so that second derivatives are available).

extension Tensor {
    /// Applies a vectorised C kernel `y = f(x)` to every element (no autodiff).
    @inline(__always)
    func mapKernel(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let n = scalarCount
        let source = storage.pointer
        return Tensor(shape: shape) { out in if n > 0 { kernel(source, out.baseAddress!, n) } }
    }

    /// Applies `op` to every element (no autodiff).
    @inlinable
    func map(_ op: (Float) -> Float) -> Tensor {
        let n = scalarCount
        let source = storage.pointer
        return Tensor(shape: shape) { out in
            for i in 0..<n { out[i] = op(source[i]) }
        }
    }

    /// eˣ, element-wise (PrivacyLab's vectorised kernel: within 2 ulp; results below the
    /// smallest normal float flush to 0).
    public func exp() -> Tensor {
        let x = self
        let y = mapKernel { pl_exp($0, $1, $2) }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            [g * (GradientRecording.isEnabled ? x.exp() : saved)]
        }
    }

    /// Natural logarithm, element-wise.
    public func log() -> Tensor {
        let x = self
        return map { Glibc.logf($0) }.recorded(inputs: [x]) { g, _ in [g / x] }
    }

    /// Square root, element-wise.
    public func squareRoot() -> Tensor {
        let x = self
        let y = map { $0.squareRoot() }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            [g / ((GradientRecording.isEnabled ? x.squareRoot() : saved) * Float(2))]
        }
    }

    /// x², element-wise.
    public func squared() -> Tensor {
        let x = self
        return map { $0 * $0 }.recorded(inputs: [x]) { g, _ in [g * x * Float(2)] }
    }

    /// xᵖ for a constant exponent, element-wise.
    public func raised(to p: Float) -> Tensor {
        let x = self
        return map { Glibc.powf($0, p) }.recorded(inputs: [x]) { g, _ in [g * x.raised(to: p - 1) * p] }
    }

    /// |x|, element-wise; the subgradient at 0 is 0.
    public func absolute() -> Tensor {
        let x = self
        return map { Swift.abs($0) }.recorded(inputs: [x]) { g, _ in
            [g * x.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        }
    }

    /// max(x, 0), element-wise; the subgradient at 0 is 0.
    public func relu() -> Tensor {
        let x = self
        return mapKernel { pl_relu($0, $1, $2) }.recorded(inputs: [x]) { g, _ in
            if GradientRecording.isEnabled { return [g * x.map { $0 > 0 ? 1 : 0 }] }
            // First order: one fused pass.
            return [Tensor.fusedBackward(g, x) { pl_relu_backward($0, $1, $2, $3) }]
        }
    }

    /// The logistic function 1 / (1 + e⁻ˣ), element-wise, computed without overflow
    /// (1 / (1 + e⁻ˣ) for x ≥ 0, eˣ / (1 + eˣ) below).
    public func sigmoid() -> Tensor {
        let x = self
        let y = mapKernel { pl_sigmoid($0, $1, $2) }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            if GradientRecording.isEnabled {
                let s = x.sigmoid()
                return [g * s * (1 - s)]
            }
            return [Tensor.fusedBackward(g, saved) { pl_sigmoid_backward($0, $1, $2, $3) }]
        }
    }

    /// Hyperbolic tangent, element-wise (PrivacyLab's vectorised kernel: within 2 ulp).
    public func tanh() -> Tensor {
        let x = self
        let y = mapKernel { pl_tanh($0, $1, $2) }
        let saved = y.detached()
        return y.recorded(inputs: [x]) { g, _ in
            if GradientRecording.isEnabled {
                let t = x.tanh()
                return [g * (1 - t * t)]
            }
            return [Tensor.fusedBackward(g, saved) { pl_tanh_backward($0, $1, $2, $3) }]
        }
    }

    /// A first-order backward pass `out = f(g, saved)` in one vectorised pass, for an upstream
    /// gradient with the shape of the saved output (broadcast first when it is not).
    static func fusedBackward(_ g: Tensor, _ saved: Tensor,
                              _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let upstream = g.shape == saved.shape ? g : g.broadcast(to: saved.shape)
        let n = saved.scalarCount, gp = upstream.storage.pointer, sp = saved.storage.pointer
        return Tensor(shape: saved.shape) { out in if n > 0 { kernel(gp, sp, out.baseAddress!, n) } }
    }

    /// log(1 + eˣ), element-wise, computed without overflow. Its derivative is the sigmoid.
    public func softplus() -> Tensor {
        let x = self
        return map { v in v > 0 ? v + Glibc.log1pf(Glibc.expf(-v)) : Glibc.log1pf(Glibc.expf(v)) }
            .recorded(inputs: [x]) { g, _ in [g * x.sigmoid()] }
    }

    /// Each element limited to `[lower, upper]`; the gradient is 1 strictly inside, 0 outside
    /// and at the bounds.
    public func clamped(lower: Float, upper: Float) -> Tensor {
        precondition(lower <= upper, "Tensor.clamped: lower bound \(lower) exceeds upper bound \(upper)")
        let x = self
        return map { Swift.min(Swift.max($0, lower), upper) }.recorded(inputs: [x]) { g, _ in
            [g * x.map { $0 > lower && $0 < upper ? 1 : 0 }]
        }
    }

    /// The sign of each element (−1, 0 or 1); not differentiable (its gradient is zero).
    public func sign() -> Tensor {
        map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    }

    /// 1 where `self > other` element-wise (broadcasting), else 0; not differentiable.
    public func isGreater(than other: Tensor) -> Tensor {
        Tensor.broadcastingMap(self, other, "isGreater") { $0 > $1 ? 1 : 0 }
    }

    /// The element-wise maximum of two tensors (broadcasting); ties send the gradient to `self`.
    public func maximum(_ other: Tensor) -> Tensor {
        let a = self, b = other
        let result = Tensor.broadcastingMap(a, b, "maximum") { Swift.max($0, $1) }
        return result.recorded(inputs: [a, b]) { g, wanted in
            let mask = Tensor.broadcastingMap(a, b, "maximum") { $0 >= $1 ? 1 : 0 }
            return [wanted[0] ? (g * mask).sum(toShape: a.shape) : nil,
                    wanted[1] ? (g * (1 - mask)).sum(toShape: b.shape) : nil]
        }
    }

    /// Whether every element is finite (no NaN or infinity).
    public var isFinite: Bool {
        withUnsafeBufferPointer { buffer in buffer.allSatisfy { $0.isFinite } }
    }
}
