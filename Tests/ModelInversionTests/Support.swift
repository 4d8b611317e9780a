import Datasets
import LabRandom
import ModelAccess
import ModelInversion
import NeuralNetworks
import Tensors
import ThreatTraining

/// Small generated problems shared by the tests.
enum Fixtures {
    /// Pattern images (known class prototypes), side × side, `classes` classes.
    static func patterns(perClass: Int = 12, classes: Int = 4, side: Int = 12, seed: UInt64 = 1) -> LabeledData {
        var random = LabRandom(seed: seed).stream("patterns")
        return SyntheticDatasets.patternImages(samplesPerClass: perClass, classes: classes, side: side, noise: 0.05, using: &random)
    }

    /// flatten → dense(hidden) → sigmoid → dense(classes), parameters uniform in ±0.5.
    static func sigmoidMLP(inputShape: [Int], hidden: Int, classes: Int, seed: UInt64) throws -> Sequential {
        let d = inputShape.reduce(1, *)
        let layers: [Layer] = [.flatten, .dense(inputs: d, outputs: hidden), .sigmoid, .dense(inputs: hidden, outputs: classes)]
        return try VictimNetworks.uniformlyInitialized(inputShape: inputShape, layers: layers, scale: 0.5, random: LabRandom(seed: seed))
    }
}

/// A stub classifier with known answers: logits are `weights · x` for a fixed matrix
/// [classes, features].
struct LinearStub: LogitAccess, LossAccess {
    var weights: [[Float]]
    var classCount: Int { weights.count }
    func logits(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], d = weights[0].count
        let x = inputs.scalars
        return Tensor(shape: [n, classCount], scalars: (0..<n).flatMap { i in
            weights.map { w in (0..<d).reduce(Float(0)) { $0 + w[$1] * x[i * d + $1] } }
        })
    }
}
