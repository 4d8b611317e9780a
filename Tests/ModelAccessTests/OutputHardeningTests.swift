import Foundation
import LabRandom
import ModelAccess
import Tensors
import Testing

/// A model answering fixed random probability rows (distinct entries, no ties), one per input in
/// the order of the batch's first feature (the row index).
struct TableModel: ProbabilityAccess {
    let rows: [[Float]]
    var classCount: Int { rows[0].count }

    init(count: Int, classes: Int, seed: UInt64) {
        var r = LabRandom(seed: seed)
        rows = (0..<count).map { _ in
            let raw = (0..<classes).map { _ in Float(exp(r.nextDouble() * 4)) }
            let sum = raw.reduce(0, +)
            return raw.map { $0 / sum }
        }
    }

    func probabilities(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0]
        return Tensor(shape: [n, classCount], scalars: (0..<n).flatMap { rows[Int(inputs.scalars[$0])] })
    }

    static func indices(_ range: Range<Int>) -> Tensor { Tensor(shape: [range.count, 1], scalars: range.map(Float.init)) }
}

@Suite("Output hardening")
struct OutputHardeningTests {
    let model = TableModel(count: 200, classes: 10, seed: 3)
    var inputs: Tensor { TableModel.indices(0..<200) }

    func rows(_ policy: OutputPolicy) -> [[Float]] {
        let p = HardenedModel(model, policy: policy).probabilities(for: inputs).scalars
        return (0..<200).map { Array(p[$0 * 10..<($0 + 1) * 10]) }
    }

    @Test("top-k keeps exactly the k largest entries nonzero; renormalised rows sum to 1, raw ones keep their values; the label is kept")
    func topK() {
        for k in [1, 3, 9] {
            for (i, (kept, raw)) in zip(rows(.topK(k, renormalized: true)), rows(.topK(k, renormalized: false))).enumerated() {
                let original = model.rows[i]
                let largest = Set(original.indices.sorted { original[$0] > original[$1] }.prefix(k))
                #expect(Set(kept.indices.filter { kept[$0] > 0 }) == largest)
                #expect(Set(raw.indices.filter { raw[$0] > 0 }) == largest)
                #expect(abs(kept.reduce(0, +) - 1) < 1e-5)
                for j in largest { #expect(raw[j] == original[j]) }
                #expect(kept.firstIndex(of: kept.max()!) == original.firstIndex(of: original.max()!))
            }
        }
        #expect(rows(.topK(10, renormalized: true)) == model.rows)
    }

    @Test("label-only answers are one-hot vectors of the model's predicted class")
    func labelOnly() {
        let labels = model.predictedLabels(for: inputs)
        for (row, label) in zip(rows(.labelOnly), labels) {
            #expect(row.filter { $0 == 1 }.count == 1 && row.filter { $0 == 0 }.count == 9 && row[label] == 1)
        }
        #expect(HardenedModel(model, policy: .labelOnly).predictedLabels(for: inputs) == labels)
    }

    @Test("rounding to d decimals gives multiples of 10^-d within half a unit of the true probability")
    func rounding() {
        for d in [0, 1, 2, 3] {
            let unit = Float(pow(10.0, Double(-d)))
            for (row, original) in zip(rows(.rounded(decimals: d)), model.rows) {
                for (v, p) in zip(row, original) {
                    #expect(abs(v - p) <= unit / 2 + 1e-6)
                    let steps = v / unit
                    #expect(abs(steps - steps.rounded()) < 1e-3)
                }
            }
        }
        #expect(rows(.full) == model.rows)
    }

    @Test("policy names round-trip; malformed names are refused")
    func names() {
        for policy: OutputPolicy in [.full, .labelOnly, .topK(3, renormalized: true), .topK(1, renormalized: false), .rounded(decimals: 2)] {
            #expect(OutputPolicy(name: policy.description) == policy)
        }
        for bad in ["top-0", "top-", "round-9", "round-x", "labels", "top-2-rawx", ""] { #expect(OutputPolicy(name: bad) == nil, "\(bad)") }
    }

    @Test("the query counter counts every input of every call once, probability and label queries alike, across copies")
    func counting() {
        let counted = QueryCountingModel(model)
        #expect(counted.queries == 0)
        _ = counted.probabilities(for: TableModel.indices(0..<7))
        let copy = counted
        _ = copy.predictedLabels(for: TableModel.indices(3..<20))
        _ = HardenedModel(counted, policy: .labelOnly).probabilities(for: TableModel.indices(0..<5))
        #expect(counted.queries == 7 + 17 + 5)
        #expect(counted.probabilities(for: TableModel.indices(0..<4)).scalars == model.probabilities(for: TableModel.indices(0..<4)).scalars)
    }
}
