/// `steps` runs of the Gaussian mechanism with noise multiplier σ on Poisson samples of rate q:
/// the privacy cost of that many DP-SGD steps.
public struct PoissonGaussianSteps: Sendable, Hashable, Codable {
    /// q ∈ (0, 1]: each example is in a step's sample independently with this probability.
    public var samplingProbability: Double
    /// σ > 0: the noise standard deviation over the L2 sensitivity (the clipping norm).
    public var noiseMultiplier: Double
    /// The number of steps, ≥ 0.
    public var steps: Int

    public init(samplingProbability: Double, noiseMultiplier: Double, steps: Int) {
        self.samplingProbability = samplingProbability
        self.noiseMultiplier = noiseMultiplier
        self.steps = steps
    }

    func validate() throws(AccountingError) {
        try Check.samplingProbability(samplingProbability)
        try Check.noiseMultiplier(noiseMultiplier)
        try Check.steps(steps)
    }
}

/// How ε is computed from a sequence of mechanisms.
public enum AccountingMethod: Sendable, Hashable {
    /// Rényi DP at the given orders, composed by addition, converted to (ε, δ) at the end.
    case rdp(conversion: RDPConversion = .balle2020, orders: [Double] = RenyiDP.defaultOrders)
    /// Privacy-loss distributions on a grid of spacing Δ, composed by FFT convolution: tighter
    /// than RDP (close to exact), slower.
    case pld(discretization: Double = PrivacyLossDistribution.defaultDiscretization)

    /// ε for δ after all the given steps (add-or-remove-one neighbours).
    ///
    /// Laws: monotone — more steps, larger q or smaller σ never lower ε; zero steps give ε = 0;
    /// the order of the phases does not matter.
    /// - Complexity: RDP O(phases × Σ orders); PLD O(grid + N log N) per distinct (q, σ), N the
    ///   composed support (≈ 10⁵–10⁷ points for Δ = 10⁻⁴).
    /// - Throws: `AccountingError` naming the bad parameter.
    public func epsilon(for phases: [PoissonGaussianSteps], delta: Double) throws(AccountingError) -> Double {
        try Check.delta(delta)
        for phase in phases { try phase.validate() }
        let active = phases.filter { $0.steps > 0 }
        if active.isEmpty { return 0 }
        switch self {
        case let .rdp(conversion, orders):
            let total = try RenyiDP.composed(active, orders: orders)
            return try RenyiDP.epsilon(orders: orders, rdp: total, delta: delta, conversion: conversion).epsilon
        case let .pld(discretization):
            return try PrivacyLossDistribution.composed(active, discretization: discretization).epsilon(delta: delta)
        }
    }

