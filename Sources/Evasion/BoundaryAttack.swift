import LabRandom
import ModelAccess
import Tensors

/// The Boundary attack (L2, untargeted or targeted): a decision-based black-box attack that needs
/// only the model's predicted labels. It starts from an adversarial input far away (uniform noise,
/// blended towards the original by bisection unless `bisectsStart` is false, as in ART) and walks along the decision boundary towards the
/// original by rejection sampling:
///
/// 1. Orthogonal step: `candidates` proposals x̃ + η, with η ~ N(0, I) scaled to δ·‖x̃ − x‖₂, its
///    component along x − x̃ removed, and the result moved back onto the sphere of radius ‖x̃ − x‖₂
///    around x; clipped into the domain. δ shrinks (× `adaptation`) when fewer than 20% of them
///    are adversarial and grows (÷ `adaptation`) when more than 50% are.
/// 2. Step towards the original: each adversarial proposal p moves to p + ε·(x − p), clipped;
///    ε adapts by the same rule, and the adversarial one closest to x becomes x̃.
///
/// Each step is tried up to `trials` times; when no proposal is adversarial in all of them, the
/// attack stops for that example. Every label is a query, counted per example, and the budget
/// `maximumQueries` is never exceeded: the closest adversarial input found so far is kept.
///
/// - Paper: W. Brendel, J. Rauber and M. Bethge, "Decision-Based Adversarial Attacks: Reliable
///   Attacks Against Black-Box Machine Learning Models", ICLR 2018.
/// - Caveat: the walk only shortens the distance; a budget too small for the start (at most 100
///   noise draws and the bisection) leaves the example without an adversarial input.
public struct BoundaryAttack: Sendable, Hashable {
    /// Rounds of orthogonal step and step towards the original.
    public var iterations: Int
    /// The query budget of one example.
    public var maximumQueries: Int
    /// Initial relative sizes of the orthogonal step (δ) and of the step towards the original (ε).
    public var orthogonalStep: Float
    public var towardsStep: Float
    /// The factor that shrinks a step whose proposals mostly fail (its inverse grows it).
    public var adaptation: Float
    /// Proposals per trial, and trials per step.
    public var candidates: Int
    public var trials: Int
    /// Whether the noise start is first blended towards the original (bisection to 0.001 of the
    /// segment: Foolbox's start, a shorter walk) or used as it is (the paper's and ART's).
    public var bisectsStart: Bool
    public var domain: InputDomain

    public init(iterations: Int = 1000, maximumQueries: Int = 10_000, orthogonalStep: Float = 0.01, towardsStep: Float = 0.01,
                adaptation: Float = 0.667, candidates: Int = 20, trials: Int = 25, bisectsStart: Bool = true,
                domain: InputDomain = .unitInterval) {
        precondition(iterations >= 1 && maximumQueries >= 1 && candidates >= 1 && trials >= 1,
                     "BoundaryAttack: iterations, budget, candidates and trials are ≥ 1")
        precondition(orthogonalStep > 0 && towardsStep > 0 && towardsStep < 1 && adaptation > 0 && adaptation < 1,
                     "BoundaryAttack: steps are positive, the step towards the original below 1, the adaptation in (0, 1)")
        self.iterations = iterations
        self.maximumQueries = maximumQueries
        self.orthogonalStep = orthogonalStep
        self.towardsStep = towardsStep
        self.adaptation = adaptation
        self.candidates = candidates
        self.trials = trials
        self.bisectsStart = bisectsStart
        self.domain = domain
    }

    private struct OutOfQueries: Error {}

