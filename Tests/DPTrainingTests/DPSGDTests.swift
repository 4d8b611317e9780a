import DPTraining
import LabRandom
import NeuralNetworks
import PrivacyAccounting
import Tensors
import Testing

@Suite("DP-SGD")
struct DPSGDTests {
    func model(seed: UInt64 = 3) throws -> Sequential {
        try Sequential(inputShape: [6], layers: [.dense(inputs: 6, outputs: 8), .relu, .dense(inputs: 8, outputs: 2)],
                       random: LabRandom(seed: seed))
    }

    @Test("clipped per-sample gradients have norm ≤ C (flat) and ≤ Cₚ per parameter (per-layer)")
    func clippingBounds() throws {
        let net = try model()
        let (x, labels) = blobs(count: 32, dimensions: 6, seed: 1)
        var none: LabRandom? = nil
        let pass = net.perSampleGradientPass(x.detached() * Tensor(40), labels: labels, training: false, random: &none)
        let norms = pass.squaredNorms()
        let flat = ClippingStrategy.flat(maxNorm: 0.5).factors(squaredNorms: norms)
        let bounds: [Float] = [0.3, 0.1, 0.2, 0.05]
        let perLayer = ClippingStrategy.perParameter(maxNorms: bounds).factors(squaredNorms: norms)
        var clipped = 0
        for n in 0..<32 {
            var total: Float = 0
            for p in norms.indices {
                total += norms[p][n] * flat[p][n] * flat[p][n]
                #expect((norms[p][n] * perLayer[p][n] * perLayer[p][n]).squareRoot() <= bounds[p] * 1.0001)
                #expect(perLayer[p][n] <= 1)
            }
            #expect(total.squareRoot() <= 0.5 * 1.0001)
            if flat[0][n] < 1 { clipped += 1 }
        }
        #expect(clipped > 0)   // the scaled inputs make the gradients large: clipping is active
        #expect(ClippingStrategy.perParameter(maxNorms: [3, 4]).sensitivity == 5)
    }

    @Test("noise has standard deviation σ·S / B per coordinate and mean zero")
    func noiseScale() throws {
        let shapes = [[300, 200], [300]]
        var dp = DPOptimizer(wrapping: SGDStub(), noiseMultiplier: 1.3, clipping: .perParameter(maxNorms: [0.6, 0.8]),
                             expectedBatchSize: 50, randomness: .insecureSeeded(LabRandom(seed: 8)))
        var parameters = shapes.map { Tensor(zeros: $0) }
        dp.step(parameters: &parameters, learningRate: 1)
        let values = parameters.flatMap(\.scalars).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
        let expected = 1.3 * 1.0 / 50    // S = √(0.6² + 0.8²) = 1
        #expect(abs(std / expected - 1) < 0.01)
        #expect(abs(mean) < 5 * expected / Double(values.count).squareRoot())
    }

