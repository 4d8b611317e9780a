import Tensors

// Output hardening: what a prediction API returns instead of its full probability vector. A
// decorator over any `ProbabilityAccess` (the defence wraps a model, it does not subclass it), so
// that an attack runs unchanged against the hardened answers.

/// What a hardened prediction API reveals of each probability vector.
///
/// Laws (for a row p of the model's probabilities):
/// - `.full` returns p.
/// - `.topK(k, renormalized:)` keeps the k largest entries of p (the lower class first among
///   ties) and sets the others to 0, so exactly min(k, classes) entries may be nonzero; with
///   `renormalized` the kept entries are divided by their sum (the row sums to 1), without it
///   they keep their values (the row sums to at most 1, as APIs that return "the top 5 scores" do).
///   The most probable class is kept, so the predicted label is unchanged.
/// - `.rounded(decimals: d)` returns round(p · 10ᵈ) / 10ᵈ per entry, not renormalised (Tramèr et
///   al. 2016 §7.1): rows need not sum to 1 and small probabilities become 0. Rounding can create
///   ties, so the argmax of the rounded row (first on ties) may differ from the model's.
/// - `.labelOnly` returns the one-hot vector of the model's predicted class.
public enum OutputPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    case full
    case topK(Int, renormalized: Bool)
    case rounded(decimals: Int)
    case labelOnly

    /// The policy's name in specs and metric names: `full`, `top-3`, `top-3-raw` (not
    /// renormalised), `round-2`, `label-only`.
    public var description: String {
        switch self {
        case .full: return "full"
        case let .topK(k, renormalized): return "top-\(k)" + (renormalized ? "" : "-raw")
        case let .rounded(d): return "round-\(d)"
        case .labelOnly: return "label-only"
        }
    }

    /// Reads a name written by `description`; nil for anything else (k ≥ 1, 0 ≤ d ≤ 8).
    public init?(name: String) {
        if name == "full" { self = .full; return }
        if name == "label-only" { self = .labelOnly; return }
        if name.hasPrefix("round-"), let d = Int(name.dropFirst(6)), (0...8).contains(d) { self = .rounded(decimals: d); return }
        if name.hasPrefix("top-") {
            var rest = Substring(name.dropFirst(4)), renormalized = true
            if rest.hasSuffix("-raw") { rest = rest.dropLast(4); renormalized = false }
            if let k = Int(rest), k >= 1 { self = .topK(k, renormalized: renormalized); return }
        }
        return nil
    }

    /// The policy applied to rows of probabilities [N, classes].
    /// - Complexity: O(N · classes · log classes).
    public func apply(to probabilities: Tensor) -> Tensor {
        let c = probabilities.shape[1], n = probabilities.shape[0]
        var p = probabilities.scalars
        switch self {
        case .full:
            return probabilities
        case let .topK(k, renormalized):
            guard k < c else { return probabilities }
            for i in 0..<n {
                let row = Array(p[i * c..<(i + 1) * c])
                let kept = Set((0..<c).sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k))
                var sum: Float = 0
                for j in 0..<c where kept.contains(j) { sum += row[j] }
                for j in 0..<c {
                    p[i * c + j] = kept.contains(j) ? (renormalized && sum > 0 ? row[j] / sum : row[j]) : 0
                }
            }
        case let .rounded(d):
            var scale: Float = 1
            for _ in 0..<d { scale *= 10 }
            for i in p.indices { p[i] = (p[i] * scale).rounded() / scale }
        case .labelOnly:
            for i in 0..<n {
                var best = 0
                for j in 1..<c where p[i * c + j] > p[i * c + best] { best = j }
                for j in 0..<c { p[i * c + j] = j == best ? 1 : 0 }
            }
        }
        return Tensor(shape: [n, c], scalars: p)
    }
}

/// A model whose probabilities are answered under an `OutputPolicy`: the defence of a prediction
/// API that hides part of its confidence. Its predicted labels are the argmax of the hardened
/// answers (what a client reading them sees).
///
/// Caveat: `.topK(_, renormalized: false)` and `.rounded` break `ProbabilityAccess`'s law that
/// rows sum to 1; attacks that need it renormalise what they read.
public struct HardenedModel<Base: ProbabilityAccess>: ProbabilityAccess {
    public let base: Base
    public let policy: OutputPolicy

    public init(_ base: Base, policy: OutputPolicy) {
        self.base = base
        self.policy = policy
    }

    public var classCount: Int { base.classCount }

    public func probabilities(for inputs: Tensor) -> Tensor {
        policy.apply(to: withoutGradients { base.probabilities(for: inputs) })
    }
}
