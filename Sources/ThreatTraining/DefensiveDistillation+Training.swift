import Evasion
import LabRandom
import NeuralNetworks
import Tensors

// Defensive distillation of a PrivacyLab network: the teacher's and the student's trainings at
// the temperature `DefensiveDistillation` (in Evasion) defines.
extension DefensiveDistillation {
    /// Trains a teacher (streams "teacher/init", "teacher/train") and a student ("student/init",
    /// "student/train") with the same architecture and configuration; returns both. The student is
    /// the defended model.
    public func train(inputShape: [Int], layers: [Layer], inputs: Tensor, labels: [Int], configuration: TrainingConfiguration,
                      random: LabRandom) throws(TrainingError) -> (teacher: Sequential, student: Sequential) {
        var teacher: Sequential
        var student: Sequential
        do throws(ModelError) {
            teacher = try Sequential(inputShape: inputShape, layers: layers, random: random.stream("teacher/init"))
            student = try Sequential(inputShape: inputShape, layers: layers, random: random.stream("student/init"))
            try teacher.validate(inputs: inputs)
            try teacher.validate(labels: labels, count: inputs.shape[0])
        } catch { throw .model(error) }
        let hard = Tensor.oneHot(labels, classCount: teacher.classCount)
        _ = try Self.train(&teacher, inputs: inputs, targets: hard, temperature: temperature, configuration: configuration,
                           random: random.stream("teacher/train"))
        let soft = withoutGradients { (teacher.logits(inputs) / temperature).softmax() }
        _ = try Self.train(&student, inputs: inputs, targets: soft, temperature: temperature, configuration: configuration,
                           random: random.stream("student/train"))
        return (teacher, student)
    }

    /// Trains `model` in place on target distributions [N, classes] with its softmax at
    /// `temperature` (mini-batch order of epoch e from "epochs/e/shuffle").
    public static func train(_ model: inout Sequential, inputs: Tensor, targets: Tensor, temperature: Float,
                             configuration: TrainingConfiguration, random: LabRandom) throws(TrainingError) -> [Float] {
        try configuration.validate()
        let n = inputs.shape[0]
        guard targets.shape == [n, model.classCount] else {
            throw .invalidConfiguration("distillation targets \(targets.shape) do not match \(n) examples of \(model.classCount) classes")
        }
        var optimizer = configuration.optimizer.makeOptimizer()
        var epochLosses: [Float] = []
        var steps = 0
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var shuffle = random.stream("epochs/\(epoch)/shuffle")
            let order = shuffle.permutation(n)
            var dropout: LabRandom? = hasDropout ? random.stream("epochs/\(epoch)/dropout") : nil
            var total = 0.0, batches = 0, start = 0
            while start < n {
                let end = Swift.min(n, start + configuration.batchSize)
                if configuration.dropLastBatch && end - start < configuration.batchSize { break }
                let indices = Array(order[start..<end])
                let batch = inputs.gatheringRows(indices)
                let q = targets.gatheringRows(indices)
                let leaves = model.parameters.map { $0.requiringGradient() }
                let logits = model.forward(batch, parameters: leaves, training: true, random: &dropout)
                let value = -((q * (logits / temperature).logSoftmax()).sum(alongAxes: [1])).mean()
                let grads = gradients(of: value, withRespectTo: leaves)
                let loss = value.scalar
                guard loss.isFinite else { throw .diverged(epoch: epoch, step: steps) }
                optimizer.step(parameters: &model.parameters, gradients: grads, learningRate: rate)
                steps += 1
                total += Double(loss)
                batches += 1
                start = end
            }
            epochLosses.append(Float(total / Double(Swift.max(1, batches))))
        }
        return epochLosses
    }
}
