import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Federated
import Foundation
import LabRandom
import NeuralNetworks
import Paillier
import PrivacyAccounting

/// Kind `federated`: simulates federated training of a model over N clients and reports the
/// global model's accuracy per round, with an aggregation strategy, optional malicious clients,
/// secure aggregation and client-level DP.
///
/// ```yaml
/// kind: federated
/// data: {dataset: mnist}
/// model: {architecture: mlp, hidden: [128]}
/// federation: {clients: 100, partition: dirichlet, alpha: 0.5, clients_per_round: 10, rounds: 50, dropout: 0}
/// local: {epochs: 1, batch_size: 32, learning_rate: 0.05, momentum: 0, proximal_mu: 0}
/// strategy: {name: fedavg}                # fedavg fedprox fedadam median trimmed-mean krum multi-krum bulyan dp-fedavg
/// threat: {attack: backdoor, fraction: 0.1, first_round: 10, target: 0, boost: 10}
/// secure_aggregation: {protocol: masking} # none fixed-point masking additive paillier
/// dp: {clip_norm: 1, noise_multiplier: 1, delta: 1e-5}   # with strategy dp-fedavg and sampling_rate
/// sweep: {strategy.name: [fedavg, median, krum], threat.attack: [none, sign-flip, backdoor]}
/// ```
///
/// A sweep over `strategy.name` and `threat.attack` gives the strategy × threat table: one trial
/// per pair, each with its per-round curves (`federated.accuracy`, `federated.backdoor_asr`).
/// Training keys (`epochs`, `learning_rate`, …) belong to `local:`; in `model:` they are an error.
/// Streams: the partition from "partition", the model from "model/init", everything else as
/// `FederatedSimulation` names it ("round/<r>/client/<k>/batches", …); with
/// `dp.noise: insecure-reproducible` the DP noise from "dp/noise".
public enum FederatedKind: ExperimentKind {
    public static let name = "federated"
    public static let summary = "simulate federated learning; report accuracy per round under strategies, threats, secure aggregation and DP"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum PartitionName: String, SpecEnum { case iid, dirichlet, shards }
    public enum StrategyName: String, SpecEnum {
        case fedavg, fedprox, fedadam, median
        case trimmedMean = "trimmed-mean"
        case krum
        case multiKrum = "multi-krum"
        case bulyan
        case dpFedavg = "dp-fedavg"
    }
    public enum AttackName: String, SpecEnum {
        case none
        case labelFlip = "label-flip"
        case signFlip = "sign-flip"
        case gaussianNoise = "gaussian-noise"
        case backdoor
    }
    public enum ProtocolName: String, SpecEnum {
        case none
        case fixedPoint = "fixed-point"
        case masking, additive, paillier
    }
    public enum NoiseName: String, SpecEnum {
        case secure
        case insecureReproducible = "insecure-reproducible"
    }

    public struct FederationSpec: Sendable, Equatable {
        public var clients: Int
        public var partition: PartitionName
        public var alpha: Double
        public var shardsPerClient: Int
        public var clientsPerRound: Int?
        public var samplingRate: Double?
        public var rounds: Int
        public var dropout: Double
        public var evaluateEvery: Int
    }

    public struct StrategySpec: Sendable, Equatable {
        public var name: StrategyName
        public var serverLearningRate: Double
        public var proximalMu: Double
        public var byzantine: Int
        public var selected: Int
        public var beta: Double
        public var tau: Double
        public var beta1: Double
        public var beta2: Double
    }

    public struct ThreatSpec: Sendable, Equatable {
        public var attack: AttackName
        public var fraction: Double
        public var firstRound: Int
        public var scale: Double
        public var sigma: Double
        public var target: Int
        public var poisonFraction: Double
        public var boost: Double?
        public var triggerSize: Int
    }

    public struct SecureSpec: Sendable, Equatable {
        public var protocolName: ProtocolName
        public var fractionalBits: Int
        public var valueBits: Int
        public var threshold: Int?
        public var servers: Int
        public var keyBits: Int
    }

