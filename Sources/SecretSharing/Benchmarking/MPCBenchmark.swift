import Foundation
import LabRandom

/// One measured operation of `MPCBenchmark`.
public struct MPCBenchmarkResult: Sendable, Equatable {
    /// The workload's name, e.g. `matmul100`.
    public var name: String
    /// Median wall-clock seconds over the repetitions (the slowest party's time per run),
    /// the dealer's work included.
    public var seconds: Double
    /// Median seconds of the online phase alone: the same run with every correlation
    /// generated beforehand (`TrustedDealer.preprocess`).
    public var onlineSeconds: Double
    /// Communication rounds of one run.
    public var rounds: Int
    /// Online bytes sent by all parties together in one run.
    public var bytes: Int
    /// Bytes of correlated randomness the dealer sent to all parties in one run.
    public var offlineBytes: Int
    /// The largest absolute difference from the plaintext result.
    public var maxError: Double
    /// For training: the plaintext (Double, same algorithm, same data) time in seconds.
    public var plaintextSeconds: Double?
    /// Repetitions whose revealed result exceeded its public bound — a wrapped result, detected
    /// (with `.localTwoParty` truncation this happens with probability about `2^(ℓ+1-64)` per
    /// element for values below `2^ℓ`; never with dealer truncation). Timed like the others,
    /// left out of `maxError`.
    public var detectedFailures: Int = 0
}

/// The workloads behind `privacy-lab mpc bench`: the operations of issue #5's comparison with
/// CrypTen, run on an in-memory network with a trusted dealer and OS randomness.
///
/// Inputs are generated from a fixed seed (they are not secrets); masks and shares come from the
/// OS CSPRNG. Each workload is run `repetitions` times and the median time is reported; rounds
/// and bytes are identical across runs.
public enum MPCBenchmark {
    /// The workloads, by name.
    public static let workloads = [
        "multiply10k", "matmul100", "relu10k", "sigmoid10k", "exp10k", "reciprocal10k",
        "argmax1000x10", "logreg-train", "logreg-infer",
    ]

    /// The most parties a benchmark runs: each party is a thread and every ordered pair of
    /// parties has a channel (with sockets, a descriptor), so n parties cost n threads and
    /// n(n − 1) channels; 64 parties are 4032 channels.
    public static let maximumParties = 64

    /// Runs the named workloads (all when `names` is empty).
    /// - Throws: `SecretSharingError.invalidArgument` for a party count outside
    ///   2…`maximumParties`, an unknown workload, or local truncation with more than 2 parties.
    public static func run(
        parties: Int, repetitions: Int = 5, truncation: TruncationMethod = .dealerAssisted,
        transport: Transport = .inMemory, names: [String] = []
    ) throws -> [MPCBenchmarkResult] {
        guard (2...maximumParties).contains(parties) else {
            throw SecretSharingError.invalidArgument("--parties must lie in 2…\(maximumParties), got \(parties)")
        }
        guard truncation == .dealerAssisted || parties == 2 else {
            throw SecretSharingError.invalidArgument("local truncation needs exactly 2 parties")
        }
        let selected = names.isEmpty ? workloads : names
        var results: [MPCBenchmarkResult] = []
        for name in selected {
            guard workloads.contains(name) else {
                throw SecretSharingError.invalidArgument("unknown workload \(name); known: \(workloads.joined(separator: ", "))")
            }
            results.append(try measure(name, parties: parties, repetitions: repetitions,
                                       truncation: truncation, transport: transport))
        }
        return results
    }

    /// Fixed pseudo-random inputs (not secret).
    static func inputs(_ count: Int, _ low: Double, _ high: Double, seed: UInt64) -> [Double] {
        var g = InsecureSplitMix64(seed: seed)
        return (0..<count).map { _ in low + (high - low) * Double(g.next() >> 11) / 9_007_199_254_740_992 }
    }

    struct Run: Sendable {
        var seconds: Double
        var online: Double
        var rounds: Int
        var bytes: Int
        var offline: Int
        var output: [Double]?
    }