    /// Attacks each input with only `model`'s labels; distances are L2.
    public func run<M: LabelAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> DecisionBasedResult {
        let n = inputs.shape[0]
        let sample = Array(inputs.shape.dropFirst())
        let d = sample.reduce(1, *)
        let x = inputs.scalars
        var out = x
        var distances = [Float](repeating: .infinity, count: n)
        var queries = [Int](repeating: 0, count: n)
        var trace = [[DecisionBasedResult.Improvement]](repeating: [], count: n)
        for i in 0..<n {
            let original = Array(x[i * d..<(i + 1) * d])
            var spent = 0
            var stream = random.stream("examples/\(i)")
            func adversarial(_ rows: [[Float]]) throws -> [Bool] {
                guard spent + rows.count <= maximumQueries else { throw OutOfQueries() }
                spent += rows.count
                let predicted = model.predictedLabels(for: Tensor(shape: [rows.count] + sample, scalars: rows.flatMap { $0 }))
                return predicted.map { p in goal.target(i).map { p == $0 } ?? (p != labels[i]) }
            }
            var best: [Float]?
            var bestDistance = Float.infinity
            func record(_ candidate: [Float]) {
                let dist = HopSkipJump.distance(candidate, original)
                if dist < bestDistance {
                    best = candidate
                    bestDistance = dist
                    trace[i].append(.init(queries: spent, distance: dist))
                }
            }
            do {
                if try adversarial([original])[0] {
                    best = original
                    bestDistance = 0
                    trace[i].append(.init(queries: spent, distance: 0))
                    queries[i] = spent
                    continue
                }
                var start: [Float]?
                for _ in 0..<100 {
                    let noise = (0..<d).map { _ in domain.lower + (domain.upper - domain.lower) * stream.nextFloat() }
                    if try adversarial([noise])[0] { start = noise; break }
                }
                guard let noise = start else { throw OutOfQueries() }
                // Blend towards the original: the smallest share of noise that stays adversarial.
                var low: Float = 0, high: Float = 1
                func blend(_ a: Float) -> [Float] { zip(original, noise).map { (1 - a) * $0 + a * $1 } }
                while bisectsStart && high - low > 0.001 {
                    let mid = (low + high) / 2
                    if try adversarial([blend(mid)])[0] { high = mid } else { low = mid }
                }
                var current = blend(high)
                record(current)
                var delta = orthogonalStep, epsilon = towardsStep
                rounds: for _ in 0..<iterations {
                    // 1. Orthogonal step on the sphere around the original.
                    var accepted: [[Float]] = []
                    for _ in 0..<trials {
                        let proposals = (0..<candidates).map { _ in orthogonalProposal(current, original, delta: delta, random: &stream) }
                        let verdicts = try adversarial(proposals)
                        let ratio = Float(verdicts.filter { $0 }.count) / Float(candidates)
                        if ratio < 0.2 { delta *= adaptation } else if ratio > 0.5 { delta /= adaptation }
                        if ratio > 0 {
                            accepted = zip(proposals, verdicts).filter { $0.1 }.map { $0.0 }
                            break
                        }
                    }
                    if accepted.isEmpty { break rounds }
                    // 2. Towards the original.
                    var moved = false
                    for _ in 0..<trials {
                        let proposals = accepted.map { p in (0..<d).map { domain.clamp(p[$0] + epsilon * (original[$0] - p[$0])) } }
                        let verdicts = try adversarial(proposals)
                        let ratio = Float(verdicts.filter { $0 }.count) / Float(proposals.count)
                        if ratio < 0.2 { epsilon *= adaptation } else if ratio > 0.5 { epsilon /= adaptation }
                        epsilon = min(epsilon, 0.999)
                        if ratio > 0 {
                            let kept = zip(proposals, verdicts).filter { $0.1 }.map { $0.0 }
                            current = kept.min { HopSkipJump.distance($0, original) < HopSkipJump.distance($1, original) }!
                            record(current)
                            moved = true
                            break
                        }
                    }
                    if !moved { break rounds }
                }
            } catch {
                // The budget is spent, or no start was found.
            }
            if let best {
                for k in 0..<d { out[i * d + k] = best[k] }
                distances[i] = bestDistance
            }
            queries[i] = spent
        }
        return DecisionBasedResult(norm: .l2, adversarial: Tensor(shape: inputs.shape, scalars: out), distances: distances,
                                   queries: queries, trace: trace)
    }

    /// current + η with η ⟂ (original − current), ‖η‖ = δ·r (r = ‖current − original‖), moved back
    /// onto the sphere of radius r around the original and clipped into the domain.
    private func orthogonalProposal(_ current: [Float], _ original: [Float], delta: Float, random: inout LabRandom) -> [Float] {
        let d = current.count
        var eta = (0..<d).map { _ in Float(random.nextNormal()) }
        var towards = (0..<d).map { original[$0] - current[$0] }
        let radius = max(1e-12, towards.reduce(0) { $0 + $1 * $1 }.squareRoot())
        for k in 0..<d { towards[k] /= radius }
        let along = zip(eta, towards).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        for k in 0..<d { eta[k] -= along * towards[k] }
        let etaNorm = max(1e-12, eta.reduce(0) { $0 + $1 * $1 }.squareRoot())
        let scale = delta * radius / etaNorm
        var proposal = (0..<d).map { current[$0] + scale * eta[$0] }
        // Back onto the sphere: original + (proposal − original)·r/‖proposal − original‖.
        let far = max(1e-12, HopSkipJump.distance(proposal, original))
        for k in 0..<d { proposal[k] = domain.clamp(original[k] + (proposal[k] - original[k]) * radius / far) }
        return proposal
    }
}
