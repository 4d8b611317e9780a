/// Limited-memory BFGS with a strong-Wolfe line search, for the smooth objectives of gradient
/// inversion (DLG minimises its gradient-matching loss with it).
///
/// Each iteration takes the quasi-Newton direction d = −H·g from the two-loop recursion over
/// the last m curvature pairs (s = xₖ₊₁ − xₖ, y = gₖ₊₁ − gₖ, kept only when sᵀy > 10⁻¹⁰), with
/// the initial scaling H₀ = sᵀy / yᵀy (Nocedal & Wright, "Numerical Optimization", 2nd ed.,
/// Algorithm 7.4), then a step t satisfying the strong Wolfe conditions
///
///     f(x + t·d) ≤ f(x) + c₁·t·gᵀd,   |∇f(x + t·d)ᵀd| ≤ c₂·|gᵀd|,   c₁ = 10⁻⁴, c₂ = 0.9
///
/// found by bracketing and cubic-interpolation zoom (Algorithms 3.5 and 3.6). The first step
/// tries t = min(1, 1/‖g‖₁), later ones t = 1. Vectors are kept in `Double`; the objective sees
/// and returns `Float` (the precision of `Tensor`).
///
/// It stops after `maxIterations` iterations or `maxEvaluations` objective calls; when
/// max|g| ≤ `gradientTolerance`; or when the step or the change of f falls below
/// `changeTolerance` (PyTorch's `torch.optim.LBFGS` uses the same three tests and defaults).
/// - Complexity: O(m·n) per iteration besides the objective calls (n the dimension).
public struct LBFGS: Sendable {
    public struct Configuration: Sendable, Equatable, Hashable {
        public var maxIterations: Int
        public var maxEvaluations: Int
        public var historySize: Int
        public var gradientTolerance: Double
        public var changeTolerance: Double
        /// Scales the trial steps (1 for a quasi-Newton method).
        public var learningRate: Double
        /// When false, takes the fixed step `learningRate` without a line search (the DLG
        /// reference code's setting).
        public var lineSearch: Bool

        public init(maxIterations: Int = 300, maxEvaluations: Int? = nil, historySize: Int = 100,
                    gradientTolerance: Double = 1e-7, changeTolerance: Double = 1e-9, learningRate: Double = 1,
                    lineSearch: Bool = true) {
            self.maxIterations = maxIterations
            self.maxEvaluations = maxEvaluations ?? maxIterations * 5 / 4 + 25
            self.historySize = historySize
            self.gradientTolerance = gradientTolerance
            self.changeTolerance = changeTolerance
            self.learningRate = learningRate
            self.lineSearch = lineSearch
        }
    }

    public enum StopReason: String, Sendable, Equatable {
        case maxIterations = "max-iterations"
        case maxEvaluations = "max-evaluations"
        case gradientTolerance = "gradient-tolerance"
        case changeTolerance = "change-tolerance"
        case nonFinite = "non-finite"
    }

    public struct Result: Sendable {
        /// The best point seen.
        public var x: [Float]
        public var value: Double
        public var iterations: Int
        public var evaluations: Int
        public var stopReason: StopReason
        /// f after each iteration.
        public var history: [Double]
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Minimises `objective` (value and gradient at a point) from `start`.
    public func minimize(from start: [Float], objective: ([Float]) -> (value: Float, gradient: [Float])) -> Result {
        let c = configuration
        let n = start.count
        var evaluations = 0
        var bestX = start, bestF = Double.infinity
        func evaluate(_ point: [Double]) -> (Double, [Double]) {
            evaluations += 1
            let p = point.map { Float($0) }
            let (value, gradient) = objective(p)
            let f = Double(value)
            if f < bestF, f.isFinite { bestF = f; bestX = p }
            return (f, gradient.map(Double.init))
        }
        var x = start.map(Double.init)
        var (f, g) = evaluate(x)
        var history: [Double] = []
        var sList: [[Double]] = [], yList: [[Double]] = [], rhoList: [Double] = []
        var iterations = 0
        var reason = StopReason.maxIterations
        guard f.isFinite else { return Result(x: start, value: f, iterations: 0, evaluations: evaluations, stopReason: .nonFinite, history: []) }
        if maxAbs(g) <= c.gradientTolerance {
            return Result(x: start, value: f, iterations: 0, evaluations: evaluations, stopReason: .gradientTolerance, history: [])
        }
        while iterations < c.maxIterations {
            iterations += 1
            // Two-loop recursion: d = −H g.
            var q = g
            var alphas = [Double](repeating: 0, count: sList.count)
            for i in stride(from: sList.count - 1, through: 0, by: -1) {
                alphas[i] = rhoList[i] * dot(sList[i], q)
                axpy(-alphas[i], yList[i], &q)
            }
            if let s = sList.last, let y = yList.last {
                let gamma = dot(s, y) / dot(y, y)
                for i in 0..<n { q[i] *= gamma }
            }
            for i in 0..<sList.count {
                let beta = rhoList[i] * dot(yList[i], q)
                axpy(alphas[i] - beta, sList[i], &q)
            }
            var d = q.map { -$0 }
            var gtd = dot(g, d)
            if !(gtd < 0) {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                sList.removeAll(); yList.removeAll(); rhoList.removeAll()
                d = g.map { -$0 }
                gtd = dot(g, d)
            }
            let t0 = (iterations == 1 ? min(1, 1 / sumAbs(g)) : 1) * c.learningRate
            let previousF = f
            var t: Double, fNew: Double, gNew: [Double]
            if c.lineSearch {
                (t, fNew, gNew) = strongWolfe(x: x, f: f, g: g, d: d, gtd: gtd, t: t0, evaluate: evaluate,
                                              budget: c.maxEvaluations - evaluations)
            } else {
                t = t0
                var trial = x
                axpy(t, d, &trial)
                (fNew, gNew) = evaluate(trial)
            }
            var s = d
            for i in 0..<n { s[i] *= t }
            var y = gNew
            for i in 0..<n { y[i] -= g[i] }
            let ys = dot(y, s)
            if ys > 1e-10 {
                if sList.count == c.historySize { sList.removeFirst(); yList.removeFirst(); rhoList.removeFirst() }
                sList.append(s); yList.append(y); rhoList.append(1 / ys)
            }
            axpy(1, s, &x)
            f = fNew
            g = gNew
            history.append(f)
            if !f.isFinite { reason = .nonFinite; break }
            if evaluations >= c.maxEvaluations { reason = .maxEvaluations; break }
            if maxAbs(g) <= c.gradientTolerance { reason = .gradientTolerance; break }
            if maxAbs(s) <= c.changeTolerance || abs(f - previousF) < c.changeTolerance { reason = .changeTolerance; break }
        }
        return Result(x: bestX, value: bestF, iterations: iterations, evaluations: evaluations, stopReason: reason, history: history)
    }

