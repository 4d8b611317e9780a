import Foundation
import LabRandom
import ModelAccess
import Tensors

/// Knockoff Nets: a surrogate trained on the victim's answers to natural inputs from a transfer
/// set (another dataset, or unlabelled data of the victim's domain), stolen at several query
/// budgets in one run.
///
/// Sampling:
/// - `.random`: the transfer set in a random order (stream "order"); the budget b's surrogate is
///   trained on the first b queries, so every budget's queries extend the previous ones.
/// - `.adaptive`: Orekondy et al.'s gradient-bandit policy over groups of the transfer set (its
///   own classes, `groups`), in rounds of `roundSize` queries: a round draws groups from the
///   policy π = softmax(H) (stream "policy/<round>"), an unqueried input uniformly from each group,
///   and rewards each query with the victim's certainty (top-1 minus top-2 probability) plus the
///   current surrogate's cross-entropy against the answer (the "certainty" and "uncertainty"
///   rewards, §5.2.2); H moves by α (r − r̄)(1[a] − π) per query, r̄ the running mean reward.
///   Simplification: the surrogate of the loss reward is the one of the last budget reached (none
///   before the first: a loss reward of 0), not one updated after every round.
///
/// The surrogate of budget b is trained from `random.stream("budget/<b>")`.
///
/// - Complexity: max(budgets) victim queries; one surrogate training per budget.
/// - Paper: T. Orekondy, B. Schiele and M. Fritz, "Knockoff Nets: Stealing Functionality of
///   Black-Box Models", CVPR 2019.
public struct KnockoffExtraction: Sendable, Hashable {
    public enum Sampling: Sendable, Hashable {
        case random
        case adaptive(roundSize: Int, learningRate: Double)
    }

    public enum KnockoffError: Error, Equatable, CustomStringConvertible {
        case budgets([Int])
        case transferSetTooSmall(size: Int, budget: Int)
        case groups(String)
        public var description: String {
            switch self {
            case let .budgets(b): return "knockoff: budgets must be positive and ascending, got \(b)"
            case let .transferSetTooSmall(size, budget): return "knockoff: the transfer set has \(size) inputs, fewer than the largest budget \(budget)"
            case let .groups(why): return "knockoff adaptive sampling: \(why)"
            }
        }
    }

    /// Query budgets, ascending.
    public var budgets: [Int]
    public var sampling: Sampling
    public var targets: SurrogateTargets

    public init(budgets: [Int], sampling: Sampling = .random, targets: SurrogateTargets = .probabilities) {
        self.budgets = budgets
        self.sampling = sampling
        self.targets = targets
    }

    /// Steals `victim` with inputs from `transferSet` [N, per-sample shape…]; `groups` gives each
    /// transfer input's group for adaptive sampling (ignored by random sampling).
    /// - Returns: one stolen model per budget, in the order of `budgets`.
    /// - Throws: `KnockoffError` for bad budgets, a transfer set smaller than the largest budget,
    ///   or adaptive sampling without one group per input; the recipe's errors.
    public func extract<Victim: ProbabilityAccess, Recipe: SoftTargetTrainingRecipe>(
        _ victim: Victim, transferSet: Tensor, groups: [Int]? = nil, recipe: Recipe, random: LabRandom
    ) throws -> [StolenModel<Recipe.Model>] where Recipe.Model: LogitAccess {
        guard let largest = budgets.last, budgets.first! > 0, zip(budgets, budgets.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw KnockoffError.budgets(budgets)
        }
        let n = transferSet.shape[0]
        guard n >= largest else { throw KnockoffError.transferSetTooSmall(size: n, budget: largest) }
        switch sampling {
        case .random:
            var order = random.stream("order")
            let chosen = Array(order.permutation(n).prefix(largest))
            let inputs = transferSet.gatheringRows(chosen)
            let answers = Answers(victim, inputs)
            return try budgets.map { b in
                let x = rows(inputs, 0..<b)
                return StolenModel(queries: b, model: try recipe.trainSurrogate(inputs: x, answers: answers.prefix(b), targets: targets,
                                                                                 random: random.stream("budget/\(b)")),
                                   trainingInputs: x)
            }
        case let .adaptive(roundSize, learningRate):
            guard let groups, groups.count == n else { throw KnockoffError.groups("needs one group per transfer input (\(n)), got \(groups?.count ?? 0)") }
            guard roundSize >= 1 else { throw KnockoffError.groups("rounds need at least one query, got \(roundSize)") }
            return try adaptive(victim, transferSet: transferSet, groups: groups, roundSize: roundSize, learningRate: learningRate,
                                recipe: recipe, random: random)
        }
    }

