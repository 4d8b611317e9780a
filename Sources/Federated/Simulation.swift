import Datasets
import LabRandom
import NeuralNetworks
import Tensors

/// How the server picks the clients of a round.
public enum ClientSampling: Sendable, Equatable, Hashable {
    /// Exactly `count` clients, uniformly without replacement (FedAvg's C·K).
    case fixed(count: Int)
    /// Each client independently with probability `rate` (what DP-FedAvg's accounting assumes).
    case poisson(rate: Double)
}

/// How the server learns the round's aggregate.
public enum AggregationMode: Sendable {
    /// The server receives every client's update in plaintext (any strategy).
    case plaintext
    /// Clients send fixed-point contributions that the server sums in clear: the oracle that the
    /// secure protocols must match bit for bit (summing strategies only).
    case fixedPoint(FixedPointFormat)
    /// Clients' fixed-point contributions are summed by a secure-aggregation protocol: the server
    /// learns only the sum (summing strategies only).
    case secure(any SecureSummation, FixedPointFormat)

    var format: FixedPointFormat? {
        switch self {
        case .plaintext: return nil
        case let .fixedPoint(f), let .secure(_, f): return f
        }
    }
}

/// Everything of a federated run but the model, the data and the strategy.
public struct FederatedConfiguration: Sendable {
    public var rounds: Int
    public var sampling: ClientSampling
    public var local: LocalTraining
    /// Each sampled client drops out (after the round's setup, before sending) with this probability.
    public var dropoutProbability: Double
    /// How many clients train at once (the result does not depend on it).
    public var concurrency: Int
    public var aggregation: AggregationMode
    /// Evaluate the global model every this many rounds (and after the last).
    public var evaluateEvery: Int
    /// Clients told to drop out (after the round's setup, before sending) in given rounds,
    /// round → clients, on top of `dropoutProbability`'s draws: how a simulation replays the
    /// dropouts a deployed run met (a client that is not sampled in that round is not affected).
    public var forcedDropouts: [Int: Set<Int>] = [:]

    public init(rounds: Int, sampling: ClientSampling, local: LocalTraining = LocalTraining(), dropoutProbability: Double = 0,
                concurrency: Int = 1, aggregation: AggregationMode = .plaintext, evaluateEvery: Int = 1) {
        self.rounds = rounds
        self.sampling = sampling
        self.local = local
        self.dropoutProbability = dropoutProbability
        self.concurrency = concurrency
        self.aggregation = aggregation
        self.evaluateEvery = evaluateEvery
    }

    /// Checks every field against `clientCount` clients.
    public func validate(clientCount: Int) throws(FederatedError) {
        guard rounds >= 1 else { throw .invalidConfiguration(field: "rounds", reason: "must be ≥ 1, got \(rounds)") }
        switch sampling {
        case let .fixed(count):
            guard count >= 1, count <= clientCount else {
                throw .invalidConfiguration(field: "clients_per_round", reason: "must lie in 1...\(clientCount), got \(count)")
            }
        case let .poisson(rate):
            guard rate > 0, rate <= 1 else { throw .invalidConfiguration(field: "sampling_rate", reason: "must lie in (0, 1], got \(rate)") }
        }
        try local.validate()
        guard dropoutProbability >= 0, dropoutProbability < 1 else {
            throw .invalidConfiguration(field: "dropout", reason: "must lie in [0, 1), got \(dropoutProbability)")
        }
        guard concurrency >= 1 else { throw .invalidConfiguration(field: "jobs", reason: "must be ≥ 1, got \(concurrency)") }
        guard evaluateEvery >= 1 else { throw .invalidConfiguration(field: "evaluate_every", reason: "must be ≥ 1, got \(evaluateEvery)") }
    }
}

