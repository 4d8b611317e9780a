import Federated
import LabRandom
import PrivacyAccounting
import Testing

@Suite("Aggregation strategies")
struct StrategyTests {
    func results(_ updates: [[Float]], counts: [Int]? = nil) -> [ClientResult] {
        updates.enumerated().map { ClientResult(client: $0.offset, exampleCount: counts?[$0.offset] ?? 1, update: $0.element) }
    }

    @Test("FedAvg is the example-weighted mean of the updates added to the global model")
    func fedAvgWeightedMean() throws {
        var s = FedAvg()
        let global: [Float] = [1, -1, 0]
        let next = try s.aggregate(round: 0, global: global, results: results([[1, 2, 3], [3, 0, -3]], counts: [1, 3]), failures: [])
        let expected: [Float] = [3.5, -0.5, -1.5]
        #expect(next == expected)
        var uniform = FedAvg(uniformWeights: true)
        let u = try uniform.aggregate(round: 0, global: global, results: results([[1, 2, 3], [3, 0, -3]], counts: [1, 3]), failures: [])
        #expect(u == [3, 0, 0])
    }

    @Test("every strategy refuses a round with no results")
    func noResults() throws {
        var a = FedAvg()
        #expect(throws: FederatedError.noResults(round: 4)) { try a.aggregate(round: 4, global: [0], results: [], failures: [ClientFailure(client: 1, reason: .droppedOut)]) }
        var m = CoordinateMedian()
        #expect(throws: FederatedError.noResults(round: 4)) { try m.aggregate(round: 4, global: [0], results: [], failures: []) }
    }

    @Test("FedProx aggregates like FedAvg and sets the clients' proximal μ")
    func fedProx() throws {
        var p = FedProx(proximalMu: 0.3)
        var a = FedAvg()
        let r = results([[1, 2], [5, -2]], counts: [2, 1])
        #expect(try p.aggregate(round: 0, global: [0, 0], results: r, failures: []) == a.aggregate(round: 0, global: [0, 0], results: r, failures: []))
        #expect(p.configureTraining(LocalTraining(), round: 3).proximalMu == 0.3)
    }

    @Test("FedAdam follows Reddi et al.'s moment updates without bias correction")
    func fedAdam() throws {
        var s = FedAdam(serverLearningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3)
        let g1 = try s.aggregate(round: 0, global: [0], results: results([[2]]), failures: [])
        let m1 = 0.1 * 2.0, v1 = 0.01 * 4.0
        #expect(abs(Double(g1[0]) - 0.1 * m1 / (v1.squareRoot() + 1e-3)) < 1e-6)
        let g2 = try s.aggregate(round: 1, global: g1, results: results([[-1]]), failures: [])
        let m2 = 0.9 * m1 + 0.1 * -1, v2 = 0.99 * v1 + 0.01 * 1
        #expect(abs(Double(g2[0]) - (Double(g1[0]) + 0.1 * m2 / (v2.squareRoot() + 1e-3))) < 1e-6)
    }

    @Test("median and trimmed mean ignore a far outlier per coordinate")
    func medianAndTrimmedMean() throws {
        let updates: [[Float]] = [[1, 10], [2, 20], [3, 30], [1000, -1000], [4, 40]]
        var median = CoordinateMedian()
        #expect(try median.aggregate(round: 0, global: [0, 0], results: results(updates), failures: []) == [3, 20])
        var trimmed = try TrimmedMean(beta: 0.2)
        #expect(try trimmed.aggregate(round: 0, global: [0, 0], results: results(updates), failures: []) == [3, 20])
        var even = CoordinateMedian()
        #expect(try even.aggregate(round: 0, global: [1], results: results([[1], [2], [4], [8]]), failures: []) == [4])
        #expect(throws: FederatedError.self) { try TrimmedMean(beta: 0.5) }
    }

