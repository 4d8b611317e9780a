import LabRandom
import Tensors

/// Which label a triggered input should receive.
public enum BackdoorTargeting: Sendable, Equatable, Hashable {
    /// Every triggered input goes to `target` (inputs of the target class are never poisoned).
    case allToOne(target: Int)
    /// A triggered input of class y goes to (y + 1) mod K (Gu et al.'s all-to-all attack).
    case allToAll

    /// The label the attacker wants for a triggered input of true class `label`.
    @inlinable
    public func targetLabel(for label: Int, classCount: Int) -> Int {
        switch self {
        case let .allToOne(target): return target
        case .allToAll: return (label + 1) % classCount
        }
    }

    /// Whether an input of this class can show the attack (for all-to-one, the target class cannot).
    @inlinable
    public func isSource(_ label: Int) -> Bool {
        if case let .allToOne(target) = self { return label != target }
        return true
    }
}

/// How many training samples the attacker poisons.
public enum PoisonBudget: Sendable, Equatable, Hashable {
    /// Poisoned samples make up this fraction of the whole training set: p = ⌊rate·N⌉.
    case fractionOfTrainingSet(Double)
    /// Poisoned samples make up this fraction of the target class after poisoning (as Tran et al.
    /// 2018 and Chen et al. 2018 evaluate): p = ⌊rate·n_t / (1 − rate)⌉ with n_t the target
    /// class's clean count. All-to-one only.
    case fractionOfTargetClass(Double)
    /// Exactly this many poisoned samples.
    case count(Int)
}

/// A backdoor poisoning attack on a training set: a trigger, a targeting rule and a budget.
///
/// BadNets (Gu et al. 2017, "BadNets: Identifying vulnerabilities in the machine learning model
/// supply chain") stamps a patch on p training samples of source classes and relabels them;
/// the blended attack (Chen et al. 2017) does the same with a blended key. Samples are
/// modified in place (the set keeps its size), chosen uniformly among source-class samples.
///
/// Draws from `random`: the poisoned rows (stream-free, one `sampleWithoutReplacement`).
public struct BackdoorAttack: Sendable, Equatable {
    public var trigger: Trigger
    public var targeting: BackdoorTargeting
    public var budget: PoisonBudget

    public init(trigger: Trigger, targeting: BackdoorTargeting, budget: PoisonBudget) {
        self.trigger = trigger
        self.targeting = targeting
        self.budget = budget
    }

    /// The number of samples to poison in `data` (labels in `0..<classCount`), checked against
    /// what is available.
    public func poisonCount(in data: LabeledExamples, classCount: Int) throws(BackdoorError) -> Int {
        var counts = [Int](repeating: 0, count: classCount)
        for label in data.labels {
            guard label >= 0 && label < classCount else { throw .invalidParameter("label \(label) outside 0..<\(classCount)") }
            counts[label] += 1
        }
        let available = counts.indices.filter { targeting.isSource($0) }.reduce(0) { $0 + counts[$1] }
        let p: Int
        switch budget {
        case let .fractionOfTrainingSet(rate):
            guard rate > 0 && rate < 1 else { throw .invalidParameter("poison rate must lie in (0, 1), got \(rate)") }
            p = Int((rate * Double(data.count)).rounded())
        case let .fractionOfTargetClass(rate):
            guard rate > 0 && rate < 1 else { throw .invalidParameter("poison rate must lie in (0, 1), got \(rate)") }
            guard case let .allToOne(target) = targeting else {
                throw .invalidParameter("a budget relative to the target class needs an all-to-one attack")
            }
            p = Int((rate * Double(counts[target]) / (1 - rate)).rounded())
        case let .count(n):
            p = n
        }
        guard p >= 1 else { throw .invalidParameter("the budget poisons no sample (\(budget))") }
        guard p <= available else {
            throw .insufficientData("\(p) poisoned samples asked, only \(available) samples of source classes")
        }
        return p
    }

    /// Checks the trigger and targeting against the data's shape and `classCount` classes.
    public func validate(for data: LabeledExamples, classCount: Int) throws(BackdoorError) {
        guard trigger.sampleShape == data.sampleShape else {
            throw .invalidParameter("trigger for samples \(trigger.sampleShape), data has \(data.sampleShape)")
        }
        try trigger.validate()
        if case let .allToOne(target) = targeting, !(0..<classCount).contains(target) {
            throw .invalidParameter("target label \(target) outside 0..<\(classCount)")
        }
    }