    @Test("virtual batches give the same step as one physical batch")
    func virtualBatches() throws {
        let (x, labels) = blobs(count: 200, dimensions: 6, seed: 2)
        var results: [[Float]] = []
        for physical in [512, 7] {
            var net = try model()
            var accountant = PrivacyAccountant()
            let configuration = DPTrainingConfiguration(epochs: 1, expectedBatchSize: 40, maxPhysicalBatchSize: physical,
                                                        learningRate: 0.1, noiseMultiplier: 1.0, delta: 1e-5)
            _ = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant,
                                       randomness: .insecureSeeded(LabRandom(seed: 4)))
            results.append(net.parameters.flatMap(\.scalars))
        }
        #expect(zip(results[0], results[1]).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test("the learning-rate schedule sets each epoch's rate (a rate of zero leaves the parameters as they were)")
    func schedule() throws {
        let (x, labels) = blobs(count: 200, dimensions: 6, seed: 2)
        func trained(epochs: Int, schedule: LearningRateSchedule) throws -> (parameters: [Float], rates: [Float]) {
            var net = try model()
            var accountant = PrivacyAccountant()
            let configuration = DPTrainingConfiguration(epochs: epochs, expectedBatchSize: 40, learningRate: 0.1, schedule: schedule,
                                                        noiseMultiplier: 1.0, delta: 1e-5)
            let report = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant,
                                                randomness: .insecureSeeded(LabRandom(seed: 4)))
            return (net.parameters.flatMap(\.scalars), report.learningRates)
        }
        // After the first epoch the step schedule multiplies the rate by γ = 0: plain SGD then
        // leaves the parameters where the first epoch put them, although noise is still drawn.
        let stopped = try trained(epochs: 3, schedule: .step(stepSize: 1, gamma: 0))
        let oneEpoch = try trained(epochs: 1, schedule: .constant)
        let constant = try trained(epochs: 3, schedule: .constant)
        #expect(stopped.rates == [0.1, 0, 0])
        #expect(stopped.parameters == oneEpoch.parameters)
        #expect(constant.rates == [0.1, 0.1, 0.1])
        #expect(constant.parameters != oneEpoch.parameters)
    }

    @Test("the accountant's ε after training equals the standalone computation; batches are Poisson")
    func accounting() throws {
        let (x, labels) = blobs(count: 500, dimensions: 6, seed: 3)
        var net = try model()
        var accountant = PrivacyAccountant(method: .rdp())
        let configuration = DPTrainingConfiguration(epochs: 3, expectedBatchSize: 25, learningRate: 0.1,
                                                    noiseMultiplier: 1.1, delta: 1e-5)
        let report = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant)
        #expect(report.steps == 60)
        #expect(report.batchSizes.count == 60)
        #expect(Set(report.batchSizes).count > 5)     // variable batch sizes
        let meanSize = Double(report.batchSizes.reduce(0, +)) / 60
        #expect(abs(meanSize - 25) < 5 * (25.0 * 0.95 / 60).squareRoot())
        let standalone = try AccountingMethod.rdp().epsilon(
            for: [PoissonGaussianSteps(samplingProbability: 0.05, noiseMultiplier: 1.1, steps: 60)], delta: 1e-5)
        #expect(report.epsilon == standalone)
        #expect(!report.insecureRandomness)
    }

    @Test("a target ε stops training at the last step within budget; a spent budget is an error")
    func budget() throws {
        let (x, labels) = blobs(count: 400, dimensions: 6, seed: 4)
        var net = try model()
        var accountant = PrivacyAccountant()
        let configuration = DPTrainingConfiguration(epochs: 50, expectedBatchSize: 40, learningRate: 0.1,
                                                    noiseMultiplier: 1.5, delta: 1e-5, targetEpsilon: 2)
        let report = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant,
                                            randomness: .insecureSeeded(LabRandom(seed: 1)))
        #expect(report.stoppedByBudget)
        #expect(report.steps < 500)
        #expect(report.epsilon <= 2)
        let next = try AccountingMethod.rdp().epsilon(
            for: [PoissonGaussianSteps(samplingProbability: 0.1, noiseMultiplier: 1.5, steps: report.steps + 1)], delta: 1e-5)
        #expect(next > 2)
        // Training again with the same accountant: the budget is spent.
        #expect(throws: DPTrainingError.self) {
            _ = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant)
        }
    }

    @Test("bad configurations are errors naming the field")
    func badConfiguration() throws {
        let (x, labels) = blobs(count: 10, dimensions: 6, seed: 5)
        var net = try model()
        var accountant = PrivacyAccountant()
        let bad: [(DPTrainingConfiguration, String)] = [
            (DPTrainingConfiguration(epochs: 1, expectedBatchSize: 4, learningRate: 0.1, noiseMultiplier: 0, delta: 1e-5), "noise_multiplier"),
            (DPTrainingConfiguration(epochs: 1, expectedBatchSize: 4, learningRate: 0.1, noiseMultiplier: 1, delta: 1), "delta"),
            (DPTrainingConfiguration(epochs: 1, expectedBatchSize: 0, learningRate: 0.1, noiseMultiplier: 1, delta: 1e-5), "expected_batch_size"),
            (DPTrainingConfiguration(epochs: 1, expectedBatchSize: 4, learningRate: 0.1, noiseMultiplier: 1,
                                     clipping: .perParameter(maxNorms: [1]), delta: 1e-5), "per-parameter"),
            (DPTrainingConfiguration(epochs: 1, expectedBatchSize: 4, learningRate: 0.1, noiseMultiplier: 1, delta: 1e-5,
                                     targetEpsilon: -1), "target_epsilon"),
        ]
        for (configuration, field) in bad {
            do {
                _ = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant)
                Issue.record("expected an error naming \(field)")
            } catch {
                #expect(error.description.contains(field), "\(error.description)")
            }
        }
    }

    @Test("DP-SGD still learns an easy generated task (ε ≈ 4)")
    func learns() throws {
        let (x, labels) = blobs(count: 2000, dimensions: 6, seed: 6)
        let (testX, testLabels) = blobs(count: 1000, dimensions: 6, seed: 7)
        var net = try model()
        let before = net.accuracy(testX, labels: testLabels)
        var accountant = PrivacyAccountant()
        let configuration = DPTrainingConfiguration(epochs: 5, expectedBatchSize: 100, learningRate: 0.5,
                                                    noiseMultiplier: 1.0, delta: 1e-5)
        let report = try net.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &accountant)
        let after = net.accuracy(testX, labels: testLabels)
        #expect(after > 0.95, "accuracy \(before) → \(after)")
        #expect(report.epsilon < 4.5)
        #expect(report.epochLosses.last! < report.epochLosses.first!)
    }
}
