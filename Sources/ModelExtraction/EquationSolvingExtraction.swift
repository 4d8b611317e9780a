import Foundation
import LabRandom
import ModelAccess
import Tensors

/// A multinomial logistic regression stolen from its probabilities: logits z = W·x + b, with the
/// parameters of the victim up to what its probabilities cannot reveal (the same vector added to
/// every class's weights and the same number to every bias).
public struct LinearModel: LogitAccess {
    /// W [classes × features], row-major, and b [classes].
    public let weights: [Double]
    public let biases: [Double]
    public let features: Int
    public var classCount: Int { biases.count }

    public func logits(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], x = inputs.scalars, c = classCount
        var out = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            for k in 0..<c {
                var s = biases[k]
                for j in 0..<features { s += weights[k * features + j] * Double(x[i * features + j]) }
                out[i * c + k] = Float(s)
            }
        }
        return Tensor(shape: [n, c], scalars: out)
    }
}

/// Tramèr et al.'s equation-solving extraction of a logistic regression: for every query x, the
/// victim's probabilities give log(p_k / p_0) = (w_k − w_0)·x + (b_k − b_0), linear in the
/// unknowns; with more queries than features the system is solved by least squares, and the
/// stolen model answers every input as the victim does.
///
/// - Paper: F. Tramèr, F. Zhang, A. Juels, M. K. Reiter and T. Ristenpart, "Stealing Machine
///   Learning Models via Prediction APIs", USENIX Security 2016, §4.1.
public struct EquationSolvingExtraction: Sendable {
    public enum ExtractionError: Error, Equatable, CustomStringConvertible {
        case tooFewQueries(needed: Int, got: Int)
        case degenerate(String)
        public var description: String {
            switch self {
            case let .tooFewQueries(needed, got): return "equation-solving extraction needs at least \(needed) queries (features + 1), got \(got)"
            case let .degenerate(why): return "equation-solving extraction: \(why)"
            }
        }
    }

    /// Queries to spend (≥ features + 1).
    public var queries: Int
    /// Queries are drawn uniformly from [lower, upper] in every feature.
    public var lower: Float
    public var upper: Float

    public init(queries: Int, lower: Float = 0, upper: Float = 1) {
        self.queries = queries
        self.lower = lower
        self.upper = upper
    }

    /// Steals `victim`, a model over rows of `features` values, with `queries` random queries.
    /// - Throws: `ExtractionError` for fewer queries than features + 1, or probabilities that are
    ///   0 (a hardened output: rounded or label-only answers do not give the equations).
    public func extract<Victim: ProbabilityAccess>(_ victim: Victim, features: Int, random: LabRandom) throws -> LinearModel {
        let d = features, c = victim.classCount
        guard queries >= d + 1 else { throw ExtractionError.tooFewQueries(needed: d + 1, got: queries) }
        var stream = random
        let x = (0..<queries * d).map { _ in lower + (upper - lower) * stream.nextFloat() }
        let p = victim.probabilities(for: Tensor(shape: [queries, d], scalars: x)).scalars
        if let zero = p.firstIndex(where: { !($0 > 0) }) {
            throw ExtractionError.degenerate("query \(zero / c) got a probability of 0 for class \(zero % c); the answers are hardened (rounded or labels only)")
        }
        // Normal equations AᵀA θ = Aᵀy, A = [x, 1], one right-hand side per class k ≥ 1.
        let m = d + 1
        var ata = [Double](repeating: 0, count: m * m)
        var aty = [Double](repeating: 0, count: m * (c - 1))
        for q in 0..<queries {
            var row = (0..<d).map { Double(x[q * d + $0]) }
            row.append(1)
            for a in 0..<m { for b in 0..<m { ata[a * m + b] += row[a] * row[b] } }
            let base = log(Double(p[q * c]))
            for k in 1..<c {
                let y = log(Double(p[q * c + k])) - base
                for a in 0..<m { aty[a * (c - 1) + (k - 1)] += row[a] * y }
            }
        }
        let theta = try Self.solve(ata, aty, size: m, columns: c - 1)
        var weights = [Double](repeating: 0, count: c * d), biases = [Double](repeating: 0, count: c)
        for k in 1..<c {
            for j in 0..<d { weights[k * d + j] = theta[j * (c - 1) + (k - 1)] }
            biases[k] = theta[d * (c - 1) + (k - 1)]
        }
        return LinearModel(weights: weights, biases: biases, features: d)
    }

    /// Solves M·X = R (M: size × size, R: size × columns) by Gaussian elimination with partial pivoting.
    static func solve(_ matrix: [Double], _ rhs: [Double], size n: Int, columns: Int) throws -> [Double] {
        var a = matrix, b = rhs
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard abs(a[pivot * n + col]) > 1e-12 else { throw ExtractionError.degenerate("the queries do not determine the parameters (a singular system)") }
            if pivot != col {
                for j in 0..<n { a.swapAt(col * n + j, pivot * n + j) }
                for j in 0..<columns { b.swapAt(col * columns + j, pivot * columns + j) }
            }
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for j in col..<n { a[r * n + j] -= f * a[col * n + j] }
                for j in 0..<columns { b[r * columns + j] -= f * b[col * columns + j] }
            }
        }
        for col in stride(from: n - 1, through: 0, by: -1) {
            for j in 0..<columns {
                var s = b[col * columns + j]
                for k in (col + 1)..<n { s -= a[col * n + k] * b[k * columns + j] }
                b[col * columns + j] = s / a[col * n + col]
            }
        }
        return b
    }
}