/// What an honest-but-curious server observes in a round: the hook through which an attack at
/// the experiment layer (gradient inversion, property inference) receives its input.
public enum ServerObservation: Sendable {
    /// Plaintext aggregation: one client's update Δ = w_local − w_global as the server received
    /// it, with the global parameters the client started from (flat, `ParameterLayout` order) and
    /// the local training the server asked for (learning rate, epochs, batch size: a client with
    /// n examples took epochs·⌈n / batchSize⌉ SGD steps, on its whole data at each step when
    /// batchSize ≥ n). A malicious client's update is observed as it was sent.
    case clientUpdate(round: Int, client: Int, exampleCount: Int, global: [Float], update: [Float], training: LocalTraining)
    /// Fixed-point or secure aggregation: only the decoded weighted sum of the surviving
    /// `clients`' contributions (Σ w_k v_k, Σ w_k).
    case aggregate(round: Int, clients: [Int], global: [Float], sum: WeightedSum)
}

/// Called on the server's task, in client order, for every observation.
public typealias ServerObserver = @Sendable (ServerObservation) -> Void

/// One round's measurements.
public struct RoundRecord: Sendable, Equatable, Codable {
    public var round: Int
    /// The sampled clients, sorted.
    public var sampled: [Int]
    /// Sampled clients whose result did not arrive.
    public var failures: [ClientFailure]
    /// How many sampled clients were malicious (and attacking).
    public var maliciousSampled: Int
    /// The mean local training loss of the clients that reported.
    public var clientLoss: Double
    /// Test accuracy and mean loss of the global model after the round (nil when not evaluated).
    public var accuracy: Double?
    public var loss: Double?
    /// The fraction of triggered test inputs (true label ≠ target) classified as the backdoor's
    /// target (nil without a backdoor threat or when not evaluated).
    public var backdoorSuccess: Double?
    /// The secure-aggregation cost of the round (nil in plaintext modes).
    public var secureCost: SecureAggregationCost?
    /// DP-FedAvg's ε after the round (nil for other strategies).
    public var epsilon: Double?
}

/// Where a run stands after a finished round: what a deployed server persists so that a
/// restarted server resumes from the last finished round and ends with the same model.
public struct FederatedCheckpoint: Sendable, Equatable {
    /// The first round still to run.
    public var nextRound: Int
    /// The global parameters after round `nextRound − 1`, flat.
    public var global: [Float]
    /// The strategy's `savedState()` after that round.
    public var strategyState: [String: [Double]]
    /// The records of rounds 0..<nextRound.
    public var records: [RoundRecord]

    public init(nextRound: Int, global: [Float], strategyState: [String: [Double]], records: [RoundRecord]) {
        self.nextRound = nextRound
        self.global = global
        self.strategyState = strategyState
        self.records = records
    }
}

/// The outcome of a simulation.
public struct FederatedHistory: Sendable {
    public var rounds: [RoundRecord]
    /// The final global parameters, flat.
    public var parameters: [Float]
    /// The malicious clients (sorted).
    public var maliciousClients: [Int]
    /// The last round's evaluated accuracy.
    public var finalAccuracy: Double? { rounds.last(where: { $0.accuracy != nil })?.accuracy }
}

/// A simulation of federated training: N clients holding the parts of a partition, a server
/// running an `AggregationStrategy`, optional malicious clients and secure aggregation.
///
/// Round r:
/// 1. the server samples clients from stream "round/<r>/sampling" and decides dropouts from
///    "round/<r>/dropouts";
/// 2. every sampled client that stays trains `strategy.configureTraining(local, r)` from the
///    global model on its own examples, drawing from "round/<r>/client/<k>" (batches from its
///    child "batches"); malicious clients attack (their extra draws from ".../attack");
///    clients train in parallel, at most `concurrency` at once, one BLAS thread each;
/// 3. the server aggregates the results in client order (and sees what `observer` is shown);
/// 4. the global model is evaluated on the test set.
///
/// The model is initialised from "model/init" by the caller's architecture, the malicious set is
/// drawn from "threat/malicious". Every draw comes from a named stream and results are combined
/// in client order, so the history is bit-identical whatever `concurrency` is.
///
/// Memory: one global vector, the round's k client updates (what a robust strategy needs), and
/// one model per worker while training; the N clients' data stay as index lists into one
/// dataset, and the test examples are held once, as the tensor the evaluation reads.
public struct FederatedSimulation: Sendable {
    public let architecture: Sequential
    public let train: LabeledData
    public let partition: FederatedPartition
    public var configuration: FederatedConfiguration
    public var threat: ThreatModel?
    /// The test examples' features, `[count] + sampleShape`: the only copy of them.
    let testInputs: Tensor
    /// The test examples' labels.
    let testLabels: [Int32]
    /// What else `test` gives back: the sample shape, classes and names.
    let testDescription: (sampleShape: [Int], classCount: Int, classNames: [String]?, featureNames: [String]?)

