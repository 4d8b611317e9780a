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
        let loop = MiniBatchLoop(configuration: configuration, randomness: .perEpoch(random))
        return try loop.run(&model, exampleCount: n, optimizer: &optimizer) { model, batch, dropout throws(TrainingError) in
            let q = targets.gatheringRows(batch.rows)
            let leaves = model.parameters.map { $0.requiringGradient() }
            let logits = model.forward(inputs.gatheringRows(batch.rows), parameters: leaves, training: true, random: &dropout)
            let value = -((q * (logits / temperature).logSoftmax()).sum(alongAxes: [1])).mean()
            return MiniBatchLoss(loss: value.scalar, gradients: gradients(of: value, withRespectTo: leaves))
        }.epochLosses
    }
}
