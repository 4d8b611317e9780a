import Foundation
import LabRandom
import ModelAccess
import Tensors

/// HopSkipJump (L2, untargeted or targeted): a decision-based black-box attack that needs only the
/// model's predicted labels. From a misclassified starting point it alternates a binary search
/// to the decision boundary, an estimate of the boundary's normal from the labels of random
/// probes around the boundary point (Monte Carlo, with a baseline), and a geometric step along
/// that normal; each round brings the adversarial input closer to the original in L2.
///
/// Every label the model gives is a query, counted per example; an example stops once its budget
/// (`maximumQueries`) is spent, keeping the closest adversarial input found.
///
/// - Paper: J. Chen, M. I. Jordan and M. J. Wainwright, "HopSkipJumpAttack: A Query-Efficient
///   Decision-Based Attack", IEEE S&P 2020 (Algorithm 2, the ℓ2 version).
public struct HopSkipJump: Sendable, Hashable {
    /// Rounds of search, gradient estimate and step.
    public var iterations: Int
    /// Probes of the first gradient estimate (grows as √t) and the most of any.
    public var initialProbes: Int
    public var maximumProbes: Int
    /// The query budget of one example.
    public var maximumQueries: Int
    public var domain: InputDomain

    public init(iterations: Int = 20, initialProbes: Int = 100, maximumProbes: Int = 1000, maximumQueries: Int = 10_000,
                domain: InputDomain = .unitInterval) {
        precondition(iterations >= 1 && initialProbes >= 2 && maximumProbes >= initialProbes && maximumQueries >= 1,
                     "HopSkipJump: iterations ≥ 1, 2 ≤ initial probes ≤ maximum probes, budget ≥ 1")
        self.iterations = iterations
        self.initialProbes = initialProbes
        self.maximumProbes = maximumProbes
        self.maximumQueries = maximumQueries
        self.domain = domain
    }

    /// One run's outcome per example: the closest adversarial input found (the original when none
    /// was), its L2 distance (∞ when none), and the queries spent.
    public struct Result: Sendable {
        public var adversarial: Tensor
        public var distances: [Float]
        public var queries: [Int]
        public var success: [Bool] { distances.map { $0.isFinite } }

        /// The share of examples with an adversarial input within `epsilon` (L2).
        public func successRate(within epsilon: Float) -> Double {
            Double(distances.filter { $0 <= epsilon }.count) / Double(max(1, distances.count))
        }
    }

    /// A query budget ran out.
    private struct OutOfQueries: Error {}

    /// Attacks each input with only `model`'s labels.
    public func run<M: LabelAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Result {
        let n = inputs.shape[0]
        let sample = Array(inputs.shape.dropFirst())
        let d = sample.reduce(1, *)
        let x = inputs.scalars
        var out = x
        var distances = [Float](repeating: .infinity, count: n)
        var queries = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let original = Array(x[i * d..<(i + 1) * d])
            var spent = 0
            var stream = random.stream("examples/\(i)")
            /// Whether each row is adversarial, counting the queries; throws once the budget is spent.
            func adversarial(_ rows: [[Float]]) throws -> [Bool] {
                guard spent + rows.count <= maximumQueries else { throw OutOfQueries() }
                spent += rows.count
                let predicted = model.predictedLabels(for: Tensor(shape: [rows.count] + sample, scalars: rows.flatMap { $0 }))
                return predicted.map { p in goal.target(i).map { p == $0 } ?? (p != labels[i]) }
            }
            var best: [Float]?
            var bestDistance = Float.infinity
            func record(_ candidate: [Float]) {
                let dist = Self.distance(candidate, original)
                if dist < bestDistance { best = candidate; bestDistance = dist }
            }
            do {
                // The input itself may already be misclassified: nothing to do.
                if try adversarial([original])[0] {
                    best = original
                    bestDistance = 0
                    queries[i] = spent
                    continue
                }
                // A start: uniform noise over the domain until one is adversarial.
                var start: [Float]?
                for _ in 0..<100 {
                    let noise = (0..<d).map { _ in domain.lower + (domain.upper - domain.lower) * stream.nextFloat() }
                    if try adversarial([noise])[0] { start = noise; break }
                }
                guard var current = start else { throw OutOfQueries() }
                let theta = 1 / (Float(d) * Float(d).squareRoot())   // γ = 1 over d^{3/2}
                current = try boundary(from: original, towards: current, threshold: theta, adversarial: adversarial)
                record(current)
                for t in 1...iterations {
                    let dist = Self.distance(current, original)
                    // The boundary's normal at `current`, from the labels of random probes.
                    let delta = Float(d).squareRoot() * theta * dist
                    let probes = min(maximumProbes, Int(Float(initialProbes) * Float(t).squareRoot()))
                    var directions = [[Float]]()
                    var rows = [[Float]]()
                    for _ in 0..<probes {
                        var u = (0..<d).map { _ in Float(stream.nextNormal()) }
                        let norm = max(1e-12, u.reduce(0) { $0 + $1 * $1 }.squareRoot())
                        for k in 0..<d { u[k] /= norm }
                        let probe = (0..<d).map { domain.clamp(current[$0] + delta * u[$0]) }
                        // The direction actually taken after clipping.
                        directions.append((0..<d).map { (probe[$0] - current[$0]) / max(delta, 1e-12) })
                        rows.append(probe)
                    }
                    let signs = try adversarial(rows).map { $0 ? Float(1) : -1 }
                    let mean = signs.reduce(0, +) / Float(probes)
                    var gradient = [Float](repeating: 0, count: d)
                    let centred = abs(mean) < 1
                    for (s, u) in zip(signs, directions) {
                        let weight = centred ? s - mean : s
                        for k in 0..<d { gradient[k] += weight * u[k] }
                    }
                    let gNorm = max(1e-12, gradient.reduce(0) { $0 + $1 * $1 }.squareRoot())
                    for k in 0..<d { gradient[k] /= gNorm }
                    // A geometric step along it: halve until the step lands on the adversarial side.
                    var step = dist / Float(t).squareRoot()
                    var moved = (0..<d).map { domain.clamp(current[$0] + step * gradient[$0]) }
                    while try !adversarial([moved])[0] {
                        step /= 2
                        if step < 1e-6 { moved = current; break }
                        moved = (0..<d).map { domain.clamp(current[$0] + step * gradient[$0]) }
                    }
                    current = try boundary(from: original, towards: moved, threshold: theta, adversarial: adversarial)
                    record(current)
                }
            } catch {
                // The budget is spent (or no start was found, or the input needed no attack).
            }
            if let best {
                for k in 0..<d { out[i * d + k] = best[k] }
                distances[i] = bestDistance
            }
            queries[i] = spent
        }
        return Result(adversarial: Tensor(shape: inputs.shape, scalars: out), distances: distances, queries: queries)
    }

    /// The point on the segment from `original` (clean side) to `point` (adversarial side) closest
    /// to `original` that is still adversarial, found by bisection to within `threshold` of the
    /// segment's parameter.
    private func boundary(from original: [Float], towards point: [Float], threshold: Float,
                          adversarial: ([[Float]]) throws -> [Bool]) throws -> [Float] {
        var low: Float = 0, high: Float = 1
        func blend(_ a: Float) -> [Float] { zip(original, point).map { (1 - a) * $0 + a * $1 } }
        while high - low > threshold {
            let mid = (low + high) / 2
            if try adversarial([blend(mid)])[0] { high = mid } else { low = mid }
        }
        return blend(high)
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }
}
