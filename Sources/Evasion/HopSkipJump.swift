import Foundation
import LabRandom
import ModelAccess
import Tensors

/// HopSkipJump (L2 or L∞, untargeted or targeted): a decision-based black-box attack that needs
/// only the model's predicted labels. From a misclassified starting point it alternates a binary
/// search to the decision boundary, an estimate of the boundary's normal from the labels of random
/// probes around the boundary point (Monte Carlo, with a baseline), and a geometric step along
/// that normal; each round brings the adversarial input closer to the original in the norm.
///
/// The two norms differ where the paper says (d the input's size, γ = 1):
/// - L2: threshold θ = γ/d^{3/2}; the binary search runs on the segment from the original to the
///   boundary point; probes u ~ N(0, I)/‖·‖₂ at radius δ = √d·θ·‖x̃ − x‖₂; the step follows the
///   normalised estimate.
/// - L∞: θ = γ/d²; the binary search runs on the radius α of the box, projecting by
///   clip(x̃, x − α, x + α), from α = ‖x̃ − x‖∞ down to within min(α·θ, θ); probes
///   u ~ U[−1, 1]ᵈ/‖·‖₂ at δ = d·θ·‖x̃ − x‖∞; the step follows sign of the estimate, of size
///   ‖x̃ − x‖∞/√t halved until it stays adversarial.
///
/// Every label the model gives is a query, counted per example; an example stops once its budget
/// (`maximumQueries`) is spent, keeping the closest adversarial input found.
///
/// - Paper: J. Chen, M. I. Jordan and M. J. Wainwright, "HopSkipJumpAttack: A Query-Efficient
///   Decision-Based Attack", IEEE S&P 2020 (Algorithm 2, both versions).
public struct HopSkipJump: Sendable, Hashable {
    /// The norm the attack minimises and its distances are measured in.
    public var norm: PerturbationNorm
    /// Rounds of search, gradient estimate and step.
    public var iterations: Int
    /// Probes of the first gradient estimate (grows as √t) and the most of any.
    public var initialProbes: Int
    public var maximumProbes: Int
    /// The query budget of one example.
    public var maximumQueries: Int
    public var domain: InputDomain

    public init(norm: PerturbationNorm = .l2, iterations: Int = 20, initialProbes: Int = 100, maximumProbes: Int = 1000,
                maximumQueries: Int = 10_000, domain: InputDomain = .unitInterval) {
        precondition(iterations >= 1 && initialProbes >= 2 && maximumProbes >= initialProbes && maximumQueries >= 1,
                     "HopSkipJump: iterations ≥ 1, 2 ≤ initial probes ≤ maximum probes, budget ≥ 1")
        self.norm = norm
        self.iterations = iterations
        self.initialProbes = initialProbes
        self.maximumProbes = maximumProbes
        self.maximumQueries = maximumQueries
        self.domain = domain
    }

    /// One run's outcome per example (distances in `norm`).
    public typealias Result = DecisionBasedResult

    /// A query budget ran out.
    private struct OutOfQueries: Error {}

