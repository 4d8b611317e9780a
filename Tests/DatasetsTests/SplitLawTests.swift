import AttackMetrics
import Datasets
import Foundation
import LabRandom
import Testing

/// Random label vectors with uneven class sizes.
private func randomLabels(count: Int, classes: Int, using random: inout LabRandom) -> [Int32] {
    // Skewed class weights so that strata differ in size.
    (0..<count).map { _ in
        let u = random.nextDouble()
        return Int32(min(classes - 1, Int(u * u * Double(classes))))
    }
}

private func isPartition(_ parts: [[Int]], of count: Int) -> Bool {
    var seen = [Int](repeating: 0, count: count)
    for part in parts { for i in part { guard i >= 0 && i < count else { return false }; seen[i] += 1 } }
    return seen.allSatisfy { $0 == 1 }
}

@Suite("Splits")
struct SplitLawTests {
    @Test("train/validation/test parts are disjoint, sorted, cover everything, and have the stated sizes")
    func plainSplits() {
        var random = LabRandom(seed: 1).stream("tests/splits")
        for count in [0, 1, 2, 7, 100, 1001] {
            for (v, t) in [(0.0, 0.2), (0.1, 0.25), (0.0, 0.0), (0.5, 0.5)] {
                let s = Splits.trainValidationTest(count: count, validationFraction: v, testFraction: t, using: &random)
                #expect(isPartition([s.train, s.validation, s.test], of: count))
                #expect(s.test.count == Int((Double(count) * t + 0.5).rounded(.down)))
                #expect(s.train == s.train.sorted() && s.test == s.test.sorted())
            }
        }
    }

    @Test("stratified: each class's share of every part is within ±1 of its exact share")
    func stratification() {
        var random = LabRandom(seed: 2).stream("tests/stratified")
        for trial in 0..<40 {
            let classes = 2 + trial % 9
            let labels = randomLabels(count: 50 + trial * 37, classes: classes, using: &random)
            let (v, t) = (trial % 3 == 0 ? 0.15 : 0.0, 0.1 + 0.02 * Double(trial % 10))
            let s = Splits.trainValidationTest(labels: labels, classCount: classes, validationFraction: v,
                                               testFraction: t, stratified: true, using: &random)
            #expect(isPartition([s.train, s.validation, s.test], of: labels.count))
            #expect(s.test.count == Int((Double(labels.count) * t + 0.5).rounded(.down)))
            for c in 0..<classes {
                let n = Double(labels.filter { $0 == Int32(c) }.count)
                let inTest = Double(s.test.filter { labels[$0] == Int32(c) }.count)
                let inValidation = Double(s.validation.filter { labels[$0] == Int32(c) }.count)
                #expect(abs(inTest - n * t) < 1, "trial \(trial) class \(c): \(inTest) of \(n) at \(t)")
                #expect(abs(inValidation - n * v) < 1 + 1e-9, "trial \(trial) class \(c): \(inValidation) of \(n) at \(v)")
            }
        }
    }

    @Test("the same stream gives the same split; another stream a different one")
    func determinism() {
        var labels = LabRandom(seed: 3)
        let y = randomLabels(count: 500, classes: 5, using: &labels)
        var a = LabRandom(seed: 9).stream("data/split"), b = LabRandom(seed: 9).stream("data/split")
        var c = LabRandom(seed: 9).stream("data/other")
        let sa = Splits.trainTest(labels: y, classCount: 5, testFraction: 0.3, stratified: true, using: &a)
        let sb = Splits.trainTest(labels: y, classCount: 5, testFraction: 0.3, stratified: true, using: &b)
        let sc = Splits.trainTest(labels: y, classCount: 5, testFraction: 0.3, stratified: true, using: &c)
        #expect(sa == sb)
        #expect(sa != sc)
    }

