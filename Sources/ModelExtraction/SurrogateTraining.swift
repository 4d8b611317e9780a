import LabRandom
import ModelAccess
import Tensors

/// What the attacker keeps of the victim's answers to train its surrogate on.
public enum SurrogateTargets: String, Sendable, Hashable, Codable {
    /// The predicted class of each answer (the argmax of what the API returns).
    case labels
    /// The probability vector of each answer, renormalised to sum to 1 (hardened answers may not:
    /// `OutputPolicy`); a row of zeros trains as the one-hot of its argmax.
    case probabilities
}

/// A model stolen with a given number of queries to the victim.
public struct StolenModel<Model: Sendable>: Sendable {
    /// The victim's answers spent to train it (inputs queried).
    public let queries: Int
    public let model: Model
    /// The examples it was trained on (the queried inputs), [queries, per-sample shape…].
    public let trainingInputs: Tensor
}

/// The victim's answers to a batch of queries, as the attacker stores them.
struct Answers {
    /// [N, classes]: what the victim returned.
    var probabilities: [Float]
    var classes: Int
    var count: Int { probabilities.count / max(1, classes) }

    /// Asks `victim` about `inputs` (one query per row).
    init(_ victim: some ProbabilityAccess, _ inputs: Tensor) {
        probabilities = withoutGradients { victim.probabilities(for: inputs) }.scalars
        classes = victim.classCount
    }

    init(probabilities: [Float], classes: Int) {
        self.probabilities = probabilities
        self.classes = classes
    }

    mutating func append(_ other: Answers) { probabilities += other.probabilities }

    /// The argmax of each answer (the lower class first on ties).
    var labels: [Int] {
        (0..<count).map { i in
            var best = 0
            for j in 1..<classes where probabilities[i * classes + j] > probabilities[i * classes + best] { best = j }
            return best
        }
    }

    /// Rows renormalised to sum to 1 (a zero row: the one-hot of its argmax).
    var targets: Tensor {
        var t = probabilities
        let labels = self.labels
        for i in 0..<count {
            let sum = t[i * classes..<(i + 1) * classes].reduce(0, +)
            for j in 0..<classes { t[i * classes + j] = sum > 0 ? t[i * classes + j] / sum : (j == labels[i] ? 1 : 0) }
        }
        return Tensor(shape: [count, classes], scalars: t)
    }

    /// The first `n` answers.
    func prefix(_ n: Int) -> Answers { Answers(probabilities: Array(probabilities.prefix(n * classes)), classes: classes) }
}

extension SoftTargetTrainingRecipe {
    /// A surrogate trained on `inputs` and the victim's `answers` kept as `targets`.
    func trainSurrogate(inputs: Tensor, answers: Answers, targets: SurrogateTargets, random: LabRandom) throws -> Model {
        switch targets {
        case .labels: return try train(inputs: inputs, labels: answers.labels, random: random)
        case .probabilities: return try train(inputs: inputs, targets: answers.targets, random: random)
        }
    }
}

/// How close a stolen model is to its victim, on inputs the attacker did not query.
public enum ExtractionMetrics {
    /// Fidelity: the share of inputs on which the two models predict the same class.
    public static func agreement(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "agreement of label lists of different lengths or none")
        return Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
    }
}

/// Rows `range` of a batch, in order.
func rows(_ t: Tensor, _ range: Range<Int>) -> Tensor {
    let d = t.shape.dropFirst().reduce(1, *)
    return Tensor(shape: [range.count] + t.shape.dropFirst(), scalars: Array(t.scalars[range.lowerBound * d..<range.upperBound * d]))
}

/// Two batches of one per-sample shape, one after the other.
func concatenated(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor(shape: [a.shape[0] + b.shape[0]] + a.shape.dropFirst(), scalars: a.scalars + b.scalars)
}
