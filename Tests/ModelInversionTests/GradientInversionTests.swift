import Datasets
import LabRandom
import ModelInversion
import NeuralNetworks
import Tensors
import Testing
import ThreatTraining

@Suite("Gradient inversion")
struct GradientInversionTests {
    static let data = Fixtures.patterns()

    @Test("iDLG recovers the label of every single example exactly, from gradients and from multi-step deltas")
    func labelRecovery() throws {
        let shape = Self.data.sampleShape
        for seed in 0..<6 as Range<UInt64> {
            let relu = try VictimNetworks.uniformlyInitialized(
                inputShape: shape, layers: [.flatten, .dense(inputs: 144, outputs: 20), .relu, .dense(inputs: 20, outputs: 4)],
                scale: 0.3, random: LabRandom(seed: seed))
            let sigmoid = try Fixtures.sigmoidMLP(inputShape: shape, hidden: 16, classes: 4, seed: seed + 100)
            for model in [relu, sigmoid] {
                for i in 0..<8 {
                    let x = Self.data.subset([i + Int(seed) * 8])
                    let gradient = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels)
                    #expect(try LabelRecovery.singleLabel(model: model, update: gradient) == x.intLabels[0])
                    let delta = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels, localSteps: 3, learningRate: 0.05)
                    #expect(try LabelRecovery.singleLabel(model: model, update: delta) == x.intLabels[0])
                }
            }
        }
    }

    @Test("one local SGD step's delta is −η times the gradient")
    func oneStepDelta() throws {
        let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 8, classes: 4, seed: 1)
        let x = Self.data.subset([0, 1, 2])
        let g = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels).tensors
        let d = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels, localSteps: 1, learningRate: 0.2).tensors
        for (a, b) in zip(g, d) {
            #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 * -0.2 - $1) < 1e-6 })
        }
    }

    @Test("the analytic attack recovers a fully-connected layer's input exactly from one example's update")
    func analytic() throws {
        let model = try VictimNetworks.uniformlyInitialized(
            inputShape: Self.data.sampleShape, layers: [.flatten, .dense(inputs: 144, outputs: 32), .relu, .dense(inputs: 32, outputs: 4)],
            scale: 0.2, random: LabRandom(seed: 9))
        for i in 0..<4 {
            let x = Self.data.subset([i])
            for update in [ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels),
                           ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels, localSteps: 1, learningRate: 0.1)] {
                let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: .analyticFullyConnected,
                                                          random: LabRandom(seed: 0))
                let error = zip(result.reconstructions.scalars, x.features).map { abs($0 - $1) }.max()!
                #expect(error < 1e-4)
                #expect(result.labels == x.intLabels)
            }
        }
    }

    @Test("DLG with L-BFGS reconstructs a single image from a sigmoid network's gradient (PSNR > 30 dB) and its label")
    func dlg() throws {
        let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 24, classes: 4, seed: 3)
        let x = Self.data.subset([5])
        let update = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels)
        let configuration = GradientInversion.DLGConfiguration(optimizer: .lbfgs(LBFGS.Configuration(maxIterations: 150)))
        let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: .dlg(configuration),
                                                  random: LabRandom(seed: 11))
        #expect(ImageMetrics.psnr(result.reconstructions.scalars, x.features) > 30)
        #expect(result.labels == x.intLabels)
        #expect(result.lossHistory.last! < result.lossHistory.first!)
    }

    @Test("iDLG inverts a weight delta of three local steps by unrolling them (PSNR > 25 dB)")
    func unrolledSteps() throws {
        let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 24, classes: 4, seed: 4)
        let x = Self.data.subset([7])
        let update = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels, localSteps: 3, learningRate: 0.5)
        let configuration = GradientInversion.DLGConfiguration(optimizer: .lbfgs(LBFGS.Configuration(maxIterations: 150)), updateModel: .unrolled)
        let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: .idlg(configuration),
                                                  random: LabRandom(seed: 12))
        #expect(ImageMetrics.psnr(result.reconstructions.scalars, x.features) > 25)
    }

    @Test("Inverting Gradients improves a batch of two far beyond its random start, labels recovered")
    func invertingGradients() throws {
        let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 32, classes: 4, seed: 5)
        let rows = (0..<Self.data.count).filter { Self.data.labels[$0] == 0 }.prefix(1) + (0..<Self.data.count).filter { Self.data.labels[$0] == 2 }.prefix(1)
        let x = Self.data.subset(Array(rows))
        let update = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels)
        let configuration = GradientInversion.InvertingGradientsConfiguration(iterations: 300, learningRate: 0.1, totalVariationWeight: 1e-4)
        let result = try GradientInversion.invert(model: model, update: update, batchSize: 2, attack: .invertingGradients(configuration),
                                                  random: LabRandom(seed: 13))
        #expect(result.labels.sorted() == x.intLabels.sorted())
        let recon = (0..<2).map { Array(result.reconstructions.scalars[($0 * 144)..<(($0 + 1) * 144)]) }
        let truth = (0..<2).map { Array(x.sample($0)) }
        let match = ReconstructionMatching.match(reconstructions: recon, originals: truth, height: 12, width: 12)
        #expect(match.meanPSNR > 18)
        #expect(match.meanSSIM > 0.5)
    }

    @Test("updates that do not fit the model, and attacks on architectures they do not cover, are clear errors")
    func errors() throws {
        let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 8, classes: 4, seed: 1)
        let x = Self.data.subset([0])
        let good = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels)
        #expect(throws: InversionError.self) {
            _ = try GradientInversion.invert(model: model, update: .gradient(Array(good.tensors.dropLast())), batchSize: 1,
                                             attack: .analyticFullyConnected, random: LabRandom(seed: 0))
        }
        #expect(throws: InversionError.self) {
            _ = try LabelRecovery.singleLabel(model: model, update: .weightDelta(good.tensors, learningRate: 0.1, localSteps: 0))
        }
        let lenet = try VictimNetworks.uniformlyInitialized(
            inputShape: [1, 12, 12], layers: try VictimNetworks.lenetLayers(inputShape: [1, 12, 12], classes: 4), scale: 0.5,
            random: LabRandom(seed: 2))
        let lenetUpdate = ClientUpdate.observe(model: lenet, inputs: x.featureTensor, labels: x.intLabels)
        #expect {
            _ = try GradientInversion.invert(model: lenet, update: lenetUpdate, batchSize: 1, attack: .analyticFullyConnected,
                                             random: LabRandom(seed: 0))
        } throws: { error in
            guard case .unsupportedArchitecture = error as? InversionError else { return false }
            return "\(error)".contains("not a dense layer reading the input")
        }
        // Labels of a conv-ended network are not covered by iDLG's rule.
        let convLast = try Sequential(inputShape: [1, 12, 12], layers: [.conv2d(inChannels: 1, outChannels: 4, kernelSize: 12, stride: 1, padding: 0), .flatten],
                                      random: LabRandom(seed: 3))
        let convUpdate = ClientUpdate.observe(model: convLast, inputs: x.featureTensor, labels: x.intLabels)
        #expect(throws: InversionError.self) { _ = try LabelRecovery.singleLabel(model: convLast, update: convUpdate) }
    }

    @Test("batch label recovery returns a batch's label multiset on a fresh network")
    func batchLabels() throws {
        var total = 0.0, trials = 0.0
        for seed in 0..<5 as Range<UInt64> {
            let model = try Fixtures.sigmoidMLP(inputShape: Self.data.sampleShape, hidden: 16, classes: 4, seed: seed + 40)
            let x = Self.data.subset(Array((Int(seed) * 4)..<(Int(seed) * 4 + 4)))
            let update = ClientUpdate.observe(model: model, inputs: x.featureTensor, labels: x.intLabels)
            let labels = try LabelRecovery.batchLabels(model: model, update: update, batchSize: 4)
            #expect(labels.count == 4)
            total += LabelRecovery.accuracy(recovered: labels, truth: x.intLabels)
            trials += 1
        }
        #expect(total / trials >= 0.75)
    }
}
