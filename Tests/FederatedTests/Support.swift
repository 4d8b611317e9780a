import Datasets
import Federated
import LabRandom
import NeuralNetworks
import TestSupport

/// A small federated problem on generated data: train/test, a partition and an MLP.
struct Problem {
    let train: LabeledData
    let test: LabeledData
    let partition: FederatedPartition
    let model: Sequential

    static func gaussian(clients: Int = 12, samples: Int = 900, seed: UInt64 = 5, alpha: Double? = nil) throws -> Problem {
        var random = LabRandom(seed: seed)
        let all = SyntheticDatasets.gaussianMixture(samples: samples, features: 10, classes: 3, separation: 4, using: &random)
        let train = all.subset(Array(0..<(samples * 2 / 3)))
        let test = all.subset(Array((samples * 2 / 3)..<samples))
        var partitionRandom = random.stream("partition")
        let partition = try alpha.map {
            try FederatedPartitioner.dirichletLabelSkew(labels: train.labels, classCount: 3, clients: clients, alpha: $0,
                                                        minimumPerClient: 5, using: &partitionRandom)
        } ?? FederatedPartitioner.iid(count: train.count, clients: clients, using: &partitionRandom)
        let model = try Sequential(inputShape: [10], layers: [.dense(inputs: 10, outputs: 16), .relu, .dense(inputs: 16, outputs: 3)],
                                   random: random.stream("model/init"))
        return Problem(train: train, test: test, partition: partition, model: model)
    }

    static func patterns(clients: Int = 10, seed: UInt64 = 9) -> Problem {
        var random = LabRandom(seed: seed)
        let all = SyntheticDatasets.patternImages(samplesPerClass: 80, classes: 4, side: 16, using: &random).reshaped(sampleShape: [256])
        let train = all.subset(Array(0..<240))
        let test = all.subset(Array(240..<320))
        var partitionRandom = random.stream("partition")
        let partition = FederatedPartitioner.iid(count: train.count, clients: clients, using: &partitionRandom)
        let model = try! Sequential(inputShape: [256], layers: [.dense(inputs: 256, outputs: 32), .relu, .dense(inputs: 32, outputs: 4)],
                                    random: random.stream("model/init"))
        return Problem(train: train, test: test, partition: partition, model: model)
    }

    func simulation(_ configuration: FederatedConfiguration, threat: ThreatModel? = nil) -> FederatedSimulation {
        FederatedSimulation(architecture: model, train: train, partition: partition, test: test, configuration: configuration, threat: threat)
    }
}

/// Collects observations from the server hook.
final class ObservationLog: Sendable {
    private let items = Locked([ServerObservation]())
    func append(_ o: ServerObservation) { items.withLock { $0.append(o) } }
    var all: [ServerObservation] { items.withLock { $0 } }
}

func randomVectors(count: Int, length: Int, magnitude: Int64, seed: UInt64) -> [[UInt64]] {
    var r = LabRandom(seed: seed)
    return (0..<count).map { _ in
        (0..<length).map { _ in UInt64(bitPattern: Int64(r.nextInt(below: Int(2 * magnitude))) - magnitude) }
    }
}

func wrappingSum(_ vectors: [[UInt64]]) -> [UInt64] {
    var out = [UInt64](repeating: 0, count: vectors.first?.count ?? 0)
    for v in vectors { for i in v.indices { out[i] &+= v[i] } }
    return out
}

/// Bytes from hexadecimal digits (test vectors).
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}
