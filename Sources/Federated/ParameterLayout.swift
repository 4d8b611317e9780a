import NeuralNetworks
import Tensors

/// A model's parameters laid out as one flat vector, in `Sequential.parameters` order.
///
/// Federated strategies and secure aggregation work on flat vectors (an update is a point of
/// ℝ^d); the layout converts between those vectors and the model's tensors.
///
/// Laws: `flatten(tensors(from: v)) == v` for every v of `count` values, and
/// `tensors(from: flatten(p))` has the values and shapes of p.
/// - Complexity: O(d) copies.
public struct ParameterLayout: Sendable, Equatable {
    /// The shape of each parameter tensor, in order.
    public let shapes: [[Int]]
    /// d, the total number of scalars.
    public let count: Int

    /// The layout of `model`'s parameters.
    public init(model: Sequential) {
        shapes = model.parameters.map(\.shape)
        count = model.parameterCount
    }

    /// The parameter tensors concatenated into one vector.
    public func flatten(_ parameters: [Tensor]) -> [Float] {
        precondition(parameters.map(\.shape) == shapes, "ParameterLayout: parameters of shapes \(parameters.map(\.shape)), expected \(shapes)")
        var flat = [Float](repeating: 0, count: count)
        flat.withUnsafeMutableBufferPointer { out in
            var offset = 0
            for p in parameters {
                p.withUnsafeBufferPointer { src in
                    (out.baseAddress! + offset).update(from: src.baseAddress!, count: src.count)
                    offset += src.count
                }
            }
        }
        return flat
    }

    /// The vector cut into tensors of `shapes`.
    public func tensors(from flat: [Float]) -> [Tensor] {
        precondition(flat.count == count, "ParameterLayout: \(flat.count) values, expected \(count)")
        var tensors: [Tensor] = []
        tensors.reserveCapacity(shapes.count)
        flat.withUnsafeBufferPointer { src in
            var offset = 0
            for shape in shapes {
                let n = Tensor.elementCount(shape)
                tensors.append(Tensor(shape: shape) { out in
                    out.baseAddress!.update(from: src.baseAddress! + offset, count: n)
                })
                offset += n
            }
        }
        return tensors
    }
}

/// Vector kernels over raw buffers used by the strategies.
enum VectorMath {
    /// y += a·x
    static func axpy(_ a: Double, _ x: [Float], _ y: inout [Double]) {
        precondition(x.count == y.count, "VectorMath.axpy: lengths \(x.count) and \(y.count)")
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for i in 0..<xs.count { ys[i] += a * Double(xs[i]) }
            }
        }
    }

    /// ‖x‖₂ accumulated in Double.
    static func norm(_ x: [Float]) -> Double {
        x.withUnsafeBufferPointer { xs in
            var s = 0.0
            for v in xs { s += Double(v) * Double(v) }
            return s.squareRoot()
        }
    }

    /// ‖x − y‖₂² accumulated in Double.
    static func squaredDistance(_ x: [Float], _ y: [Float]) -> Double {
        precondition(x.count == y.count, "VectorMath.squaredDistance: lengths \(x.count) and \(y.count)")
        return x.withUnsafeBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in
                var s = 0.0
                for i in 0..<xs.count { let d = Double(xs[i]) - Double(ys[i]); s += d * d }
                return s
            }
        }
    }

    /// global + delta (rounded to Float once).
    static func adding(_ global: [Float], _ delta: [Double]) -> [Float] {
        precondition(global.count == delta.count, "VectorMath.adding: lengths \(global.count) and \(delta.count)")
        var out = [Float](repeating: 0, count: global.count)
        global.withUnsafeBufferPointer { g in
            delta.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<g.count { o[i] = Float(Double(g[i]) + d[i]) }
                }
            }
        }
        return out
    }
}
