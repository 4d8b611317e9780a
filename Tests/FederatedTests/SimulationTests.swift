import Datasets
import Federated
import LabRandom
import NeuralNetworks
import Paillier
import Testing

@Suite("Federated simulation")
struct SimulationTests {
    let local = LocalTraining(epochs: 1, batchSize: 16, learningRate: 0.1)

    @Test("FedAvg learns a separable task from non-IID clients")
    func fedAvgLearns() async throws {
        let problem = try Problem.gaussian(alpha: 0.5)
        var strategy = FedAvg()
        let history = try await problem.simulation(FederatedConfiguration(rounds: 8, sampling: .fixed(count: 5), local: local, concurrency: 2))
            .run(strategy: &strategy, random: LabRandom(seed: 1))
        #expect(history.rounds.count == 8)
        #expect(history.rounds.allSatisfy { $0.sampled.count == 5 })
        #expect(try #require(history.finalAccuracy) > 0.85)
        let first = try #require(history.rounds.first?.loss), last = try #require(history.rounds.last?.loss)
        #expect(last < first)
    }

    @Test("the simulation gives back the test examples it holds as its evaluation tensor, features, labels and classes")
    func testExamplesRoundTrip() throws {
        let problem = Problem.patterns()
        let simulation = problem.simulation(FederatedConfiguration(rounds: 1, sampling: .fixed(count: 2), local: local))
        #expect(simulation.test == problem.test)
        #expect(simulation.test.features.map(\.bitPattern) == problem.test.features.map(\.bitPattern))
        #expect(simulation.test.count == 80)
    }

    @Test("the history is bit-identical whatever the number of parallel clients")
    func deterministicAcrossJobs() async throws {
        let problem = try Problem.gaussian(alpha: 0.3)
        var runs: [FederatedHistory] = []
        for jobs in [1, 3, 8] {
            var strategy = FedProx(proximalMu: 0.1)
            let config = FederatedConfiguration(rounds: 4, sampling: .fixed(count: 6), local: LocalTraining(epochs: 2, batchSize: 8, learningRate: 0.05, momentum: 0.5),
                                                dropoutProbability: 0.2, concurrency: jobs)
            runs.append(try await problem.simulation(config).run(strategy: &strategy, random: LabRandom(seed: 4)))
        }
        #expect(runs[0].parameters == runs[1].parameters && runs[1].parameters == runs[2].parameters)
        #expect(runs[0].rounds == runs[2].rounds)
        var other = FedProx(proximalMu: 0.1)
        let config = FederatedConfiguration(rounds: 4, sampling: .fixed(count: 6), local: LocalTraining(epochs: 2, batchSize: 8, learningRate: 0.05, momentum: 0.5),
                                            dropoutProbability: 0.2, concurrency: 1)
        let reseeded = try await problem.simulation(config).run(strategy: &other, random: LabRandom(seed: 5))
        #expect(reseeded.parameters != runs[0].parameters)
    }

