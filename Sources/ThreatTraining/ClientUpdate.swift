import LabRandom
import ModelInversion
import NeuralNetworks
import Tensors

/// The victim's side, for experiments and tests: what a federated client training a PrivacyLab
/// network would share (the attacks of ModelInversion observe it).
public enum ClientUpdate {
    /// The update of a client holding `inputs` / `labels` (one batch of B examples): the mean
    /// loss gradient at the model's parameters when `localSteps` is nil, else the weight delta
    /// after `localSteps` full-batch SGD steps of size `learningRate`.
    public static func observe(model: Sequential, inputs: Tensor, labels: [Int], localSteps: Int? = nil,
                               learningRate: Float = 0.1) -> ObservedUpdate {
        var none: LabRandom? = nil
        guard let steps = localSteps else {
            return .gradient(model.lossAndGradients(inputs, labels: labels, training: false, random: &none).gradients)
        }
        precondition(steps >= 1 && learningRate > 0, "ClientUpdate.observe: steps \(steps) and learning rate \(learningRate) must be positive")
        var parameters = model.parameters
        for _ in 0..<steps {
            let g = model.lossAndGradients(inputs, labels: labels, parameters: parameters, training: false, random: &none).gradients
            parameters = withoutGradients { zip(parameters, g).map { p, d in p - d * learningRate } }
        }
        return .weightDelta(withoutGradients { zip(parameters, model.parameters).map { after, before in after - before } },
                            learningRate: learningRate, localSteps: steps)
    }
}