    /// Attacks each input with only `model`'s labels.
    public func run<M: LabelAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Result {
        let n = inputs.shape[0]
        let sample = Array(inputs.shape.dropFirst())
        let d = sample.reduce(1, *)
        let x = inputs.scalars
        let linf = norm == .linf
        var out = x
        var distances = [Float](repeating: .infinity, count: n)
        var queries = [Int](repeating: 0, count: n)
        var trace = [[DecisionBasedResult.Improvement]](repeating: [], count: n)
        for i in 0..<n {
            let original = Array(x[i * d..<(i + 1) * d])
            var spent = 0
            var stream = random.stream("examples/\(i)")
            /// Whether each row is adversarial, counting the queries; throws once the budget is spent.
            func adversarial(_ rows: [[Float]]) throws -> [Bool] {
                try adversarialRows(rows.flatMap { $0 }, count: rows.count)
            }
            /// The same for `count` rows laid out one after another in `flat`.
            func adversarialRows(_ flat: [Float], count: Int) throws -> [Bool] {
                guard spent + count <= maximumQueries else { throw OutOfQueries() }
                spent += count
                let predicted = model.predictedLabels(for: Tensor(shape: [count] + sample, scalars: flat))
                return predicted.map { p in goal.target(i).map { p == $0 } ?? (p != labels[i]) }
            }
            var best: [Float]?
            var bestDistance = Float.infinity
            func record(_ candidate: [Float]) {
                let dist = distance(candidate, original)
                if dist < bestDistance {
                    best = candidate
                    bestDistance = dist
                    trace[i].append(.init(queries: spent, distance: dist))
                }
            }
            do {
                // The input itself may already be misclassified: nothing to do.
                if try adversarial([original])[0] {
                    best = original
                    bestDistance = 0
                    trace[i].append(.init(queries: spent, distance: 0))
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
                // γ = 1 over d^{3/2} (L2) or d² (L∞).
                let theta = linf ? 1 / (Float(d) * Float(d)) : 1 / (Float(d) * Float(d).squareRoot())
                current = try boundary(from: original, towards: current, threshold: theta, adversarial: adversarial)
                record(current)
                for t in 1...iterations {
                    let dist = distance(current, original)
                    // The boundary's normal at `current`, from the labels of random probes.
                    let delta = linf ? Float(d) * theta * dist : Float(d).squareRoot() * theta * dist
                    let probes = min(maximumProbes, Int(Float(initialProbes) * Float(t).squareRoot()))
                    // Probes and the directions actually taken after clipping, row after row, in flat
                    // buffers (the hot loop of the attack: no per-element closures).
                    // The raw directions of all probes are drawn in one bulk fill (two values per word).
                    var directions = [Float](repeating: 0, count: probes * d)
                    var rows = [Float](repeating: 0, count: probes * d)
                    directions.withUnsafeMutableBufferPointer { raw in
                        if linf {
                            stream.fillUniform(raw, low: -1, high: 1)
                        } else {
                            stream.fillNormal(raw, mean: 0, standardDeviation: 1)
                        }
                    }
                    let probeScale = max(delta, 1e-12)
                    for r in 0..<probes {
                        let row = r * d
                        var squares: Float = 0
                        for k in 0..<d { squares += directions[row + k] * directions[row + k] }
                        let norm = max(1e-12, squares.squareRoot())
                        for k in 0..<d {
                            let probe = domain.clamp(current[k] + delta * directions[row + k] / norm)
                            rows[row + k] = probe
                            directions[row + k] = (probe - current[k]) / probeScale
                        }
                    }
                    let signs = try adversarialRows(rows, count: probes).map { $0 ? Float(1) : -1 }
                    let mean = signs.reduce(0, +) / Float(probes)
                    var gradient = [Float](repeating: 0, count: d)
                    let centred = abs(mean) < 1
                    for (r, s) in signs.enumerated() {
                        let weight = centred ? s - mean : s
                        let row = r * d
                        for k in 0..<d { gradient[k] += weight * directions[row + k] }
                    }
                    if linf {
                        for k in 0..<d { gradient[k] = gradient[k] > 0 ? 1 : (gradient[k] < 0 ? -1 : 0) }
                    } else {
                        let gNorm = max(1e-12, gradient.reduce(0) { $0 + $1 * $1 }.squareRoot())
                        for k in 0..<d { gradient[k] /= gNorm }
                    }
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
        return Result(norm: norm, adversarial: Tensor(shape: inputs.shape, scalars: out), distances: distances, queries: queries, trace: trace)
    }

    /// The adversarial point closest to `original` between it and `point` (adversarial), to within
    /// the threshold. L2: on the segment, by bisection of its parameter to within `threshold`. L∞:
    /// on the boxes clip(point, original − α, original + α), by bisection of α from ‖point −
    /// original‖∞ to within min(α·threshold, threshold).
    private func boundary(from original: [Float], towards point: [Float], threshold: Float,
                          adversarial: ([[Float]]) throws -> [Bool]) throws -> [Float] {
        if norm == .linf {
            var low: Float = 0, high = distance(point, original)
            let tolerance = min(high * threshold, threshold)
            func box(_ alpha: Float) -> [Float] { zip(original, point).map { min(max($1, $0 - alpha), $0 + alpha) } }
            while high - low > tolerance {
                let mid = (low + high) / 2
                if try adversarial([box(mid)])[0] { high = mid } else { low = mid }
            }
            return box(high)
        }
        var low: Float = 0, high: Float = 1
        func blend(_ a: Float) -> [Float] { zip(original, point).map { (1 - a) * $0 + a * $1 } }
        while high - low > threshold {
            let mid = (low + high) / 2
            if try adversarial([blend(mid)])[0] { high = mid } else { low = mid }
        }
        return blend(high)
    }

    /// ‖a − b‖ in the attack's norm.
    func distance(_ a: [Float], _ b: [Float]) -> Float {
        norm == .linf ? zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } : Self.distance(a, b)
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }
}