    public struct DPSpec: Sendable, Equatable {
        public var clipNorm: Double
        public var noiseMultiplier: Double
        public var delta: Double
        public var noise: NoiseName
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var model: ModelSpec
        public var federation: FederationSpec
        public var local: LocalTraining
        public var strategy: StrategySpec
        public var threat: ThreatSpec
        public var secure: SecureSpec
        public var dp: DPSpec?
        /// The honest-but-curious server's gradient-inversion attack (`server_attack:`), if any.
        public var serverAttack: ServerAttackSpec? = nil
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let modelReader = try body.section("model")
        for key in ["epochs", "batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "schedule"] where modelReader.contains(key) {
            throw modelReader.error(key, "local training is set under `local:` in a federated spec")
        }
        let model = try ModelSpec.decode(modelReader)
        let federation = try FederationSpec.decode(body.section("federation"))
        let localReader = body.contains("local") ? try body.section("local") : nil
        let local = try decodeLocal(localReader)
        try model.checkBudget(for: data, reader: modelReader,
                              batch: localReader.map { (local.batchSize, $0, "batch_size") } ?? (local.batchSize, body, "local"))
        let strategy = try StrategySpec.decode(body.contains("strategy") ? body.section("strategy") : nil)
        let threat = try ThreatSpec.decode(body.contains("threat") ? body.section("threat") : nil)
        let secure = try SecureSpec.decode(body.contains("secure_aggregation") ? body.section("secure_aggregation") : nil)
        let dp = body.contains("dp") ? try DPSpec.decode(body.section("dp")) : nil
        if strategy.name == .dpFedavg {
            guard dp != nil else { throw body.error("dp", "strategy dp-fedavg needs a dp: section (clip_norm, noise_multiplier)") }
            guard federation.samplingRate != nil else {
                throw body.error("federation.sampling_rate", "dp-fedavg's accounting needs Poisson sampling: give federation.sampling_rate instead of clients_per_round")
            }
        } else if dp != nil {
            throw body.error("dp", "a dp: section needs strategy.name: dp-fedavg")
        }
        if secure.protocolName != .none, ![.fedavg, .fedprox, .fedadam, .dpFedavg].contains(strategy.name) {
            throw body.error("secure_aggregation.protocol", "strategy \(strategy.name.rawValue) needs individual updates; secure aggregation works with fedavg, fedprox, fedadam and dp-fedavg")
        }
        if threat.attack != .none, case let .registered(name) = data.source, threat.target >= DatasetRegistry.descriptor(name).classCount {
            throw body.error("threat.target", "must be a class of \(name.rawValue) (0..<\(DatasetRegistry.descriptor(name).classCount)), got \(threat.target)")
        }
        var serverAttack: ServerAttackSpec? = nil
        if body.contains("server_attack") {
            let attack = try ServerAttackSpec.decode(body.section("server_attack"))
            try validateServerAttack(attack, local: local, rounds: federation.rounds, body: body)
            serverAttack = attack
        }
        return Parameters(data: data, model: model, federation: federation, local: local, strategy: strategy, threat: threat, secure: secure, dp: dp,
                          serverAttack: serverAttack)
    }

    static func decodeLocal(_ r: SpecReader?) throws(SpecError) -> LocalTraining {
        guard let r else { return LocalTraining() }
        let local = LocalTraining(epochs: try r.optional("epochs", default: 1, in: 1...10_000),
                                  batchSize: try r.optional("batch_size", default: 32, in: 1...1_000_000),
                                  learningRate: Float(try r.optional("learning_rate", default: 0.05, in: 1e-8...100.0)),
                                  momentum: Float(try r.optional("momentum", default: 0.0, in: 0...0.999)),
                                  proximalMu: Float(try r.optional("proximal_mu", default: 0.0, in: 0...1e4)))
        try r.finish()
        return local
    }
}

extension FederatedKind.FederationSpec {
    static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let clients: Int = try r.optional("clients", default: 100, in: 1...1_000_000)
        let perRound: Int? = try r.optional("clients_per_round")
        let rate: Double? = try r.optional("sampling_rate")
        if perRound != nil && rate != nil { throw r.error("sampling_rate", "give clients_per_round or sampling_rate, not both") }
        if let perRound, !(1...clients).contains(perRound) { throw r.error("clients_per_round", "must lie in 1...\(clients), got \(perRound)") }
        if let rate, !(rate > 0 && rate <= 1) { throw r.error("sampling_rate", "must lie in (0, 1], got \(rate)") }
        let spec = Self(clients: clients, partition: try r.optional("partition", default: .iid),
                        alpha: try r.optional("alpha", default: 0.5, in: 1e-4...1e6),
                        shardsPerClient: try r.optional("shards_per_client", default: 2, in: 1...10_000),
                        clientsPerRound: perRound ?? (rate == nil ? Swift.min(10, clients) : nil), samplingRate: rate,
                        rounds: try r.optional("rounds", default: 10, in: 1...100_000),
                        dropout: try r.optional("dropout", default: 0.0, in: 0...0.99),
                        evaluateEvery: try r.optional("evaluate_every", default: 1, in: 1...100_000))
        try r.finish()
        return spec
    }
}

