import LabRandom
import MembershipInference
import ModelAccess
import NeuralNetworks
import Tensors

extension ShadowModelAttack {
    /// Shokri et al.'s attack model on a PrivacyLab network: C attack features → one hidden ReLU
    /// layer of `options.hiddenUnits` units (none: logistic regression) → 2 logits, trained with
    /// Adam at `options.learningRate` for `options.epochs` epochs of mini-batches of
    /// `options.batchSize` (softmax cross-entropy).
    ///
    /// Streams: as `SequentialRecipe`, the initial parameters from `random.stream("init")`, batch
    /// order from "train".
    public struct NetworkTrainer: AttackModelTrainer {
        public init() {}

        /// - Throws: `TrainingError` for a bad configuration or divergence.
        public func train(features: Tensor, labels: [Int], options: Options, random: LabRandom) throws -> any LogitAccess {
            let classes = features.shape[1]
            let layers: [Layer] = options.hiddenUnits == 0
                ? [.dense(inputs: classes, outputs: 2)]
                : [.dense(inputs: classes, outputs: options.hiddenUnits), .relu, .dense(inputs: options.hiddenUnits, outputs: 2)]
            let recipe = SequentialRecipe(
                inputShape: [classes], layers: layers,
                configuration: TrainingConfiguration(epochs: options.epochs, batchSize: options.batchSize,
                                                     learningRate: options.learningRate, optimizer: .adam()))
            return try recipe.train(inputs: features, labels: labels, random: random)
        }
    }
}