    @Test("LabeledData.splitTrainTest keeps rows with their labels")
    func splitData() {
        var random = LabRandom(seed: 4)
        let data = SyntheticDatasets.gaussianMixture(samples: 300, features: 3, classes: 3, separation: 4, using: &random)
        let d = data.splitTrainTest(testFraction: 0.2, using: &random)
        #expect(d.train.count == 240 && d.test?.count == 60)
        #expect(d.test?.classCounts() == [20, 20, 20])
        // Every test row exists in the original data with the same label.
        let test = d.test!
        for i in 0..<test.count {
            let row = Array(test.sample(i))
            let match = (0..<data.count).first { Array(data.sample($0)) == row }
            #expect(match.map { data.labels[$0] } == test.labels[i])
        }
    }
}

@Suite("Membership designs")
struct MembershipDesignTests {
    @Test("members, non-members and pool are disjoint and cover the population; online masks are balanced")
    func onlineLaws() {
        var random = LabRandom(seed: 5).stream("membership")
        for models in [1, 2, 7, 16] {
            let d = MembershipDesign.make(populationSize: 1000, targetMemberCount: 250, targetNonMemberCount: 250,
                                          referenceModels: models, online: true, using: &random)
            #expect(isPartition([d.targetMembers, d.targetNonMembers, d.referencePool], of: 1000))
            #expect(d.targetMembers.count == 250 && d.targetNonMembers.count == 250 && d.referencePool.count == 500)
            #expect(d.referenceMasks.examples == Array(0..<1000))
            for column in 0..<1000 {
                let k = d.referenceMasks.inCount(column: column)
                #expect(k == models / 2 || k == (models + 1) / 2)
            }
            // Each model sees about half the population.
            for m in 0..<models {
                let size = d.referenceMasks.members(ofModel: m).count
                #expect(models == 1 || abs(size - 500) < 100, "model \(m): \(size)")
            }
            let (candidates, isMember) = d.candidates
            #expect(candidates.count == 500 && isMember.filter { $0 }.count == 250)
        }
    }

    @Test("offline masks range over the pool only: no reference model trains on a candidate")
    func offline() {
        var random = LabRandom(seed: 6)
        let d = MembershipDesign.make(populationSize: 300, targetMemberCount: 100, targetNonMemberCount: 100,
                                      referenceModels: 8, online: false, using: &random)
        #expect(d.referenceMasks.examples == d.referencePool)
        let candidates = Set(d.targetMembers + d.targetNonMembers)
        for m in 0..<8 { #expect(candidates.isDisjoint(with: d.referenceMasks.members(ofModel: m))) }
    }

    @Test("save then load gives the same design; the same stream gives the same design")
    func roundTrip() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var a = LabRandom(seed: 7).stream("mia"), b = LabRandom(seed: 7).stream("mia")
        let d = MembershipDesign.make(populationSize: 517, targetMemberCount: 130, targetNonMemberCount: 120,
                                      referenceModels: 5, online: true, using: &a)
        let e = MembershipDesign.make(populationSize: 517, targetMemberCount: 130, targetNonMemberCount: 120,
                                      referenceModels: 5, online: true, using: &b)
        #expect(d == e)
        let url = dir.appendingPathComponent("design.json")
        try d.save(to: url)
        #expect(try MembershipDesign.load(from: url) == d)
    }

    @Test("a tampered design file is refused, naming the field")
    func tampered() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var random = LabRandom(seed: 8)
        let d = MembershipDesign.make(populationSize: 20, targetMemberCount: 5, targetNonMemberCount: 5,
                                      referenceModels: 2, online: false, using: &random)
        let url = dir.appendingPathComponent("design.json")
        try d.save(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        write(text.replacingOccurrences(of: "\"version\":1", with: "\"version\":2"), to: url)
        #expect(datasetError { _ = try MembershipDesign.load(from: url) }?.description
                == "\(url.path): field version: expected 1, found 2")
        let firstMember = d.targetMembers[0], firstNonMember = d.targetNonMembers[0]
        write(text.replacingOccurrences(of: "\"targetNonMembers\":[\(firstNonMember)", with: "\"targetNonMembers\":[\(firstMember)"), to: url)
        let overlap = datasetError { _ = try MembershipDesign.load(from: url) }
        #expect(overlap?.location == "field targetNonMembers" || overlap?.location == "field targetMembers")
        write("{\"format\": 3}", to: url)
        #expect(datasetError { _ = try MembershipDesign.load(from: url) }?.kind == .malformed)
    }
}

