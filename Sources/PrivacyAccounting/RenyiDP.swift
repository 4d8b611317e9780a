#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rényi differential privacy (RDP) of the Poisson-subsampled Gaussian mechanism, and its
/// conversion to (ε, δ)-DP.
///
/// A mechanism M is (α, ρ)-RDP when D_α(M(D) ‖ M(D′)) ≤ ρ for all neighbouring D, D′ (add or
/// remove one example). RDP composes by addition at each order: T steps of an (α, ρ_α)-RDP
/// mechanism are (α, T·ρ_α)-RDP, and steps of different mechanisms add order by order.
///
/// For the Gaussian mechanism of noise multiplier σ (sensitivity 1) run on a Poisson sample
/// (each example included independently with probability q), Mironov, Talwar and Zhang (2019)
/// give ρ_α = log(A_α) / (α − 1) with
///   A_α = E_{z∼μ₀}[((1 − q) + q·μ₁(z)/μ₀(z))^α],  μ₀ = N(0, σ²), μ₁ = N(1, σ²),
/// which for integer α is the finite sum Σᵢ C(α, i) qⁱ (1−q)^{α−i} exp((i² − i)/(2σ²)), and for
/// fractional α the two series of their §3.3 (split at z₀ = σ²·log(1/q − 1) + 1/2). All sums are
/// taken in log space.
///
/// - Caveat: as in Google's `dp-accounting` (which the tests match to 1%), the fractional series
///   adds |C(α, i)| terms and gives up after 1000 terms (that order is then excluded, ρ = ∞);
///   this happens for large q and small α, where those orders never give the best ε anyway.
public enum RenyiDP {
    /// The largest order accepted (10⁶): an integer order α sums α + 1 terms, so an order of
    /// 10¹⁸ would never finish (and would not fit an Int).
    public static let maximumOrder: Double = 1e6

    /// The orders dp-accounting's `RdpAccountant` uses by default: 1.1, 1.2, …, 10.9, then
    /// 11, 12, …, 63, then 128, 256, 512, 1024.
    public static let defaultOrders: [Double] =
        (1..<100).map { 1 + Double($0) / 10 } + (11..<64).map(Double.init) + [128, 256, 512, 1024]

    /// The orders of TF Privacy's `compute_dp_sgd_privacy` (its published MNIST figures):
    /// 1.1, …, 10.9 and 12, …, 63.
    public static let tfPrivacyOrders: [Double] =
        (1..<100).map { 1 + Double($0) / 10 } + (12..<64).map(Double.init)

    /// RDP ρ_α of one step of the Poisson-subsampled Gaussian mechanism at each order.
    ///
    /// - Parameters:
    ///   - samplingProbability: q ∈ (0, 1]; q = 1 gives the plain Gaussian ρ_α = α / (2σ²).
    ///   - noiseMultiplier: σ > 0, the noise standard deviation over the L2 sensitivity.
    ///   - orders: orders α > 1.
    /// - Returns: ρ_α for each order (∞ where the fractional series does not converge).
    /// - Complexity: O(α) terms per integer order, at most 1000 per fractional order.
    /// - Throws: `AccountingError` naming `sampling_probability`, `noise_multiplier` or `orders`.
    public static func subsampledGaussian(samplingProbability q: Double, noiseMultiplier sigma: Double,
                                          orders: [Double] = defaultOrders) throws(AccountingError) -> [Double] {
        try Check.samplingProbability(q)
        try Check.noiseMultiplier(sigma)
        if let bad = orders.first(where: { !($0 > 1) || !($0 <= maximumOrder) }) {
            throw AccountingError(parameter: "orders", value: "\(bad)", expected: "orders in (1, \(Int(maximumOrder))]")
        }
        return orders.map { alpha in
            if q == 1 { return alpha / (2 * sigma * sigma) }
            let logA = alpha.rounded() == alpha
                ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
                : logAFractional(q: q, sigma: sigma, alpha: alpha)
            return logA / (alpha - 1)
        }
    }

    /// log A_α for integer α: log Σᵢ₌₀^α C(α, i) qⁱ (1−q)^{α−i} exp((i² − i)/(2σ²)).
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        let logQ = log(q), log1mQ = log1p(-q), twoSigma2 = 2 * sigma * sigma
        let a = Double(alpha)
        var logA = -Double.infinity
        for i in 0...alpha {
            let di = Double(i)
            let term = LogSpace.logBinomial(a, di) + di * logQ + (a - di) * log1mQ + (di * di - di) / twoSigma2
            logA = LogSpace.add(logA, term)
        }
        return logA
    }

    /// log A_α for fractional α (Mironov, Talwar & Zhang 2019, §3.3).
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var logA0 = -Double.infinity, logA1 = -Double.infinity
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let logQ = log(q), log1mQ = log1p(-q), twoSigma2 = 2 * sigma * sigma
        let root2Sigma = 2.0.squareRoot() * sigma
        var lastS0 = -Double.infinity, lastS1 = -Double.infinity
        for i in 0..<1000 {
            let di = Double(i)
            let logCoefficient = LogSpace.logBinomial(alpha, di)
            let j = alpha - di
            let logT0 = logCoefficient + di * logQ + j * log1mQ
            let logT1 = logCoefficient + j * logQ + di * log1mQ
            let logE0 = log(0.5) + LogSpace.logErfc((di - z0) / root2Sigma)
            let logE1 = log(0.5) + LogSpace.logErfc((z0 - j) / root2Sigma)
            let logS0 = logT0 + (di * di - di) / twoSigma2 + logE0
            let logS1 = logT1 + (j * j - j) / twoSigma2 + logE1
            logA0 = LogSpace.add(logA0, logS0)
            logA1 = LogSpace.add(logA1, logS1)
            let total = LogSpace.add(logA0, logA1)
            if logS0 < lastS0 && logS1 < lastS1 && max(logS0, logS1) < total - 30 { return total }
            lastS0 = logS0
            lastS1 = logS1
        }
        return .infinity
    }
}

