import LabRandom
import PrivacyAccounting

/// DP-FedAvg with client-level differential privacy (McMahan, Ramage, Talwar, Zhang, "Learning
/// Differentially Private Recurrent Language Models", ICLR 2018), server-side noise.
///
/// Each round, every client is sampled independently with probability q (Poisson sampling;
/// the simulation enforces it). A sampled client's update is clipped to ℓ₂ norm C,
/// Δ̃_k = Δ_k · min(1, C/‖Δ_k‖), and the server forms the fixed-denominator estimate
///
///     Δ̄ = (Σ_k Δ̃_k + N(0, σ²C²·I)) / (qN),      w_{t+1} = w_t + η·Δ̄.
///
/// One client's whole data changes the sum by at most C, so each round is the sampled Gaussian
/// mechanism with noise multiplier σ at sampling rate q; `accountant` composes the rounds with
/// PrivacyAccounting's RDP (or PLD) analysis and `epsilon(delta:)` reports the (ε, δ) spent.
///
/// Caveats: the neighbouring relation is adding or removing one client (all of its examples);
/// the server is trusted to add the noise (central DP). With secure aggregation the server sees
/// only Σ Δ̃_k, but it still sees it before noise.
/// - Complexity: O(k·d) per round plus d Gaussian draws.
public struct DPFedAvg: SummingStrategy {
    public var clipNorm: Double
    public var noiseMultiplier: Double
    /// q, the probability that a client takes part in a round.
    public var samplingProbability: Double
    /// N, the number of clients.
    public var clientCount: Int
    public var serverLearningRate: Double
    /// Where the noise comes from (`PrivacyRandomness`, as DP-SGD's): round r draws from its
    /// child "round/<r>"; `.insecureSeeded(_:)` for bit-reproducible research runs only (the noise
    /// is predictable by anyone who knows the seed, so the guarantee is void against such a party).
    public var noise: PrivacyRandomness
    /// The δ at which `epsilon()` reports.
    public var delta: Double
    public private(set) var accountant: PrivacyAccountant
    /// The fraction of the last round's updates whose norm exceeded C.
    public private(set) var lastClippedFraction = 0.0
    /// Rounds aggregated so far.
    public private(set) var roundsApplied = 0
    public var name: String { "dp-fedavg" }

    public init(clipNorm: Double, noiseMultiplier: Double, samplingProbability: Double, clientCount: Int,
                serverLearningRate: Double = 1, delta: Double = 1e-5, noise: PrivacyRandomness = .system(),
                accounting: AccountingMethod = .rdp()) throws(FederatedError) {
        guard delta > 0, delta < 1 else { throw .invalidConfiguration(field: "dp.delta", reason: "must lie in (0, 1), got \(delta)") }
        guard clipNorm > 0, clipNorm.isFinite else { throw .invalidConfiguration(field: "dp.clip_norm", reason: "must be positive, got \(clipNorm)") }
        guard noiseMultiplier >= 0, noiseMultiplier.isFinite else {
            throw .invalidConfiguration(field: "dp.noise_multiplier", reason: "must be ≥ 0, got \(noiseMultiplier)")
        }
        guard samplingProbability > 0, samplingProbability <= 1 else {
            throw .invalidConfiguration(field: "sampling.rate", reason: "DP-FedAvg needs Poisson sampling with rate in (0, 1], got \(samplingProbability)")
        }
        guard clientCount >= 1 else { throw .invalidConfiguration(field: "clients", reason: "must be ≥ 1, got \(clientCount)") }
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.samplingProbability = samplingProbability
        self.clientCount = clientCount
        self.serverLearningRate = serverLearningRate
        self.noise = noise
        self.delta = delta
        self.accountant = PrivacyAccountant(method: accounting)
    }

    /// The clipped update Δ̃_k with weight 1 (example counts are not used: they would leak).
    public func contribution(of result: ClientResult) -> (vector: [Float], weight: Double) {
        let norm = VectorMath.norm(result.update)
        guard norm > clipNorm else { return (result.update, 1) }
        let factor = Float(clipNorm / norm)
        return (result.update.map { $0 * factor }, 1)
    }

    public mutating func aggregate(round: Int, global: [Float], results: [ClientResult], failures: [ClientFailure]) throws -> [Float] {
        // Zero sampled clients is a legitimate outcome of Poisson sampling: the round still adds
        // noise and still spends privacy.
        let clipped = results.filter { VectorMath.norm($0.update) > clipNorm }.count
        let sum = WeightedSum.of(results.map(contribution(of:)), dimension: global.count)
        let next = try apply(round: round, global: global, sum: sum, failures: failures)
        lastClippedFraction = results.isEmpty ? 0 : Double(clipped) / Double(results.count)
        return next
    }

    public mutating func apply(round: Int, global: [Float], sum: WeightedSum, failures: [ClientFailure]) throws -> [Float] {
        let sigma = noiseMultiplier * clipNorm
        var noisy = sum.sum
        var random = noise.stream("round/\(round)")
        if sigma > 0 { noisy.withUnsafeMutableBufferPointer { random.addGaussianNoise(to: $0, standardDeviation: sigma) } }
        let scale = serverLearningRate / (samplingProbability * Double(clientCount))
        if noiseMultiplier > 0 {
            try accountant.record(samplingProbability: samplingProbability, noiseMultiplier: noiseMultiplier)
        }
        roundsApplied += 1
        return VectorMath.adding(global, noisy.map { $0 * scale })
    }

    /// ε spent so far at `delta`: 0 before the first round, +∞ after a round without noise.
    public func epsilon(delta: Double) throws -> Double {
        if roundsApplied == 0 { return 0 }
        if noiseMultiplier == 0 { return .infinity }
        return try accountant.epsilon(delta: delta)
    }

    /// ε spent so far at the configured δ.
    public func epsilon() throws -> Double { try epsilon(delta: delta) }

    /// The accountant's phases as (q, σ, steps) triples, the rounds applied and the last clipped fraction.
    public func savedState() -> [String: [Double]] {
        ["accountant": accountant.history.flatMap { [$0.samplingProbability, $0.noiseMultiplier, Double($0.steps)] },
         "rounds": [Double(roundsApplied)], "clipped": [lastClippedFraction]]
    }

    public mutating func restoreState(_ state: [String: [Double]]) throws(FederatedError) {
        guard let phases = state["accountant"], phases.count % 3 == 0, let rounds = state["rounds"], rounds.count == 1,
              let clipped = state["clipped"], clipped.count == 1, state.count == 3,
              rounds[0] >= 0, rounds[0] <= 1e9, rounds[0] == rounds[0].rounded() else {
            throw .invalidConfiguration(field: "state", reason: "DP-FedAvg's state needs accountant phases, rounds and clipped")
        }
        var restored = PrivacyAccountant(method: accountant.method)
        for i in stride(from: 0, to: phases.count, by: 3) {
            guard phases[i + 2] >= 0, phases[i + 2] <= 1e9, phases[i + 2] == phases[i + 2].rounded() else {
                throw .invalidConfiguration(field: "state", reason: "DP-FedAvg's accountant phase \(i / 3) has a step count that is not a whole number")
            }
            do { try restored.record(samplingProbability: phases[i], noiseMultiplier: phases[i + 1], steps: Int(phases[i + 2])) } catch {
                throw .invalidConfiguration(field: "state", reason: "DP-FedAvg's accountant phase \(i / 3): \(error)")
            }
        }
        accountant = restored
        roundsApplied = Int(rounds[0])
        lastClippedFraction = clipped[0]
    }
}
