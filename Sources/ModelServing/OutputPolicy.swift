#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// What a client sees of the model's answer to each query: output hardening, the defence that
/// gives an attacker less than the full probability vector.
public enum OutputPolicy: Codable, Sendable, Equatable {
    /// Every class's probability.
    case probabilities
    /// The `k` largest probabilities with their classes; the others are not sent.
    case topK(Int)
    /// Every probability rounded to `decimals` decimal places.
    case rounded(decimals: Int)
    /// The predicted label only.
    case label

    /// Reads `probabilities`, `label`, `top_k:K` or `round:D`.
    public init(parsing text: String) throws(ServingError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count) {
        case ("probabilities", 1): self = .probabilities
        case ("label", 1): self = .label
        case ("top_k", 2):
            guard let k = Int(parts[1]), k >= 1 else { throw ServingError("output 'top_k:\(parts[1])': K must be a whole number ≥ 1") }
            self = .topK(k)
        case ("round", 2):
            guard let d = Int(parts[1]), (0...8).contains(d) else { throw ServingError("output 'round:\(parts[1])': D must be 0…8 decimals") }
            self = .rounded(decimals: d)
        default:
            throw ServingError("output '\(text.prefix(40))': use probabilities, label, top_k:K or round:D")
        }
    }

    public var text: String {
        switch self {
        case .probabilities: return "probabilities"
        case .label: return "label"
        case let .topK(k): return "top_k:\(k)"
        case let .rounded(d): return "round:\(d)"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try OutputPolicy(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    func validate(token: String) throws(ServingError) {
        switch self {
        case let .topK(k) where k < 1: throw ServingError("token \(token): top_k needs K ≥ 1")
        case let .rounded(d) where !(0...8).contains(d): throw ServingError("token \(token): round needs 0…8 decimals")
        default: break
        }
    }

    /// One row's answer under this policy: the label always, and the probabilities the policy
    /// lets through as (class, probability) pairs, largest first for `topK`, in class order otherwise.
    public func answer(_ probabilities: ArraySlice<Float>) -> (label: Int, classes: [(Int, Double)]) {
        let base = probabilities.startIndex
        var label = 0
        for k in probabilities.indices where probabilities[k] > probabilities[base + label] { label = k - base }
        switch self {
        case .probabilities:
            return (label, probabilities.indices.map { ($0 - base, Double(probabilities[$0])) })
        case .label:
            return (label, [])
        case let .topK(k):
            let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            return (label, order.prefix(k).map { ($0 - base, Double(probabilities[$0])) })
        case let .rounded(d):
            let scale = pow(10.0, Double(d))
            return (label, probabilities.indices.map { ($0 - base, (Double(probabilities[$0]) * scale).rounded() / scale) })
        }
    }
}