    /// The smallest noise multiplier σ (to a relative 10⁻⁴, rounded up) for which `steps` steps at
    /// rate q stay within (ε, δ): bisection on log σ, ε being decreasing in σ.
    /// - Throws: `AccountingError` naming the bad parameter, or `epsilon` when no σ ≤ 10⁴ suffices.
    public func noiseMultiplier(forEpsilon epsilon: Double, delta: Double, samplingProbability q: Double,
                                steps: Int) throws(AccountingError) -> Double {
        try Check.epsilon(epsilon)
        try Check.delta(delta)
        try Check.samplingProbability(q)
        try Check.steps(steps)
        guard steps > 0 else { return 0 }
        func eps(_ sigma: Double) throws(AccountingError) -> Double {
            try self.epsilon(for: [PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: sigma, steps: steps)], delta: delta)
        }
        var hi = 1.0
        while try eps(hi) > epsilon {
            hi *= 2
            if hi > 1e4 {
                throw AccountingError(parameter: "epsilon", value: "\(epsilon)",
                                      expected: "a target reachable with a noise multiplier ≤ 10⁴")
            }
        }
        var lo = hi / 2
        while try eps(lo) <= epsilon {
            hi = lo
            lo /= 2
            if lo < 1e-3 { return hi }
        }
        while hi / lo > 1 + 1e-5 {
            let mid = (lo * hi).squareRoot()
            if try eps(mid) <= epsilon { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// The largest number of steps (at most `limit`) whose ε stays ≤ `epsilon`, by bisection.
    public func maximumSteps(forEpsilon epsilon: Double, delta: Double, samplingProbability q: Double,
                             noiseMultiplier sigma: Double, limit: Int,
                             after history: [PoissonGaussianSteps] = []) throws(AccountingError) -> Int {
        try Check.epsilon(epsilon)
        func fits(_ t: Int) throws(AccountingError) -> Bool {
            try self.epsilon(for: history + [PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: sigma, steps: t)],
                             delta: delta) <= epsilon
        }
        guard try fits(0) else { return -1 }
        if try fits(limit) { return limit }
        var good = 0, bad = limit
        while bad - good > 1 {
            let mid = good + (bad - good) / 2
            if try fits(mid) { good = mid } else { bad = mid }
        }
        return good
    }
}

extension RenyiDP {
    /// Σ over phases of steps × ρ_α(q, σ), order by order.
    public static func composed(_ phases: [PoissonGaussianSteps], orders: [Double] = defaultOrders) throws(AccountingError) -> [Double] {
        var total = [Double](repeating: 0, count: orders.count)
        var cache: [[Double]: [Double]] = [:]
        for phase in phases where phase.steps > 0 {
            try phase.validate()
            let key = [phase.samplingProbability, phase.noiseMultiplier]
            let one: [Double]
            if let cached = cache[key] { one = cached } else {
                one = try subsampledGaussian(samplingProbability: phase.samplingProbability,
                                             noiseMultiplier: phase.noiseMultiplier, orders: orders)
                cache[key] = one
            }
            for i in total.indices { total[i] += Double(phase.steps) * one[i] }
        }
        return total
    }
}

extension PrivacyLossDistribution {
    /// The PLD of a sequence of phases: phases with equal (q, σ) are merged, and all phases with
    /// q = 1 become one Gaussian mechanism of noise multiplier (Σ T/σ²)^(−1/2) (exact: a
    /// composition of Gaussian mechanisms is Gaussian), before one FFT composition.
    public static func composed(_ phases: [PoissonGaussianSteps],
                                discretization: Double = defaultDiscretization) throws(AccountingError) -> PrivacyLossDistribution {
        var counts: [PoissonGaussianSteps: Int] = [:]
        var order: [PoissonGaussianSteps] = []
        var gaussianPrecision = 0.0
        for phase in phases where phase.steps > 0 {
            try phase.validate()
            if phase.samplingProbability == 1 {
                gaussianPrecision += Double(phase.steps) / (phase.noiseMultiplier * phase.noiseMultiplier)
                continue
            }
            let key = PoissonGaussianSteps(samplingProbability: phase.samplingProbability,
                                           noiseMultiplier: phase.noiseMultiplier, steps: 0)
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += phase.steps
        }
        var parts: [(distribution: PrivacyLossDistribution, count: Int)] = []
        for key in order {
            parts.append((try poissonSubsampledGaussian(samplingProbability: key.samplingProbability,
                                                        noiseMultiplier: key.noiseMultiplier,
                                                        discretization: discretization), counts[key]!))
        }
        if gaussianPrecision > 0 {
            parts.append((try poissonSubsampledGaussian(samplingProbability: 1, noiseMultiplier: 1 / gaussianPrecision.squareRoot(),
                                                        discretization: discretization), 1))
        }
        return try composition(parts)
    }
}

/// A running account of the privacy spent by a training run: the steps taken so far and ε for
/// any δ. The only stateful type of `PrivacyAccounting`; the math lives in `RenyiDP`,
/// `PrivacyLossDistribution` and `AccountingMethod`.
public struct PrivacyAccountant: Sendable {
    /// How ε is computed.
    public let method: AccountingMethod
    /// The steps recorded so far, consecutive steps with the same (q, σ) merged.
    public private(set) var history: [PoissonGaussianSteps] = []

    public init(method: AccountingMethod = .rdp()) {
        self.method = method
    }

    /// Records `steps` more steps of the Poisson-subsampled Gaussian mechanism.
    public mutating func record(samplingProbability q: Double, noiseMultiplier sigma: Double, steps: Int = 1) throws(AccountingError) {
        let phase = PoissonGaussianSteps(samplingProbability: q, noiseMultiplier: sigma, steps: steps)
        try phase.validate()
        guard steps > 0 else { return }
        if let last = history.last, last.samplingProbability == q, last.noiseMultiplier == sigma {
            history[history.count - 1].steps += steps
        } else {
            history.append(phase)
        }
    }

    /// The total number of steps recorded.
    public var stepCount: Int { history.reduce(0) { $0 + $1.steps } }

    /// ε for δ over everything recorded.
    public func epsilon(delta: Double) throws(AccountingError) -> Double {
        try method.epsilon(for: history, delta: delta)
    }
}
