/// A dense, contiguous, row-major tensor of `Float` values with up to four dimensions.
///
/// `Tensor` is a value type: copies share storage until one of them is mutated (copy on write).
/// A tensor may carry a node of the autodiff graph (see `Tensor+Autodiff.swift`): every
/// differentiable operation whose inputs require gradients records how to propagate them, so
/// that `gradients(of:withRespectTo:)` can compute the gradient of a scalar with respect to any
/// tensor of the computation — parameters or inputs — and, with `createGraph: true`, return
/// gradients that are themselves differentiable (higher-order gradients).
///
/// Shapes are checked at every operation; a mismatch stops with a message naming both shapes.
/// Tensors of rank 0 hold one scalar.
public struct Tensor: @unchecked Sendable {
    /// The extent of each dimension, outermost first.
    public let shape: [Int]
    @usableFromInline var storage: TensorStorage
    @usableFromInline var node: GradientNode?

    /// The largest rank a tensor may have.
    public static let maximumRank = 4

    @usableFromInline
    init(shape: [Int], storage: TensorStorage, node: GradientNode? = nil) {
        precondition(shape.count <= Tensor.maximumRank,
                     "Tensor: rank \(shape.count) exceeds the maximum of \(Tensor.maximumRank) (shape \(shape))")
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(Tensor.elementCount(shape) == storage.count,
                     "Tensor: shape \(shape) needs \(Tensor.elementCount(shape)) values, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// A tensor of the given shape holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(Tensor.elementCount(shape) == scalars.count,
                     "Tensor: shape \(shape) needs \(Tensor.elementCount(shape)) values, got \(scalars.count)")
        let storage = TensorStorage(count: scalars.count)
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: scalars.count) }
        }
        self.init(shape: shape, storage: storage)
    }

    /// A tensor of the given shape whose values are written by `body` into uninitialised memory.
    /// `body` must write every element.
    @inlinable
    public init(shape: [Int], unsafeUninitializedScalars body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let storage = TensorStorage(count: Tensor.elementCount(shape))
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
        self.init(shape: shape, storage: storage)
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        let storage = TensorStorage(count: Tensor.elementCount(shape))
        storage.pointer.initialize(repeating: value, count: storage.count)
        self.init(shape: shape, storage: storage)
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Float) { self.init(repeating: value, shape: []) }

    /// A rank-1 tensor holding `values`.
    public init(_ values: [Float]) { self.init(shape: [values.count], scalars: values) }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The number of elements (the product of the extents).
    @inlinable public var scalarCount: Int { storage.count }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The single element of a tensor with one element.
    public var scalar: Float {
        precondition(storage.count == 1, "Tensor.scalar: tensor of shape \(shape) has \(storage.count) elements")
        return storage.pointer[0]
    }

    /// Calls `body` with the elements in row-major order.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Calls `body` with mutable access to the elements, copying the storage first if it is shared.
    ///
    /// Mutation does not record anything in the autodiff graph: use it for optimizer updates and
    /// other work outside differentiation.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The number of elements of a tensor of the given shape.
    @inlinable
    public static func elementCount(_ shape: [Int]) -> Int {
        var count = 1
        for extent in shape { count *= extent }
        return count
    }
}

/// The reference-counted buffer behind one or more tensors.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    @usableFromInline let count: Int
    @usableFromInline let pointer: UnsafeMutablePointer<Float>

    @usableFromInline
    init(count: Int) {
        self.count = count
        // 64-byte alignment suits AVX-512 loads and BLAS kernels.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    @usableFromInline
    func copy() -> TensorStorage {
        let result = TensorStorage(count: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

// MARK: - Description

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        let more = scalarCount > 8 ? ", …" : ""
        return "Tensor(shape: \(shape), [\(shown)\(more)]\(node != nil ? ", requires gradient" : ""))"
    }
}
