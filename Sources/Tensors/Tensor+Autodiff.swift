/// Reverse-mode automatic differentiation, define-by-run.
///
/// Every differentiable operation whose inputs require gradients (while recording is enabled)
/// attaches a `GradientNode` to its result. The node keeps the input nodes and a backward
/// function that maps the gradient of the result to the gradients of the inputs. Backward
/// functions are written with the same differentiable operations, so when the backward pass
/// runs with recording enabled (`createGraph: true`) the gradients it returns carry nodes of
/// their own and can be differentiated again: a gradient-matching loss ‖∇θ L(x̂) − g‖² can be
/// differentiated with respect to x̂, and Hessian-vector products are gradients of ⟨∇f, v⟩.
///
/// Laws (checked by the tests with finite differences):
/// - `gradients(of: f, withRespectTo: [x])[0]` ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every i.
/// - With `createGraph: true`, `gradients(of: ⟨∇f(x), v⟩, withRespectTo: [x])` ≈ H(x)·v.
///
/// Caveat: non-smooth operations (ReLU, max, clamping, pooling) use a subgradient: 0 at ties
/// for ReLU and clamp bounds, the first maximal element for max and max pooling.
@usableFromInline
final class GradientNode: @unchecked Sendable {
    /// Nodes of the operation's inputs, `nil` for inputs that need no gradient.
    let inputs: [GradientNode?]
    /// Maps the gradient of the output to the gradient of each input; the flags say which input
    /// gradients are wanted (`nil` may be returned for the others).
    let backward: ((Tensor, [Bool]) -> [Tensor?])?
    /// The shape of the output, used to build zero seeds and check gradient shapes.
    let shape: [Int]

    init(inputs: [GradientNode?], shape: [Int], backward: ((Tensor, [Bool]) -> [Tensor?])?) {
        self.inputs = inputs
        self.shape = shape
        self.backward = backward
    }
}

/// Whether differentiable operations record the autodiff graph in the current task.
public enum GradientRecording {
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` without recording operations for differentiation (evaluation, optimizer steps).
@inlinable
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientRecording.$isEnabled.withValue(false) { try body() }
}

extension Tensor {
    /// Whether this tensor takes part in differentiation.
    public var requiresGradient: Bool { node != nil }

    /// This tensor's values as a new leaf of the autodiff graph: gradients can be taken with
    /// respect to it.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, storage: storage, node: GradientNode(inputs: [], shape: shape, backward: nil))
    }

    /// The same values, cut from the autodiff graph.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, node: nil)
    }

    /// Attaches a node for an operation with the given inputs, when recording is on and some
    /// input requires a gradient.
    @usableFromInline
    func recorded(inputs: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        guard GradientRecording.isEnabled else { return self }
        var anyRequires = false
        for input in inputs where input.node != nil { anyRequires = true; break }
        guard anyRequires else { return self }
        return Tensor(shape: shape, storage: storage,
                      node: GradientNode(inputs: inputs.map(\.node), shape: shape, backward: backward))
    }
}

/// The gradients of `output` with respect to each of `targets`.
///
/// - Parameters:
///   - output: the tensor to differentiate; a scalar unless `seed` is given.
///   - targets: tensors of the computation (leaves made with `requiringGradient()` or
///     intermediate results). A target the output does not depend on gets a zero gradient.
///   - seed: the gradient of some scalar with respect to `output` (a vector-Jacobian product);
///     defaults to 1 for a scalar output.
///   - createGraph: record the backward pass so that the returned gradients can be
///     differentiated again (higher-order gradients).
/// - Complexity: one backward function call per recorded operation on a path to a target.
public func gradients(of output: Tensor, withRespectTo targets: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false) -> [Tensor] {
    for target in targets {
        precondition(target.node != nil,
                     "gradients: a target of shape \(target.shape) does not require a gradient; make it with requiringGradient()")
    }
    let seedTensor: Tensor
    if let seed {
        precondition(seed.shape == output.shape,
                     "gradients: seed shape \(seed.shape) differs from output shape \(output.shape)")
        seedTensor = seed
    } else {
        precondition(output.scalarCount == 1,
                     "gradients: output of shape \(output.shape) is not a scalar; pass a seed")
        seedTensor = Tensor(repeating: 1, shape: output.shape)
    }
    guard let root = output.node else {
        return targets.map { Tensor(zeros: $0.shape) }
    }

    // Topological order (inputs before users) by iterative depth-first search.
    var order: [GradientNode] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(GradientNode, Int)] = [(root, 0)]
    visited.insert(ObjectIdentifier(root))
    while let (node, next) = stack.popLast() {
        if next < node.inputs.count {
            stack.append((node, next + 1))
            if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                stack.append((child, 0))
            }
        } else {
            order.append(node)
        }
    }

    // Which nodes lie on a path to a target.
    let targetIDs = Set(targets.map { ObjectIdentifier($0.node!) })
    var needed = Set<ObjectIdentifier>()
    for node in order {
        let id = ObjectIdentifier(node)
        if targetIDs.contains(id) || node.inputs.contains(where: { $0.map { needed.contains(ObjectIdentifier($0)) } ?? false }) {
            needed.insert(id)
        }
    }

    var accumulated: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seedTensor]
    GradientRecording.$isEnabled.withValue(createGraph) {
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard needed.contains(id), let backward = node.backward,
                  let upstream = accumulated[id] else { continue }
            if !targetIDs.contains(id) { accumulated[id] = nil }
            let wanted = node.inputs.map { $0.map { needed.contains(ObjectIdentifier($0)) } ?? false }
            guard wanted.contains(true) else { continue }
            let inputGradients = backward(upstream, wanted)
            for (index, input) in node.inputs.enumerated() where wanted[index] {
                guard let input, let gradient = inputGradients[index] else { continue }
                precondition(gradient.shape == input.shape,
                             "gradients: backward produced shape \(gradient.shape) for an input of shape \(input.shape)")
                let inputID = ObjectIdentifier(input)
                if let existing = accumulated[inputID] {
                    accumulated[inputID] = existing + gradient
                } else {
                    accumulated[inputID] = gradient
                }
            }
        }
    }
    return targets.map { target in
        let result = accumulated[ObjectIdentifier(target.node!)] ?? Tensor(zeros: target.shape)
        return createGraph ? result : result.detached()
    }
}

/// The value of `f` at `x` and its gradient with respect to `x`.
public func valueWithGradient(at x: Tensor, of f: (Tensor) -> Tensor) -> (value: Tensor, gradient: Tensor) {
    let leaf = x.requiringGradient()
    let value = f(leaf)
    return (value.detached(), gradients(of: value, withRespectTo: [leaf])[0])
}