extension FederatedKind.StrategySpec {
    static func decode(_ r: SpecReader?) throws(SpecError) -> Self {
        guard let r else {
            return Self(name: .fedavg, serverLearningRate: 1, proximalMu: 0.01, byzantine: 1, selected: 1, beta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99)
        }
        let name: FederatedKind.StrategyName = try r.optional("name", default: .fedavg)
        let spec = Self(name: name,
                        serverLearningRate: try r.optional("server_learning_rate", default: name == .fedadam ? 0.01 : 1.0, in: 1e-8...1e4),
                        proximalMu: try r.optional("proximal_mu", default: 0.01, in: 0...1e4),
                        byzantine: try r.optional("byzantine", default: 1, in: 0...100_000),
                        selected: try r.optional("selected", default: name == .multiKrum ? 5 : 1, in: 1...100_000),
                        beta: try r.optional("beta", default: 0.1, in: 0...0.499),
                        tau: try r.optional("tau", default: 1e-3, in: 1e-12...10),
                        beta1: try r.optional("beta1", default: 0.9, in: 0...0.9999),
                        beta2: try r.optional("beta2", default: 0.99, in: 0...0.99999))
        try r.finish()
        return spec
    }
}

extension FederatedKind.ThreatSpec {
    static func decode(_ r: SpecReader?) throws(SpecError) -> Self {
        guard let r else {
            return Self(attack: .none, fraction: 0.1, firstRound: 0, scale: 10, sigma: 1, target: 0, poisonFraction: 0.5, boost: nil, triggerSize: 3)
        }
        let spec = Self(attack: try r.optional("attack", default: .none),
                        fraction: try r.optional("fraction", default: 0.1, in: 0...1),
                        firstRound: try r.optional("first_round", default: 0, in: 0...100_000),
                        scale: try r.optional("scale", default: 10.0, in: 1e-6...1e6),
                        sigma: try r.optional("sigma", default: 1.0, in: 1e-9...1e6),
                        target: try r.optional("target", default: 0, in: 0...100_000),
                        poisonFraction: try r.optional("poison_fraction", default: 0.5, in: 0.001...1),
                        boost: try r.optional("boost").map { (v: Double) throws(SpecError) -> Double in
                            guard v > 0 && v <= 1e6 else { throw r.error("boost", "must lie in (0, 1000000], got \(v)") }; return v },
                        triggerSize: try r.optional("trigger_size", default: 3, in: 1...64))
        try r.finish()
        return spec
    }
}

extension FederatedKind.SecureSpec {
    static func decode(_ r: SpecReader?) throws(SpecError) -> Self {
        guard let r else { return Self(protocolName: .none, fractionalBits: 24, valueBits: 48, threshold: nil, servers: 2, keyBits: 2048) }
        let fractional: Int = try r.optional("fractional_bits", default: 24, in: 1...40)
        let spec = Self(protocolName: try r.optional("protocol", default: .masking),
                        fractionalBits: fractional,
                        valueBits: try r.optional("value_bits", default: 48, in: (fractional + 2)...52),
                        threshold: try r.optional("threshold").map { (v: Int) throws(SpecError) -> Int in
                            guard v >= 1 else { throw r.error("threshold", "must be ≥ 1, got \(v)") }; return v },
                        servers: try r.optional("servers", default: 2, in: 2...64),
                        keyBits: try r.optional("key_bits", default: 2048, in: 2048...8192))
        guard spec.keyBits % 2 == 0 else { throw r.error("key_bits", "must be even, got \(spec.keyBits)") }
        try r.finish()
        return spec
    }
}

extension FederatedKind.DPSpec {
    static func decode(_ r: SpecReader) throws(SpecError) -> Self {
        let delta: Double = try r.optional("delta", default: 1e-5)
        guard delta > 0 && delta < 1 else { throw r.error("delta", "must lie in (0, 1), got \(delta)") }
        let spec = Self(clipNorm: try r.required("clip_norm", in: 1e-9...1e9),
                        noiseMultiplier: try r.required("noise_multiplier", in: 0...1e4),
                        delta: delta, noise: try r.optional("noise", default: .secure))
        try r.finish()
        return spec
    }
}

