/// Federated averaging: w_{t+1} = w_t + η · Σ_k n_k Δ_k / Σ_k n_k over the clients that reported.
///
/// With η = 1 and Δ_k = w_k − w_t this is McMahan et al.'s FedAvg ("Communication-Efficient
/// Learning of Deep Networks from Decentralized Data", AISTATS 2017), weighted by example counts;
/// `uniformWeights` gives every client weight 1. Dropped clients simply do not count (the
/// denominator is over the survivors).
/// - Complexity: O(k·d) for k results of d parameters.
public struct FedAvg: SummingStrategy {
    public var serverLearningRate: Double
    public var uniformWeights: Bool
    public var name: String { "fedavg" }

    public init(serverLearningRate: Double = 1, uniformWeights: Bool = false) {
        self.serverLearningRate = serverLearningRate
        self.uniformWeights = uniformWeights
    }

    public func contribution(of result: ClientResult) -> (vector: [Float], weight: Double) {
        (result.update, uniformWeights ? 1 : Double(result.exampleCount))
    }

    public mutating func apply(round: Int, global: [Float], sum: WeightedSum, failures: [ClientFailure]) throws -> [Float] {
        guard sum.count > 0, sum.totalWeight > 0 else { throw FederatedError.noResults(round: round) }
        let scale = serverLearningRate / sum.totalWeight
        return VectorMath.adding(global, sum.sum.map { $0 * scale })
    }
}

/// FedProx: FedAvg's aggregation with the proximal term μ/2·‖w − w_t‖² added to every client's
/// local objective (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020).
///
/// The server side is FedAvg's weighted mean; the difference is in `configureTraining`.
public struct FedProx: SummingStrategy {
    public var proximalMu: Float
    public var averaging: FedAvg
    public var name: String { "fedprox" }

    public init(proximalMu: Float = 0.01, averaging: FedAvg = FedAvg()) {
        self.proximalMu = proximalMu
        self.averaging = averaging
    }

    public func configureTraining(_ base: LocalTraining, round: Int) -> LocalTraining {
        var local = base
        local.proximalMu = proximalMu
        return local
    }

    public func contribution(of result: ClientResult) -> (vector: [Float], weight: Double) { averaging.contribution(of: result) }

    public mutating func apply(round: Int, global: [Float], sum: WeightedSum, failures: [ClientFailure]) throws -> [Float] {
        try averaging.apply(round: round, global: global, sum: sum, failures: failures)
    }
}

/// FedAdam, the Adam instance of FedOpt (Reddi et al., "Adaptive Federated Optimization",
/// ICLR 2021, Algorithm 2): the weighted mean update Δ_t is a pseudo-gradient for a server Adam
///
///     m_t = β₁ m_{t−1} + (1 − β₁) Δ_t
///     v_t = β₂ v_{t−1} + (1 − β₂) Δ_t²
///     w_{t+1} = w_t + η · m_t / (√v_t + τ)
///
/// without bias correction, as in the paper; τ controls the adaptivity (10⁻³ in the paper's
/// experiments). The moments are state carried across rounds.
/// - Complexity: O(k·d) per round; 2d Doubles of state.
public struct FedAdam: SummingStrategy {
    public var serverLearningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var tau: Double
    public private(set) var m: [Double] = []
    public private(set) var v: [Double] = []
    public var name: String { "fedadam" }

    public init(serverLearningRate: Double = 0.01, beta1: Double = 0.9, beta2: Double = 0.99, tau: Double = 1e-3) {
        self.serverLearningRate = serverLearningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.tau = tau
    }

    public func contribution(of result: ClientResult) -> (vector: [Float], weight: Double) {
        (result.update, Double(result.exampleCount))
    }

    public mutating func apply(round: Int, global: [Float], sum: WeightedSum, failures: [ClientFailure]) throws -> [Float] {
        guard sum.count > 0, sum.totalWeight > 0 else { throw FederatedError.noResults(round: round) }
        let d = global.count
        if m.count != d {
            m = [Double](repeating: 0, count: d)
            v = [Double](repeating: 0, count: d)
        }
        var step = [Double](repeating: 0, count: d)
        let b1 = beta1, b2 = beta2, eta = serverLearningRate, t = tau, inv = 1 / sum.totalWeight
        sum.sum.withUnsafeBufferPointer { s in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    step.withUnsafeMutableBufferPointer { out in
                        for i in 0..<d {
                            let delta = s[i] * inv
                            m[i] = b1 * m[i] + (1 - b1) * delta
                            v[i] = b2 * v[i] + (1 - b2) * delta * delta
                            out[i] = eta * m[i] / (v[i].squareRoot() + t)
                        }
                    }
                }
            }
        }
        return VectorMath.adding(global, step)
    }

    public func savedState() -> [String: [Double]] { m.isEmpty ? [:] : ["m": m, "v": v] }

    public mutating func restoreState(_ state: [String: [Double]]) throws(FederatedError) {
        guard !state.isEmpty else { m = []; v = []; return }
        guard let m = state["m"], let v = state["v"], m.count == v.count, state.count == 2 else {
            throw .invalidConfiguration(field: "state", reason: "FedAdam's state needs moments m and v of one length")
        }
        self.m = m
        self.v = v
    }
}
