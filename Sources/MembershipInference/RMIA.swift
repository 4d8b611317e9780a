/// The relative membership-inference attack (Zarifzadeh, Liu, Chang and Shokri, "Low-Cost
/// High-Power Membership Inference Attacks", ICML 2024).
///
/// RMIA compares the target's likelihood ratio on x against its ratio on population examples z
/// the target was not trained on:
///
///     LR(x, z) = (Pr(f(x) | θ) / Pr(x)) / (Pr(f(z) | θ) / Pr(z)),
///     score(x) = fraction of z with LR(x, z) > γ,
///
/// where Pr(f(x) | θ) is the target's probability of x's true label (`PredictionSignal.confidence`,
/// averaged over queries when there are several), and Pr(x) is its average over reference models:
///
/// - **Online**: the mean over all reference models, IN and OUT (with balanced masks, half of
///   each: the average over the data distribution).
/// - **Offline**: only OUT models; as models trained on x would give a higher probability,
///   Pr(x) ≈ ½((1 + a) · mean_OUT(x) + (1 − a)), the interpolation of §3.2 with factor a ∈ [0, 1]
///   (a = 1 trusts the OUT mean alone; smaller a credits the unseen IN models with more
///   confidence). The paper tunes a on reference models; 0.3 is ML Privacy Meter's default.
///
/// Pr(z) is computed exactly as Pr(x): every reference model online; offline, the models with z
/// OUT and the interpolation. (ML Privacy Meter's offline code treats every z as OUT for every
/// model; we use the known masks, which matters when the population is drawn from the reference
/// models' own training pool.)
///
/// Laws: the score is a fraction in [0, 1]; it is invariant under permuting the population, and
/// increasing in the target's confidence on x.
///
/// - Complexity: O(models × (examples + population) + (examples + population) log population):
///   the population's ratios are sorted once and each x counts by binary search.
public enum RMIA {
    public struct Options: Sendable, Hashable, Codable {
        public var mode: LiRA.Mode
        /// The likelihood-ratio threshold γ (the paper's default is 1).
        public var gamma: Double
        /// The offline interpolation factor a (used only offline).
        public var offlineInterpolation: Double
        /// How many population examples z to compare against (drawn by the audit from the
        /// reference pool).
        public var populationSize: Int

        public init(mode: LiRA.Mode = .online, gamma: Double = 1, offlineInterpolation: Double = 0.3,
                    populationSize: Int = 1000) {
            self.mode = mode
            self.gamma = gamma
            self.offlineInterpolation = offlineInterpolation
            self.populationSize = populationSize
        }
    }

    /// Membership scores of the audited examples.
    /// - Parameters:
    ///   - target, reference, membership: the target's and the K reference models' probabilities
    ///     of the true label on the audited examples, and which reference models trained on them.
    ///   - populationTarget, populationReference, populationMembership: the same on the population
    ///     examples z (1 × Z, K × Z and K × Z).
    public static func scores(target: SignalMatrix, reference: SignalMatrix, membership: MembershipMatrix,
                              populationTarget: SignalMatrix, populationReference: SignalMatrix,
                              populationMembership: MembershipMatrix,
                              options: Options = Options()) throws(MembershipInferenceError) -> [Double] {
        let n = target.exampleCount, k = reference.modelCount, zCount = populationTarget.exampleCount
        guard target.modelCount == 1, populationTarget.modelCount == 1 else {
            throw .shapeMismatch("RMIA: target signals must come from one model")
        }
        guard reference.exampleCount == n, membership.modelCount == k, membership.exampleCount == n,
              populationReference.modelCount == k, populationReference.exampleCount == zCount,
              populationMembership.modelCount == k, populationMembership.exampleCount == zCount,
              reference.queryCount == target.queryCount, populationReference.queryCount == populationTarget.queryCount else {
            throw .shapeMismatch("RMIA: signals, membership and population signals describe different models or examples")
        }
        guard k >= 1 else { throw .invalidParameter("RMIA needs at least one reference model") }
        guard zCount >= 1 else { throw .invalidParameter("RMIA needs at least one population example") }
        guard options.gamma > 0 else { throw .invalidParameter("RMIA: gamma must be positive, got \(options.gamma)") }
        let a = options.offlineInterpolation
        guard a >= 0 && a <= 1 else { throw .invalidParameter("RMIA: the offline interpolation factor must lie in [0, 1], got \(a)") }
        let online = options.mode == .online

        func meanOverQueries(_ s: SignalMatrix, _ m: Int, _ i: Int) -> Double {
            var total = 0.0
            for j in 0..<s.queryCount { total += s[m, i, j] }
            return total / Double(s.queryCount)
        }
        /// Pr(x) from the reference models; `isIn` tells which models trained on the example.
        func marginal(_ s: SignalMatrix, _ i: Int, population: Bool, isIn: (Int) -> Bool) throws(MembershipInferenceError) -> Double {
            var total = 0.0, count = 0
            for m in 0..<k where online || !isIn(m) { total += meanOverQueries(s, m, i); count += 1 }
            guard count > 0 else {
                throw .missingReferenceModels(example: i, inModels: k, outModels: 0,
                                              needed: "offline RMIA needs at least one OUT model per \(population ? "population example" : "audited example")")
            }
            let mean = total / Double(count)
            return online ? mean : ((1 + a) * mean + (1 - a)) / 2
        }

        var populationRatios = [Double](repeating: 0, count: zCount)
        for z in 0..<zCount {
            let pz = try marginal(populationReference, z, population: true) { populationMembership[$0, z] }
            populationRatios[z] = meanOverQueries(populationTarget, 0, z) / pz
        }
        populationRatios.sort()
        var scores = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let px = try marginal(reference, i, population: false) { membership[$0, i] }
            let ratio = meanOverQueries(target, 0, i) / px
            // LR(x, z) > γ  ⟺  ratio_z < ratio_x / γ (ratios are non-negative).
            let bound = ratio / options.gamma
            var low = 0, high = zCount
            while low < high {
                let mid = (low + high) / 2
                if populationRatios[mid] < bound { low = mid + 1 } else { high = mid }
            }
            scores[i] = Double(low) / Double(zCount)
        }
        return scores
    }
}
