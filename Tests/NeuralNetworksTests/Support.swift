import Foundation
import LabRandom
import NeuralNetworks
import Tensors

enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }
}

/// Largest |a − b| / (atol + rtol·|b|); ≤ 1 means close.
func closeness(_ a: [Float], _ b: [Float], rtol: Float = 1e-3, atol: Float = 1e-5) -> Float {
    precondition(a.count == b.count, "closeness: \(a.count) vs \(b.count) values")
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / (atol + rtol * abs(y))) }
    return worst
}

func randomTensor(_ shape: [Int], _ random: inout LabRandom, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor(shape: shape) { random.fillUniform($0, low: low, high: high) }
}