    public init(architecture: Sequential, train: LabeledData, partition: FederatedPartition, test: LabeledData,
                configuration: FederatedConfiguration, threat: ThreatModel? = nil) {
        self.architecture = architecture
        self.train = train
        self.partition = partition
        self.testInputs = test.featureTensor
        self.testLabels = test.labels
        self.testDescription = (test.sampleShape, test.classCount, test.classNames, test.featureNames)
        self.configuration = configuration
        self.threat = threat
    }

    /// The test examples (rebuilt from the evaluation's tensor on each call).
    public var test: LabeledData {
        let d = testDescription
        return LabeledData(features: testInputs.scalars, sampleShape: d.sampleShape, labels: testLabels, classCount: d.classCount,
                           classNames: d.classNames, featureNames: d.featureNames)
    }

    /// Runs all rounds with `strategy` from the initial parameters of `architecture`, every
    /// client trained in this process.
    public func run<S: AggregationStrategy>(strategy: inout S, random: LabRandom, observer: ServerObserver? = nil,
                                            progress: (@Sendable (RoundRecord) -> Void)? = nil) async throws -> FederatedHistory {
        try await run(strategy: &strategy, clients: InProcessClients(simulation: self, random: random), random: random,
                      observer: observer, progress: progress)
    }

    /// Runs the rounds with `strategy`, the clients reached through `clients`: the one round
    /// loop of the simulation (`InProcessClients`) and of a deployed server (clients in other
    /// processes), so both give the same model from the same seed and the same dropouts.
    ///
    /// - Parameters:
    ///   - resume: a checkpoint of this run (same spec, seed and strategy) to continue from.
    ///   - checkpoint: called after every finished round with where the run stands.
    public func run<S: AggregationStrategy, Pool: ClientPool>(
        strategy: inout S, clients: Pool, random: LabRandom, resume: FederatedCheckpoint? = nil,
        observer: ServerObserver? = nil, progress: (@Sendable (RoundRecord) -> Void)? = nil,
        checkpoint: ((FederatedCheckpoint) throws -> Void)? = nil
    ) async throws -> FederatedHistory {
        let clientCount = partition.clientCount
        try check(strategy)
        let layout = ParameterLayout(model: architecture)
        var global = layout.flatten(architecture.parameters)
        let malicious = maliciousClients(random: random)
        let maliciousSet = Set(malicious)
        let evaluation = Evaluation(simulation: self)
        var records: [RoundRecord] = []
        var first = 0
        if let resume {
            guard resume.global.count == global.count, resume.nextRound == resume.records.count,
                  (0...configuration.rounds).contains(resume.nextRound) else {
                throw FederatedError.invalidConfiguration(
                    field: "state", reason: "the checkpoint (round \(resume.nextRound), \(resume.global.count) parameters) does not belong to this run (\(configuration.rounds) rounds, \(global.count) parameters)")
            }
            try strategy.restoreState(resume.strategyState)
            global = resume.global
            records = resume.records
            first = resume.nextRound
        }

        for round in first..<configuration.rounds {
            // A cancelled task (Ctrl-C, SIGTERM) stops between rounds (and its clients' local
            // training within a mini-batch).
            try Task.checkCancellation()
            // 1. Sampling and dropouts.
            let sampled = sample(round: round, clientCount: clientCount, random: random)
            var dropouts = random.stream("round/\(round)/dropouts")
            let forced = configuration.forcedDropouts[round] ?? []
            let drops = sampled.map { client in
                (configuration.dropoutProbability > 0 && dropouts.nextBernoulli(configuration.dropoutProbability)) || forced.contains(client)
            }
            let trainers = zip(sampled, drops).filter { !$0.1 }.map(\.0)

            // 2. Local training, by the clients.
            let local = strategy.configureTraining(configuration.local, round: round)
            let attacking = threat.flatMap { round >= $0.firstRound ? $0 : nil }
            let roundGlobal = global
            let reporting: RoundRequest.Reporting
            switch configuration.aggregation {
            case .plaintext: reporting = .updates
            case let .fixedPoint(format): reporting = .contributions(format, strategy as! any SummingStrategy)
            case let .secure(protocolValue, format): reporting = .secure(protocolValue, format, strategy as! any SummingStrategy)
            }
            let request = RoundRequest(round: round, sampled: sampled, dropped: Set(zip(sampled, drops).filter(\.1).map(\.0)),
                                       local: local, global: roundGlobal, reporting: reporting)
            let reply = try await clients.run(request)
            let failures = reply.failures.sorted { $0.client < $1.client }
            let lossTotal = reply.reported.reduce(0.0) { $0 + Double($1.loss) }

            // 3. Aggregation.
            var cost: SecureAggregationCost? = nil
            if reply.reported.isEmpty && !(strategy is DPFedAvg) {
                // Nothing arrived: the global model stays.
            } else {
                switch reporting {
                case .updates:
                    if let observer {
                        for r in reply.results {
                            observer(.clientUpdate(round: round, client: r.client, exampleCount: r.exampleCount, global: roundGlobal,
                                                   update: r.update, training: local))
                        }
                    }
                    global = try strategy.aggregate(round: round, global: global, results: reply.results, failures: failures)
                case let .contributions(format, _):
                    let words = reply.contributions.map(\.words)
                    let sum = format.decodeSum(words.isEmpty ? [UInt64](repeating: 0, count: global.count + 1) : RingVector.sum(words), count: words.count)
                    observer?(.aggregate(round: round, clients: reply.reported.map(\.client), global: roundGlobal, sum: sum))
                    global = try Self.apply(&strategy, round: round, global: global, sum: sum, failures: failures)
                case let .secure(_, format, _):
                    let secure = reply.secureSum ?? SecureSum(sum: [UInt64](repeating: 0, count: global.count + 1), cost: SecureAggregationCost())
                    guard secure.sum.count == global.count + 1 else {
                        throw FederatedError.protocolFailure("round \(round): the secure sum has \(secure.sum.count) words, expected \(global.count + 1)")
                    }
                    cost = secure.cost
                    let sum = format.decodeSum(secure.sum, count: reply.reported.count)
                    observer?(.aggregate(round: round, clients: reply.reported.map(\.client), global: roundGlobal, sum: sum))
                    global = try Self.apply(&strategy, round: round, global: global, sum: sum, failures: failures)
                }
            }

            // 4. Evaluation.
            var record = RoundRecord(round: round, sampled: sampled, failures: failures,
                                     maliciousSampled: attacking == nil ? 0 : trainers.filter(maliciousSet.contains).count,
                                     clientLoss: reply.reported.isEmpty ? .nan : lossTotal / Double(reply.reported.count),
                                     accuracy: nil, loss: nil, backdoorSuccess: nil, secureCost: cost, epsilon: nil)
            if (round + 1) % configuration.evaluateEvery == 0 || round == configuration.rounds - 1 {
                let model = try Sequential(inputShape: architecture.inputShape, layers: architecture.layers, parameters: layout.tensors(from: global))
                (record.accuracy, record.loss, record.backdoorSuccess) = evaluation.evaluate(model)
            }
            if let dp = strategy as? DPFedAvg { record.epsilon = try dp.epsilon() }
            records.append(record)
            progress?(record)
            try checkpoint?(FederatedCheckpoint(nextRound: round + 1, global: global, strategyState: strategy.savedState(), records: records))
        }
        return FederatedHistory(rounds: records, parameters: global, maliciousClients: malicious)
    }