    /// All repetitions of one workload in one session: the parties (threads and channels) are
    /// set up once and run the operation `repetitions` times, as a deployed party — or CrypTen's
    /// benchmark, whose repetitions run in the same processes — would. Each repetition: party 0
    /// shares `a` (and party 1 `b`), the parties pass a barrier (one word each way, as CrypTen's
    /// benchmark does), then `op` is timed, dealer work included, then the result is revealed
    /// (untimed). A second session with every correlation generated beforehand
    /// (`TrustedDealer.preprocess`) gives the online times.
    static func session(
        parties: Int, repetitions: Int, truncation: TruncationMethod, transport: Transport,
        a: [Double], aShape: [Int], aBound: Double?, b: [Double]?, bShape: [Int],
        _ op: @escaping @Sendable (Party, SecretTensor, SecretTensor?) throws -> SecretTensor
    ) throws -> [Run] {
        @Sendable func body(_ p: Party) throws -> [(OperationCost, [Double]?)] {
            var results: [(OperationCost, [Double]?)] = []
            for _ in 0..<repetitions {
                let sa = try p.share(p.index == 0 ? a : nil, shape: aShape, owner: 0, bound: aBound)
                let sb = try b.map { v throws in try p.share(p.index == 1 ? v : nil, shape: bShape, owner: 1) }
                // A barrier before the clock starts, as in CrypTen's benchmark.
                _ = try p.channel.broadcastExchange([0])
                let (out, cost) = try p.measure { try op(p, sa, sb) }
                // A wrapped result is detected at the reveal (its bound is violated): recorded as
                // a failed repetition rather than ending the benchmark.
                do {
                    results.append((cost, try p.reveal(out)))
                } catch SecretSharingError.boundViolated {
                    results.append((cost, nil))
                }
            }
            return results
        }
        let dealer = TrustedDealer(partyCount: parties)
        let per = try Party.run(partyCount: parties, transport: transport, truncation: truncation,
                                dealer: dealer, body)
        // The same computation again, its correlations generated beforehand (untimed).
        let prepared = TrustedDealer(partyCount: parties)
        prepared.preprocess(dealer.servedPlan)
        let online = try Party.run(partyCount: parties, transport: transport, truncation: truncation,
                                   dealer: prepared, body)
        return (0..<repetitions).map { r in
            Run(seconds: per.map { $0[r].0.seconds }.max()!, online: online.map { $0[r].0.seconds }.max()!,
                rounds: per[0][r].0.rounds,
                bytes: per.reduce(0) { $0 + $1[r].0.bytesSent },
                offline: per.reduce(0) { $0 + $1[r].0.offlineBytes },
                output: per[0][r].1)
        }
    }

