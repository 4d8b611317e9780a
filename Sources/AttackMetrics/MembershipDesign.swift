// Membership-inference designs: target members / non-members / reference pool, and the
// per-reference-model membership masks (Datasets saves and reloads them as versioned JSON).
import LabRandom

/// Which examples each reference (shadow) model trains on: a `modelCount × examples.count` bit
/// matrix over population indices.
///
/// Built so that every example is IN for ⌊M/2⌋ or ⌈M/2⌉ of the M models (exactly half when M is
/// even), as the online setting of LiRA needs: each example then has as many IN as OUT models
/// to fit its two Gaussians (Carlini et al., "Membership Inference Attacks From First
/// Principles", IEEE S&P 2022, §IV).
public struct MembershipMasks: Sendable, Equatable {
    /// The number of reference models.
    public let modelCount: Int
    /// The population indices the masks range over (columns), in order.
    public let examples: [Int]
    /// Row-major bits, `modelCount × examples.count`, packed 64 per word per row.
    private let words: [UInt64]
    private let wordsPerRow: Int

    /// Masks from packed rows (`packedRows`), as `Datasets` reloads them.
    package init(modelCount: Int, examples: [Int], words: [UInt64]) {
        self.modelCount = modelCount
        self.examples = examples
        self.wordsPerRow = (examples.count + 63) / 64
        precondition(words.count == modelCount * wordsPerRow, "MembershipMasks: \(words.count) words for \(modelCount) rows")
        self.words = words
    }

    /// Draws masks over `examples`: for each example, a uniformly random set of ⌊M/2⌋ models
    /// (⌈M/2⌉ for every other example when M is odd, the extra one by coin flip) has it IN.
    public static func balanced(modelCount: Int, examples: [Int], using random: inout LabRandom) -> MembershipMasks {
        precondition(modelCount >= 1, "MembershipMasks: need at least one model")
        let wordsPerRow = (examples.count + 63) / 64
        var words = [UInt64](repeating: 0, count: modelCount * wordsPerRow)
        for column in examples.indices {
            var inCount = modelCount / 2
            if modelCount % 2 == 1 && random.nextBernoulli(0.5) { inCount += 1 }
            for model in random.sampleWithoutReplacement(inCount, from: modelCount) {
                words[model * wordsPerRow + column / 64] |= 1 << UInt64(column % 64)
            }
        }
        return MembershipMasks(modelCount: modelCount, examples: examples, words: words)
    }

    /// Whether column `column` (an example's position in `examples`) is IN for `model`.
    public func isMember(model: Int, column: Int) -> Bool {
        precondition(model >= 0 && model < modelCount && column >= 0 && column < examples.count,
                     "MembershipMasks: (model \(model), column \(column)) outside \(modelCount)×\(examples.count)")
        return words[model * wordsPerRow + column / 64] >> UInt64(column % 64) & 1 == 1
    }

    /// The population indices model `model` trains on, in `examples` order.
    public func members(ofModel model: Int) -> [Int] {
        examples.indices.filter { isMember(model: model, column: $0) }.map { examples[$0] }
    }

    /// The mask row of `model` as booleans over `examples`.
    public func row(_ model: Int) -> [Bool] {
        examples.indices.map { isMember(model: model, column: $0) }
    }

    /// How many models have column `column` IN.
    public func inCount(column: Int) -> Int {
        (0..<modelCount).reduce(0) { $0 + (isMember(model: $1, column: column) ? 1 : 0) }
    }

    /// Each row's bits, 64 per word (what `Datasets` saves).
    package var packedRows: [[UInt64]] {
        (0..<modelCount).map { Array(words[$0 * wordsPerRow ..< ($0 + 1) * wordsPerRow]) }
    }
}

/// A membership-inference experiment's data design over a population of `populationSize`
/// examples (population indices `0..<populationSize`).
///
/// - `targetMembers`: the target model's training set.
/// - `targetNonMembers`: held out from the target; with the members they form the audited
///   candidates, whose membership the attack must guess (members are label 1).
/// - `referencePool`: the rest, never audited: data the attacker may use (population data for
///   RMIA, training data of offline reference models).
/// - `referenceMasks`: which examples each reference model trains on. Online (LiRA online): over
///   candidates and pool together, every example IN for half the models. Offline: over the
///   pool only, so no reference model ever sees a candidate.
///
/// The four index lists are disjoint, sorted, and (with the pool) cover the population.
/// `Datasets` saves and loads designs (`save(to:)`, `load(from:)`).
public struct MembershipDesign: Sendable, Equatable {
    public let populationSize: Int
    public let targetMembers: [Int]
    public let targetNonMembers: [Int]
    public let referencePool: [Int]
    public let online: Bool
    public let referenceMasks: MembershipMasks

    /// A design from its parts, unchecked (`Datasets` checks them when it loads a design).
    package init(populationSize: Int, targetMembers: [Int], targetNonMembers: [Int], referencePool: [Int], online: Bool,
                 referenceMasks: MembershipMasks) {
        self.populationSize = populationSize
        self.targetMembers = targetMembers
        self.targetNonMembers = targetNonMembers
        self.referencePool = referencePool
        self.online = online
        self.referenceMasks = referenceMasks
    }

    /// Draws a design: a random `targetMemberCount` members and `targetNonMemberCount`
    /// non-members, the rest as pool, then balanced masks for `referenceModels` models.
    ///
    /// Draws, in order: one permutation of the population, then the masks.
    public static func make(
        populationSize: Int, targetMemberCount: Int, targetNonMemberCount: Int, referenceModels: Int, online: Bool,
        using random: inout LabRandom
    ) -> MembershipDesign {
        precondition(targetMemberCount >= 0 && targetNonMemberCount >= 0
                     && targetMemberCount + targetNonMemberCount <= populationSize,
                     "MembershipDesign: \(targetMemberCount) members + \(targetNonMemberCount) non-members exceed the population of \(populationSize)")
        precondition(referenceModels >= 1, "MembershipDesign: need at least one reference model")
        let order = random.permutation(populationSize)
        let members = Array(order[..<targetMemberCount]).sorted()
        let nonMembers = Array(order[targetMemberCount ..< targetMemberCount + targetNonMemberCount]).sorted()
        let pool = Array(order[(targetMemberCount + targetNonMemberCount)...]).sorted()
        let universe = online ? (members + nonMembers + pool).sorted() : pool
        let masks = MembershipMasks.balanced(modelCount: referenceModels, examples: universe, using: &random)
        return MembershipDesign(populationSize: populationSize, targetMembers: members, targetNonMembers: nonMembers,
                                referencePool: pool, online: online, referenceMasks: masks)
    }

    /// The audited candidates (members then non-members) and their membership labels (1 = IN).
    public var candidates: (indices: [Int], isMember: [Bool]) {
        (targetMembers + targetNonMembers,
         [Bool](repeating: true, count: targetMembers.count) + [Bool](repeating: false, count: targetNonMembers.count))
    }
}
