#if canImport(Glibc)
import Glibc
#endif
import ModelAccess
import Tensors

/// Attribute inference: given a model and a record's other attributes and its label, infer the
/// value of a sensitive attribute.
///
/// The attacker tries each candidate value v of the attribute, completes the record with it
/// (x_v), and scores the completion by the model's behaviour on the record's known label y:
///
/// - `confidenceTimesPrior` (Fredrikson, Lantz, Jha, Lin, Page, Ristenpart, "Privacy in
///   Pharmacogenetics", USENIX Security 2014, the maximum a posteriori estimator):
///   v̂ = argmax_v f̃_y(x_v)·π(v), with π the attribute's marginal (prior) distribution;
/// - `minimumLoss` (Yeom, Giacomelli, Fredrikson, Jha, "Privacy Risk in Machine Learning:
///   Analyzing the Connection to Overfitting", CSF 2018, the membership-based adversary):
///   v̂ = argmin_v ℓ(x_v, y) − log π(v), i.e. the lowest loss with ties broken by the prior —
///   with cross-entropy ℓ = −log f̃_y this equals the MAP rule; and `minimumLossUnweighted`,
///   argmin_v ℓ(x_v, y), the rule of Yeom et al.'s Algorithm 2 without the prior;
/// - `prior`: the baseline that ignores the model, argmax_v π(v).
///
/// The attack needs only the model's confidence (`ProbabilityAccess`). Its advantage is its
/// accuracy minus the prior baseline's; the gap between members (training records) and
/// non-members is what overfitting leaks (Yeom et al.).
/// - Complexity: one batched query of N·V completed records (V candidate values).
public enum AttributeInference {
    public enum Method: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
        case confidenceTimesPrior = "confidence-times-prior"
        case minimumLoss = "minimum-loss"
        case minimumLossUnweighted = "minimum-loss-unweighted"
        case prior
    }

    /// A sensitive attribute as it sits in the feature vector: a block of columns and, for each
    /// candidate value, the encoded values of those columns.
    public struct Attribute: Sendable, Equatable {
        public var name: String
        public var columns: [Int]
        public var valueNames: [String]
        /// `encodings[v]` holds the encoded column values of value v (`columns.count` each).
        public var encodings: [[Float]]

        public init(name: String, columns: [Int], valueNames: [String], encodings: [[Float]]) throws(InversionError) {
            guard !columns.isEmpty, valueNames.count >= 2, encodings.count == valueNames.count,
                  encodings.allSatisfy({ $0.count == columns.count }) else {
                throw .invalidInput("attribute \(name): \(columns.count) columns, \(valueNames.count) values, \(encodings.count) encodings (need ≥ 2 values, one encoding per value of one entry per column)")
            }
            self.name = name
            self.columns = columns
            self.valueNames = valueNames
            self.encodings = encodings
        }

        /// A one-hot encoded categorical attribute found by its feature names (`<name>=<value>`,
        /// as `AdultLoader` names them), under any per-column affine scaling: each column's
        /// encoded 0 and 1 are its smallest and largest values in `features` (row-major,
        /// `featureNames.count` per row), which must show both.
        /// - Throws: `invalidInput` when no column is named `<name>=…` or a column is constant.
        public static func oneHot(named name: String, featureNames: [String], features: [Float]) throws(InversionError) -> Attribute {
            let prefix = name + "="
            let columns = featureNames.indices.filter { featureNames[$0].hasPrefix(prefix) }
            guard columns.count >= 2 else {
                throw .invalidInput("no one-hot attribute '\(name)': expected feature names '\(prefix)…' (known attributes: \(Set(featureNames.compactMap { $0.split(separator: "=").count == 2 ? String($0.split(separator: "=")[0]) : nil }).sorted().joined(separator: ", ")))")
            }
            let width = featureNames.count
            let rows = features.count / width
            var low = [Float](repeating: .infinity, count: columns.count), high = [Float](repeating: -.infinity, count: columns.count)
            features.withUnsafeBufferPointer { f in
                for r in 0..<rows {
                    for (k, c) in columns.enumerated() {
                        let v = f[r * width + c]
                        if v < low[k] { low[k] = v }
                        if v > high[k] { high[k] = v }
                    }
                }
            }
            if let constant = columns.indices.first(where: { !(low[$0] < high[$0]) }) {
                throw .invalidInput("attribute column \(featureNames[columns[constant]]) takes a single value in the data; cannot tell its encoded 0 from 1")
            }
            let encodings = columns.indices.map { v in columns.indices.map { k in k == v ? high[k] : low[k] } }
            return try Attribute(name: name, columns: columns, valueNames: columns.map { String(featureNames[$0].dropFirst(prefix.count)) },
                                 encodings: encodings)
        }

        /// The value each record holds (the nearest encoding), row-major records of `width`.
        public func values(in features: [Float], width: Int) -> [Int] {
            let rows = features.count / width
            return (0..<rows).map { r in
                var best = 0, bestDistance = Float.infinity
                for (v, encoding) in encodings.enumerated() {
                    var d: Float = 0
                    for (k, c) in columns.enumerated() { let e = features[r * width + c] - encoding[k]; d += e * e }
                    if d < bestDistance { bestDistance = d; best = v }
                }
                return best
            }
        }

        /// The empirical distribution of the attribute's values in `features`.
        public func prior(from features: [Float], width: Int) -> [Double] {
            let values = self.values(in: features, width: width)
            var counts = [Double](repeating: 0, count: valueNames.count)
            for v in values { counts[v] += 1 }
            let total = max(1, Double(values.count))
            return counts.map { $0 / total }
        }
    }

    /// The inferred value index of each record.
    ///
    /// - Parameters:
    ///   - records: [N, features] with the attacker's knowledge of every attribute but the
    ///     sensitive one (its columns are overwritten by each candidate).
    ///   - labels: the records' known labels.
    ///   - prior: π over the attribute's values (sums to 1; e.g. from public data).
    /// - Throws: `invalidInput` when the records, labels and prior do not fit the attribute.
    public static func infer<Model: ProbabilityAccess>(model: Model, records: Tensor, labels: [Int], attribute: Attribute,
                                                       prior: [Double], method: Method) throws(InversionError) -> [Int] {
        guard records.rank == 2, records.shape[0] == labels.count else {
            throw .invalidInput("records \(records.shape) for \(labels.count) labels (expected [N, features])")
        }
        let (n, width) = (records.shape[0], records.shape[1])
        guard attribute.columns.allSatisfy({ $0 >= 0 && $0 < width }) else { throw .invalidInput("attribute columns outside the \(width) features") }
        let values = attribute.valueNames.count
        guard prior.count == values, prior.allSatisfy({ $0 >= 0 }), abs(prior.reduce(0, +) - 1) < 1e-6 else {
            throw .invalidInput("prior must give \(values) non-negative probabilities summing to 1")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= model.classCount }) { throw .invalidInput("label \(bad) outside 0..<\(model.classCount)") }
        let priorGuess = prior.enumerated().max { $0.element < $1.element }!.offset
        if method == .prior || n == 0 { return [Int](repeating: priorGuess, count: n) }
        // All completions at once: row r·V + v is record r with value v.
        let source = records.scalars
        var completed = [Float](repeating: 0, count: n * values * width)
        for r in 0..<n {
            for v in 0..<values {
                let base = (r * values + v) * width
                for j in 0..<width { completed[base + j] = source[r * width + j] }
                for (k, c) in attribute.columns.enumerated() { completed[base + c] = attribute.encodings[v][k] }
            }
        }
        let probabilities = model.probabilities(for: Tensor(shape: [n * values, width], scalars: completed)).scalars
        let k = model.classCount
        return (0..<n).map { r in
            var best = priorGuess, bestScore = -Double.infinity
            for v in 0..<values {
                let p = max(Double(probabilities[(r * values + v) * k + labels[r]]), 1e-300)
                let score: Double
                switch method {
                case .confidenceTimesPrior: score = p * prior[v]
                case .minimumLoss: score = log(p) + log(max(prior[v], 1e-300))
                case .minimumLossUnweighted: score = log(p)
                case .prior: score = prior[v]
                }
                if score > bestScore { bestScore = score; best = v }
            }
            return best
        }
    }

    /// Accuracy of guesses against the truth.
    public static func accuracy(_ guesses: [Int], truth: [Int]) -> Double {
        guard !truth.isEmpty else { return 0 }
        return Double(zip(guesses, truth).filter { $0 == $1 }.count) / Double(truth.count)
    }
}
