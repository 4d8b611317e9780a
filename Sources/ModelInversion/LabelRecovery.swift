import ModelAccess
import Tensors

/// Analytic recovery of the labels of a client's batch from its update.
///
/// iDLG (Zhao, Mopuri, Bilen, "iDLG: Improved Deep Leakage from Gradients", 2020): with softmax
/// cross-entropy, the gradient of the last layer's bias for one example is p − onehot(y), whose
/// only negative entry is at the label; the weight gradient's rows are (p_c − y_c)·h, and with
/// non-negative features h (after ReLU or sigmoid) the label's row is the only one with a
/// negative sum. For one example both rules are exact whatever the parameters.
///
/// For a batch of B the mean bias gradient is (1/B)·Σₙ(pₙ − onehot(yₙ)), so the count of class c
/// is nᶜ = Σₙ pₙᶜ − B·gᶜ. The sum of probabilities is unknown; it is estimated as B times the
/// model's softmax on a mid-range input (an untrained network's output varies little with its
/// input), and the counts are rounded to sum to B by largest remainders, every class with a
/// negative bias gradient getting at least one. This is the estimator of Wainakh et al.
/// ("User-Level Label Leakage from Gradients in Federated Learning", PETS 2022) in its simplest
/// form: exact for B = 1, approximate beyond.
///
/// The model is reached through `ModelAccess`: its architecture (the last parametric layer must
/// be dense), its parameters' shapes and, for batches, its probabilities on the probe input.
public enum LabelRecovery {
    /// The index of the last layer's weight and bias in the parameter list.
    static func lastLayer(of model: some ArchitectureAccess) throws(InversionError) -> (weight: Int, bias: Int?) {
        let layers = model.layerSummaries
        guard let last = layers.lastIndex(where: { !$0.parameterRange.isEmpty }) else {
            throw .unsupportedArchitecture(attack: "label recovery", reason: "the model has no parametric layer")
        }
        guard case let .dense(_, _, bias) = layers[last].kind else {
            throw .unsupportedArchitecture(attack: "label recovery", reason: "the last parametric layer is \(layers[last].description), not a dense layer")
        }
        let weight = layers[last].parameterRange.lowerBound
        return (weight, bias ? weight + 1 : nil)
    }

    /// iDLG: the label of a single example from its gradient (or −delta/η·steps of an update).
    /// - Throws: `InversionError` when the update does not fit the model or the model does not
    ///   end in a dense layer.
    public static func singleLabel(model: some ArchitectureAccess, update: ObservedUpdate) throws(InversionError) -> Int {
        try update.validate(for: model)
        let g = update.averagedGradient
        let (w, b) = try lastLayer(of: model)
        if let b { return g[b].scalars.enumerated().min { $0.element < $1.element }!.offset }
        let rows = g[w].sum(alongAxes: [1]).scalars
        return rows.enumerated().min { $0.element < $1.element }!.offset
    }

    /// The labels of a batch of `batchSize` examples, sorted (the order of a batch is not
    /// identifiable from its mean gradient). iDLG's exact rule when `batchSize` is 1.
    public static func batchLabels(model: some DifferentiableModel & ArchitectureAccess, update: ObservedUpdate,
                                   batchSize: Int) throws(InversionError) -> [Int] {
        guard batchSize >= 1 else { throw .invalidConfiguration("batch size must be ≥ 1, got \(batchSize)") }
        if batchSize == 1 { return [try singleLabel(model: model, update: update)] }
        try update.validate(for: model)
        let (w, b) = try lastLayer(of: model)
        let g = update.averagedGradient
        let classes = model.classCount
        let gb: [Float] = b.map { g[$0].scalars } ?? g[w].mean(alongAxes: [1]).scalars
        let probe = Tensor(repeating: 0.5, shape: [1] + model.inputShape)
        let p = model.probabilities(for: probe).scalars
        let B = Double(batchSize)
        var estimate = (0..<classes).map { c in max(0, B * (Double(p[c]) - Double(gb[c]))) }
        // Every class with a negative bias gradient is present.
        var counts = [Int](repeating: 0, count: classes)
        for c in 0..<classes where gb[c] < 0 { counts[c] = 1; estimate[c] = max(0, estimate[c] - 1) }
        var remaining = batchSize - counts.reduce(0, +)
        if remaining < 0 {
            // More negative classes than examples: keep the most negative.
            let order = (0..<classes).filter { counts[$0] == 1 }.sorted { gb[$0] < gb[$1] }
            for c in order.dropFirst(batchSize) { counts[c] = 0 }
            remaining = 0
        }
        let total = estimate.reduce(0, +)
        if remaining > 0 {
            let scaled = estimate.map { total > 0 ? $0 / total * Double(remaining) : Double(remaining) / Double(classes) }
            for c in 0..<classes { counts[c] += Int(scaled[c].rounded(.down)) }
            var left = batchSize - counts.reduce(0, +)
            let order = (0..<classes).sorted { (scaled[$0] - scaled[$0].rounded(.down)) > (scaled[$1] - scaled[$1].rounded(.down)) }
            var k = 0
            while left > 0 { counts[order[k % classes]] += 1; left -= 1; k += 1 }
        }
        return (0..<classes).flatMap { [Int](repeating: $0, count: counts[$0]) }
    }

    /// The fraction of `truth`'s labels that `recovered` contains, as multisets:
    /// Σ_c min(n̂_c, n_c) / B.
    public static func accuracy(recovered: [Int], truth: [Int]) -> Double {
        guard !truth.isEmpty else { return 1 }
        var counts: [Int: Int] = [:]
        for y in truth { counts[y, default: 0] += 1 }
        var hits = 0
        for y in recovered where (counts[y] ?? 0) > 0 { hits += 1; counts[y]! -= 1 }
        return Double(hits) / Double(truth.count)
    }
}
