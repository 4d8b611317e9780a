// Reductions along axes, with their gradients.

extension Tensor {
    /// Normalises possibly negative axes and checks them against the rank.
    @usableFromInline
    func normalizedAxes(_ axes: [Int], _ opName: String) -> [Int] {
        axes.map { axis in
            let a = axis < 0 ? axis + rank : axis
            precondition(a >= 0 && a < rank, "Tensor.\(opName): axis \(axis) is out of range for shape \(shape)")
            return a
        }
    }

    /// The sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor {
        sum(toShape: []).reshaped(to: [])
    }

    /// The mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor {
        sum() * (1 / Float(Swift.max(scalarCount, 1)))
    }

    /// The sum along `axes`; reduced dimensions are kept with extent 1 when `keepingDimensions`.
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "sum(alongAxes:)")
        var kept = shape
        for axis in axes { kept[axis] = 1 }
        let reduced = sum(toShape: kept)
        if keepingDimensions { return reduced }
        return reduced.reshaped(to: shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
    }

    /// The mean along `axes`.
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "mean(alongAxes:)")
        let count = axes.reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepingDimensions: keepingDimensions) * (1 / Float(Swift.max(count, 1)))
    }

    /// The index of the largest element along `axis` for every position of the other axes, in
    /// row-major order of those positions (the first maximal element wins ties; NaN is never
    /// the maximum unless every element is NaN).
    public func argmax(alongAxis axis: Int) -> [Int] {
        let a = normalizedAxes([axis], "argmax")[0]
        let (_, along, inner) = splitExtents(axis: a)
        return flatIndicesOfMaximum(alongAxis: a).map { ($0 / inner) % along }
    }

    /// The largest element along `axis` (gradient to the first maximal element).
    public func max(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let a = normalizedAxes([axis], "max(alongAxis:)")[0]
        var outShape = shape
        outShape[a] = 1
        let indices = flatIndicesOfMaximum(alongAxis: a)
        let result = gathered(flatIndices: indices, shape: outShape)
        if keepingDimensions { return result }
        var squeezed = shape
        squeezed.remove(at: a)
        return result.reshaped(to: squeezed)
    }

    /// (product of extents before `axis`, extent of `axis`, product of extents after it).
    @usableFromInline
    func splitExtents(axis: Int) -> (Int, Int, Int) {
        var outer = 1, inner = 1
        for i in 0..<axis { outer *= shape[i] }
        for i in (axis + 1)..<rank { inner *= shape[i] }
        return (outer, shape[axis], inner)
    }

    /// Flat indices (into this tensor) of the first maximum along `axis`, in row-major order of
    /// the remaining positions.
    func flatIndicesOfMaximum(alongAxis axis: Int) -> [Int] {
        let a = normalizedAxes([axis], "argmax")[0]
        let (outer, along, inner) = splitExtents(axis: a)
        precondition(along > 0, "Tensor.argmax: axis \(axis) of shape \(shape) is empty")
        var result = [Int](repeating: 0, count: outer * inner)
        let x = storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = o * along * inner + i
                var bestValue = x[best]
                for k in 1..<along {
                    let index = (o * along + k) * inner + i
                    let v = x[index]
                    if v > bestValue || (bestValue.isNaN && !v.isNaN) { bestValue = v; best = index }
                }
                result[o * inner + i] = best
            }
        }
        return result
    }
}