@Suite("Federated partitions")
struct FederatedPartitionTests {
    @Test("IID: a partition with sizes differing by at most one")
    func iid() {
        var random = LabRandom(seed: 10)
        for (n, k) in [(100, 7), (5, 10), (60000, 100)] {
            let p = FederatedPartitioner.iid(count: n, clients: k, using: &random)
            #expect(isPartition(p.clients, of: n) && p.clientCount == k)
            let sizes = p.clients.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
        }
    }

    @Test("Dirichlet: a partition; deterministic per stream; small α skews labels, large α does not")
    func dirichlet() throws {
        var labelRandom = LabRandom(seed: 11)
        let labels = (0..<5000).map { _ in Int32(labelRandom.nextInt(below: 10)) }
        func draw(_ alpha: Double, _ name: String) throws -> FederatedPartition {
            var r = LabRandom(seed: 12).stream(name)
            return try FederatedPartitioner.dirichletLabelSkew(labels: labels, classCount: 10, clients: 20, alpha: alpha, using: &r)
        }
        let skewed = try draw(0.1, "fl/partition")
        #expect(isPartition(skewed.clients, of: labels.count))
        #expect(try draw(0.1, "fl/partition") == skewed)
        #expect(try draw(0.1, "fl/other") != skewed)
        // Mean over clients of the largest class share: near 1/10 when IID, far above for α = 0.1.
        func dominance(_ p: FederatedPartition) -> Double {
            let counts = p.classCounts(labels: labels, classCount: 10)
            let shares = counts.filter { $0.reduce(0, +) > 0 }.map { Double($0.max()!) / Double($0.reduce(0, +)) }
            return shares.reduce(0, +) / Double(shares.count)
        }
        #expect(dominance(skewed) > 0.5)
        #expect(dominance(try draw(1000, "fl/partition")) < 0.2)
        let minimum = try draw(0.5, "fl/min")
        #expect(isPartition(minimum.clients, of: labels.count))
        var r = LabRandom(seed: 13)
        let enforced = try FederatedPartitioner.dirichletLabelSkew(labels: labels, classCount: 10, clients: 20, alpha: 0.3,
                                                                   minimumPerClient: 50, using: &r)
        #expect(enforced.clients.allSatisfy { $0.count >= 50 })
        #expect(throws: PartitionError.self) {
            var r2 = LabRandom(seed: 14)
            _ = try FederatedPartitioner.dirichletLabelSkew(labels: labels, classCount: 10, clients: 20, alpha: 0.1,
                                                            minimumPerClient: 300, maxAttempts: 5, using: &r2)
        }
        #expect(skewed.summary(labels: labels, classCount: 10).split(separator: "\n").count == 21)
    }

    @Test("shards: each client gets shardsPerClient shards of equal size and few labels")
    func shards() {
        var random = LabRandom(seed: 15)
        let labels = (0..<6000).map { Int32($0 % 10) }
        let p = FederatedPartitioner.shards(labels: labels, clients: 100, shardsPerClient: 2, using: &random)
        #expect(isPartition(p.clients, of: 6000))
        #expect(p.clients.allSatisfy { $0.count == 60 })
        let distinct = p.classCounts(labels: labels, classCount: 10).map { $0.filter { $0 > 0 }.count }
        #expect(distinct.allSatisfy { $0 <= 2 })  // 600 per label, shards of 30: one label per shard
        var again = LabRandom(seed: 15)
        #expect(FederatedPartitioner.shards(labels: labels, clients: 100, shardsPerClient: 2, using: &again) == p)
    }

    @Test("quantity skew: a partition with the minimum size and uneven sizes")
    func quantity() {
        var random = LabRandom(seed: 16)
        let p = FederatedPartitioner.quantitySkew(count: 10000, clients: 10, alpha: 0.5, minimumPerClient: 20, using: &random)
        #expect(isPartition(p.clients, of: 10000))
        let sizes = p.clients.map(\.count)
        #expect(sizes.min()! >= 20 && sizes.max()! > 2 * sizes.min()!)
    }
}
