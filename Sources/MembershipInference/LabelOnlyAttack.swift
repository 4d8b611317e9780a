import LabRandom
import ModelAccess
import Tensors

/// A label-only attack: robustness of the predicted label to random input noise
/// (Choquette-Choo, Tramèr, Carlini and Papernot, "Label-Only Membership Inference Attacks",
/// ICML 2021, §4: training points tend to lie farther from the decision boundary, so their label
/// survives perturbation more often).
///
/// For each example x with label y the attack queries the model's label on x and on R noisy
/// copies x + ε, ε ~ N(0, σ² I), and scores the fraction of the R + 1 queries answered y. It
/// needs only `LabelAccess`: no confidences.
///
/// Perturbation r draws its noise for the whole batch from `random.stream("perturbations/<r>")`,
/// so the scores depend only on the stream, not on batching.
///
/// Caveat: the score takes R + 2 distinct values, so its ROC curve is coarse at low FPR; more
/// perturbations refine it.
/// - Complexity: R + 1 label queries of the batch.
public enum LabelOnlyAttack {
    public struct Options: Sendable, Hashable, Codable {
        /// R, the number of noisy queries per example.
        public var perturbations: Int
        /// σ of the Gaussian noise, in input units.
        public var noiseStandardDeviation: Float

        public init(perturbations: Int = 50, noiseStandardDeviation: Float = 0.5) {
            self.perturbations = perturbations
            self.noiseStandardDeviation = noiseStandardDeviation
        }
    }

    /// Membership scores of the examples `inputs` [N, …] with their true `labels`.
    public static func scores<Model: LabelAccess>(model: Model, inputs: Tensor, labels: [Int], options: Options = Options(),
                                                  random: LabRandom) throws(MembershipInferenceError) -> [Double] {
        guard inputs.rank >= 1, inputs.shape[0] == labels.count else {
            throw .shapeMismatch("label-only attack: inputs \(inputs.shape) for \(labels.count) labels")
        }
        guard options.perturbations >= 0, options.noiseStandardDeviation >= 0, options.noiseStandardDeviation.isFinite else {
            throw .invalidParameter("label-only attack: perturbations must be ≥ 0 and the noise σ finite and ≥ 0")
        }
        var correct = [Int](repeating: 0, count: labels.count)
        func count(_ predicted: [Int]) {
            for i in labels.indices where predicted[i] == labels[i] { correct[i] += 1 }
        }
        count(model.predictedLabels(for: inputs))
        for r in 0..<options.perturbations {
            var stream = random.stream("perturbations/\(r)")
            let noisy = Tensor(shape: inputs.shape) { out in
                stream.fillNormal(out, mean: 0, standardDeviation: options.noiseStandardDeviation)
                inputs.withUnsafeBufferPointer { x in
                    for i in 0..<out.count { out[i] += x[i] }
                }
            }
            count(model.predictedLabels(for: noisy))
        }
        let total = Double(options.perturbations + 1)
        return correct.map { Double($0) / total }
    }
}