    @Test("dropped clients are reported as failures and do not count")
    func dropouts() async throws {
        let problem = try Problem.gaussian()
        var strategy = FedAvg()
        let history = try await problem.simulation(FederatedConfiguration(rounds: 6, sampling: .fixed(count: 8), local: local, dropoutProbability: 0.5))
            .run(strategy: &strategy, random: LabRandom(seed: 2))
        let failures = history.rounds.flatMap(\.failures)
        #expect(!failures.isEmpty && failures.allSatisfy { $0.reason == .droppedOut })
        for round in history.rounds { #expect(Set(round.failures.map(\.client)).isSubset(of: Set(round.sampled))) }
    }

    @Test("secure aggregation by masking (with dropouts), sharing and Paillier gives the fixed-point plaintext model bit for bit")
    func secureMatchesPlaintext() async throws {
        let problem = try Problem.gaussian(clients: 8)
        let format = try FixedPointFormat(fractionalBits: 20, valueBits: 48)
        func run(_ mode: AggregationMode, dropout: Double) async throws -> FederatedHistory {
            var strategy = FedAvg()
            return try await problem.simulation(FederatedConfiguration(rounds: 3, sampling: .fixed(count: 5), local: local,
                                                                       dropoutProbability: dropout, concurrency: 2, aggregation: mode))
                .run(strategy: &strategy, random: LabRandom(seed: 3))
        }
        let oracle = try await run(.fixedPoint(format), dropout: 0.3)
        let masked = try await run(.secure(try PairwiseMasking(threshold: 2), format), dropout: 0.3)
        #expect(masked.parameters == oracle.parameters)
        #expect(oracle.rounds.contains { !$0.failures.isEmpty })
        #expect(masked.rounds.allSatisfy { ($0.secureCost?.serverBytesReceived ?? 0) > 0 })
        let shared = try await run(.secure(try AdditiveSharingAggregation(servers: 3), format), dropout: 0.3)
        #expect(shared.parameters == oracle.parameters)
        var seeded = LabRandom(seed: 8)
        let key = try PaillierPrivateKey.insecureGenerate(bits: 768, using: &seeded)
        let paillier = try await run(.secure(try PaillierAggregation(privateKey: key, valueBits: 48, maxClients: 16), format), dropout: 0.3)
        #expect(paillier.parameters == oracle.parameters)
        // The fixed-point aggregate is the plaintext one up to rounding.
        let plain = try await run(.plaintext, dropout: 0.3)
        #expect(zip(plain.parameters, oracle.parameters).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test("the observer sees each update in plaintext FedAvg and only the aggregate under secure aggregation")
    func observerHook() async throws {
        let problem = try Problem.gaussian(clients: 6)
        let config = FederatedConfiguration(rounds: 2, sampling: .fixed(count: 3), local: local)
        let plainLog = ObservationLog()
        var a = FedAvg()
        _ = try await problem.simulation(config).run(strategy: &a, random: LabRandom(seed: 1), observer: { plainLog.append($0) })
        let plain = plainLog.all
        #expect(plain.count == 6)
        for o in plain {
            guard case let .clientUpdate(_, client, count, global, update, training) = o else { Issue.record("expected a client update"); continue }
            #expect(training == local)
            #expect(count == problem.partition.clients[client].count)
            #expect(update.count == problem.model.parameterCount && global.count == update.count)
        }
        var secureConfig = config
        secureConfig.aggregation = .secure(try PairwiseMasking(), try FixedPointFormat())
        let secureLog = ObservationLog()
        var b = FedAvg()
        _ = try await problem.simulation(secureConfig).run(strategy: &b, random: LabRandom(seed: 1), observer: { secureLog.append($0) })
        let secure = secureLog.all
        #expect(secure.count == 2)
        for o in secure {
            guard case let .aggregate(_, clients, _, sum) = o else { Issue.record("expected only aggregates"); continue }
            #expect(clients.count == 3 && sum.count == 3)
        }
    }

    @Test("with one full-batch local step, an observed update is exactly −η times the client's gradient at the global model")
    func observedUpdateIsGradientStep() async throws {
        let problem = try Problem.gaussian(clients: 6)
        let eta: Float = 0.1
        let config = FederatedConfiguration(rounds: 1, sampling: .fixed(count: 3), local: LocalTraining(epochs: 1, batchSize: 10_000, learningRate: eta))
        let log = ObservationLog()
        var strategy = FedAvg()
        _ = try await problem.simulation(config).run(strategy: &strategy, random: LabRandom(seed: 1), observer: { log.append($0) })
        let layout = ParameterLayout(model: problem.model)
        var checked = 0
        for case let .clientUpdate(_, client, count, global, update, training) in log.all {
            #expect(training.learningRate == eta && count == problem.partition.clients[client].count)
            let data = problem.train.subset(problem.partition.clients[client])
            let model = try Sequential(inputShape: problem.model.inputShape, layers: problem.model.layers, parameters: layout.tensors(from: global))
            var none: LabRandom? = nil
            let gradient = layout.flatten(model.lossAndGradients(data.featureTensor, labels: data.intLabels, random: &none).gradients)
            let worst = zip(update, gradient).map { abs($0 + eta * $1) }.max() ?? 1
            #expect(worst < 1e-6)
            checked += 1
        }
        #expect(checked == 3)
    }

    @Test("robust strategies refuse secure aggregation; DP-FedAvg refuses fixed-size sampling")
    func configurationErrors() async throws {
        let problem = try Problem.gaussian(clients: 6)
        var median = CoordinateMedian()
        let secure = FederatedConfiguration(rounds: 1, sampling: .fixed(count: 3), aggregation: .secure(try PairwiseMasking(), try FixedPointFormat()))
        await #expect(throws: FederatedError.self) { try await problem.simulation(secure).run(strategy: &median, random: LabRandom(seed: 1)) }
        var dp = try DPFedAvg(clipNorm: 1, noiseMultiplier: 1, samplingProbability: 0.5, clientCount: 6)
        await #expect(throws: FederatedError.self) {
            try await problem.simulation(FederatedConfiguration(rounds: 1, sampling: .fixed(count: 3))).run(strategy: &dp, random: LabRandom(seed: 1))
        }
        var avg = FedAvg()
        await #expect(throws: FederatedError.invalidConfiguration(field: "clients_per_round", reason: "must lie in 1...6, got 7")) {
            try await problem.simulation(FederatedConfiguration(rounds: 1, sampling: .fixed(count: 7))).run(strategy: &avg, random: LabRandom(seed: 1))
        }
    }

