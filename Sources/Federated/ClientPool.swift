import LabRandom
import Tensors

/// What the server asks of the clients in one round.
public struct RoundRequest: Sendable {
    /// How the sampled clients report.
    public enum Reporting: Sendable {
        /// Each sends its update Δ in plaintext.
        case updates
        /// Each sends its contribution under the strategy, encoded in the format; the server sums
        /// them in clear (the oracle of secure aggregation).
        case contributions(FixedPointFormat, any SummingStrategy)
        /// The contributions are summed by the secure-aggregation protocol: the server learns
        /// only the sum.
        case secure(any SecureSummation, FixedPointFormat, any SummingStrategy)
    }

    public var round: Int
    /// The sampled clients, sorted.
    public var sampled: [Int]
    /// Sampled clients that drop out after the round's setup, before sending (the simulation's
    /// dropout draws and forced dropouts); a deployment's own dropouts are what it meets.
    public var dropped: Set<Int>
    /// The local training of the round (`AggregationStrategy.configureTraining`).
    public var local: LocalTraining
    /// The global parameters the clients start from, flat.
    public var global: [Float]
    public var reporting: Reporting

    public init(round: Int, sampled: [Int], dropped: Set<Int>, local: LocalTraining, global: [Float], reporting: Reporting) {
        self.round = round
        self.sampled = sampled
        self.dropped = dropped
        self.local = local
        self.global = global
        self.reporting = reporting
    }
}

/// What reached the server in one round.
public struct RoundReply: Sendable {
    /// `.updates`: the results, in client order.
    public var results: [ClientResult] = []
    /// `.contributions`: each reporting client's encoded contribution, in client order.
    public var contributions: [(client: Int, words: [UInt64])] = []
    /// `.secure`: the protocol's sum of the reporting clients' contributions (nil when none reported).
    public var secureSum: SecureSum?
    /// The clients whose result counts, in client order, with their mean local losses.
    public var reported: [(client: Int, loss: Float)] = []
    /// Sampled clients whose result did not arrive.
    public var failures: [ClientFailure] = []

    public init() {}
}

/// The clients of a federated run as the server's round loop sees them: given a round's
/// request, their reply. `InProcessClients` trains them in this process (the simulation); a
/// deployment reaches clients in other processes over the network. Both run the same client
/// code (`FederatedSimulation.clientRound`, `encodedContribution`).
public protocol ClientPool: Sendable {
    func run(_ request: RoundRequest) async throws -> RoundReply
}

/// Every client of a simulation, trained in this process: at most `concurrency` at once, one
/// BLAS thread each; results in client order, so the reply does not depend on `concurrency`.
public struct InProcessClients: ClientPool {
    public let simulation: FederatedSimulation
    public let random: LabRandom
    let malicious: Set<Int>

    public init(simulation: FederatedSimulation, random: LabRandom) {
        self.simulation = simulation
        self.random = random
        malicious = Set(simulation.maliciousClients(random: random))
    }

    public func run(_ q: RoundRequest) async throws -> RoundReply {
        let trainers = q.sampled.filter { !q.dropped.contains($0) }
        var reply = RoundReply()
        reply.failures = q.sampled.filter(q.dropped.contains).map { ClientFailure(client: $0, reason: .droppedOut) }
        let (simulation, random, malicious, local, global) = (self.simulation, self.random, self.malicious, q.local, q.global)
        let outcomes = try await ParallelMap.map(count: trainers.count, concurrency: simulation.configuration.concurrency) { index in
            try simulation.clientRound(trainers[index], round: q.round, local: local, global: global, malicious: malicious, random: random)
        }
        var results: [ClientResult] = []
        for (client, outcome) in zip(trainers, outcomes) {
            if let (result, loss) = outcome {
                results.append(result)
                reply.reported.append((client, loss))
            } else {
                reply.failures.append(ClientFailure(client: client, reason: .diverged))
            }
        }
        switch q.reporting {
        case .updates:
            reply.results = results
        case let .contributions(format, strategy):
            reply.contributions = try results.map { ($0.client, try FederatedSimulation.encodedContribution(of: $0, strategy: strategy, format: format)) }
        case let .secure(protocolValue, format, strategy):
            // Every sampled client took part in the setup; those that failed send nothing.
            let byClient = Dictionary(uniqueKeysWithValues: results.map { ($0.client, $0) })
            let placeholder = [UInt64](repeating: 0, count: global.count + 1)
            var inputs: [[UInt64]] = []
            var missing = Set<Int>()
            for (position, client) in q.sampled.enumerated() {
                if let r = byClient[client] {
                    inputs.append(try FederatedSimulation.encodedContribution(of: r, strategy: strategy, format: format))
                } else {
                    inputs.append(placeholder)  // never read by the protocol
                    missing.insert(position)
                }
            }
            if !results.isEmpty { reply.secureSum = try protocolValue.sum(inputs: inputs, dropouts: missing) }
        }
        return reply
    }
}
