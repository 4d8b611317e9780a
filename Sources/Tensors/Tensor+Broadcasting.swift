// Broadcasting (NumPy's rules: shapes are aligned on the right; an extent of 1 stretches) and
// the element-wise binary operations built on it.

extension Tensor {
    /// The shape two shapes broadcast to, or `nil` when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
        }
        return result
    }

    /// `shape` left-padded with ones to rank 4.
    @usableFromInline
    static func padded4(_ shape: [Int]) -> (Int, Int, Int, Int) {
        let p = [Int](repeating: 1, count: 4 - shape.count) + shape
        return (p[0], p[1], p[2], p[3])
    }

    /// Strides (in elements) of `shape` viewed as broadcast to `target` (both padded to rank 4):
    /// 0 along stretched dimensions.
    @usableFromInline
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> (Int, Int, Int, Int) {
        let s = [Int](repeating: 1, count: 4 - shape.count) + shape
        let t = [Int](repeating: 1, count: 4 - target.count) + target
        var strides = [0, 0, 0, 0]
        var running = 1
        for i in stride(from: 3, through: 0, by: -1) {
            strides[i] = (s[i] == 1 && t[i] != 1) ? 0 : running
            running *= s[i]
        }
        return (strides[0], strides[1], strides[2], strides[3])
    }

    /// Applies `op` element-wise to `a` and `b` broadcast together (no autodiff).
    @inlinable
    static func broadcastingMap(_ a: Tensor, _ b: Tensor, _ opName: StaticString,
                                _ op: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            let n = a.scalarCount
            return Tensor(shape: a.shape) { out in
                let x = a.storage.pointer, y = b.storage.pointer
                for i in 0..<n { out[i] = op(x[i], y[i]) }
            }
        }
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("Tensor.\(opName): shapes \(a.shape) and \(b.shape) cannot be broadcast together")
        }
        if b.scalarCount == 1 && shape == a.shape {
            let n = a.scalarCount, y = b.storage.pointer[0]
            return Tensor(shape: shape) { out in
                let x = a.storage.pointer
                for i in 0..<n { out[i] = op(x[i], y) }
            }
        }
        if a.scalarCount == 1 && shape == b.shape {
            let n = b.scalarCount, x = a.storage.pointer[0]
            return Tensor(shape: shape) { out in
                let y = b.storage.pointer
                for i in 0..<n { out[i] = op(x, y[i]) }
            }
        }
        let (d0, d1, d2, d3) = padded4(shape)
        let (a0, a1, a2, a3) = broadcastStrides(a.shape, to: shape)
        let (b0, b1, b2, b3) = broadcastStrides(b.shape, to: shape)
        return Tensor(shape: shape) { out in
            let x = a.storage.pointer, y = b.storage.pointer
            var o = 0
            for i0 in 0..<d0 {
                for i1 in 0..<d1 {
                    for i2 in 0..<d2 {
                        let xa = i0 * a0 + i1 * a1 + i2 * a2
                        let yb = i0 * b0 + i1 * b1 + i2 * b2
                        if a3 == 1 && b3 == 1 {
                            for i3 in 0..<d3 { out[o + i3] = op(x[xa + i3], y[yb + i3]) }
                        } else if a3 == 1 && b3 == 0 {
                            let yv = y[yb]
                            for i3 in 0..<d3 { out[o + i3] = op(x[xa + i3], yv) }
                        } else if a3 == 0 && b3 == 1 {
                            let xv = x[xa]
                            for i3 in 0..<d3 { out[o + i3] = op(xv, y[yb + i3]) }
                        } else {
                            for i3 in 0..<d3 { out[o + i3] = op(x[xa + i3 * a3], y[yb + i3 * b3]) }
                        }
                        o += d3
                    }
                }
            }
        }
    }

    /// Sums this tensor down to `target`, a shape it broadcasts from: the adjoint of
    /// broadcasting. Differentiable (its gradient broadcasts back).
    public func sum(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        guard Tensor.broadcastShape(target, shape) == shape else {
            preconditionFailure("Tensor.sum(toShape:): shape \(shape) does not broadcast from \(target)")
        }
        let source = self
        let result = Tensor.reduceSumKernel(self, to: target)
        return result.recorded(inputs: [self]) { g, _ in [g.broadcast(to: source.shape)] }
    }

    /// This tensor stretched to `target` by broadcasting. Differentiable.
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        guard Tensor.broadcastShape(shape, target) == target else {
            preconditionFailure("Tensor.broadcast(to:): shape \(shape) cannot be broadcast to \(target)")
        }
        let sourceShape = shape
        let zeros = Tensor(zeros: target)
        let result = Tensor.broadcastingMap(zeros, self, "broadcast") { _, y in y }
        return result.recorded(inputs: [self]) { g, _ in [g.sum(toShape: sourceShape)] }
    }

    /// Sum of `x` over the dimensions where `target` (left-padded with ones) has extent 1.
    @usableFromInline
    static func reduceSumKernel(_ x: Tensor, to target: [Int]) -> Tensor {
        let (d0, d1, d2, d3) = padded4(x.shape)
        let (o0, o1, o2, o3) = broadcastStrides(target, to: x.shape)
        var result = Tensor(zeros: target)
        result.withUnsafeMutableBufferPointer { out in
            let input = x.storage.pointer
            var k = 0
            for i0 in 0..<d0 {
                for i1 in 0..<d1 {
                    for i2 in 0..<d2 {
                        let base = i0 * o0 + i1 * o1 + i2 * o2
                        if o3 == 0 {
                            var acc: Float = 0
                            for i3 in 0..<d3 { acc += input[k + i3] }
                            out[base] += acc
                        } else {
                            for i3 in 0..<d3 { out[base + i3] += input[k + i3] }
                        }
                        k += d3
                    }
                }
            }
        }
        return result
    }
}