    static func measure(
        _ name: String, parties: Int, repetitions: Int, truncation: TruncationMethod,
        transport: Transport
    ) throws -> MPCBenchmarkResult {
        let reps = Swift.max(1, repetitions)
        let runs: [Run]
        var expected: [Double] = []
        var plaintextTimes: [Double] = []
        do {
            switch name {
            case "multiply10k":
                let a = inputs(10_000, -10, 10, seed: 1), b = inputs(10_000, -10, 10, seed: 2)
                expected = zip(a, b).map { $0 * $1 }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [10_000], aBound: nil,
                               b: b, bShape: [10_000]) { p, x, y in try p.multiply(x, y!) }
            case "matmul100":
                let a = inputs(10_000, -1, 1, seed: 3), b = inputs(10_000, -1, 1, seed: 4)
                expected = plainMatmul(a, b, 100, 100, 100)
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [100, 100], aBound: nil,
                               b: b, bShape: [100, 100]) { p, x, y in try p.matmul(x, y!) }
            case "relu10k":
                let a = inputs(10_000, -100, 100, seed: 5)
                expected = a.map { Swift.max(0, $0) }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [10_000], aBound: nil,
                               b: nil, bShape: []) { p, x, _ in try p.relu(x) }
            case "sigmoid10k":
                let a = inputs(10_000, -10, 10, seed: 6)
                expected = a.map { 1 / (1 + Foundation.exp(-$0)) }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [10_000], aBound: nil,
                               b: nil, bShape: []) { p, x, _ in try p.sigmoid(x) }
            case "exp10k":
                let a = inputs(10_000, -4, 4, seed: 7)
                expected = a.map { Foundation.exp($0) }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [10_000], aBound: 4,
                               b: nil, bShape: []) { p, x, _ in try p.exp(x) }
            case "reciprocal10k":
                let a = inputs(10_000, 1, 10, seed: 8)
                expected = a.map { 1 / $0 }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [10_000], aBound: nil,
                               b: nil, bShape: []) { p, x, _ in try p.reciprocal(x, domain: 1...10) }
            case "argmax1000x10":
                let a = inputs(10_000, -10, 10, seed: 9)
                expected = (0..<1000).map { i in
                    let row = Array(a[(i * 10)..<(i * 10 + 10)])
                    return Double(row.firstIndex(of: row.max()!)!)
                }
                runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: a, aShape: [1000, 10], aBound: nil,
                               b: nil, bShape: []) { p, x, _ in try p.argmax(x) }
            case "logreg-train", "logreg-infer":
                let (x, y) = logisticData()
                let params = LogisticRegressionParameters(epochs: 1, batchSize: 50, learningRate: 0.5)
                let clock = ContinuousClock()
                var plain = PlaintextLogisticRegression.train(features: x, labels: y, rows: 500, columns: 30, parameters: params)
                for _ in 0..<reps {
                    let t0 = clock.now
                    plain = PlaintextLogisticRegression.train(features: x, labels: y, rows: 500, columns: 30, parameters: params)
                    plaintextTimes.append(seconds(clock.now - t0))
                }
                if name == "logreg-train" {
                    expected = plain.weights + [plain.bias]
                    runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: x, aShape: [500, 30], aBound: nil,
                                   b: y, bShape: [500, 1]) { p, sx, sy in
                        let model = try SecureLogisticRegression.train(
                            party: p, features: sx, labels: sy!.assumingBound(1), parameters: params)
                        return try p.concatenate([model.weights.reshaped([30]), model.bias.reshaped([1])])
                    }
                } else {
                    expected = (0..<500).map { i in
                        var s = plain.bias
                        for j in 0..<30 { s += x[i * 30 + j] * plain.weights[j] }
                        return 1 / (1 + Foundation.exp(-s))
                    }
                    let w = plain.weights + [plain.bias]
                    runs = try session(parties: parties, repetitions: reps, truncation: truncation, transport: transport, a: x, aShape: [500, 30], aBound: nil,
                                   b: w, bShape: [31]) { p, sx, sw in
                        let model = SecureLogisticRegression(
                            weights: sw!.rows(0..<30).reshaped([30, 1]), bias: sw!.rows(30..<31).reshaped([1, 1]))
                        return try model.probabilities(party: p, features: sx)
                    }
                }
            default:
                throw SecretSharingError.invalidArgument("unknown workload \(name)")
            }
        }
        var maxError = 0.0
        let failures = runs.filter { $0.output == nil }.count
        for (o, e) in zip(runs.lazy.compactMap(\.output).first ?? [], expected) { maxError = Swift.max(maxError, abs(o - e)) }
        return MPCBenchmarkResult(
            name: name, seconds: median(runs.map(\.seconds)), onlineSeconds: median(runs.map(\.online)),
            rounds: runs[0].rounds, bytes: runs[0].bytes,
            offlineBytes: runs[0].offline, maxError: maxError,
            plaintextSeconds: plaintextTimes.isEmpty ? nil : median(plaintextTimes),
            detectedFailures: failures)
    }

    /// 500 rows × 30 standardized features, two Gaussian classes (the size of CrypTen's
    /// logistic-regression figure in Benchmarks/mpc).
    static func logisticData() -> ([Double], [Double]) {
        var g = LabRandom(seed: 500)
        var x = [Double](repeating: 0, count: 500 * 30), y = [Double](repeating: 0, count: 500)
        for i in 0..<500 {
            y[i] = g.nextDouble() < 0.4 ? 1 : 0
            for j in 0..<30 { x[i * 30 + j] = g.nextNormal() + (y[i] - 0.5) * (j < 10 ? 0.8 : 0) }
        }
        return (x, y)
    }

    static func plainMatmul(_ a: [Double], _ b: [Double], _ m: Int, _ k: Int, _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for t in 0..<k { let v = a[i * k + t]; for j in 0..<n { c[i * n + j] += v * b[t * n + j] } } }
        return c
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
