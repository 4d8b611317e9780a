import Backdoors
import LabRandom
import ModelAccess
import NeuralNetworks
import Tensors
import Testing

/// The fixture's CNN written by hand with tensor operations, not as a `Sequential`: conv 3×3 (8)
/// → ReLU → max-pool 2 → flatten → dense 32 → ReLU → dense 10. The defences reach it only
/// through `ModelAccess`.
struct HandWrittenCNN: DifferentiableModel, ArchitectureAccess, ParameterEditing {
    let parameters: [Tensor]
    var inputShape: [Int] { [1, 12, 12] }
    var classCount: Int { 10 }
    var parameterNames: [String] { ["conv.weight", "conv.bias", "hidden.weight", "hidden.bias", "head.weight", "head.bias"] }
    var layerNames: [String] { layerSummaries.map(\.name) }
    var layerSummaries: [LayerSummary] {
        [LayerSummary(name: "conv", kind: .convolution(inChannels: 1, outChannels: 8, bias: true), parameterRange: 0..<2, description: "conv"),
         LayerSummary(name: "conv-relu", kind: .activation(.relu), parameterRange: 2..<2, description: "relu"),
         LayerSummary(name: "pool", kind: .pooling, parameterRange: 2..<2, description: "pool"),
         LayerSummary(name: "flatten", kind: .flatten, parameterRange: 2..<2, description: "flatten"),
         LayerSummary(name: "hidden", kind: .dense(inputs: 288, outputs: 32, bias: true), parameterRange: 2..<4, description: "hidden"),
         LayerSummary(name: "hidden-relu", kind: .activation(.relu), parameterRange: 4..<4, description: "relu"),
         LayerSummary(name: "head", kind: .dense(inputs: 32, outputs: 10, bias: true), parameterRange: 4..<6, description: "head")]
    }

    /// The output of layers 0…`last`.
    func output(_ x: Tensor, parameters p: [Tensor], through last: Int) -> Tensor {
        let layers: [(Tensor) -> Tensor] = [
            { Tensor.conv2d($0, weight: p[0], bias: p[1], stride: 1, padding: 1) }, { $0.relu() }, { $0.maxPool2d(size: 2, stride: 2) },
            { $0.flattenedBatch() }, { Tensor.linear($0, weight: p[2], bias: p[3]) }, { $0.relu() },
            { Tensor.linear($0, weight: p[4], bias: p[5]) },
        ]
        return layers[0...last].reduce(x) { h, layer in layer(h) }
    }

    func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor { output(inputs, parameters: parameters, through: 6) }

    func logits(for inputs: Tensor) -> Tensor { withoutGradients { logits(for: inputs, parameters: parameters) } }

    func activations(for inputs: Tensor, atLayer name: String) throws(ModelAccessError) -> Tensor {
        guard let index = layerNames.firstIndex(of: name) else { throw .unknownLayer(name: name, available: layerNames) }
        guard Array(inputs.shape.dropFirst()) == inputShape else { throw .inputShape(expected: inputShape, got: inputs.shape) }
        return output(inputs, parameters: parameters, through: index)
    }

    func replacingParameters(_ parameters: [Tensor]) throws(ModelAccessError) -> HandWrittenCNN {
        guard parameters.map(\.shape) == self.parameters.map(\.shape) else {
            throw .parameterShapes(expected: self.parameters.map(\.shape), got: parameters.map(\.shape))
        }
        return HandWrittenCNN(parameters: parameters)
    }
}

/// The defences see a model only through `ModelAccess`: on a hand-written model that computes
/// what the fixture's `Sequential` computes, with its parameters, they give the same answers.
@Suite("Backdoor defences through ModelAccess")
struct BackdoorModelAccessTests {
    let f = BackdooredFixture.shared
    var model: HandWrittenCNN { HandWrittenCNN(parameters: f.model.parameters) }

    @Test("the same representations, metrics and Neural Cleanse triggers as the network it mirrors")
    func sameAnswers() throws {
        let x = f.test.featureTensor
        #expect(model.representationWidth == 32)
        #expect(try model.representations(for: x).scalars == f.model.representations(for: x).scalars)
        #expect(BackdoorMetrics.evaluate(model, attack: f.attack, test: f.test.examples, classCount: 10)
                == BackdoorMetrics.evaluate(f.model, attack: f.attack, test: f.test.examples, classCount: 10))
        let clean = f.test.subset(Array(0..<60)).featureTensor
        let nc = NeuralCleanse(steps: 4, batchSize: 20)
        let mirrored = try nc.reverseEngineer(model: model, label: 0, inputs: clean, random: LabRandom(seed: 3))
        let network = try nc.reverseEngineer(model: f.model, label: 0, inputs: clean, random: LabRandom(seed: 3))
        #expect(mirrored == network)
    }

    @Test("fine-pruning a hand-written model prunes the network's channels and zeroes their filters")
    func finePruning() throws {
        let clean = f.test.subset(Array(0..<100))
        let fp = FinePruning(maximumAccuracyDrop: 0.05)
        let mirrored = try fp.prune(model: model, cleanInputs: clean.featureTensor, cleanLabels: clean.intLabels)
        let network = try fp.prune(model: f.model, cleanInputs: clean.featureTensor, cleanLabels: clean.intLabels)
        #expect(!mirrored.prunedChannels.isEmpty)
        #expect(mirrored.prunedChannels == network.prunedChannels && mirrored.layer == network.layer)
        #expect(mirrored.accuracyBefore == network.accuracyBefore && mirrored.accuracyAfter == network.accuracyAfter)
        #expect(mirrored.model.parameters.map(\.scalars) == network.model.parameters.map(\.scalars))
        // The pruned channels are silent after the convolution.
        let conv = try mirrored.model.activations(for: clean.featureTensor, atLayer: "conv").scalars
        let plane = 144
        for c in mirrored.prunedChannels {
            #expect((0..<100).allSatisfy { i in conv[((i * 8 + c) * plane)..<((i * 8 + c + 1) * plane)].allSatisfy { $0 == 0 } })
        }
    }
}
