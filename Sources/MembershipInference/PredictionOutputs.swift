#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// What one or more models answered on the same records, in the form an auditor holds it:
/// logits, probabilities, or only the loss of the true label — computed by the lab's own models
/// or elsewhere (a PyTorch model on a GPU, saved as `.npy`).
///
/// Values are stored row-major in (model, record, query, class) order: `queryCount` views of
/// each record (augmentations; 1 without), `classCount` numbers per view (1 for losses).
///
/// Every `PredictionSignal` is computed from logits as that type documents; from probabilities
/// and losses as follows, without ever forming 1 − p_y by subtraction:
///
/// - probabilities p (rows that sum to 1): loss −log p_y, confidence p_y, scaled logit
///   φ = log p_y − log Σ_{j≠y} p_j, entropy −Σ p_j log p_j, modified entropy with 1 − p_j taken
///   as Σ_{k≠j} p_k when p_j > ½. A probability of exactly 0 (or a Σ_{j≠y} p_j of exactly 0, as
///   float32 softmax outputs give for confident predictions) is read as the smallest normal
///   Double, so φ and the loss stay finite (|φ| ≤ 708): probabilities saturate where logits do
///   not, which is why logits are the better input.
/// - losses ℓ = −log p_y: loss ℓ, confidence e^{−ℓ}, φ = −ℓ − log(−expm1(−ℓ)) (= log p_y −
///   log(1 − p_y), exact for small ℓ), with −expm1(−ℓ) floored like the probabilities. The
///   entropies need the whole prediction vector and are not defined.
public struct PredictionOutputs: Sendable, Equatable {
    public enum Form: String, Sendable, Hashable, Codable {
        case logits, probabilities, losses
    }

    public let form: Form
    public let modelCount: Int
    public let recordCount: Int
    public let queryCount: Int
    /// Numbers per record and query: the classes (1 for losses).
    public let classCount: Int
    public let values: [Double]

    /// Outputs from flat values in (model, record, query, class) order.
    /// - Throws: `MembershipInferenceError.shapeMismatch` when the extents do not multiply to
    ///   `values.count`, or losses come with more than one number per row.
    public init(form: Form, modelCount: Int, recordCount: Int, queryCount: Int = 1, classCount: Int,
                values: [Double]) throws(MembershipInferenceError) {
        guard modelCount >= 0, recordCount >= 0, queryCount >= 1, classCount >= 1 else {
            throw .shapeMismatch("outputs need ≥ 0 models and records, ≥ 1 query and class; got \(modelCount)×\(recordCount)×\(queryCount)×\(classCount)")
        }
        guard form != .losses || classCount == 1 else { throw .shapeMismatch("losses have one number per record and query, not \(classCount)") }
        guard form == .losses || classCount >= 2 else { throw .shapeMismatch("\(form.rawValue) need at least two classes, got \(classCount)") }
        let (a, o1) = modelCount.multipliedReportingOverflow(by: recordCount)
        let (b, o2) = a.multipliedReportingOverflow(by: queryCount)
        let (total, o3) = b.multipliedReportingOverflow(by: classCount)
        guard !o1, !o2, !o3, total == values.count else {
            throw .shapeMismatch("\(values.count) values for \(modelCount) models × \(recordCount) records × \(queryCount) queries × \(classCount) classes")
        }
        self.form = form
        self.modelCount = modelCount
        self.recordCount = recordCount
        self.queryCount = queryCount
        self.classCount = classCount
        self.values = values
    }

    /// The logits of models on the same records, one tensor [records, classes] per model and
    /// query view (`logits[model][query]`), widened exactly to Double.
    public init(logits: [[Tensor]]) throws(MembershipInferenceError) {
        let models = logits.count
        guard let first = logits.first?.first else {
            try self.init(form: .logits, modelCount: 0, recordCount: 0, classCount: 2, values: [])
            return
        }
        let queries = logits[0].count
        guard first.rank == 2 else { throw .shapeMismatch("logits must be [records, classes], got \(first.shape)") }
        let (records, classes) = (first.shape[0], first.shape[1])
        guard logits.allSatisfy({ $0.count == queries && $0.allSatisfy { $0.shape == first.shape } }) else {
            throw .shapeMismatch("every model and query view must give logits of shape \(first.shape)")
        }
        let rowWidth = queries * classes
        var values = [Double](repeating: 0, count: models * records * rowWidth)
        values.withUnsafeMutableBufferPointer { out in
            for (m, views) in logits.enumerated() {
                for (q, tensor) in views.enumerated() {
                    tensor.withUnsafeBufferPointer { z in
                        for i in 0..<records {
                            let base = (m * records + i) * rowWidth + q * classes
                            for c in 0..<classes { out[base + c] = Double(z[i * classes + c]) }
                        }
                    }
                }
            }
        }
        try self.init(form: .logits, modelCount: models, recordCount: records, queryCount: queries, classCount: classes, values: values)
    }

