#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// A per-example number computed from a model's logits z (one row) and the true label y, in
/// Double precision. With p = softmax(z) and lse = log Σⱼ exp zⱼ:
///
/// - `loss`: cross-entropy, lse − z_y (Yeom et al. 2018). Members have lower loss.
/// - `confidence`: p_y, the probability of the true label. Members have higher confidence.
/// - `scaledLogit`: φ = log(p_y / (1 − p_y)), the logit-scaled confidence of LiRA (Carlini et al.
///   2022, §IV.B), whose distribution over training runs is close to Gaussian. Computed as
///   z_y − log Σ_{j≠y} exp zⱼ, which never forms 1 − p_y and so stays exact when p_y rounds to 1.
/// - `entropy`: −Σⱼ pⱼ log pⱼ (Song & Mittal 2021). Members have lower entropy.
/// - `modifiedEntropy`: −(1 − p_y) log p_y − Σ_{j≠y} pⱼ log(1 − pⱼ) (Song & Mittal, "Systematic
///   Evaluation of Privacy Risks of Machine Learning Models", USENIX Security 2021, §3.2): like the
///   entropy, but it grows when a confident prediction is wrong. Members have lower values.
///
/// Logs of probabilities are taken from the logits (log pⱼ = zⱼ − lse), and 1 − pⱼ is summed from
/// the other classes when pⱼ > ½, so no signal loses precision to cancellation.
public enum PredictionSignal: String, Sendable, Hashable, Codable, CaseIterable {
    case loss
    case confidence
    case scaledLogit = "scaled-logit"
    case entropy
    case modifiedEntropy = "modified-entropy"

    /// Whether members tend to have larger values (so the value itself is a membership score).
    public var increasesWithMembership: Bool {
        switch self {
        case .confidence, .scaledLogit: return true
        case .loss, .entropy, .modifiedEntropy: return false
        }
    }

    /// The signal of each row of `logits` [N, C] against `labels`.
    /// - Throws: `MembershipInferenceError.shapeMismatch` when `logits` is not [labels.count, C]
    ///   with C ≥ 1, `.invalidParameter` naming the first label outside `0..<C` (labels and
    ///   logits may come from different sources: a user's data and an imported model).
    /// - Complexity: O(N·C) (O(N·C²) for the modified entropy's confident wrong classes).
    public func values(logits: Tensor, labels: [Int]) throws(MembershipInferenceError) -> [Double] {
        guard logits.rank == 2, logits.shape[0] == labels.count, logits.shape[1] >= 1 else {
            throw .shapeMismatch("logits of shape \(logits.shape) do not match \(labels.count) labels (expected [\(labels.count), classes])")
        }
        let n = logits.shape[0], c = logits.shape[1]
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= c }) {
            throw .invalidParameter("record \(bad) has label \(labels[bad]), outside the \(c) classes 0..<\(c) of the logits")
        }
        var out = [Double](repeating: 0, count: n)
        var row = [Double](repeating: 0, count: c)
        logits.withUnsafeBufferPointer { z in
            out.withUnsafeMutableBufferPointer { o in
                row.withUnsafeMutableBufferPointer { r in
                    for i in 0..<n {
                        let y = labels[i]
                        for j in 0..<c { r[j] = Double(z[i * c + j]) }
                        o[i] = value(row: r, label: y)
                    }
                }
            }
        }
        return out
    }

    /// The signal of one row of logits.
    func value(row r: UnsafeMutableBufferPointer<Double>, label y: Int) -> Double {
        let c = r.count
        // lse = m + log1p(Σ_{j≠top} exp(zⱼ − m)), so that tiny losses of confident correct
        // predictions are not rounded to zero.
        var top = 0
        for j in 1..<c where r[j] > r[top] { top = j }
        let m = r[top].isFinite ? r[top] : 0
        var rest = 0.0
        for j in 0..<c where j != top { rest += exp(r[j] - m) }
        let lse = m + log1p(rest)
        switch self {
        case .loss:
            return (m - r[y]) + log1p(rest)
        case .confidence:
            return exp(r[y] - lse)
        case .scaledLogit:
            return r[y] - Self.logSumExp(r, excluding: y)
        case .entropy:
            var h = 0.0
            for j in 0..<c {
                let logP = r[j] - lse
                let p = exp(logP)
                if p > 0 { h -= p * logP }
            }
            return h
        case .modifiedEntropy:
            let logPy = r[y] - lse
            // 1 − p_y from the other classes: exact when p_y is close to 1.
            let oneMinusPy = exp(Self.logSumExp(r, excluding: y) - lse)
            var value = -oneMinusPy * logPy
            for j in 0..<c where j != y {
                let logP = r[j] - lse
                let p = exp(logP)
                let logOneMinusP = p < 0.5 ? log1p(-p) : Self.logSumExp(r, excluding: j) - lse
                value -= p * logOneMinusP
            }
            return value
        }
    }

    /// log Σ_{j≠k} exp r[j] (−∞ when there is no other class).
    static func logSumExp(_ r: UnsafeMutableBufferPointer<Double>, excluding k: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<r.count where j != k && r[j] > m { m = r[j] }
        guard m.isFinite else { return m }
        var total = 0.0
        for j in 0..<r.count where j != k { total += exp(r[j] - m) }
        return m + log(total)
    }
}