    @Test("Krum picks an update from the honest cluster; Multi-Krum averages the m best")
    func krum() throws {
        var r = LabRandom(seed: 1)
        var updates: [[Float]] = (0..<7).map { _ in (0..<5).map { _ in 1 + 0.01 * Float(r.nextNormal()) } }
        updates.append([Float](repeating: -50, count: 5))
        updates.append([Float](repeating: 80, count: 5))
        var krum = try Krum(byzantine: 2)
        let next = try krum.aggregate(round: 0, global: [Float](repeating: 0, count: 5), results: results(updates), failures: [])
        #expect(next.allSatisfy { abs($0 - 1) < 0.1 })
        #expect(krum.lastSelection.count == 1 && krum.lastSelection[0] < 7)
        var multi = try Krum(byzantine: 2, selected: 5)
        let averaged = try multi.aggregate(round: 0, global: [Float](repeating: 0, count: 5), results: results(updates), failures: [])
        #expect(averaged.allSatisfy { abs($0 - 1) < 0.1 })
        #expect(multi.lastSelection.allSatisfy { $0 < 7 } && multi.lastSelection.count == 5)
    }

    @Test("Bulyan resists f Byzantine updates among 4f + 3 and equals the mean when f = 0")
    func bulyan() throws {
        var r = LabRandom(seed: 2)
        var updates: [[Float]] = (0..<9).map { _ in (0..<4).map { _ in 2 + 0.01 * Float(r.nextNormal()) } }
        updates.append([100, 100, 100, 100])
        updates.append([-100, 3, -100, 3])
        var b = try Bulyan(byzantine: 2)
        let next = try b.aggregate(round: 0, global: [0, 0, 0, 0], results: results(updates), failures: [])
        #expect(next.allSatisfy { abs($0 - 2) < 0.05 })
        var zero = try Bulyan(byzantine: 0)
        var avg = FedAvg(uniformWeights: true)
        let few = results([[1, 4], [3, 8], [5, 0]])
        let a = try zero.aggregate(round: 0, global: [0, 0], results: few, failures: [])
        let m = try avg.aggregate(round: 0, global: [0, 0], results: few, failures: [])
        #expect(zip(a, m).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("DP-FedAvg clips each update to C and, without noise, divides the sum by qN")
    func dpFedAvgClipping() throws {
        var s = try DPFedAvg(clipNorm: 1, noiseMultiplier: 0, samplingProbability: 0.5, clientCount: 4)
        let c = s.contribution(of: ClientResult(client: 0, exampleCount: 9, update: [3, 4]))
        #expect(c.weight == 1)
        #expect(abs(c.vector[0] - 0.6) < 1e-6 && abs(c.vector[1] - 0.8) < 1e-6)
        let next = try s.aggregate(round: 0, global: [0, 0], results: results([[3, 4], [0.1, 0.2]]), failures: [])
        #expect(abs(next[0] - (0.6 + 0.1) / 2) < 1e-6 && abs(next[1] - (0.8 + 0.2) / 2) < 1e-6)
        #expect(s.lastClippedFraction == 0.5)
    }

    @Test("DP-FedAvg's ε is the accountant's for R rounds at rate q and grows with R")
    func dpFedAvgAccounting() throws {
        var s = try DPFedAvg(clipNorm: 1, noiseMultiplier: 1.1, samplingProbability: 0.1, clientCount: 100,
                             delta: 1e-5, noise: .insecureSeeded(LabRandom(seed: 1)))
        var epsilons: [Double] = []
        for round in 0..<5 {
            _ = try s.aggregate(round: round, global: [0, 0, 0], results: results([[1, 0, 0]]), failures: [])
            epsilons.append(try s.epsilon())
        }
        #expect(zip(epsilons, epsilons.dropFirst()).allSatisfy { $0 < $1 })
        let expected = try AccountingMethod.rdp().epsilon(for: [PoissonGaussianSteps(samplingProbability: 0.1, noiseMultiplier: 1.1, steps: 5)], delta: 1e-5)
        #expect(abs(epsilons.last! - expected) < 1e-9)
    }

    @Test("DP-FedAvg's seeded noise has standard deviation σC/(qN)")
    func dpFedAvgNoiseScale() throws {
        var s = try DPFedAvg(clipNorm: 2, noiseMultiplier: 1.5, samplingProbability: 0.25, clientCount: 8, noise: .insecureSeeded(LabRandom(seed: 3)))
        let d = 20_000
        let next = try s.aggregate(round: 0, global: [Float](repeating: 0, count: d), results: [], failures: [])
        let variance = next.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(d)
        let expected = 1.5 * 2 / (0.25 * 8)
        #expect(abs(variance.squareRoot() - expected) / expected < 0.03)
    }
}
