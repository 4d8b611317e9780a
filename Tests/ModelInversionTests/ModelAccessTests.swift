import LabRandom
import ModelAccess
import ModelInversion
import Tensors
import Testing

/// A model that is not a `Sequential`: images [1, side, side] flattened into one affine layer,
/// z = W·x + b, written with tensor operations. Gradient inversion reaches it only through
/// `DifferentiableModel & ArchitectureAccess`.
struct AffineImageModel: DifferentiableModel, ArchitectureAccess {
    let inputShape: [Int]
    let parameters: [Tensor]   // W [classes, features], b [classes]
    var parameterNames: [String] { ["head.weight", "head.bias"] }
    var classCount: Int { parameters[1].scalarCount }
    var layerNames: [String] { ["flatten", "head"] }
    var layerSummaries: [LayerSummary] {
        let features = parameters[0].shape[1]
        return [LayerSummary(name: "flatten", kind: .flatten, parameterRange: 0..<0, description: "flatten"),
                LayerSummary(name: "head", kind: .dense(inputs: features, outputs: classCount, bias: true), parameterRange: 0..<2,
                             description: "affine \(features) → \(classCount)")]
    }

    init(side: Int, classes: Int, random: LabRandom) {
        inputShape = [1, side, side]
        var stream = random
        parameters = [Tensor(shape: [classes, side * side]) { stream.fillUniform($0, low: -0.5, high: 0.5) },
                      Tensor(shape: [classes]) { stream.fillUniform($0, low: -0.5, high: 0.5) }]
    }

    func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor {
        Tensor.matmul(inputs.flattenedBatch(), parameters[0], transposeB: true) + parameters[1]
    }

    func logits(for inputs: Tensor) -> Tensor { logits(for: inputs, parameters: parameters) }

    func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor {
        switch name {
        case "flatten": return inputs.flattenedBatch()
        case "head": return logits(for: inputs)
        default: throw .unknownLayer(name: name, available: layerNames)
        }
    }
}

@Suite("Gradient inversion through ModelAccess")
struct InversionModelAccessTests {
    static let side = 6, classes = 3

    static func example(seed: UInt64) -> (model: AffineImageModel, x: Tensor, label: Int, update: ObservedUpdate) {
        let model = AffineImageModel(side: side, classes: classes, random: LabRandom(seed: seed).stream("model"))
        var stream = LabRandom(seed: seed).stream("input")
        let x = Tensor(shape: [1, 1, side, side]) { stream.fillUniform($0, low: 0, high: 1) }
        let label = Int(seed) % classes
        return (model, x, label, .gradient(model.lossAndParameterGradients(for: x, labels: [label]).gradients))
    }

    @Test("the analytic attack recovers the input and iDLG's rule the label of a model that is not a network")
    func analytic() throws {
        for seed in UInt64(1)...3 {
            let (model, x, label, update) = Self.example(seed: seed)
            let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: .analyticFullyConnected,
                                                      random: LabRandom(seed: 0))
            #expect(result.reconstructions.shape == x.shape)
            let error = zip(result.reconstructions.scalars, x.scalars).map { abs($0 - $1) }.max()!
            #expect(error < 1e-4, "seed \(seed): largest pixel error \(error)")
            #expect(result.labels == [label])
            #expect(try LabelRecovery.singleLabel(model: model, update: update) == label)
        }
    }

    @Test("iDLG's optimisation through the model's differentiable forward lowers the gradient distance")
    func idlg() throws {
        let (model, x, label, update) = Self.example(seed: 4)
        let attack = GradientInversion.Attack.idlg(GradientInversion.DLGConfiguration(
            optimizer: .lbfgs(LBFGS.Configuration(maxIterations: 30)), initialization: .uniform(low: 0, high: 1)))
        let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: attack, random: LabRandom(seed: 5))
        #expect(result.labels == [label])
        #expect(result.loss < result.lossHistory.first! / 10, "loss \(result.lossHistory.first!) → \(result.loss)")
        let before = zip([Float](repeating: 0.5, count: x.scalarCount), x.scalars).map { abs($0 - $1) }.reduce(0, +)
        let after = zip(result.reconstructions.scalars, x.scalars).map { abs($0 - $1) }.reduce(0, +)
        #expect(after < before, "mean pixel error \(after / Float(x.scalarCount))")
    }

    @Test("an architecture whose first parametric layer does not read the input is refused by the analytic attack")
    func refused() {
        struct Activated: DifferentiableModel, ArchitectureAccess {
            let inner: AffineImageModel
            var inputShape: [Int] { inner.inputShape }
            var parameters: [Tensor] { inner.parameters }
            var parameterNames: [String] { inner.parameterNames }
            var classCount: Int { inner.classCount }
            var layerNames: [String] { ["sigmoid"] + inner.layerNames }
            var layerSummaries: [LayerSummary] {
                [LayerSummary(name: "sigmoid", kind: .activation(.sigmoid), parameterRange: 0..<0, description: "sigmoid")] + inner.layerSummaries
            }
            func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor { inner.logits(for: inputs.sigmoid(), parameters: parameters) }
            func logits(for inputs: Tensor) -> Tensor { logits(for: inputs, parameters: parameters) }
            func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor {
                name == "sigmoid" ? inputs.sigmoid() : try inner.activations(for: inputs.sigmoid(), atLayer: name)
            }
        }
        let (model, _, _, update) = Self.example(seed: 6)
        #expect(throws: InversionError.self) {
            _ = try GradientInversion.invert(model: Activated(inner: model), update: update, batchSize: 1, attack: .analyticFullyConnected,
                                             random: LabRandom(seed: 0))
        }
    }
}
