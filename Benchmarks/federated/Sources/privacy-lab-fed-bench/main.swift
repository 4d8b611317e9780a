// The PrivacyLab side of the federated benchmark (Benchmarks/federated/README.md): FedAvg over
// 100 MNIST clients (Dirichlet α = 0.5), 10 per round, an MLP 784-128-10, one local epoch of
// SGD, end to end from the IDX files, with plaintext or secure aggregation. Prints one JSON
// object on stdout.
import Foundation
import PrivacyLab

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: privacy-lab-fed-bench [--aggregation plaintext|masking|additive|paillier] [--rounds R] [--clients N] [--per-round K]
                                 [--alpha A] [--hidden H] [--epochs E] [--batch-size B] [--lr L] [--jobs J] [--seed S]
                                 [--key-bits BITS] [--data-dir DIR]

    """.utf8))
    exit(2)
}

var aggregationName = "plaintext", rounds = 50, clients = 100, perRound = 10, alpha = 0.5, hidden = 128
var epochs = 1, batchSize = 32, learningRate: Float = 0.05, jobs = 2, seed: UInt64 = 1, keyBits = 2048
var dataDirectory = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"].map { URL(fileURLWithPath: $0) }
var arguments = Array(CommandLine.arguments.dropFirst())
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { usage() }; return arguments.removeFirst() }
    switch flag {
    case "--aggregation": aggregationName = value()
    case "--rounds": rounds = Int(value()) ?? { usage() }()
    case "--clients": clients = Int(value()) ?? { usage() }()
    case "--per-round": perRound = Int(value()) ?? { usage() }()
    case "--alpha": alpha = Double(value()) ?? { usage() }()
    case "--hidden": hidden = Int(value()) ?? { usage() }()
    case "--epochs": epochs = Int(value()) ?? { usage() }()
    case "--batch-size": batchSize = Int(value()) ?? { usage() }()
    case "--lr": learningRate = Float(value()) ?? { usage() }()
    case "--jobs": jobs = Int(value()) ?? { usage() }()
    case "--seed": seed = UInt64(value()) ?? { usage() }()
    case "--key-bits": keyBits = Int(value()) ?? { usage() }()
    case "--data-dir": dataDirectory = URL(fileURLWithPath: value())
    default: usage()
    }
}

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? -1
        return kb / 1024
    }
    return -1
}

struct BenchError: Error, CustomStringConvertible { let description: String }

let clock = ContinuousClock()
let start = clock.now
func seconds(since t: ContinuousClock.Instant) -> Double {
    let d = clock.now - t
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

do {
    guard let dataDirectory else { throw BenchError(description: "set PRIVACY_LAB_DATA or --data-dir to the folder holding mnist/") }
    let mnist = try DatasetRegistry.load(.mnist, from: DataDirectory(url: dataDirectory))
    let train = mnist.train.reshaped(sampleShape: [784])
    let test = mnist.test!.reshaped(sampleShape: [784])
    let random = LabRandom(seed: seed)
    var partitionRandom = random.stream("partition")
    let partition = try FederatedPartitioner.dirichletLabelSkew(labels: train.labels, classCount: 10, clients: clients, alpha: alpha,
                                                                minimumPerClient: 1, using: &partitionRandom)
    let model = try Sequential(inputShape: [784], layers: [.dense(inputs: 784, outputs: hidden), .relu, .dense(inputs: hidden, outputs: 10)],
                               random: random.stream("model/init"))
    let format = try FixedPointFormat(fractionalBits: 24, valueBits: 48)
    let aggregation: AggregationMode
    switch aggregationName {
    case "plaintext": aggregation = .plaintext
    case "fixed-point": aggregation = .fixedPoint(format)
    case "masking": aggregation = .secure(try PairwiseMasking(concurrency: jobs), format)
    case "additive": aggregation = .secure(try AdditiveSharingAggregation(servers: 2), format)
    case "paillier":
        let key = try PaillierPrivateKey.generate(bits: keyBits)
        aggregation = .secure(try PaillierAggregation(privateKey: key, valueBits: 48, maxClients: clients), format)
    default: usage()
    }
    let configuration = FederatedConfiguration(rounds: rounds, sampling: .fixed(count: perRound),
                                               local: LocalTraining(epochs: epochs, batchSize: batchSize, learningRate: learningRate),
                                               concurrency: jobs, aggregation: aggregation)
    let simulation = FederatedSimulation(architecture: model, train: train, partition: partition, test: test, configuration: configuration)
    var strategy = FedAvg()
    let history = try await simulation.run(strategy: &strategy, random: random)
    let total = seconds(since: start)
    let costs = history.rounds.compactMap(\.secureCost)
    var result: [String: Any] = [
        "tool": "privacy-lab", "aggregation": aggregationName, "rounds": rounds, "clients": clients, "clients_per_round": perRound,
        "alpha": alpha, "hidden": hidden, "jobs": jobs, "seed": seed,
        "seconds": total, "final_accuracy": history.finalAccuracy ?? -1,
        "accuracy_per_round": history.rounds.compactMap(\.accuracy),
        "peak_rss_mb": peakRSSMegabytes(), "openblas_core": BLAS.coreName,
        "parameters": model.parameterCount,
    ]
    if !costs.isEmpty {
        result["secagg_client_bytes_sent_mean"] = costs.map(\.meanClientBytesSent).reduce(0, +) / Double(costs.count)
        result["secagg_client_seconds_mean"] = costs.map(\.meanClientSeconds).reduce(0, +) / Double(costs.count)
        result["secagg_server_seconds_per_round"] = costs.map(\.serverSeconds).reduce(0, +) / Double(costs.count)
        result["secagg_server_bytes_per_round"] = Double(costs.map { $0.serverBytesReceived + $0.serverBytesSent }.reduce(0, +)) / Double(costs.count)
    }
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("privacy-lab-fed-bench: \(error)\n".utf8))
    exit(1)
}
