#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The likelihood-ratio attack (Carlini, Chien, Nasr, Song, Terzis and Tramèr, "Membership
/// Inference Attacks From First Principles", IEEE S&P 2022).
///
/// For each audited example x, the attack models the target's logit-scaled confidence
/// φ = log(p_y / (1 − p_y)) (`PredictionSignal.scaledLogit`) over the randomness of training as
/// Gaussian, once for models trained with x (IN) and once without (OUT), fitting the two from
/// reference models whose training sets are known:
///
/// - **Online** (Algorithm 1): μ_in, σ_in from the reference models with x IN, μ_out, σ_out from
///   those with x OUT; score = log N(φ; μ_in, σ²_in) − log N(φ; μ_out, σ²_out), the log
///   likelihood ratio.
/// - **Offline** (§IV.C): only OUT models; a one-sided test, score = log Φ((φ − μ_out) / σ_out),
///   the log-probability that an OUT model gives x a confidence no higher than the target's.
///
/// With several queries per example (augmentations, §IV.B) the Gaussians are fitted per query and
/// the score is the mean over queries of the per-query scores (the queries treated as
/// independent, as the paper's implementation does).
///
/// Means are sample means; per-example standard deviations are the population (1/n) standard
/// deviations of the reference signals. With `globalVariance` (recommended below ~64 reference
/// models, §VI.A) one σ_in and one σ_out are shared by all examples: the root mean square of every
/// IN (resp. OUT) signal's deviation from its own example's mean, i.e. the pooled within-example
/// spread. (The paper's code pools the raw signals, which also mixes in the spread between
/// examples; pooling the residuals keeps the Gaussians centred on each example.) An example with
/// fewer than two signals on one side uses the global σ for that side; σ is floored at 1e-6.
///
/// - Complexity: O(models × examples × queries).
public enum LiRA {
    public enum Mode: String, Sendable, Hashable, Codable {
        case online
        case offline
    }

    public struct Options: Sendable, Hashable, Codable {
        public var mode: Mode
        public var globalVariance: Bool

        public init(mode: Mode = .online, globalVariance: Bool = false) {
            self.mode = mode
            self.globalVariance = globalVariance
        }
    }

    /// The fitted Gaussians of one example and query.
    struct Fit {
        var meanIn = 0.0, sdIn = 0.0, countIn = 0
        var meanOut = 0.0, sdOut = 0.0, countOut = 0
    }

    /// Membership scores of the audited examples (higher = more likely a member).
    /// - Parameters:
    ///   - target: the target model's signals, 1 × examples × queries.
    ///   - reference: the reference models' signals on the same examples, K × examples × queries.
    ///   - membership: K × examples, whether each reference model trained on each example.
    /// - Throws: `MembershipInferenceError` for mismatched shapes, or an example without OUT models
    ///   (and, online, without IN models).
    public static func scores(target: SignalMatrix, reference: SignalMatrix, membership: MembershipMatrix,
                              options: Options = Options()) throws(MembershipInferenceError) -> [Double] {
        let n = target.exampleCount, q = target.queryCount, k = reference.modelCount
        guard target.modelCount == 1 else { throw .shapeMismatch("LiRA: target signals must come from one model, got \(target.modelCount)") }
        guard reference.exampleCount == n, reference.queryCount == q else {
            throw .shapeMismatch("LiRA: reference signals are \(reference.exampleCount)×\(reference.queryCount), target \(n)×\(q)")
        }
        guard membership.modelCount == k, membership.exampleCount == n else {
            throw .shapeMismatch("LiRA: membership is \(membership.modelCount)×\(membership.exampleCount), signals \(k)×\(n)")
        }
        let online = options.mode == .online
        // Per-example fits, one pass over the K × n × q signals per moment.
        var fits = [Fit](repeating: Fit(), count: n * q)
        var pooledIn = 0.0, pooledOut = 0.0, pooledInCount = 0, pooledOutCount = 0
        for i in 0..<n {
            let inCount = membership.inCount(example: i), outCount = k - inCount
            guard outCount >= 1 else {
                throw .missingReferenceModels(example: i, inModels: inCount, outModels: outCount,
                                              needed: "LiRA needs at least one OUT model per example")
            }
            if online && inCount < 1 {
                throw .missingReferenceModels(example: i, inModels: inCount, outModels: outCount,
                                              needed: "online LiRA needs at least one IN model per example (use offline mode for an offline design)")
            }
        }
        reference.values.withUnsafeBufferPointer { v in
            membership.bits.withUnsafeBufferPointer { bits in
                fits.withUnsafeMutableBufferPointer { f in
                    for m in 0..<k {
                        for i in 0..<n {
                            let isIn = bits[m * n + i]
                            for j in 0..<q {
                                let value = v[(m * n + i) * q + j]
                                if isIn { f[i * q + j].meanIn += value; f[i * q + j].countIn += 1 }
                                else { f[i * q + j].meanOut += value; f[i * q + j].countOut += 1 }
                            }
                        }
                    }
                    for index in 0..<(n * q) {
                        if f[index].countIn > 0 { f[index].meanIn /= Double(f[index].countIn) }
                        f[index].meanOut /= Double(f[index].countOut)
                    }
                    // Sums of squared deviations, accumulated in the sd fields.
                    for m in 0..<k {
                        for i in 0..<n {
                            let isIn = bits[m * n + i]
                            for j in 0..<q {
                                let value = v[(m * n + i) * q + j]
                                if isIn { let d = value - f[i * q + j].meanIn; f[i * q + j].sdIn += d * d }
                                else { let d = value - f[i * q + j].meanOut; f[i * q + j].sdOut += d * d }
                            }
                        }
                    }
                    for index in 0..<(n * q) {
                        pooledIn += f[index].sdIn; pooledInCount += f[index].countIn
                        pooledOut += f[index].sdOut; pooledOutCount += f[index].countOut
                        f[index].sdIn = f[index].countIn > 0 ? (f[index].sdIn / Double(f[index].countIn)).squareRoot() : 0
                        f[index].sdOut = (f[index].sdOut / Double(f[index].countOut)).squareRoot()
                    }
                }
            }
        }
        let floor = 1e-6
        let globalIn = Swift.max(floor, pooledInCount > 0 ? (pooledIn / Double(pooledInCount)).squareRoot() : 0)
        let globalOut = Swift.max(floor, (pooledOut / Double(Swift.max(1, pooledOutCount))).squareRoot())
        var scores = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var total = 0.0
            for j in 0..<q {
                let fit = fits[i * q + j]
                let sdIn = options.globalVariance || fit.countIn < 2 ? globalIn : Swift.max(floor, fit.sdIn)
                let sdOut = options.globalVariance || fit.countOut < 2 ? globalOut : Swift.max(floor, fit.sdOut)
                let phi = target[0, i, j]
                if online {
                    total += NormalDistribution.logDensity(phi, mean: fit.meanIn, standardDeviation: sdIn)
                        - NormalDistribution.logDensity(phi, mean: fit.meanOut, standardDeviation: sdOut)
                } else {
                    total += NormalDistribution.logCDF((phi - fit.meanOut) / sdOut)
                }
            }
            scores[i] = total / Double(q)
        }
        return scores
    }
}