    @Test("DP-FedAvg under secure aggregation reports a growing ε and still learns with little noise")
    func dpFedAvgSimulation() async throws {
        let problem = try Problem.gaussian(clients: 20)
        var dp = try DPFedAvg(clipNorm: 2, noiseMultiplier: 0.3, samplingProbability: 0.5, clientCount: 20, noise: .insecureSeeded(LabRandom(seed: 9)))
        let config = FederatedConfiguration(rounds: 8, sampling: .poisson(rate: 0.5), local: local,
                                            aggregation: .secure(try AdditiveSharingAggregation(), try FixedPointFormat()))
        let history = try await problem.simulation(config).run(strategy: &dp, random: LabRandom(seed: 2))
        let eps = history.rounds.compactMap(\.epsilon)
        #expect(eps.count == 8 && zip(eps, eps.dropFirst()).allSatisfy { $0 < $1 })
        let dpAccuracy = try #require(history.finalAccuracy)
        #expect(dpAccuracy > 0.7)
    }

    @Test("a boosted backdoor implants its trigger under FedAvg; a clean run does not")
    func backdoor() async throws {
        let problem = Problem.patterns()
        let trigger = Trigger.pixelPattern(sampleShape: [16, 16], size: 3, high: 1, low: 0)
        #expect(trigger.positions.count == 9)
        let threat = try ThreatModel(attack: .backdoor(Backdoor(trigger: trigger, targetLabel: 0, poisonFraction: 0.5, boost: 5)),
                                     maliciousFraction: 0.2, firstRound: 6)
        let config = FederatedConfiguration(rounds: 10, sampling: .fixed(count: 5), local: LocalTraining(epochs: 2, batchSize: 8, learningRate: 0.1),
                                            concurrency: 2)
        var attacked = FedAvg()
        let history = try await problem.simulation(config, threat: threat).run(strategy: &attacked, random: LabRandom(seed: 6))
        #expect(history.maliciousClients.count == 2)
        #expect(history.rounds.contains { $0.maliciousSampled > 0 })
        #expect(history.rounds.prefix(6).allSatisfy { $0.maliciousSampled == 0 })
        // Success right after the rounds in which an attacker took part.
        let asr = history.rounds.filter { $0.maliciousSampled > 0 }.compactMap(\.backdoorSuccess).max() ?? 0
        var clean = FedAvg()
        let cleanHistory = try await problem.simulation(config, threat: try ThreatModel(attack: threat.attack, maliciousFraction: 0))
            .run(strategy: &clean, random: LabRandom(seed: 6))
        let baseline = cleanHistory.rounds.compactMap(\.backdoorSuccess).max() ?? 1
        #expect(asr > 0.8)
        #expect(baseline < 0.5)
        let mainAccuracy = try #require(history.finalAccuracy), cleanAccuracy = try #require(cleanHistory.finalAccuracy)
        #expect(cleanAccuracy > 0.9)
        #expect(mainAccuracy > 0.7)
    }

    @Test("coordinate median keeps accuracy under sign-flipping clients that ruin FedAvg")
    func signFlipping() async throws {
        let problem = try Problem.gaussian(clients: 10)
        let threat = try ThreatModel(attack: .signFlipping(scale: 10), maliciousFraction: 0.3)
        let config = FederatedConfiguration(rounds: 6, sampling: .fixed(count: 10), local: local, concurrency: 2)
        var avg = FedAvg()
        let broken = try await problem.simulation(config, threat: threat).run(strategy: &avg, random: LabRandom(seed: 1))
        var median = CoordinateMedian()
        let robust = try await problem.simulation(config, threat: threat).run(strategy: &median, random: LabRandom(seed: 1))
        let robustAccuracy = try #require(robust.finalAccuracy), brokenAccuracy = try #require(broken.finalAccuracy)
        #expect(robustAccuracy > 0.85)
        #expect(brokenAccuracy < robustAccuracy - 0.2)
    }

    @Test("label flipping and Gaussian clients are applied only to the malicious set")
    func otherAttacks() async throws {
        let problem = try Problem.gaussian(clients: 10)
        let log = ObservationLog()
        let threat = try ThreatModel(attack: .gaussianNoise(standardDeviation: 5), maliciousFraction: 0.2)
        var krum = try Krum(byzantine: 2)
        let config = FederatedConfiguration(rounds: 3, sampling: .fixed(count: 10), local: local)
        let history = try await problem.simulation(config, threat: threat).run(strategy: &krum, random: LabRandom(seed: 1), observer: { log.append($0) })
        let malicious = Set(history.maliciousClients)
        for case let .clientUpdate(_, client, _, _, update, _) in log.all {
            let norm = update.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if malicious.contains(client) { #expect(norm > 20) } else { #expect(norm < 20) }
        }
        let krumAccuracy = try #require(history.finalAccuracy)
        #expect(krumAccuracy > 0.8)
        var flipped = FedAvg()
        let flip = try ThreatModel(attack: .labelFlipping, maliciousFraction: 1)
        let allFlipped = try await problem.simulation(config, threat: flip).run(strategy: &flipped, random: LabRandom(seed: 1))
        #expect(try #require(allFlipped.finalAccuracy) < 0.5)
    }
}