    /// Checks the configuration and that `strategy` fits it (DP-FedAvg's sampling, secure
    /// aggregation's need for a summing strategy).
    public func check<S: AggregationStrategy>(_ strategy: S) throws {
        let clientCount = partition.clientCount
        try configuration.validate(clientCount: clientCount)
        if let dp = strategy as? DPFedAvg {
            guard case let .poisson(rate) = configuration.sampling, abs(rate - dp.samplingProbability) < 1e-12 else {
                throw FederatedError.invalidConfiguration(field: "sampling", reason: "DP-FedAvg's accounting needs Poisson client sampling at its rate \(dp.samplingProbability)")
            }
            guard dp.clientCount == clientCount else {
                throw FederatedError.invalidConfiguration(field: "dp.clients", reason: "DP-FedAvg was set up for \(dp.clientCount) clients, the partition has \(clientCount)")
            }
        }
        if configuration.aggregation.format != nil, !(strategy is any SummingStrategy) {
            throw FederatedError.invalidConfiguration(
                field: "secure_aggregation", reason: "strategy \(strategy.name) needs individual updates; only FedAvg, FedProx, FedAdam and DP-FedAvg work from a sum")
        }
    }

    /// The malicious clients (sorted), drawn from "threat/malicious"; empty without a threat.
    public func maliciousClients(random: LabRandom) -> [Int] {
        threat.map { $0.maliciousClients(clientCount: partition.clientCount, random: random) } ?? []
    }