// MARK: - Arithmetic

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let result = broadcastingMap(a, b, "+") { $0 + $1 }
        return result.recorded(inputs: [a, b]) { g, wanted in
            [wanted[0] ? g.sum(toShape: a.shape) : nil, wanted[1] ? g.sum(toShape: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let result = broadcastingMap(a, b, "-") { $0 - $1 }
        return result.recorded(inputs: [a, b]) { g, wanted in
            [wanted[0] ? g.sum(toShape: a.shape) : nil, wanted[1] ? (-g).sum(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let result = broadcastingMap(a, b, "*") { $0 * $1 }
        return result.recorded(inputs: [a, b]) { g, wanted in
            [wanted[0] ? (g * b).sum(toShape: a.shape) : nil, wanted[1] ? (g * a).sum(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let result = broadcastingMap(a, b, "/") { $0 / $1 }
        return result.recorded(inputs: [a, b]) { g, wanted in
            [wanted[0] ? (g / b).sum(toShape: a.shape) : nil,
             wanted[1] ? (-(g * a) / (b * b)).sum(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor { a * Float(-1) }

    public static func + (a: Tensor, b: Float) -> Tensor {
        let result = broadcastingMap(a, Tensor(b), "+") { $0 + $1 }
        return result.recorded(inputs: [a]) { g, _ in [g] }
    }
    public static func + (a: Float, b: Tensor) -> Tensor { b + a }
    public static func - (a: Tensor, b: Float) -> Tensor { a + (-b) }
    public static func - (a: Float, b: Tensor) -> Tensor { (b * Float(-1)) + a }

    public static func * (a: Tensor, b: Float) -> Tensor {
        let result = broadcastingMap(a, Tensor(b), "*") { $0 * $1 }
        return result.recorded(inputs: [a]) { g, _ in [g * b] }
    }
    public static func * (a: Float, b: Tensor) -> Tensor { b * a }
    public static func / (a: Tensor, b: Float) -> Tensor { a * (1 / b) }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
}