extension FederatedKind {
    /// A simulation ready to run, with its strategy: the seam through which an experiment can
    /// attach a `ServerObserver` (for example a gradient-inversion attack on what the server sees).
    public struct Setup: Sendable {
        public var simulation: FederatedSimulation
        public var strategy: any AggregationStrategy
        public var random: LabRandom
        /// The simulation's training examples (not a second copy).
        public var train: LabeledData { simulation.train }
        /// The simulation's test examples (rebuilt from its evaluation tensor on each call).
        public var test: LabeledData { simulation.test }
    }

    /// Loads the data, partitions it, builds the model, strategy, threat and aggregation mode.
    public static func prepare(_ p: Parameters, context: TrialContext) async throws -> Setup {
        try await prepare(p, dataDirectory: context.dataDirectory, datasets: context.datasets, random: context.random, workers: context.workers)
    }

    /// Which node of a run a setup is for, and so which data it holds.
    public enum Node: Sendable, Equatable {
        /// The simulation: every client's data and the test part.
        case simulation
        /// A deployed server: the test part only (it evaluates; clients train).
        case server
        /// Deployed client k: its own training examples only.
        case client(Int)
    }

    /// `prepare(_:context:)` outside a runner (a deployed server or client): data from
    /// `dataDirectory`, every draw from `random`.
    ///
    /// A deployed `node` holds only its data when the dataset can be read by rows
    /// (`DataSpec.openRows`) and no backdoor threat needs the whole training part's range: a
    /// client its own examples (its partition list renumbered 0..<m, the other clients' lists
    /// empty), the server none. Every value it computes is the simulation's, bit for bit.
    public static func prepare(_ p: Parameters, dataDirectory: URL, datasets: DatasetCache, random: LabRandom, workers: Int,
                               node: Node = .simulation) async throws -> Setup {
        let rows = node == .simulation || p.threat.attack == .backdoor ? nil : try p.data.openRows(from: dataDirectory, random: random)
        var train: LabeledData, test: LabeledData
        let trainLabels: [Int32]
        if let rows {
            trainLabels = rows.trainLabels
            train = rows.emptyTrain
            test = node == .server ? try rows.test(rows: Array(0..<rows.testCount)) : rows.emptyTrain
        } else {
            (train, test) = try await p.data.load(from: dataDirectory, cache: datasets, random: random)
            trainLabels = train.labels
        }
        var partitionRandom = random.stream("partition")
        let n = p.federation.clients
        guard n <= trainLabels.count else {
            throw DataSpecError("federation.clients: \(n) clients need at least as many training examples, got \(trainLabels.count)")
        }
        var partition: FederatedPartition
        switch p.federation.partition {
        case .iid:
            partition = FederatedPartitioner.iid(count: trainLabels.count, clients: n, using: &partitionRandom)
        case .dirichlet:
            partition = try FederatedPartitioner.dirichletLabelSkew(labels: trainLabels, classCount: train.classCount, clients: n,
                                                                    alpha: p.federation.alpha, minimumPerClient: 1, using: &partitionRandom)
        case .shards:
            guard n * p.federation.shardsPerClient <= trainLabels.count else {
                throw DataSpecError("federation.shards_per_client: \(n) × \(p.federation.shardsPerClient) shards exceed the \(trainLabels.count) training examples")
            }
            partition = FederatedPartitioner.shards(labels: trainLabels, clients: n, shardsPerClient: p.federation.shardsPerClient, using: &partitionRandom)
        }
        if let rows, case let .client(k) = node, partition.clients.indices.contains(k) {
            // Client k's examples, in the order of its list, and the list renumbered to them.
            train = try rows.train(rows: partition.clients[k])
            partition = FederatedPartition(clients: partition.clients.indices.map { $0 == k ? Array(0..<train.count) : [] })
        }
        let layers = try p.model.layers(inputShape: train.sampleShape, classes: train.classCount)
        let model = try Sequential(inputShape: train.sampleShape, layers: layers, random: random.stream("model/init"))
        let sampling: ClientSampling = p.federation.samplingRate.map { .poisson(rate: $0) } ?? .fixed(count: p.federation.clientsPerRound ?? 10)

        let s = p.strategy
        let strategy: any AggregationStrategy
        switch s.name {
        case .fedavg: strategy = FedAvg(serverLearningRate: s.serverLearningRate)
        case .fedprox: strategy = FedProx(proximalMu: Float(s.proximalMu), averaging: FedAvg(serverLearningRate: s.serverLearningRate))
        case .fedadam: strategy = FedAdam(serverLearningRate: s.serverLearningRate, beta1: s.beta1, beta2: s.beta2, tau: s.tau)
        case .median: strategy = CoordinateMedian()
        case .trimmedMean: strategy = try TrimmedMean(beta: s.beta)
        case .krum: strategy = try Krum(byzantine: s.byzantine, selected: 1)
        case .multiKrum: strategy = try Krum(byzantine: s.byzantine, selected: s.selected)
        case .bulyan: strategy = try Bulyan(byzantine: s.byzantine)
        case .dpFedavg:
            let dp = p.dp!
            strategy = try DPFedAvg(clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, samplingProbability: p.federation.samplingRate!,
                                    clientCount: n, serverLearningRate: s.serverLearningRate, delta: dp.delta,
                                    noise: dp.noise == .secure ? .system() : .insecureSeeded(random.stream("dp/noise")))
        }

        let t = p.threat
        var threat: ThreatModel? = nil
        if t.attack != .none {
            let attack: ClientAttack
            switch t.attack {
            case .none: fatalError("unreachable")
            case .labelFlip: attack = .labelFlipping
            case .signFlip: attack = .signFlipping(scale: Float(t.scale))
            case .gaussianNoise: attack = .gaussianNoise(standardDeviation: Float(t.sigma))
            case .backdoor:
                guard t.target < train.classCount else {
                    throw DataSpecError("threat.target: must be a class (0..<\(train.classCount)), got \(t.target)")
                }
                let high = train.features.max() ?? 1
                let perRound = Double(p.federation.clientsPerRound ?? Int((p.federation.samplingRate ?? 0.1) * Double(n)))
                let boost = t.boost ?? Swift.max(1, perRound / s.serverLearningRate)
                attack = .backdoor(Backdoor(trigger: .pixelPattern(sampleShape: train.sampleShape, size: t.triggerSize, high: high, low: 0),
                                            targetLabel: t.target, poisonFraction: t.poisonFraction, boost: Float(boost)))
            }
            threat = try ThreatModel(attack: attack, maliciousFraction: t.fraction, firstRound: t.firstRound)
        }

        let sec = p.secure
        let aggregation: AggregationMode
        let format = try FixedPointFormat(fractionalBits: sec.fractionalBits, valueBits: sec.valueBits)
        switch sec.protocolName {
        case .none: aggregation = .plaintext
        case .fixedPoint: aggregation = .fixedPoint(format)
        case .masking: aggregation = .secure(try PairwiseMasking(threshold: sec.threshold, concurrency: workers), format)
        case .additive: aggregation = .secure(try AdditiveSharingAggregation(servers: sec.servers), format)
        case .paillier:
            let key = try PaillierPrivateKey.generate(bits: sec.keyBits)
            aggregation = .secure(try PaillierAggregation(privateKey: key, valueBits: sec.valueBits, maxClients: Swift.max(2, n)), format)
        }
        let configuration = FederatedConfiguration(rounds: p.federation.rounds, sampling: sampling, local: p.local,
                                                   dropoutProbability: p.federation.dropout, concurrency: workers,
                                                   aggregation: aggregation, evaluateEvery: p.federation.evaluateEvery)
        let simulation = FederatedSimulation(architecture: model, train: train, partition: partition, test: test,
                                             configuration: configuration, threat: threat)
        return Setup(simulation: simulation, strategy: strategy, random: random)
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let setup = try await prepare(p, context: context)
        let rounds = p.federation.rounds
        let log = p.serverAttack.map { ObservationLog(round: $0.round - 1) }
        var observer: ServerObserver? = nil
        if let log { observer = { observation in log.record(observation) } }
        let history = try await runOpened(setup.strategy, setup: setup, observer: observer) { record in
            if let accuracy = record.accuracy {
                context.progress("round \(record.round + 1)/\(rounds): accuracy \(String(format: "%.4f", accuracy))")
            }
        }
        var result = outcome(history, parameters: p)
        if let spec = p.serverAttack, let log {
            let (metrics, artifact) = try await curiousServerOutcome(spec, log: log, setup: setup, context: context, parameters: p)
            result.metrics += metrics
            if let artifact { result.artifacts.append(artifact) }
        }
        return result
    }

