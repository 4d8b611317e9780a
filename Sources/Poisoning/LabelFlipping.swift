import LabRandom

/// Labels after a label-flipping attack, with the mask of the examples the attacker changed.
public struct FlippedLabels: Sendable, Equatable {
    public var labels: [Int]
    /// flipped[i]: example i's label was changed (its new label differs from the true one).
    public var flipped: [Bool]

    /// The number of changed labels.
    public var flippedCount: Int { flipped.lazy.filter { $0 }.count }
}

/// Label flipping, the simplest training-set poisoning: the attacker controls the labels of a
/// fraction of the training set.
///
/// - Random flipping: ⌊rate·n⌉ examples chosen uniformly without replacement each get a label drawn
///   uniformly from the other classes (symmetric label noise).
/// - Targeted flipping: ⌊rate·n_s⌉ examples of the source class s, chosen uniformly, are relabelled
///   as the target class t (to make the model confuse s with t).
///
/// - Complexity: O(n).
/// - Papers: Biggio, Nelson & Laskov, "Support vector machines under adversarial label noise", ACML
///   2011; Xiao, Xiao & Eckert, "Adversarial label flips attack on support vector machines", ECAI 2012.
public enum LabelFlipping {
    /// Flips ⌊rate·n⌉ labels chosen uniformly at random, each to a uniformly random other class.
    /// - Precondition: `rate` in [0, 1], `classCount` ≥ 2, labels in 0..<classCount.
    public static func random(labels: [Int], classCount: Int, rate: Double, random: inout LabRandom) -> FlippedLabels {
        precondition(rate >= 0 && rate <= 1, "LabelFlipping.random: rate must lie in [0, 1], got \(rate)")
        precondition(classCount >= 2, "LabelFlipping.random: needs at least two classes")
        let n = labels.count
        let count = Int((rate * Double(n)).rounded())
        var result = FlippedLabels(labels: labels, flipped: [Bool](repeating: false, count: n))
        for index in random.sampleWithoutReplacement(count, from: n) {
            let y = labels[index]
            precondition(y >= 0 && y < classCount, "LabelFlipping.random: label \(y) outside 0..<\(classCount)")
            let shift = 1 + random.nextInt(below: classCount - 1)
            result.labels[index] = (y + shift) % classCount
            result.flipped[index] = true
        }
        return result
    }

    /// Relabels ⌊rate·n_source⌉ examples of class `source`, chosen uniformly, as class `target`.
    /// - Precondition: `rate` in [0, 1], `source` ≠ `target`.
    public static func targeted(labels: [Int], source: Int, target: Int, rate: Double, random: inout LabRandom) -> FlippedLabels {
        precondition(rate >= 0 && rate <= 1, "LabelFlipping.targeted: rate must lie in [0, 1], got \(rate)")
        precondition(source != target, "LabelFlipping.targeted: source and target are both \(source)")
        let members = labels.indices.filter { labels[$0] == source }
        let count = Int((rate * Double(members.count)).rounded())
        var result = FlippedLabels(labels: labels, flipped: [Bool](repeating: false, count: labels.count))
        for k in random.sampleWithoutReplacement(count, from: members.count) {
            result.labels[members[k]] = target
            result.flipped[members[k]] = true
        }
        return result
    }
}
