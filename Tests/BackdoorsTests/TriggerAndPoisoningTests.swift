import Backdoors
import Datasets
import LabRandom
import Tensors
import Testing

@Suite("Triggers and poisoning")
struct TriggerAndPoisoningTests {
    static func images(_ perClass: Int = 30, seed: UInt64 = 1) -> LabeledData {
        var random = LabRandom(seed: seed)
        return SyntheticDatasets.patternImages(samplesPerClass: perClass, classes: 10, side: 16, using: &random)
    }

    @Test("a patch changes only its square, and stamping twice equals stamping once")
    func patchLaws() throws {
        let data = Self.images(3)
        for pattern in PatchPattern.allCases {
            for position in [TriggerPosition.bottomRight, .topLeft, .bottomLeft, .topRight, .at(row: 5, column: 7)] {
                let trigger = Trigger.patch(pattern, size: 3, position: position, margin: 1, sampleShape: [1, 16, 16])
                try trigger.validate()
                let once = trigger.applied(to: data.features)
                let twice = trigger.applied(to: once)
                #expect(once == twice)
                let (r0, c0) = position.origin(size: 3, height: 16, width: 16, margin: 1)
                for i in 0..<data.count {
                    for r in 0..<16 {
                        for c in 0..<16 {
                            let k = i * 256 + r * 16 + c
                            let inside = r >= r0 && r < r0 + 3 && c >= c0 && c < c0 + 3
                            if inside {
                                let expected: Float = pattern == .solid || (r - r0 + c - c0) % 2 == 0 ? 1 : 0
                                #expect(once[k] == expected)
                            } else {
                                #expect(once[k] == data.features[k])
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("a blend is (1 − α)·x + α·key; α = 0 is the identity")
    func blendLaws() {
        let data = Self.images(2)
        var random = LabRandom(seed: 4)
        let trigger = Trigger.randomBlend(alpha: 0.25, sampleShape: [1, 16, 16], random: &random)
        guard case let .blend(key, _) = trigger.shape else { Issue.record("not a blend"); return }
        let stamped = trigger.applied(to: data.features)
        for i in 0..<stamped.count { #expect(abs(stamped[i] - (0.75 * data.features[i] + 0.25 * key[i % 256])) < 1e-6) }
        let none = Trigger(shape: .blend(key: key, alpha: 0), sampleShape: [1, 16, 16])
        #expect(none.applied(to: data.features) == data.features)
    }

    @Test("triggers that do not fit are errors, not crashes")
    func invalidTriggers() {
        #expect(throws: BackdoorError.self) { try Trigger.patch(.solid, size: 20, sampleShape: [1, 16, 16]).validate() }
        #expect(throws: BackdoorError.self) { try Trigger.patch(.solid, size: 3, position: .at(row: 14, column: 0), sampleShape: [1, 16, 16]).validate() }
        #expect(throws: BackdoorError.self) { try Trigger(shape: .blend(key: [0, 1], alpha: 0.2), sampleShape: [1, 16, 16]).validate() }
        #expect(throws: BackdoorError.self) { try Trigger.patch(.solid, size: 2, sampleShape: [256]).validate() }
    }

    @Test("all-to-one poisoning: the budget's count, source classes only, relabelled to the target, stamped")
    func allToOne() throws {
        let data = Self.images(40)
        let trigger = Trigger.patch(.checkerboard, size: 3, sampleShape: [1, 16, 16])
        for (budget, expected) in [(PoisonBudget.fractionOfTargetClass(0.1), Int((0.1 * 40 / 0.9).rounded())),
                                   (.fractionOfTrainingSet(0.1), 40), (.count(7), 7)] {
            let attack = BackdoorAttack(trigger: trigger, targeting: .allToOne(target: 2), budget: budget)
            var random = LabRandom(seed: 9)
            let set = try attack.poison(data.examples, classCount: data.classCount, random: &random)
            let rows = set.poisonedRows
            #expect(rows.count == expected)
            let stamped = trigger.applied(to: data.features)
            for i in 0..<data.count {
                if set.isPoisoned[i] {
                    #expect(set.originalLabels[i] != 2 && set.data.labels[i] == 2)
                    #expect(sample(set.data, i) == Array(stamped[i * 256 ..< (i + 1) * 256]))
                } else {
                    #expect(set.data.labels[i] == Int(data.labels[i]) && sample(set.data, i) == Array(data.sample(i)))
                }
            }
            let rates = set.detectionRates(flagged: Array(rows.prefix(rows.count / 2)) + [rows.count == data.count ? 0 : (0..<data.count).first { !set.isPoisoned[$0] }!])
            #expect(rates.truePositives == rows.count / 2 && rates.falsePositives == 1)
        }
    }

    @Test("all-to-all poisoning sends y to y + 1 mod K; target-class budgets need all-to-one")
    func allToAll() throws {
        let data = Self.images(20)
        let attack = BackdoorAttack(trigger: .patch(.solid, size: 2, sampleShape: [1, 16, 16]), targeting: .allToAll,
                                    budget: .fractionOfTrainingSet(0.2))
        var random = LabRandom(seed: 3)
        let set = try attack.poison(data.examples, classCount: 10, random: &random)
        #expect(set.poisonedRows.count == 40)
        for i in set.poisonedRows { #expect(set.data.labels[i] == (set.originalLabels[i] + 1) % 10) }
        let test = attack.triggeredTestSet(data.examples, classCount: 10)
        #expect(test.trueLabels.count == data.count)
        let bad = BackdoorAttack(trigger: attack.trigger, targeting: .allToAll, budget: .fractionOfTargetClass(0.1))
        #expect(throws: BackdoorError.self) { try bad.poisonCount(in: data.examples, classCount: 10) }
        let tooMany = BackdoorAttack(trigger: attack.trigger, targeting: .allToOne(target: 0), budget: .count(1000))
        #expect(throws: BackdoorError.self) { _ = try tooMany.poison(data.examples, classCount: 10, random: &random) }
    }

    @Test("poisoning is a function of the data and the random stream")
    func deterministic() throws {
        let data = Self.images(10)
        let attack = BackdoorAttack(trigger: .patch(.solid, size: 2, sampleShape: [1, 16, 16]), targeting: .allToOne(target: 1),
                                    budget: .count(12))
        var a = LabRandom(seed: 5), b = LabRandom(seed: 5), c = LabRandom(seed: 6)
        let examples = data.examples
        #expect(try attack.poison(examples, classCount: 10, random: &a) == attack.poison(examples, classCount: 10, random: &b))
        #expect(try attack.poison(examples, classCount: 10, random: &a).poisonedRows
                != attack.poison(examples, classCount: 10, random: &c).poisonedRows)
    }
}

/// The features of example `i`.
func sample(_ examples: LabeledExamples, _ i: Int) -> [Float] {
    let width = examples.sampleShape.reduce(1, *)
    return Array(examples.inputs.scalars[(i * width)..<((i + 1) * width)])
}
