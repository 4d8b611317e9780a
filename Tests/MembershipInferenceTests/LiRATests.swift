import Foundation
import Testing
import LabRandom
import MembershipInference
import AttackMetrics

/// Synthetic LiRA signals with known per-example Gaussians.
struct GaussianWorld {
    let n: Int, k: Int
    var meanIn: [Double] = [], meanOut: [Double] = []
    let sdIn: Double, sdOut: Double
    var isMember: [Bool] = []
    var target: [Double] = []
    var reference: [Double] = []
    var membership: [Bool] = []

    init(n: Int, k: Int, sdIn: Double = 0.6, sdOut: Double = 0.9, seed: UInt64) {
        self.n = n; self.k = k; self.sdIn = sdIn; self.sdOut = sdOut
        var r = LabRandom(seed: seed)
        for i in 0..<n {
            // Heterogeneous difficulty: each example's OUT mean differs a lot, the IN shift is modest.
            let out = 4 * r.nextNormal()
            meanOut.append(out)
            meanIn.append(out + 0.8 + 0.4 * r.nextDouble())
            isMember.append(i % 2 == 0)
        }
        membership = [Bool](repeating: false, count: k * n)
        reference = [Double](repeating: 0, count: k * n)
        for i in 0..<n {
            let ins = Set(r.sampleWithoutReplacement(k / 2, from: k))
            for m in 0..<k {
                let member = ins.contains(m)
                membership[m * n + i] = member
                reference[m * n + i] = member ? meanIn[i] + sdIn * r.nextNormal() : meanOut[i] + sdOut * r.nextNormal()
            }
        }
        target = (0..<n).map { isMember[$0] ? meanIn[$0] + sdIn * r.nextNormal() : meanOut[$0] + sdOut * r.nextNormal() }
    }

    var targetMatrix: SignalMatrix { SignalMatrix(signals: target) }
    var referenceMatrix: SignalMatrix { SignalMatrix(modelCount: k, exampleCount: n, values: reference) }
    var membershipMatrix: MembershipMatrix { MembershipMatrix(modelCount: k, exampleCount: n, bits: membership) }

    /// The true log-likelihood ratio of each target signal.
    var oracle: [Double] {
        (0..<n).map { i in
            let x = target[i]
            func logN(_ m: Double, _ s: Double) -> Double { -0.5 * (x - m) * (x - m) / (s * s) - log(s) }
            return logN(meanIn[i], sdIn) - logN(meanOut[i], sdOut)
        }
    }
}