    /// Client `client`'s part of round `round` wherever it runs (in this process or as a
    /// deployed client): local training from `global` with the round's stream, attacking when
    /// it is in `malicious` and the threat has begun. Returns the result and its mean local loss,
    /// or nil when local training diverged.
    public func clientRound(_ client: Int, round: Int, local: LocalTraining, global: [Float], malicious: Set<Int>,
                            random: LabRandom) throws -> (ClientResult, Float)? {
        let attacking = threat.flatMap { round >= $0.firstRound ? $0 : nil }
        return try trainClient(client, round: round, local: local, global: global, layout: ParameterLayout(model: architecture),
                               attack: malicious.contains(client) ? attacking?.attack : nil, random: random)
    }

    /// What a client sends in a fixed-point or secure round: its contribution (v, w) under
    /// `strategy` (DP-FedAvg clips here), encoded in `format`.
    public static func encodedContribution(of result: ClientResult, strategy: any SummingStrategy,
                                           format: FixedPointFormat) throws(FederatedError) -> [UInt64] {
        let c = strategy.contribution(of: result)
        return try format.encodeContribution(c.vector, weight: c.weight, party: result.client)
    }

    /// `strategy.apply` through the summing protocol (checked by `run`).
    static func apply<S: AggregationStrategy>(_ strategy: inout S, round: Int, global: [Float], sum: WeightedSum,
                                              failures: [ClientFailure]) throws -> [Float] {
        var summing = strategy as! any SummingStrategy
        let next = try summing.apply(round: round, global: global, sum: sum, failures: failures)
        strategy = summing as! S
        return next
    }

    /// The clients of `round`, sorted.
    public func sample(round: Int, clientCount: Int, random: LabRandom) -> [Int] {
        var stream = random.stream("round/\(round)/sampling")
        switch configuration.sampling {
        case let .fixed(count):
            return stream.sampleWithoutReplacement(count, from: clientCount).sorted()
        case let .poisson(rate):
            return (0..<clientCount).filter { _ in stream.nextBernoulli(rate) }
        }
    }