    /// Runs the setup's simulation with its strategy (opened from the existential).
    public static func runOpened<S: AggregationStrategy>(_ strategy: S, setup: Setup, observer: ServerObserver?,
                                                         progress: (@Sendable (RoundRecord) -> Void)?) async throws -> FederatedHistory {
        var strategy = strategy
        return try await setup.simulation.run(strategy: &strategy, random: setup.random, observer: observer, progress: progress)
    }

    /// Metrics and per-round curves of a history.
    static func outcome(_ history: FederatedHistory, parameters p: Parameters) -> TrialOutcome {
        var metrics: [Metric] = []
        let evaluated = history.rounds.filter { $0.accuracy != nil }
        if let last = evaluated.last {
            metrics.append(Metric(part: "global", "test_accuracy", last.accuracy!))
            if let loss = last.loss { metrics.append(Metric(part: "global", "test_loss", loss)) }
            metrics.append(Metric(part: "global", "best_test_accuracy", evaluated.compactMap(\.accuracy).max()!))
        }
        metrics.append(Metric(part: "federation", "rounds", Double(history.rounds.count)))
        metrics.append(Metric(part: "federation", "failures", Double(history.rounds.reduce(0) { $0 + $1.failures.count })))
        metrics.append(Metric(part: "federation", "mean_clients_per_round",
                              Double(history.rounds.reduce(0) { $0 + $1.sampled.count }) / Double(max(1, history.rounds.count))))
        var series = [Series(name: "federated.accuracy", x: evaluated.map { Double($0.round + 1) }, y: evaluated.map { $0.accuracy! },
                             xLabel: "round", yLabel: "test accuracy")]
        if p.threat.attack != .none {
            metrics.append(Metric(part: "threat", "malicious_clients", Double(history.maliciousClients.count)))
            metrics.append(Metric(part: "threat", "malicious_participations", Double(history.rounds.reduce(0) { $0 + $1.maliciousSampled })))
        }
        let backdoor = evaluated.filter { $0.backdoorSuccess != nil }
        if let last = backdoor.last {
            metrics.append(Metric(part: "backdoor", "attack_success_rate", last.backdoorSuccess!))
            metrics.append(Metric(part: "backdoor", "max_attack_success_rate", backdoor.compactMap(\.backdoorSuccess).max()!))
            series.append(Series(name: "federated.backdoor_asr", x: backdoor.map { Double($0.round + 1) }, y: backdoor.map { $0.backdoorSuccess! },
                                 xLabel: "round", yLabel: "backdoor attack success rate"))
        }
        let costs = history.rounds.compactMap(\.secureCost)
        if !costs.isEmpty {
            let clientBytes = costs.map(\.meanClientBytesSent).reduce(0, +) / Double(costs.count)
            let serverBytes = Double(costs.map { $0.serverBytesReceived + $0.serverBytesSent }.reduce(0, +)) / Double(costs.count)
            metrics.append(Metric(part: "secagg", "client_bytes_per_round", clientBytes))
            metrics.append(Metric(part: "secagg", "server_bytes_per_round", serverBytes))
        }
        let epsilons = history.rounds.compactMap { r in r.epsilon.map { (r.round, $0) } }
        if let last = epsilons.last, let dp = p.dp {
            metrics.append(Metric(part: "dp", "epsilon", last.1))
            metrics.append(Metric(part: "dp", "delta", dp.delta))
            metrics.append(Metric(part: "dp", "noise_multiplier", dp.noiseMultiplier))
            metrics.append(Metric(part: "dp", "reproducible_noise", dp.noise == .secure ? 0 : 1))
            if epsilons.allSatisfy({ $0.1.isFinite }) {
                series.append(Series(name: "federated.epsilon", x: epsilons.map { Double($0.0 + 1) }, y: epsilons.map(\.1), xLabel: "round", yLabel: "ε"))
            }
        }
        let losses = history.rounds.filter { $0.clientLoss.isFinite }
        series.append(Series(name: "federated.client_loss", x: losses.map { Double($0.round + 1) }, y: losses.map(\.clientLoss),
                             xLabel: "round", yLabel: "mean local training loss"))
        return TrialOutcome(metrics: metrics, series: series)
    }
}
