import Foundation
import LabRandom
import ModelAccess
import Tensors

/// A model whose logits are a fixed table: input row i (its first feature holds i) gets row i
/// of the table. Attacks see it only through `LogitAccess`.
struct TableModel: LogitAccess {
    let table: [[Float]]
    var classCount: Int { table[0].count }

    func logits(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], width = inputs.scalarCount / max(1, n)
        let x = inputs.scalars
        var out: [Float] = []
        for i in 0..<n { out.append(contentsOf: table[Int(x[i * width])]) }
        return Tensor(shape: [n, classCount], scalars: out)
    }
}

/// A label-only model: class 1 when the first feature is positive, else class 0.
struct SignModel: LabelAccess {
    var classCount: Int { 2 }
    func predictedLabels(for inputs: Tensor) -> [Int] {
        let n = inputs.shape[0], width = inputs.scalarCount / max(1, n)
        let x = inputs.scalars
        return (0..<n).map { x[$0 * width] > 0 ? 1 : 0 }
    }
}

/// Rank correlation (Spearman, no ties expected).
func spearman(_ a: [Double], _ b: [Double]) -> Double {
    func ranks(_ v: [Double]) -> [Double] {
        var r = [Double](repeating: 0, count: v.count)
        for (rank, i) in v.indices.sorted(by: { v[$0] < v[$1] }).enumerated() { r[i] = Double(rank) }
        return r
    }
    let ra = ranks(a), rb = ranks(b)
    let n = Double(a.count), mean = (n - 1) / 2
    var num = 0.0, da = 0.0, db = 0.0
    for i in a.indices {
        num += (ra[i] - mean) * (rb[i] - mean)
        da += (ra[i] - mean) * (ra[i] - mean)
        db += (rb[i] - mean) * (rb[i] - mean)
    }
    return num / (da * db).squareRoot()
}
