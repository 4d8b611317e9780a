import Tensors

/// Image priors added to an inversion objective to favour natural-looking reconstructions.
public enum TotalVariation: Sendable, Equatable, Hashable {
    /// Mean absolute difference of horizontally and vertically adjacent pixels (anisotropic TV,
    /// as Inverting Gradients uses it): mean|x[h+1,w] − x[h,w]| + mean|x[h,w+1] − x[h,w]|.
    case anisotropic
    /// Mean squared difference of adjacent pixels: smooth everywhere, so plain gradient descent
    /// (MI-Face) does not chatter around zero differences.
    case squared

    /// The prior of a batch of images [N, C, H, W], as a differentiable rank-0 tensor (its
    /// second derivatives exist, so it can sit inside a gradient-matching loss).
    /// - Complexity: O(N·C·H·W).
    public func value(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "TotalVariation: expected images [N, C, H, W], got \(x.shape)")
        let (h, w) = (x.shape[2], x.shape[3])
        var terms: [Tensor] = []
        if h > 1 { terms.append(x.slice(axis: 2, 1..<h) - x.slice(axis: 2, 0..<(h - 1))) }
        if w > 1 { terms.append(x.slice(axis: 3, 1..<w) - x.slice(axis: 3, 0..<(w - 1))) }
        guard !terms.isEmpty else { return Tensor(0) }
        var total = Tensor(0)
        for d in terms {
            total = total + (self == .anisotropic ? d.absolute().mean() : d.squared().mean())
        }
        return total
    }
}

extension TotalVariation {
    /// The prior of each image of a batch [N, C, H, W] given as row-major values (no autodiff):
    /// `perImage(x)[i]` equals `value(x[i])`.
    /// - Complexity: O(N·C·H·W).
    public func perImage(_ values: [Float], shape: [Int]) -> [Double] {
        precondition(shape.count == 4 && values.count == Tensor.elementCount(shape),
                     "TotalVariation.perImage: \(values.count) values for shape \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let squared = self == .squared
        return values.withUnsafeBufferPointer { x in
            (0..<n).map { i in
                var vertical = 0.0, horizontal = 0.0
                for ch in 0..<c {
                    let base = (i * c + ch) * h * w
                    for r in 0..<h {
                        for col in 0..<w {
                            let v = x[base + r * w + col]
                            if r + 1 < h { let d = Double(x[base + (r + 1) * w + col] - v); vertical += squared ? d * d : abs(d) }
                            if col + 1 < w { let d = Double(x[base + r * w + col + 1] - v); horizontal += squared ? d * d : abs(d) }
                        }
                    }
                }
                var total = 0.0
                if h > 1 { total += vertical / Double(c * (h - 1) * w) }
                if w > 1 { total += horizontal / Double(c * h * (w - 1)) }
                return total
            }
        }
    }
}
