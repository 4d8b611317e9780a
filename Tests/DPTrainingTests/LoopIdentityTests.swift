import DPTraining
import LabRandom
import NeuralNetworks
import PrivacyAccounting
import Tensors
import Testing

/// DP-SGD's loop as it was written before `trainPrivately` ran `MiniBatchLoop`: the oracle the
/// loop is held to, bit for bit (parameters, epoch losses, batch sizes, steps, ε).
enum DPLoopBeforeMiniBatchLoop {
    static func train(_ model: inout Sequential, inputs: Tensor, labels: [Int], configuration: DPTrainingConfiguration,
                      accountant: inout PrivacyAccountant, randomness: PrivacyRandomness, dropout: LabRandom,
                      allowed: Int) throws -> (epochLosses: [Float], batchSizes: [Int], steps: Int) {
        let n = inputs.shape[0]
        let q = configuration.samplingProbability(datasetSize: n)
        let sigma = configuration.noiseMultiplier
        var dp = DPOptimizer(wrapping: configuration.optimizer.makeOptimizer(), noiseMultiplier: sigma,
                             clipping: configuration.clipping, expectedBatchSize: Double(configuration.expectedBatchSize),
                             randomness: randomness)
        let sampler = PoissonSampler(samplingProbability: q)
        let hasDropout = model.layers.contains { if case .dropout = $0 { return true } else { return false } }
        var epochLosses: [Float] = [], batchSizes: [Int] = []
        let stepsPerEpoch = Int((Double(n) / Double(configuration.expectedBatchSize)).rounded(.up))
        var step = 0
        var stop = false
        for epoch in 0..<configuration.epochs {
            let rate = configuration.schedule.learningRate(base: configuration.learningRate, epoch: epoch)
            var dropoutStream: LabRandom? = hasDropout ? dropout.stream("epochs/\(epoch)/dropout") : nil
            var lossTotal = 0.0, lossCount = 0
            for _ in 0..<stepsPerEpoch {
                if step >= allowed { stop = true; break }
                let batch = sampler.sample(populationSize: n, using: &dp.randomness)
                batchSizes.append(batch.count)
                var start = 0
                while start < batch.count {
                    let end = Swift.min(batch.count, start + configuration.maxPhysicalBatchSize)
                    let indices = Array(batch[start..<end])
                    let pass = model.perSampleGradientPass(inputs.gatheringRows(indices), labels: indices.map { labels[$0] },
                                                           loss: configuration.loss, training: true, random: &dropoutStream)
                    for l in pass.losses { lossTotal += Double(l) }
                    lossCount += pass.batchSize
                    dp.accumulate(pass)
                    start = end
                }
                dp.step(parameters: &model.parameters, learningRate: rate)
                try accountant.record(samplingProbability: q, noiseMultiplier: sigma)
                step += 1
            }
            if lossCount > 0 || !stop { epochLosses.append(Float(lossTotal / Double(Swift.max(1, lossCount)))) }
            if stop { break }
        }
        return (epochLosses, batchSizes, step)
    }
}

@Suite("DP-SGD on the one training loop")
struct DPLoopIdentityTests {
    @Test("trainPrivately gives the former loop's parameters, losses, batches, steps and ε bit for bit",
          arguments: ["dropout, virtual batches, step schedule", "budget stop mid-epoch, momentum", "budget stop at an epoch's start"])
    func identical(setting: String) throws {
        let (x, labels) = blobs(count: 230, dimensions: 6, seed: 9)
        let budgetStop = setting.hasPrefix("budget")
        // One step per epoch (q = 1): the budget can only stop training at an epoch's start.
        let atEpochStart = setting.hasSuffix("epoch's start")
        let layers: [Layer] = budgetStop
            ? [.dense(inputs: 6, outputs: 8), .relu, .dense(inputs: 8, outputs: 2)]
            : [.dense(inputs: 6, outputs: 12), .relu, .dropout(rate: 0.25), .dense(inputs: 12, outputs: 2)]
        let batch = atEpochStart ? 230 : 30
        let sigma = atEpochStart ? 5.0 : 1.2
        let configuration = DPTrainingConfiguration(
            epochs: budgetStop ? 40 : 4, expectedBatchSize: batch, maxPhysicalBatchSize: budgetStop ? 256 : 7, learningRate: 0.2,
            schedule: budgetStop ? .constant : .step(stepSize: 2, gamma: 0.5),
            optimizer: budgetStop ? .sgd(momentum: 0.9) : .sgd(), noiseMultiplier: sigma, delta: 1e-5,
            targetEpsilon: budgetStop ? 4 : nil)
        let start = try Sequential(inputShape: [6], layers: layers, random: LabRandom(seed: 4))

        var ours = start
        var ourAccountant = PrivacyAccountant()
        let report = try ours.trainPrivately(inputs: x, labels: labels, configuration: configuration, accountant: &ourAccountant,
                                             randomness: .insecureSeeded(LabRandom(seed: 21)), dropout: LabRandom(seed: 22))

        var oracle = start
        var oracleAccountant = PrivacyAccountant()
        let planned = configuration.plannedSteps(datasetSize: 230)
        let allowed = budgetStop
            ? try configuration.accounting.maximumSteps(forEpsilon: 4, delta: 1e-5, samplingProbability: Double(batch) / 230,
                                                        noiseMultiplier: sigma, limit: planned, after: [])
            : planned
        let expected = try DPLoopBeforeMiniBatchLoop.train(
            &oracle, inputs: x, labels: labels, configuration: configuration, accountant: &oracleAccountant,
            randomness: .insecureSeeded(LabRandom(seed: 21)), dropout: LabRandom(seed: 22), allowed: allowed)

        #expect(report.stoppedByBudget == budgetStop)
        #expect(report.steps == expected.steps && report.steps == (budgetStop ? allowed : planned))
        #expect(report.batchSizes == expected.batchSizes)
        #expect(report.epochLosses == expected.epochLosses)
        #expect(ours.parameters.map(\.scalars) == oracle.parameters.map(\.scalars))
        #expect(ourAccountant.history == oracleAccountant.history)
        #expect(report.epsilon == (try oracleAccountant.epsilon(delta: 1e-5)))
        if budgetStop { #expect(allowed > 0 && allowed < planned) }
        // The epoch the budget stopped before any step is not recorded.
        if atEpochStart { #expect(report.epochLosses.count == allowed) }
    }
}