@Suite("LiRA")
struct LiRATests {
    @Test("online LiRA with many reference models recovers the analytic likelihood-ratio ordering")
    func recoversOracle() throws {
        let world = GaussianWorld(n: 400, k: 256, seed: 3)
        let scores = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                     membership: world.membershipMatrix)
        #expect(spearman(scores, world.oracle) > 0.98)
        let lira = try ROCCurve(scores: scores, isMember: world.isMember).auc
        let oracle = try ROCCurve(scores: world.oracle, isMember: world.isMember).auc
        #expect(abs(lira - oracle) < 0.02)
        // Per-example calibration beats one global threshold on the raw signal.
        let raw = try ROCCurve(scores: world.target, isMember: world.isMember).auc
        #expect(lira > raw + 0.1)
    }

    @Test("offline LiRA is the one-sided test against the OUT Gaussian and ignores IN models")
    func offline() throws {
        var world = GaussianWorld(n: 200, k: 64, seed: 4)
        let options = LiRA.Options(mode: .offline)
        let scores = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                     membership: world.membershipMatrix, options: options)
        for i in 0..<world.n {
            let outs = (0..<world.k).filter { !world.membership[$0 * world.n + i] }.map { world.reference[$0 * world.n + i] }
            let mean = outs.reduce(0, +) / Double(outs.count)
            let sd = (outs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(outs.count)).squareRoot()
            let expected = log(0.5 * erfc(-(world.target[i] - mean) / sd / 2.0.squareRoot()))
            #expect(abs(scores[i] - expected) < 1e-9)
        }
        for m in 0..<world.k { for i in 0..<world.n where world.membership[m * world.n + i] { world.reference[m * world.n + i] += 100 } }
        let changed = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                      membership: world.membershipMatrix, options: options)
        #expect(changed == scores)
        #expect(try ROCCurve(scores: scores, isMember: world.isMember).auc > 0.6)
    }

    @Test("swapping IN and OUT masks negates the online score (masks are respected)")
    func masksRespected() throws {
        let world = GaussianWorld(n: 100, k: 16, seed: 5)
        let swapped = MembershipMatrix(modelCount: world.k, exampleCount: world.n, bits: world.membership.map { !$0 })
        for global in [false, true] {
            let options = LiRA.Options(mode: .online, globalVariance: global)
            let a = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                    membership: world.membershipMatrix, options: options)
            let b = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix, membership: swapped, options: options)
            for (x, y) in zip(a, b) { #expect(abs(x + y) < 1e-9 * max(1, abs(x))) }
        }
    }

    @Test("scores follow a permutation of examples and ignore the order of reference models")
    func permutationInvariance() throws {
        let world = GaussianWorld(n: 60, k: 12, seed: 6)
        let base = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix, membership: world.membershipMatrix)
        var r = LabRandom(seed: 7)
        let examples = r.permutation(world.n), models = r.permutation(world.k)
        let permuted = try LiRA.scores(
            target: world.targetMatrix.selecting(examples: examples),
            reference: world.referenceMatrix.selecting(examples: examples).selecting(models: models),
            membership: MembershipMatrix(modelCount: world.k, exampleCount: world.n,
                                         bits: models.flatMap { m in examples.map { world.membership[m * world.n + $0] } }))
        for (j, i) in examples.enumerated() { #expect(abs(permuted[j] - base[i]) < 1e-9 * max(1, abs(base[i]))) }
    }

    @Test("global variance helps with few reference models; queries are averaged")
    func globalVarianceAndQueries() throws {
        let world = GaussianWorld(n: 600, k: 4, seed: 8)
        let perExample = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                         membership: world.membershipMatrix, options: .init(globalVariance: false))
        let global = try LiRA.scores(target: world.targetMatrix, reference: world.referenceMatrix,
                                     membership: world.membershipMatrix, options: .init(globalVariance: true))
        let aucPer = try ROCCurve(scores: perExample, isMember: world.isMember).auc
        let aucGlobal = try ROCCurve(scores: global, isMember: world.isMember).auc
        #expect(aucGlobal > aucPer)
        // Two identical queries give the one-query score.
        let doubled = try LiRA.scores(
            target: SignalMatrix(signals: world.target.flatMap { [$0, $0] }, queryCount: 2),
            reference: SignalMatrix(modelCount: world.k, exampleCount: world.n, queryCount: 2, values: world.reference.flatMap { [$0, $0] }),
            membership: world.membershipMatrix)
        for (a, b) in zip(doubled, perExample) { #expect(abs(a - b) < 1e-9 * max(1, abs(b))) }
    }

    @Test("online LiRA refuses examples without IN models; shapes are checked")
    func errors() {
        let target = SignalMatrix(signals: [0.1, 0.2])
        let reference = SignalMatrix(modelCount: 2, exampleCount: 2, values: [0, 1, 2, 3])
        let allOut = MembershipMatrix(modelCount: 2, exampleCount: 2, bits: [false, false, false, false])
        #expect(throws: MembershipInferenceError.self) {
            try LiRA.scores(target: target, reference: reference, membership: allOut)
        }
        #expect(throws: Never.self) {
            try LiRA.scores(target: target, reference: reference, membership: allOut, options: .init(mode: .offline))
        }
        #expect(throws: MembershipInferenceError.self) {
            try LiRA.scores(target: SignalMatrix(signals: [0.1]), reference: reference, membership: allOut)
        }
    }
}
