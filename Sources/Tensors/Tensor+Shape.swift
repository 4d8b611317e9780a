// Shape operations: reshape, permutation, slicing, gathering and concatenation.

extension Tensor {
    /// The same elements under a new shape with the same number of elements.
    public func reshaped(to newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == scalarCount,
                     "Tensor.reshaped: cannot reshape \(shape) (\(scalarCount) elements) to \(newShape)")
        let oldShape = shape
        return Tensor(shape: newShape, storage: storage)
            .recorded(inputs: [self]) { g, _ in [g.reshaped(to: oldShape)] }
    }

    /// Rows flattened: shape [N, rest…] becomes [N, product of rest].
    public func flattenedBatch() -> Tensor {
        precondition(rank >= 1, "Tensor.flattenedBatch: a rank-0 tensor has no batch dimension")
        return reshaped(to: [shape[0], scalarCount / Swift.max(shape[0], 1)])
    }

    /// The dimensions reordered: dimension i of the result is dimension `permutation[i]` of self.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.count == rank && Set(permutation) == Set(0..<rank),
                     "Tensor.permuted: \(permutation) is not a permutation of the axes of shape \(shape)")
        if permutation == Array(0..<rank) { return self }
        let newShape = permutation.map { shape[$0] }
        // Strides of self, read in the order of the result's dimensions.
        var strides = [Int](repeating: 0, count: rank)
        var running = 1
        for i in stride(from: rank - 1, through: 0, by: -1) { strides[i] = running; running *= shape[i] }
        let padding = 4 - rank
        let outShape4 = [Int](repeating: 1, count: padding) + newShape
        let s4 = [Int](repeating: 0, count: padding) + permutation.map { strides[$0] }
        let source = storage.pointer
        let result = Tensor(shape: newShape) { out in
            var o = 0
            for i0 in 0..<outShape4[0] {
                for i1 in 0..<outShape4[1] {
                    for i2 in 0..<outShape4[2] {
                        let base = i0 * s4[0] + i1 * s4[1] + i2 * s4[2]
                        let st = s4[3]
                        for i3 in 0..<outShape4[3] { out[o + i3] = source[base + i3 * st] }
                        o += outShape4[3]
                    }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return result.recorded(inputs: [self]) { g, _ in [g.permuted(inverse)] }
    }

    /// The transpose of a matrix.
    public func transposed() -> Tensor {
        precondition(rank == 2, "Tensor.transposed: expected a matrix, got shape \(shape)")
        return permuted([1, 0])
    }

    /// The elements with index in `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxes([axis], "slice")[0]
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "Tensor.slice: range \(range) is out of bounds for axis \(a) of shape \(shape)")
        let (outer, along, inner) = splitExtents(axis: a)
        var newShape = shape
        newShape[a] = range.count
        let source = storage.pointer
        let result = Tensor(shape: newShape) { out in
            let chunk = range.count * inner
            for o in 0..<outer {
                (out.baseAddress! + o * chunk).update(from: source + (o * along + range.lowerBound) * inner, count: chunk)
            }
        }
        let fullShape = shape
        return result.recorded(inputs: [self]) { g, _ in [g.padded(axis: a, to: fullShape, at: range.lowerBound)] }
    }

    /// This tensor placed at offset `start` along `axis` inside zeros of shape `full`: the
    /// adjoint of `slice`.
    public func padded(axis: Int, to full: [Int], at start: Int) -> Tensor {
        let a = normalizedAxes([axis], "padded")[0]
        let count = shape[a]
        precondition(full.count == rank && start >= 0 && start + count <= full[a],
                     "Tensor.padded: shape \(shape) does not fit in \(full) at \(start) along axis \(a)")
        var result = Tensor(zeros: full)
        let (outer, along, inner) = result.splitExtents(axis: a)
        let source = storage.pointer
        result.withUnsafeMutableBufferPointer { out in
            let chunk = count * inner
            for o in 0..<outer {
                (out.baseAddress! + (o * along + start) * inner).update(from: source + o * chunk, count: chunk)
            }
        }
        return result.recorded(inputs: [self]) { g, _ in [g.slice(axis: a, start..<(start + count))] }
    }

    /// Rows (index along axis 0) picked by `indices`, which may repeat.
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1, "Tensor.gatheringRows: a rank-0 tensor has no rows")
        let rows = shape[0], width = scalarCount / Swift.max(rows, 1)
        var newShape = shape
        newShape[0] = indices.count
        let source = storage.pointer
        let result = Tensor(shape: newShape) { out in
            for (r, index) in indices.enumerated() {
                precondition(index >= 0 && index < rows, "Tensor.gatheringRows: row \(index) out of range 0..<\(rows)")
                (out.baseAddress! + r * width).update(from: source + index * width, count: width)
            }
        }
        let fullShape = shape
        return result.recorded(inputs: [self]) { g, _ in [g.scatteringRows(indices, into: fullShape)] }
    }

    /// Rows added into zeros of shape `full` at `indices` (repeated indices accumulate): the
    /// adjoint of `gatheringRows`.
    public func scatteringRows(_ indices: [Int], into full: [Int]) -> Tensor {
        precondition(rank >= 1 && shape[0] == indices.count && Array(shape.dropFirst()) == Array(full.dropFirst()),
                     "Tensor.scatteringRows: shape \(shape) with \(indices.count) indices does not fit \(full)")
        var result = Tensor(zeros: full)
        let width = scalarCount / Swift.max(shape[0], 1)
        let source = storage.pointer
        result.withUnsafeMutableBufferPointer { out in
            for (r, index) in indices.enumerated() {
                let target = out.baseAddress! + index * width, row = source + r * width
                for j in 0..<width { target[j] += row[j] }
            }
        }
        return result.recorded(inputs: [self]) { g, _ in [g.gatheringRows(indices)] }
    }

    /// The elements at the given flat (row-major) indices, arranged in `shape`.
    public func gathered(flatIndices indices: [Int], shape newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == indices.count,
                     "Tensor.gathered: \(indices.count) indices cannot fill shape \(newShape)")
        let source = storage.pointer, n = scalarCount
        let result = Tensor(shape: newShape) { out in
            for (i, index) in indices.enumerated() {
                precondition(index >= 0 && index < n, "Tensor.gathered: index \(index) out of range 0..<\(n)")
                out[i] = source[index]
            }
        }
        let fullShape = shape
        return result.recorded(inputs: [self]) { g, _ in [g.scattered(flatIndices: indices, shape: fullShape)] }
    }

    /// Each element added into zeros of `shape` at its flat index: the adjoint of `gathered`.
    public func scattered(flatIndices indices: [Int], shape full: [Int]) -> Tensor {
        precondition(indices.count == scalarCount,
                     "Tensor.scattered: \(indices.count) indices for \(scalarCount) elements")
        var result = Tensor(zeros: full)
        let source = storage.pointer
        result.withUnsafeMutableBufferPointer { out in
            for (i, index) in indices.enumerated() { out[index] += source[i] }
        }
        let sourceShape = shape
        return result.recorded(inputs: [self]) { g, _ in [g.gathered(flatIndices: indices, shape: sourceShape)] }
    }

    /// Tensors joined along `axis`; all other extents must agree.
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "Tensor.concatenate: nothing to concatenate")
        let first = tensors[0]
        let a = first.normalizedAxes([axis], "concatenate")[0]
        for t in tensors {
            var x = t.shape, y = first.shape
            precondition(x.count == y.count, "Tensor.concatenate: shapes \(first.shape) and \(t.shape) differ in rank")
            x[a] = 0; y[a] = 0
            precondition(x == y, "Tensor.concatenate: shapes \(first.shape) and \(t.shape) differ off axis \(a)")
        }
        var newShape = first.shape
        newShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        var result = Tensor(zeros: newShape)
        let (outer, total, inner) = result.splitExtents(axis: a)
        result.withUnsafeMutableBufferPointer { out in
            var offset = 0
            for t in tensors {
                let chunk = t.shape[a] * inner
                for o in 0..<outer {
                    (out.baseAddress! + (o * total + offset) * inner).update(from: t.storage.pointer + o * chunk, count: chunk)
                }
                offset += t.shape[a]
            }
        }
        var starts: [Int] = []
        var running = 0
        for t in tensors { starts.append(running); running += t.shape[a] }
        return result.recorded(inputs: tensors) { g, wanted in
            tensors.indices.map { i in
                wanted[i] ? g.slice(axis: a, starts[i]..<(starts[i] + tensors[i].shape[a])) : nil
            }
        }
    }
}
