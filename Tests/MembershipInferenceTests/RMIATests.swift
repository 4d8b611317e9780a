import Foundation
import Testing
import LabRandom
import MembershipInference
import AttackMetrics

@Suite("RMIA")
struct RMIATests {
    struct World {
        var target: [Double], reference: [Double], membership: [Bool]
        var zTarget: [Double], zReference: [Double], zMembership: [Bool]
        let n: Int, k: Int, z: Int

        init(n: Int, k: Int, z: Int, seed: UInt64) {
            self.n = n; self.k = k; self.z = z
            var r = LabRandom(seed: seed)
            func p() -> Double { 0.05 + 0.9 * r.nextDouble() }
            target = (0..<n).map { _ in p() }
            reference = (0..<(k * n)).map { _ in p() }
            // Random masks, but every example keeps at least one OUT model (model i mod k).
            membership = (0..<(k * n)).map { index in index / n != (index % n) % k && r.nextBernoulli(0.5) }
            zTarget = (0..<z).map { _ in p() }
            zReference = (0..<(k * z)).map { _ in p() }
            zMembership = (0..<(k * z)).map { index in index / z != (index % z) % k && r.nextBernoulli(0.5) }
        }

        func scores(_ options: RMIA.Options) throws -> [Double] {
            try RMIA.scores(target: SignalMatrix(signals: target),
                            reference: SignalMatrix(modelCount: k, exampleCount: n, values: reference),
                            membership: MembershipMatrix(modelCount: k, exampleCount: n, bits: membership),
                            populationTarget: SignalMatrix(signals: zTarget),
                            populationReference: SignalMatrix(modelCount: k, exampleCount: z, values: zReference),
                            populationMembership: MembershipMatrix(modelCount: k, exampleCount: z, bits: zMembership),
                            options: options)
        }

        /// The paper's definition, pair by pair.
        func bruteForce(_ options: RMIA.Options) -> [Double] {
            func marginal(_ values: [Double], _ bits: [Bool], _ count: Int, _ i: Int) -> Double {
                var total = 0.0, used = 0
                for m in 0..<k where options.mode == .online || !bits[m * count + i] { total += values[m * count + i]; used += 1 }
                let mean = total / Double(used)
                let a = options.offlineInterpolation
                return options.mode == .online ? mean : ((1 + a) * mean + (1 - a)) / 2
            }
            return (0..<n).map { i in
                let rx = target[i] / marginal(reference, membership, n, i)
                var count = 0
                for j in 0..<z where rx / (zTarget[j] / marginal(zReference, zMembership, z, j)) > options.gamma { count += 1 }
                return Double(count) / Double(z)
            }
        }
    }

    @Test("scores equal the pairwise definition, online and offline, for several γ and a",
          arguments: [RMIA.Options(mode: .online), RMIA.Options(mode: .online, gamma: 2),
                      RMIA.Options(mode: .offline, offlineInterpolation: 0.3),
                      RMIA.Options(mode: .offline, gamma: 0.5, offlineInterpolation: 1)])
    func matchesDefinition(options: RMIA.Options) throws {
        let world = World(n: 80, k: 6, z: 150, seed: 31)
        let scores = try world.scores(options)
        #expect(scores == world.bruteForce(options))
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test("the score grows with the target's confidence and ignores the population's order")
    func monotoneAndInvariant() throws {
        var world = World(n: 30, k: 4, z: 200, seed: 32)
        let base = try world.scores(RMIA.Options())
        world.target[0] = min(1, world.target[0] * 1.5)
        let raised = try world.scores(RMIA.Options())
        #expect(raised[0] >= base[0])
        var shuffled = world
        var r = LabRandom(seed: 33)
        let order = r.permutation(world.z)
        shuffled.zTarget = order.map { world.zTarget[$0] }
        shuffled.zReference = (0..<world.k).flatMap { m in order.map { world.zReference[m * world.z + $0] } }
        shuffled.zMembership = (0..<world.k).flatMap { m in order.map { world.zMembership[m * world.z + $0] } }
        #expect(try shuffled.scores(RMIA.Options()) == world.scores(RMIA.Options()))
    }

    @Test("RMIA separates members when IN models are more confident, and checks its parameters")
    func separates() throws {
        var r = LabRandom(seed: 34)
        let n = 200, k = 4, z = 300
        // Example difficulty d: OUT confidence d, IN confidence √d (higher).
        let difficulty = (0..<(n + z)).map { _ in 0.05 + 0.9 * r.nextDouble() }
        let isMember = (0..<n).map { $0 % 2 == 0 }
        func noisy(_ p: Double) -> Double { min(1, max(1e-4, p * (1 + 0.05 * r.nextNormal()))) }
        let target = (0..<n).map { noisy(isMember[$0] ? difficulty[$0].squareRoot() : difficulty[$0]) }
        let bits = (0..<(k * n)).map { ($0 / n + $0 % n) % 2 == 0 }   // each example IN for half the models
        let reference = (0..<(k * n)).map { noisy(bits[$0] ? difficulty[$0 % n].squareRoot() : difficulty[$0 % n]) }
        let zTarget = (0..<z).map { noisy(difficulty[n + $0]) }
        let zBits = (0..<(k * z)).map { ($0 / z + $0 % z) % 3 == 0 }
        let zReference = (0..<(k * z)).map { noisy(zBits[$0] ? difficulty[n + $0 % z].squareRoot() : difficulty[n + $0 % z]) }
        let scores = try RMIA.scores(
            target: SignalMatrix(signals: target), reference: SignalMatrix(modelCount: k, exampleCount: n, values: reference),
            membership: MembershipMatrix(modelCount: k, exampleCount: n, bits: bits),
            populationTarget: SignalMatrix(signals: zTarget),
            populationReference: SignalMatrix(modelCount: k, exampleCount: z, values: zReference),
            populationMembership: MembershipMatrix(modelCount: k, exampleCount: z, bits: zBits))
        #expect(try ROCCurve(scores: scores, isMember: isMember).auc > 0.8)
        #expect(throws: MembershipInferenceError.self) {
            try RMIA.scores(target: SignalMatrix(signals: target), reference: SignalMatrix(modelCount: k, exampleCount: n, values: reference),
                            membership: MembershipMatrix(modelCount: k, exampleCount: n, bits: bits),
                            populationTarget: SignalMatrix(signals: zTarget),
                            populationReference: SignalMatrix(modelCount: k, exampleCount: z, values: zReference),
                            populationMembership: MembershipMatrix(modelCount: k, exampleCount: z, bits: zBits),
                            options: RMIA.Options(offlineInterpolation: 1.5))
        }
    }
}