    /// The training set (labels in `0..<classCount`) with the backdoor planted.
    /// - Complexity: O(N + p · trigger cost).
    public func poison(_ data: LabeledExamples, classCount: Int, random: inout LabRandom) throws(BackdoorError) -> PoisonedDataset {
        try validate(for: data, classCount: classCount)
        let p = try poisonCount(in: data, classCount: classCount)
        let labels = data.labels
        let sources = labels.indices.filter { targeting.isSource(labels[$0]) }
        let chosen = random.sampleWithoutReplacement(p, from: sources.count).map { sources[$0] }.sorted()
        var newLabels = labels
        for row in chosen { newLabels[row] = targeting.targetLabel(for: labels[row], classCount: classCount) }
        let features = trigger.applied(to: data.inputs.scalars, rows: chosen)
        var isPoisoned = [Bool](repeating: false, count: data.count)
        for row in chosen { isPoisoned[row] = true }
        let poisoned = LabeledExamples(inputs: Tensor(shape: data.inputs.shape, scalars: features), labels: newLabels)
        return PoisonedDataset(data: poisoned, isPoisoned: isPoisoned, originalLabels: labels)
    }

    /// The triggered test set: every test sample of a source class, stamped, with its true label
    /// and the label the attacker wants (among `classCount` classes).
    public func triggeredTestSet(_ test: LabeledExamples, classCount: Int) -> (features: [Float], trueLabels: [Int], targetLabels: [Int]) {
        let rows = test.labels.indices.filter { targeting.isSource(test.labels[$0]) }
        let subset = test.subset(rows)
        let trueLabels = subset.labels
        return (trigger.applied(to: subset.inputs.scalars), trueLabels,
                trueLabels.map { targeting.targetLabel(for: $0, classCount: classCount) })
    }
}

/// A training set with a planted backdoor, and which of its samples are poisoned.
public struct PoisonedDataset: Sendable, Equatable {
    /// The training set as the victim sees it (poisoned samples stamped and relabelled).
    public var data: LabeledExamples
    /// `isPoisoned[i]` says whether sample i was poisoned.
    public var isPoisoned: [Bool]
    /// The label each sample had before poisoning.
    public var originalLabels: [Int]

    public init(data: LabeledExamples, isPoisoned: [Bool], originalLabels: [Int]) {
        precondition(isPoisoned.count == data.count && originalLabels.count == data.count,
                     "PoisonedDataset: \(isPoisoned.count) flags and \(originalLabels.count) labels for \(data.count) samples")
        self.data = data
        self.isPoisoned = isPoisoned
        self.originalLabels = originalLabels
    }

    /// The rows that were poisoned, ascending.
    public var poisonedRows: [Int] { isPoisoned.indices.filter { isPoisoned[$0] } }

    /// The training set without the rows in `removed` (a defence's cleansing).
    public func removing(_ removed: [Int]) -> PoisonedDataset {
        var drop = [Bool](repeating: false, count: data.count)
        for r in removed { drop[r] = true }
        let keep = drop.indices.filter { !drop[$0] }
        return PoisonedDataset(data: data.subset(keep), isPoisoned: keep.map { isPoisoned[$0] },
                               originalLabels: keep.map { originalLabels[$0] })
    }

    /// How well a set of flagged rows matches the poisoned ones.
    public func detectionRates(flagged: [Int]) -> DetectionRates {
        var flags = [Bool](repeating: false, count: data.count)
        for r in flagged { flags[r] = true }
        var tp = 0, fp = 0, positives = 0
        for i in 0..<data.count {
            if isPoisoned[i] { positives += 1; if flags[i] { tp += 1 } } else if flags[i] { fp += 1 }
        }
        return DetectionRates(truePositives: tp, falsePositives: fp, positives: positives, negatives: data.count - positives)
    }
}

/// Counts of a detector's flags against the truth: TPR (poisoned samples caught) and FPR (clean
/// samples flagged).
public struct DetectionRates: Sendable, Equatable {
    public var truePositives: Int
    public var falsePositives: Int
    public var positives: Int
    public var negatives: Int

    public init(truePositives: Int, falsePositives: Int, positives: Int, negatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.positives = positives
        self.negatives = negatives
    }

    /// The fraction of poisoned samples flagged (0 when there are none).
    public var truePositiveRate: Double { positives == 0 ? 0 : Double(truePositives) / Double(positives) }
    /// The fraction of clean samples flagged.
    public var falsePositiveRate: Double { negatives == 0 ? 0 : Double(falsePositives) / Double(negatives) }
}
