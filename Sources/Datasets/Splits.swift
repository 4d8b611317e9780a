// Train / validation / test splits, plain or stratified, from a passed-in LabRandom.
import LabRandom

/// Index sets of one split of a dataset; each list is sorted ascending.
public struct IndexSplit: Sendable, Equatable, Codable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    public init(train: [Int], validation: [Int] = [], test: [Int]) {
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// Random splits of `0..<count` into train / validation / test.
///
/// Sizes: the test part has round(count · testFraction) indices and the validation part
/// round(count · validationFraction) (halves round up); train gets the rest. With
/// `stratified`, each class c of size n_c contributes t_c test and v_c validation indices with
/// |t_c − n_c · testFraction| < 1 and |v_c − n_c · validationFraction| < 1 (largest-remainder
/// apportionment of the exact totals; when a class is too small for both, validation gives way),
/// so the class proportions of every part match the whole within one example per class.
///
/// Determinism: the result depends only on the arguments and the generator's state; pass a
/// named stream (`root.stream("data/split")`).
/// - Complexity: O(count log count).
public enum Splits {
    /// A random train/test split of `count` examples.
    public static func trainTest(count: Int, testFraction: Double, using random: inout LabRandom) -> IndexSplit {
        trainValidationTest(count: count, validationFraction: 0, testFraction: testFraction, using: &random)
    }

    /// A random train/validation/test split of `count` examples.
    public static func trainValidationTest(
        count: Int, validationFraction: Double, testFraction: Double, using random: inout LabRandom
    ) -> IndexSplit {
        checkFractions(validationFraction, testFraction)
        let order = random.permutation(count)
        let nTest = roundHalfUp(Double(count) * testFraction)
        let nValidation = min(count - nTest, roundHalfUp(Double(count) * validationFraction))
        return IndexSplit(
            train: Array(order[(nTest + nValidation)...]).sorted(),
            validation: Array(order[nTest ..< nTest + nValidation]).sorted(),
            test: Array(order[..<nTest]).sorted())
    }

    /// A train/test split of labelled examples, stratified by label when asked.
    public static func trainTest(
        labels: [Int32], classCount: Int, testFraction: Double, stratified: Bool, using random: inout LabRandom
    ) -> IndexSplit {
        trainValidationTest(labels: labels, classCount: classCount, validationFraction: 0, testFraction: testFraction,
                            stratified: stratified, using: &random)
    }

    /// A train/validation/test split of labelled examples, stratified by label when asked.
    public static func trainValidationTest(
        labels: [Int32], classCount: Int, validationFraction: Double, testFraction: Double, stratified: Bool,
        using random: inout LabRandom
    ) -> IndexSplit {
        guard stratified else {
            return trainValidationTest(count: labels.count, validationFraction: validationFraction,
                                       testFraction: testFraction, using: &random)
        }
        checkFractions(validationFraction, testFraction)
        let byClass = indicesByClass(labels, classCount: classCount)
        let sizes = byClass.map { Double($0.count) }
        let nTest = roundHalfUp(Double(labels.count) * testFraction)
        let nValidation = min(labels.count - nTest, roundHalfUp(Double(labels.count) * validationFraction))
        let testPerClass = Sampling.apportion(nTest, exactShares: sizes.map { $0 * testFraction })
        var validationPerClass = Sampling.apportion(nValidation, exactShares: sizes.map { $0 * validationFraction })
        var split = IndexSplit(train: [], validation: [], test: [])
        for c in 0..<byClass.count {
            var members = byClass[c]
            random.shuffle(&members)
            let t = testPerClass[c]
            validationPerClass[c] = min(validationPerClass[c], members.count - t)
            let v = validationPerClass[c]
            split.test += members[..<t]
            split.validation += members[t ..< t + v]
            split.train += members[(t + v)...]
        }
        split.train.sort()
        split.validation.sort()
        split.test.sort()
        return split
    }

    static func indicesByClass(_ labels: [Int32], classCount: Int) -> [[Int]] {
        var byClass = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && Int(label) < classCount, "Splits: label \(label) outside 0..<\(classCount)")
            byClass[Int(label)].append(i)
        }
        return byClass
    }

    static func roundHalfUp(_ x: Double) -> Int { Int((x + 0.5).rounded(.down)) }

    private static func checkFractions(_ validation: Double, _ test: Double) {
        precondition(validation >= 0 && test >= 0 && validation + test <= 1,
                     "Splits: fractions must be non-negative with validation + test ≤ 1, got \(validation) and \(test)")
    }
}

extension LabeledData {
    /// Splits into a `Dataset` whose train and test parts follow `Splits.trainTest`.
    public func splitTrainTest(testFraction: Double, stratified: Bool = true, name: String = "split",
                               using random: inout LabRandom) -> Dataset {
        let split = Splits.trainTest(labels: labels, classCount: classCount, testFraction: testFraction,
                                     stratified: stratified, using: &random)
        return Dataset(name: name, train: subset(split.train), test: subset(split.test))
    }
}