// MARK: - RDP → (ε, δ)

/// How an RDP curve becomes an (ε, δ) guarantee.
public enum RDPConversion: String, Sendable, Codable, CaseIterable {
    /// ε = min_α ρ_α + log(1/δ) / (α − 1) (Mironov 2017, Prop. 3): the conversion behind
    /// published figures such as TF Privacy's ε = 3.01 for its MNIST tutorial.
    case classic
    /// ε = min_α ρ_α + log(1 − 1/α) − log(δ·α) / (α − 1) (Balle et al. 2020, Prop. 12; Asoodeh
    /// et al. 2020): never larger than the classic one, used by dp-accounting and Opacus. Orders
    /// α ≤ 1.01 are skipped, and ε = 0 when δ² + expm1(−ρ_α) > 0 (the KL bound suffices).
    case balle2020 = "balle-2020"
}

extension RenyiDP {
    /// The smallest ε over the orders for which the RDP curve gives (ε, δ)-DP, and that order.
    ///
    /// - Parameters:
    ///   - orders: orders α > 1.
    ///   - rdp: ρ_α ≥ 0 at each order (composed over all steps).
    ///   - delta: δ ∈ (0, 1).
    ///   - conversion: the conversion theorem; the tighter `balle2020` by default.
    /// - Returns: ε ≥ 0 (∞ when no order gives a finite bound) and the order that attains it.
    /// - Complexity: O(number of orders).
    public static func epsilon(orders: [Double], rdp: [Double], delta: Double,
                               conversion: RDPConversion = .balle2020) throws(AccountingError) -> (epsilon: Double, order: Double) {
        try Check.delta(delta)
        guard orders.count == rdp.count, !orders.isEmpty else {
            throw AccountingError(parameter: "rdp", value: "\(rdp.count) values for \(orders.count) orders",
                                  expected: "one value per order")
        }
        var best = Double.infinity, bestOrder = orders[0]
        for (alpha, r) in zip(orders, rdp) {
            guard alpha > 1 else {
                throw AccountingError(parameter: "orders", value: "\(alpha)", expected: "orders > 1")
            }
            let eps: Double
            if r.isNaN { continue }
            switch conversion {
            case .classic:
                eps = r + log(1 / delta) / (alpha - 1)
            case .balle2020:
                if r < 0 || delta * delta + expm1(-r) > 0 {
                    eps = 0
                } else if alpha > 1.01 {
                    eps = r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1)
                } else {
                    eps = .infinity
                }
            }
            if eps < best { best = eps; bestOrder = alpha }
        }
        return (max(0, best), bestOrder)
    }

    /// The smallest δ the RDP curve gives for a fixed ε (the inverse question), by the same
    /// conversion, and the order that attains it.
    public static func delta(orders: [Double], rdp: [Double], epsilon: Double,
                             conversion: RDPConversion = .balle2020) throws(AccountingError) -> (delta: Double, order: Double) {
        guard epsilon >= 0, !epsilon.isNaN else {
            throw AccountingError(parameter: "epsilon", value: "\(epsilon)", expected: "a number ≥ 0")
        }
        guard orders.count == rdp.count, !orders.isEmpty else {
            throw AccountingError(parameter: "rdp", value: "\(rdp.count) values for \(orders.count) orders",
                                  expected: "one value per order")
        }
        var best = Double.infinity, bestOrder = orders[0]
        for (alpha, r) in zip(orders, rdp) where alpha > 1 && !r.isNaN {
            var logDelta: Double
            switch conversion {
            case .classic:
                logDelta = (alpha - 1) * (r - epsilon)
            case .balle2020:
                logDelta = r <= 0 ? -.infinity : 0.5 * log1p(-exp(-r))
                if alpha > 1.01 {
                    logDelta = min(logDelta, (alpha - 1) * (r - epsilon + log1p(-1 / alpha)) - log(alpha))
                }
            }
            if logDelta < best { best = logDelta; bestOrder = alpha }
        }
        return (min(exp(best), 1), bestOrder)
    }
}
