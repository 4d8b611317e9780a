/// What one client sent back after local training: its update Δ = w_local − w_global.
public struct ClientResult: Sendable {
    /// The client's index in the partition.
    public let client: Int
    /// How many examples it trained on (FedAvg's weight n_k).
    public let exampleCount: Int
    /// Δ, flat in `ParameterLayout` order.
    public var update: [Float]

    public init(client: Int, exampleCount: Int, update: [Float]) {
        self.client = client
        self.exampleCount = exampleCount
        self.update = update
    }
}

/// A sampled client whose result never reached the server.
public struct ClientFailure: Sendable, Equatable, Hashable, Codable {
    public enum Reason: String, Sendable, Equatable, Hashable, Codable {
        /// It dropped out (disconnected, timed out) after being sampled.
        case droppedOut = "dropped-out"
        /// Its local loss became NaN or infinite.
        case diverged
        /// A deployed client sent something the server refused (malformed, oversized or of the
        /// wrong shape); it is left out of the rest of the run.
        case rejected
    }
    public let client: Int
    public let reason: Reason

    public init(client: Int, reason: Reason) {
        self.client = client
        self.reason = reason
    }
}

/// A server-side aggregation rule: from the round's results (and its failures) to the next
/// global model.
///
/// The protocol asks for little, as Flower's `Strategy` does: a name, an optional change to the
/// clients' local training (`configureTraining`, e.g. FedProx's μ), and `aggregate`, which sees
/// every result and every failure (dropouts are part of the contract, not an exception).
/// Strategies may keep state across rounds (FedAdam's moments, DP-FedAvg's accountant), hence
/// `mutating`.
public protocol AggregationStrategy: Sendable {
    /// A short name for reports (`fedavg`, `krum`).
    var name: String { get }
    /// The local training clients run this round; the default leaves it unchanged.
    func configureTraining(_ base: LocalTraining, round: Int) -> LocalTraining
    /// The next global model from the current one and the round's results.
    /// - Throws: `FederatedError.noResults` when `results` is empty (the default strategies).
    mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float]
    /// The state the strategy carries from round to round (FedAdam's moments, DP-FedAvg's
    /// accountant), as named arrays: what a deployed server persists after every round so that
    /// a restarted server resumes exactly. Empty (the default) for a stateless strategy.
    func savedState() -> [String: [Double]]
    /// Restores what `savedState()` returned; `restoreState(savedState())` leaves the strategy as
    /// it was.
    /// - Throws: `FederatedError.invalidConfiguration` naming the entry that does not fit.
    mutating func restoreState(_ state: [String: [Double]]) throws(FederatedError)
}

extension AggregationStrategy {
    public func configureTraining(_ base: LocalTraining, round: Int) -> LocalTraining { base }

    public func savedState() -> [String: [Double]] { [:] }

    public mutating func restoreState(_ state: [String: [Double]]) throws(FederatedError) {
        guard state.isEmpty else {
            throw .invalidConfiguration(field: "state", reason: "strategy \(name) keeps no state, got \(state.keys.sorted().joined(separator: ", "))")
        }
    }
}

/// A weighted sum of client contributions: Σ_k w_k·v_k and Σ_k w_k over `count` clients.
public struct WeightedSum: Sendable, Equatable {
    public var sum: [Double]
    public var totalWeight: Double
    public var count: Int

    public init(sum: [Double], totalWeight: Double, count: Int) {
        self.sum = sum
        self.totalWeight = totalWeight
        self.count = count
    }

    /// The plaintext weighted sum of contributions.
    public static func of(_ contributions: [(vector: [Float], weight: Double)], dimension: Int) -> WeightedSum {
        var sum = [Double](repeating: 0, count: dimension)
        var total = 0.0
        for c in contributions {
            VectorMath.axpy(c.weight, c.vector, &sum)
            total += c.weight
        }
        return WeightedSum(sum: sum, totalWeight: total, count: contributions.count)
    }
}

/// A strategy that needs only the weighted sum of what clients send, never an individual update:
/// exactly the strategies that secure aggregation can serve (FedAvg, FedProx, FedAdam, DP-FedAvg).
///
/// Each client turns its result into a contribution (v_k, w_k) (DP-FedAvg clips v_k here); the
/// server learns only Σ w_k·v_k and Σ w_k, in plaintext or through a secure-aggregation protocol,
/// and `apply` maps that sum to the next global model.
public protocol SummingStrategy: AggregationStrategy {
    /// What client `result.client` sends: a vector and its weight.
    func contribution(of result: ClientResult) -> (vector: [Float], weight: Double)
    /// The next global model from the weighted sum.
    mutating func apply(round: Int, global: [Float], sum: WeightedSum, failures: [ClientFailure]) throws -> [Float]
}

extension SummingStrategy {
    /// Sums the contributions in plaintext (Double) and applies the sum.
    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        guard !results.isEmpty else { throw FederatedError.noResults(round: round) }
        let sum = WeightedSum.of(results.map(contribution(of:)), dimension: global.count)
        return try apply(round: round, global: global, sum: sum, failures: failures)
    }
}