    func adaptive<Victim: ProbabilityAccess, Recipe: SoftTargetTrainingRecipe>(
        _ victim: Victim, transferSet: Tensor, groups: [Int], roundSize: Int, learningRate: Double, recipe: Recipe, random: LabRandom
    ) throws -> [StolenModel<Recipe.Model>] where Recipe.Model: LogitAccess {
        let names = Array(Set(groups)).sorted()
        let actions = names.count
        // Each group's unqueried inputs, in a random order drawn once.
        var shuffle = random.stream("groups")
        var members = names.map { g in groups.indices.filter { groups[$0] == g } }
        for a in 0..<actions { members[a] = shuffle.permutation(members[a].count).map { members[a][$0] } }
        var preferences = [Double](repeating: 0, count: actions)
        var meanReward = 0.0, rewarded = 0
        var chosen: [Int] = [], answers = Answers(probabilities: [], classes: victim.classCount)
        var stolen: [StolenModel<Recipe.Model>] = []
        var surrogate: Recipe.Model?
        var round = 0
        for budget in budgets {
            while chosen.count < budget {
                let size = min(roundSize, budget - chosen.count)
                var draw = random.stream("policy/\(round)")
                round += 1
                var picked: [(action: Int, index: Int)] = []
                for _ in 0..<size {
                    let open = (0..<actions).filter { !members[$0].isEmpty }
                    let weights = open.map { exp(preferences[$0] - preferences.max()!) }
                    var u = draw.nextDouble() * weights.reduce(0, +), a = open.last!
                    for (k, w) in zip(open, weights) { if u < w { a = k; break }; u -= w }
                    picked.append((a, members[a].removeLast()))
                }
                let x = transferSet.gatheringRows(picked.map(\.index))
                let answer = Answers(victim, x)
                let c = answer.classes
                var losses = [Double](repeating: 0, count: size)
                if let surrogate {
                    let logSoftmax = withoutGradients { surrogate.logits(for: x).logSoftmax() }.scalars
                    let t = answer.targets.scalars
                    for i in 0..<size { losses[i] = -(0..<c).reduce(0.0) { $0 + Double(t[i * c + $1]) * Double(logSoftmax[i * c + $1]) } }
                }
                for (i, pick) in picked.enumerated() {
                    let top = preferences.max()!
                    let row = answer.probabilities[i * c..<(i + 1) * c].sorted(by: >)
                    let reward = Double(row[0] - (c > 1 ? row[1] : 0)) + losses[i]
                    rewarded += 1
                    meanReward += (reward - meanReward) / Double(rewarded)
                    let weights = preferences.map { exp($0 - top) }, total = weights.reduce(0, +)
                    for a in 0..<actions {
                        let pi = weights[a] / total
                        preferences[a] += learningRate * (reward - meanReward) * ((a == pick.action ? 1 : 0) - pi)
                    }
                }
                chosen += picked.map(\.index)
                answers.append(answer)
            }
            let x = transferSet.gatheringRows(chosen)
            let model = try recipe.trainSurrogate(inputs: x, answers: answers, targets: targets, random: random.stream("budget/\(budget)"))
            surrogate = model
            stolen.append(StolenModel(queries: chosen.count, model: model, trainingInputs: x))
        }
        return stolen
    }
}
