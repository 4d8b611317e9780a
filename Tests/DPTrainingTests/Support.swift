import LabRandom
import NeuralNetworks
import Tensors

/// Plain SGD without state (θ ← θ − ηg), to read the decorated gradient off the update.
struct SGDStub: Optimizer {
    mutating func step(parameters: inout [Tensor], gradients: [Tensor], learningRate: Float) {
        for p in parameters.indices {
            let g = gradients[p].scalars
            parameters[p].withUnsafeMutableBufferPointer { x in for i in x.indices { x[i] -= learningRate * g[i] } }
        }
    }
}

/// Two well-separated Gaussian blobs in d dimensions, labels 0 and 1.
func blobs(count: Int, dimensions d: Int, seed: UInt64) -> (Tensor, [Int]) {
    var random = LabRandom(seed: seed)
    var values = [Float](repeating: 0, count: count * d)
    var labels = [Int](repeating: 0, count: count)
    for n in 0..<count {
        let label = n % 2
        labels[n] = label
        for j in 0..<d {
            let center: Float = (j % 2 == 0 ? 1.5 : -1.0) * (label == 0 ? 1 : -1)
            values[n * d + j] = center + Float(random.nextNormal())
        }
    }
    return (Tensor(shape: [count, d], scalars: values), labels)
}
