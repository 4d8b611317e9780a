import ModelAccess
import Tensors

/// Clean accuracy, attack success rate and robust accuracy of a model under a backdoor.
///
/// - CA: accuracy on the clean test set.
/// - ASR: among triggered test inputs of source classes (for all-to-one, classes other than the
///   target), the fraction classified as the attacker's label.
/// - Robust accuracy: among the same triggered inputs, the fraction still classified as their
///   true class.
///
/// ASR + robust accuracy ≤ 1; a clean model has ASR near the chance of predicting the target.
public struct BackdoorMetrics: Sendable, Equatable {
    public var cleanAccuracy: Double
    public var attackSuccessRate: Double
    public var robustAccuracy: Double

    public init(cleanAccuracy: Double, attackSuccessRate: Double, robustAccuracy: Double) {
        self.cleanAccuracy = cleanAccuracy
        self.attackSuccessRate = attackSuccessRate
        self.robustAccuracy = robustAccuracy
    }

    /// Measures a model against an attack on a clean test set of `classCount` classes.
    /// - Complexity: two passes of the model over the test set.
    public static func evaluate(_ model: some LabelAccess, attack: BackdoorAttack, test: LabeledExamples, classCount: Int,
                                batchSize: Int = 1000) -> BackdoorMetrics {
        let clean = predict(model, features: test.inputs.scalars, sampleShape: test.sampleShape, batchSize: batchSize)
        var correct = 0
        for (p, y) in zip(clean, test.labels) where p == y { correct += 1 }
        let triggered = attack.triggeredTestSet(test, classCount: classCount)
        let predicted = predict(model, features: triggered.features, sampleShape: test.sampleShape, batchSize: batchSize)
        var hit = 0, robust = 0
        for i in predicted.indices {
            if predicted[i] == triggered.targetLabels[i] { hit += 1 }
            if predicted[i] == triggered.trueLabels[i] { robust += 1 }
        }
        let m = Double(max(1, predicted.count))
        return BackdoorMetrics(cleanAccuracy: Double(correct) / Double(max(1, test.count)),
                               attackSuccessRate: Double(hit) / m, robustAccuracy: Double(robust) / m)
    }

    static func predict(_ model: some LabelAccess, features: [Float], sampleShape: [Int], batchSize: Int) -> [Int] {
        let width = sampleShape.reduce(1, *)
        let n = features.count / width
        var out: [Int] = []
        out.reserveCapacity(n)
        var start = 0
        while start < n {
            let end = min(n, start + batchSize)
            let x = Tensor(shape: [end - start] + sampleShape, scalars: Array(features[start * width ..< end * width]))
            out += model.predictedLabels(for: x)
            start = end
        }
        return out
    }
}