    /// The outputs on the given records (columns), in that order.
    public func selecting(records: [Int]) -> PredictionOutputs {
        let width = queryCount * classCount
        var out = [Double](repeating: 0, count: modelCount * records.count * width)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for m in 0..<modelCount {
                    for (j, i) in records.enumerated() {
                        let from = (m * recordCount + i) * width, to = (m * records.count + j) * width
                        for k in 0..<width { o[to + k] = v[from + k] }
                    }
                }
            }
        }
        return try! PredictionOutputs(form: form, modelCount: modelCount, recordCount: records.count, queryCount: queryCount,
                                      classCount: classCount, values: out)
    }

    /// The outputs of the given models, in that order.
    public func selecting(models: [Int]) -> PredictionOutputs {
        let width = recordCount * queryCount * classCount
        var out: [Double] = []
        out.reserveCapacity(models.count * width)
        for m in models { out.append(contentsOf: values[(m * width)..<((m + 1) * width)]) }
        return try! PredictionOutputs(form: form, modelCount: models.count, recordCount: recordCount, queryCount: queryCount,
                                      classCount: classCount, values: out)
    }

    /// These outputs followed by `other`'s records (same models, queries and classes).
    public func appending(records other: PredictionOutputs) throws(MembershipInferenceError) -> PredictionOutputs {
        guard other.form == form, other.modelCount == modelCount, other.queryCount == queryCount, other.classCount == classCount else {
            throw .shapeMismatch("cannot join \(form.rawValue) of \(modelCount) models × \(queryCount) queries × \(classCount) classes with \(other.form.rawValue) of \(other.modelCount) × \(other.queryCount) × \(other.classCount)")
        }
        let width = queryCount * classCount
        var out: [Double] = []
        out.reserveCapacity(values.count + other.values.count)
        for m in 0..<modelCount {
            out.append(contentsOf: values[(m * recordCount * width)..<((m + 1) * recordCount * width)])
            out.append(contentsOf: other.values[(m * other.recordCount * width)..<((m + 1) * other.recordCount * width)])
        }
        return try PredictionOutputs(form: form, modelCount: modelCount, recordCount: recordCount + other.recordCount,
                                     queryCount: queryCount, classCount: classCount, values: out)
    }

    /// Whether `signal` can be computed from this form (the entropies need every class).
    public func provides(_ signal: PredictionSignal) -> Bool {
        form != .losses || signal == .loss || signal == .confidence || signal == .scaledLogit
    }

    /// The signal of every model, record and query, against the records' true `labels`.
    /// - Throws: `MembershipInferenceError` when the labels do not match the records, a label
    ///   is outside the classes, or the form does not provide the signal.
    /// - Complexity: O(models × records × queries × classes).
    public func signals(_ signal: PredictionSignal, labels: [Int]) throws(MembershipInferenceError) -> SignalMatrix {
        guard labels.count == recordCount else {
            throw .shapeMismatch("\(labels.count) labels for outputs on \(recordCount) records")
        }
        guard provides(signal) else {
            throw .invalidParameter("the \(signal.rawValue) signal needs logits or probabilities of every class; only losses were given")
        }
        if form != .losses, let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw .invalidParameter("record \(bad) has label \(labels[bad]), outside the \(classCount) classes 0..<\(classCount)")
        }
        let (rows, c, q) = (modelCount * recordCount * queryCount, classCount, queryCount)
        var out = [Double](repeating: 0, count: rows)
        var row = [Double](repeating: 0, count: c)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                row.withUnsafeMutableBufferPointer { r in
                    for index in 0..<rows {
                        let y = labels[(index / q) % recordCount]
                        switch form {
                        case .logits:
                            for j in 0..<c { r[j] = v[index * c + j] }
                            o[index] = signal.value(row: r, label: y)
                        case .probabilities:
                            o[index] = signal.value(probabilities: UnsafeBufferPointer(rebasing: v[(index * c)..<((index + 1) * c)]), label: y)
                        case .losses:
                            o[index] = signal.value(loss: v[index])
                        }
                    }
                }
            }
        }
        return SignalMatrix(modelCount: modelCount, exampleCount: recordCount, queryCount: queryCount, values: out)
    }
}

extension PredictionSignal {
    /// The smallest probability the signals use: log of anything smaller saturates here.
    static let probabilityFloor = Double.leastNormalMagnitude

    /// The signal of one row of probabilities (see `PredictionOutputs`).
    func value(probabilities p: UnsafeBufferPointer<Double>, label y: Int) -> Double {
        let floor = Self.probabilityFloor
        // 1 − p_j as the sum of the other classes, for p_j > ½ where subtraction cancels.
        func others(_ k: Int) -> Double {
            var total = 0.0
            for j in 0..<p.count where j != k { total += p[j] }
            return total
        }
        let py = Swift.max(p[y], floor)
        switch self {
        case .loss:
            return -log(py)
        case .confidence:
            return p[y]
        case .scaledLogit:
            return log(py) - log(Swift.max(others(y), floor))
        case .entropy:
            var h = 0.0
            for j in 0..<p.count where p[j] > 0 { h -= p[j] * log(p[j]) }
            return h
        case .modifiedEntropy:
            var value = -others(y) * log(py)
            for j in 0..<p.count where j != y && p[j] > 0 {
                let oneMinus = p[j] < 0.5 ? 1 - p[j] : others(j)
                value -= p[j] * log(Swift.max(oneMinus, floor))
            }
            return value
        }
    }

    /// The signal from the loss ℓ = −log p_y alone (loss, confidence and scaled logit).
    func value(loss: Double) -> Double {
        switch self {
        case .loss: return loss
        case .confidence: return exp(-loss)
        case .scaledLogit:
            // log p_y − log(1 − p_y) with 1 − p_y = −expm1(−ℓ), exact for small ℓ.
            return -loss - log(Swift.max(-expm1(-loss), Self.probabilityFloor))
        case .entropy, .modifiedEntropy:
            return .nan   // not reached: `provides` refuses these for losses
        }
    }
}
