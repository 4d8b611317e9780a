public import ModelAccess
import Tensors

// What a client of the endpoint sees of each answer: the output hardening of `ModelAccess`
// (`OutputPolicy`, the same defence the extraction and membership kinds measure), written as JSON.

extension OutputPolicy {
    /// Reads a policy by the name `description` writes: `full`, `label-only`, `top-K` (the K
    /// largest, renormalised), `top-K-raw` (as the model gave them) or `round-D` (D = 0…8).
    /// - Throws: `ServingError` naming the text and the accepted forms.
    public init(serving text: String) throws(ServingError) {
        guard let policy = OutputPolicy(name: text) else {
            throw ServingError("output '\(text.prefix(40))': use full, label-only, top-K, top-K-raw (K ≥ 1) or round-D (D = 0…8)")
        }
        self = policy
    }

    /// One row's answer: the model's predicted label (the first largest probability), and the
    /// (class, probability) pairs the policy lets through: every class in class order for `full`
    /// and `round-D`, the K kept classes largest first for `top-K`, none for `label-only`.
    public func answer(_ probabilities: ArraySlice<Float>) -> (label: Int, classes: [(Int, Double)]) {
        let row = Array(probabilities)
        var label = 0
        for k in row.indices where row[k] > row[label] { label = k }
        if case .labelOnly = self { return (label, []) }
        let shown = apply(to: Tensor(shape: [1, row.count], scalars: row)).scalars
        if case let .topK(k, _) = self {
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            return (label, order.prefix(k).map { ($0, Double(shown[$0])) })
        }
        if case let .rounded(d) = self {
            // The Float rounded by `apply`, written as the decimal it stands for.
            var scale = 1.0
            for _ in 0..<d { scale *= 10 }
            return (label, row.indices.map { ($0, (Double(shown[$0]) * scale).rounded() / scale) })
        }
        return (label, row.indices.map { ($0, Double(shown[$0])) })
    }
}
