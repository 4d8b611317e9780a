import Backdoors
import LabRandom
import NeuralNetworks
import Tensors

// Neural Cleanse's mitigation on a PrivacyLab network: unlearning the reversed triggers by
// fine-tuning (the search for the triggers is `NeuralCleanse.scan`, in Backdoors).
extension NeuralCleanse {
    /// Mitigation by unlearning: fine-tunes `model` on clean samples of which a fraction
    /// `stampedFraction` carry one of `triggers` (in turn) and keep their true label.
    /// Draws the stamped rows from stream `unlearn/rows` and training from `unlearn/train`.
    public static func unlearn(model: Sequential, triggers: [ReversedTrigger], inputs: Tensor, labels: [Int],
                               stampedFraction: Double = 0.2, configuration: TrainingConfiguration,
                               random: LabRandom) throws -> Sequential {
        var result = model
        guard !triggers.isEmpty else { return result }
        let n = inputs.shape[0]
        var rowStream = random.stream("unlearn/rows")
        let stamped = rowStream.sampleWithoutReplacement(Int((stampedFraction * Double(n)).rounded()), from: n)
        let width = Array(inputs.shape.dropFirst()).reduce(1, *)
        var x = inputs.detached()
        x.withUnsafeMutableBufferPointer { buffer in
            for (k, row) in stamped.enumerated() {
                triggers[k % triggers.count].apply(to: UnsafeMutableBufferPointer(rebasing: buffer[row * width ..< (row + 1) * width]))
            }
        }
        _ = try result.train(inputs: x, labels: labels, configuration: configuration, random: random.stream("unlearn/train"))
        return result
    }
}
