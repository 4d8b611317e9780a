/// How well a filter separated poisoned from clean examples, and what it gave back.
///
/// TPR = |removed ∩ poisoned| / |poisoned| (0 when nothing was poisoned);
/// FPR = |removed ∩ clean| / |clean|; precision = |removed ∩ poisoned| / |removed|.
public struct RemovalReport: Sendable, Equatable {
    public var removed: Int
    public var poisoned: Int
    public var truePositives: Int
    public var falsePositives: Int
    public var total: Int

    public init(removed mask: [Bool], poisoned truth: [Bool]) {
        precondition(mask.count == truth.count, "RemovalReport: \(mask.count) decisions for \(truth.count) examples")
        var tp = 0, fp = 0, r = 0, p = 0
        for (m, t) in zip(mask, truth) {
            if m { r += 1 }
            if t { p += 1 }
            if m && t { tp += 1 }
            if m && !t { fp += 1 }
        }
        removed = r
        poisoned = p
        truePositives = tp
        falsePositives = fp
        total = mask.count
    }

    public var truePositiveRate: Double { poisoned == 0 ? 0 : Double(truePositives) / Double(poisoned) }
    public var falsePositiveRate: Double { total == poisoned ? 0 : Double(falsePositives) / Double(total - poisoned) }
    public var precision: Double { removed == 0 ? 0 : Double(truePositives) / Double(removed) }

    /// The fraction of the accuracy lost to poisoning that filtering won back:
    /// (filtered − poisoned) / (clean − poisoned); 0 when poisoning cost nothing (clean ≤ poisoned).
    /// Above 1 when the filtered model beats the clean one, negative when filtering hurt.
    public static func accuracyRecovered(clean: Double, poisoned: Double, filtered: Double) -> Double {
        clean > poisoned ? (filtered - poisoned) / (clean - poisoned) : 0
    }
}
