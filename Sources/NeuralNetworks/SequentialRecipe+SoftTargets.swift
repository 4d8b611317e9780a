import LabRandom
import ModelAccess
import Tensors

extension SequentialRecipe: SoftTargetTrainingRecipe {
    /// A fresh model trained on target distributions [N, classes] with the cross-entropy
    /// −Σⱼ tⱼ log softmax(z)ⱼ (the configuration's `loss` is not used): initial parameters from
    /// `random.stream("init")`, batch order and dropout from `random.stream("train")`, as
    /// `train(inputs:labels:random:)`.
    /// - Throws: `ModelError` for an architecture that does not fit `inputShape` or inputs it
    ///   does not take, `TrainingError` for targets of the wrong shape, a bad configuration or
    ///   divergence.
    public func train(inputs: Tensor, targets: Tensor, random: LabRandom) throws -> Sequential {
        var model = try Sequential(inputShape: inputShape, layers: layers, random: random.stream("init"))
        try configuration.validate()
        try model.validate(inputs: inputs)
        let n = inputs.shape[0]
        guard targets.shape == [n, model.classCount] else {
            throw TrainingError.invalidConfiguration("soft targets of shape \(targets.shape) for \(n) examples of \(model.classCount) classes")
        }
        var optimizer = configuration.optimizer.makeOptimizer()
        let loop = MiniBatchLoop(configuration: configuration, randomness: .perEpoch(random.stream("train")))
        _ = try loop.run(&model, exampleCount: n, optimizer: &optimizer) { model, batch, dropout throws(TrainingError) in
            let t = targets.gatheringRows(batch.rows)
            let leaves = model.parameters.map { $0.requiringGradient() }
            let (logits, buffers) = model.forwardUpdatingBuffers(inputs.gatheringRows(batch.rows), parameters: leaves, random: &dropout)
            let value = -((t * logits.logSoftmax()).sum(alongAxes: [1])).mean()
            return MiniBatchLoss(loss: value.scalar, gradients: gradients(of: value, withRespectTo: leaves), buffers: buffers)
        }
        return model
    }
}