    /// A step length satisfying the strong Wolfe conditions along `d` (or the best found within
    /// `budget` evaluations), with f and g there.
    func strongWolfe(x: [Double], f f0: Double, g g0: [Double], d: [Double], gtd gtd0: Double, t initial: Double,
                     evaluate: ([Double]) -> (Double, [Double]), budget: Int) -> (Double, Double, [Double]) {
        let c1 = 1e-4, c2 = 0.9
        let dMax = maxAbs(d)
        var used = 0
        func at(_ t: Double) -> (Double, [Double], Double) {
            used += 1
            var p = x
            axpy(t, d, &p)
            let (f, g) = evaluate(p)
            return (f, g, dot(g, d))
        }
        var tPrev = 0.0, fPrev = f0, gPrev = g0, gtdPrev = gtd0
        var t = initial
        var (f, g, gtd) = at(t)
        var bracket: (lo: (Double, Double, [Double], Double), hi: (Double, Double, [Double], Double))? = nil
        var iteration = 0
        let limit = max(1, min(25, budget))
        while used < limit {
            if !f.isFinite || f > f0 + c1 * t * gtd0 || (iteration > 0 && f >= fPrev) {
                bracket = ((tPrev, fPrev, gPrev, gtdPrev), (t, f, g, gtd)); break
            }
            if abs(gtd) <= -c2 * gtd0 { return (t, f, g) }
            if gtd >= 0 { bracket = ((t, f, g, gtd), (tPrev, fPrev, gPrev, gtdPrev)); break }
            // Extrapolate.
            let minStep = t + 0.01 * (t - tPrev), maxStep = t * 10
            let next = cubicMinimum(tPrev, fPrev, gtdPrev, t, f, gtd, bounds: (minStep, maxStep))
            (tPrev, fPrev, gPrev, gtdPrev) = (t, f, g, gtd)
            t = next
            (f, g, gtd) = at(t)
            iteration += 1
        }
        guard var (lo, hi) = bracket else {
            return f.isFinite && f <= fPrev ? (t, f, g) : (tPrev, fPrev, gPrev)
        }
        // Zoom: keep lo the best point satisfying sufficient decrease.
        while used < limit {
            if abs(hi.0 - lo.0) * dMax < 1e-12 { break }
            let low = min(lo.0, hi.0), high = max(lo.0, hi.0)
            var trial = lo.3.isFinite && hi.1.isFinite ? cubicMinimum(lo.0, lo.1, lo.3, hi.0, hi.1, hi.3, bounds: (low, high)) : (low + high) / 2
            // Stay away from the ends of the bracket.
            let margin = 0.1 * (high - low)
            if trial < low + margin || trial > high - margin { trial = (low + high) / 2 }
            let (ft, gt, gtdt) = at(trial)
            if !ft.isFinite || ft > f0 + c1 * trial * gtd0 || ft >= lo.1 {
                hi = (trial, ft, gt, gtdt)
            } else {
                if abs(gtdt) <= -c2 * gtd0 { return (trial, ft, gt) }
                if gtdt * (hi.0 - lo.0) >= 0 { hi = lo }
                lo = (trial, ft, gt, gtdt)
            }
        }
        return (lo.0, lo.1, lo.2)
    }

    /// The minimiser of the cubic through (t₁, f₁, f′₁) and (t₂, f₂, f′₂), clamped to `bounds`;
    /// the middle of the bounds when the cubic has no minimum.
    func cubicMinimum(_ t1: Double, _ f1: Double, _ g1: Double, _ t2: Double, _ f2: Double, _ g2: Double,
                      bounds: (Double, Double)) -> Double {
        let (low, high) = (min(bounds.0, bounds.1), max(bounds.0, bounds.1))
        guard t1 != t2 else { return (low + high) / 2 }
        let d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
        let square = d1 * d1 - g1 * g2
        guard square >= 0, square.isFinite else { return (low + high) / 2 }
        let d2 = (t2 > t1 ? 1.0 : -1.0) * square.squareRoot()
        let t = t2 - (t2 - t1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2)
        guard t.isFinite else { return (low + high) / 2 }
        return min(max(t, low), high)
    }
}

@inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
        var s = 0.0
        for i in 0..<x.count { s += x[i] * y[i] }
        return s
    } }
}

@inline(__always) func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { ys in
        for i in 0..<xs.count { ys[i] += alpha * xs[i] }
    } }
}

@inline(__always) func maxAbs(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
@inline(__always) func sumAbs(_ a: [Double]) -> Double { a.reduce(0) { $0 + abs($1) } }
