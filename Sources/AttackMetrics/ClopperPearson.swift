/// Exact (Clopper–Pearson) confidence bounds for a binomial proportion.
///
/// For k successes in n trials, the one-sided upper bound at confidence 1 − α is the p with
/// P[Binomial(n, p) ≤ k] = α, which is the Beta(k + 1, n − k) quantile 1 − α (and 1 when k = n);
/// the lower bound is the Beta(k, n − k + 1) quantile α (and 0 when k = 0). The bounds are
/// conservative: they hold with probability ≥ 1 − α for every true p (Clopper and Pearson,
/// Biometrika 1934). The two-sided interval at 1 − α uses α/2 on each side, as
/// `statsmodels.proportion_confint(method="beta")` does.
///
/// - Complexity: one bisection of the incomplete beta function, about 60 evaluations.
public enum ClopperPearson {
    /// The one-sided upper bound on the proportion at `confidence` (e.g. 0.95).
    public static func upperBound(successes k: Int, trials n: Int, confidence: Double) -> Double {
        precondition(n >= 1 && k >= 0 && k <= n, "ClopperPearson: need 0 ≤ successes ≤ trials, trials ≥ 1")
        precondition(confidence > 0 && confidence < 1, "ClopperPearson: confidence must be in (0, 1)")
        if k == n { return 1 }
        return IncompleteBeta.inverse(confidence, a: Double(k + 1), b: Double(n - k))
    }

    /// The one-sided lower bound on the proportion at `confidence`.
    public static func lowerBound(successes k: Int, trials n: Int, confidence: Double) -> Double {
        precondition(n >= 1 && k >= 0 && k <= n, "ClopperPearson: need 0 ≤ successes ≤ trials, trials ≥ 1")
        precondition(confidence > 0 && confidence < 1, "ClopperPearson: confidence must be in (0, 1)")
        if k == 0 { return 0 }
        return IncompleteBeta.inverse(1 - confidence, a: Double(k), b: Double(n - k + 1))
    }

    /// The two-sided interval at `confidence`: each side at 1 − (1 − confidence)/2.
    public static func interval(successes k: Int, trials n: Int, confidence: Double) -> ClosedRange<Double> {
        let side = 1 - (1 - confidence) / 2
        return lowerBound(successes: k, trials: n, confidence: side)...upperBound(successes: k, trials: n, confidence: side)
    }
}