    /// One client's round: its data (attacked when malicious), local training, its update.
    /// Returns nil when local training diverged.
    func trainClient(_ client: Int, round: Int, local: LocalTraining, global: [Float], layout: ParameterLayout,
                     attack: ClientAttack?, random: LabRandom) throws -> (ClientResult, Float)? {
        let stream = random.stream("round/\(round)/client/\(client)")
        // A deployed client holds only its own examples (its list is then 0..<count): no copy.
        let own = partition.clients[client]
        var data = own.elementsEqual(0..<train.count) ? train : train.subset(own)
        switch attack {
        case .labelFlipping:
            let classes = Int32(data.classCount)
            data = LabeledData(unchecked: data.features, sampleShape: data.sampleShape, labels: data.labels.map { classes - 1 - $0 }, like: data)
        case let .backdoor(backdoor):
            var poison = stream.stream("attack/poison")
            let count = Swift.max(1, Int((backdoor.poisonFraction * Double(data.count)).rounded()))
            let chosen = poison.sampleWithoutReplacement(Swift.min(count, data.count), from: data.count)
            let stamped = backdoor.trigger.stamped(data.subset(chosen), relabel: Int32(backdoor.targetLabel))
            data = LabeledData(unchecked: data.features + stamped.features, sampleShape: data.sampleShape,
                               labels: data.labels + stamped.labels, like: data)
        default:
            break
        }
        guard data.count > 0 else { return (ClientResult(client: client, exampleCount: 0, update: [Float](repeating: 0, count: layout.count)), 0) }
        // Mini-batches are copied from the examples' array: no second copy of them as a tensor.
        guard let outcome = try local.train(architecture: architecture, layout: layout, global: global, features: data.features,
                                            sampleShape: data.sampleShape, labels: data.intLabels, random: stream) else { return nil }
        var update = outcome.parameters
        update.withUnsafeMutableBufferPointer { u in
            global.withUnsafeBufferPointer { g in
                for i in 0..<u.count { u[i] -= g[i] }
            }
        }
        switch attack {
        case let .signFlipping(scale):
            for i in update.indices { update[i] *= -scale }
        case let .gaussianNoise(sigma):
            var noise = stream.stream("attack/noise")
            update.withUnsafeMutableBufferPointer { noise.fillNormal($0, mean: 0, standardDeviation: sigma) }
        case let .backdoor(backdoor):
            for i in update.indices { update[i] *= backdoor.boost }
        default:
            break
        }
        // A malicious client reports its real example count (a liar is a separate threat).
        return (ClientResult(client: client, exampleCount: partition.clients[client].count, update: update), outcome.loss)
    }
}

/// Test-set evaluation of a global model: accuracy, mean loss, backdoor success.
struct Evaluation: Sendable {
    let inputs: Tensor
    let labels: [Int]
    let triggered: Tensor?
    let backdoorTarget: Int

    /// The simulation's test tensor itself (shared, not copied) and its labels.
    init(simulation: FederatedSimulation) {
        inputs = simulation.testInputs
        labels = simulation.testLabels.map { Int($0) }
        if let threat = simulation.threat, case let .backdoor(b) = threat.attack {
            let test = simulation.test
            let victims = (0..<test.count).filter { Int(test.labels[$0]) != b.targetLabel }
            triggered = victims.isEmpty ? nil : b.trigger.stamped(test.subset(victims)).featureTensor
            backdoorTarget = b.targetLabel
        } else {
            triggered = nil
            backdoorTarget = -1
        }
    }

    func evaluate(_ model: Sequential) -> (Double?, Double?, Double?) {
        guard !labels.isEmpty else { return (nil, nil, nil) }
        let logits = model.logits(inputs)
        let losses = Loss.softmaxCrossEntropy.perExample(outputs: logits, labels: labels).scalars
        var correct = 0
        logits.withUnsafeBufferPointer { z in
            let c = logits.shape[1]
            for i in 0..<labels.count {
                var best = 0
                for j in 1..<c where z[i * c + j] > z[i * c + best] { best = j }
                if best == labels[i] { correct += 1 }
            }
        }
        let accuracy = Double(correct) / Double(labels.count)
        let loss = losses.reduce(0.0) { $0 + Double($1) } / Double(losses.count)
        var success: Double? = nil
        if let triggered {
            let predictions = model.predictions(triggered)
            success = Double(predictions.filter { $0 == backdoorTarget }.count) / Double(predictions.count)
        }
        return (accuracy, loss, success)
    }
}
