import Foundation
import PrivacyLab

/// Issue #2's neural-network benchmark, PrivacyLab's side (the PyTorch side is
/// Benchmarks/peers/pytorch_nn.py; Benchmarks/run-nn-bench.sh runs both alternately):
/// (a) MLP 784-256-10, Adam 1e-3, batch 128, one shuffled epoch of MNIST's 60k training images;
/// (b) CNN conv5×5×16 (pad 2) → ReLU → max-pool 2 → conv5×5×32 (pad 2) → ReLU → max-pool 2 → dense 10,
///     Adam 1e-3, batch 64, over the first N shuffled training images;
/// (c) per-example cross-entropy losses of the MLP on the 10k test images in one bulk query.
struct NeuralNetworkBenchmark {
    var threads = 1
    var repeats = 3
    var lossRepeats = 15
    var cnnImages = 10_000
    var warmupBatches = 20
    var only: Set<String> = ["mlp", "cnn", "loss"]
    var dataDirectory: URL?

    static let mlpLayers: [Layer] = [.flatten, .dense(inputs: 784, outputs: 256), .relu, .dense(inputs: 256, outputs: 10)]
    static let cnnLayers: [Layer] = [
        .conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
        .conv2d(inChannels: 16, outChannels: 32, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
        .flatten, .dense(inputs: 32 * 7 * 7, outputs: 10),
    ]

    func run() throws -> [String: Any] {
        BLAS.threadCount = threads
        let (train, test, source) = try loadMNIST()
        var result: [String: Any] = [
            "tool": "privacy-lab", "version": PrivacyLabVersion.string, "threads": threads,
            "openblas_core": BLAS.coreName, "data": source,
            "env_OPENBLAS_CORETYPE": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "",
        ]
        let root = LabRandom(seed: 7)
        if only.contains("mlp") {
            let config = TrainingConfiguration(epochs: 1, batchSize: 128, learningRate: 1e-3, optimizer: .adam())
            // Warm-up: a few batches on a throw-away model.
            var warm = try Sequential(inputShape: [1, 28, 28], layers: Self.mlpLayers, random: root.stream("warm"))
            let head = train.x.slice(axis: 0, 0..<(128 * warmupBatches))
            _ = try warm.train(inputs: head, labels: Array(train.y[0..<(128 * warmupBatches)]), configuration: config, random: root.stream("warm"))
            var rates: [Double] = []
            var accuracy = 0.0
            for r in 0..<repeats {
                var model = try Sequential(inputShape: [1, 28, 28], layers: Self.mlpLayers, random: root.stream("mlp/\(r)"))
                let seconds = try time { _ = try model.train(inputs: train.x, labels: train.y, configuration: config, random: root.stream("mlp/\(r)/train")) }
                rates.append(Double(train.y.count) / seconds)
                accuracy = model.accuracy(test.x, labels: test.y)
            }
            result["mlp_train_samples_per_s"] = median(rates)
            result["mlp_train_samples_per_s_all"] = rates
            result["mlp_test_accuracy"] = accuracy
        }
        if only.contains("cnn") {
            let n = min(cnnImages, train.y.count)
            var order = root.stream("cnn/subset")
            let subset = Array(order.permutation(train.y.count).prefix(n))
            let x = train.x.gatheringRows(subset), y = subset.map { train.y[$0] }
            let config = TrainingConfiguration(epochs: 1, batchSize: 64, learningRate: 1e-3, optimizer: .adam())
            var warm = try Sequential(inputShape: [1, 28, 28], layers: Self.cnnLayers, random: root.stream("warm"))
            _ = try warm.train(inputs: x.slice(axis: 0, 0..<(64 * warmupBatches)), labels: Array(y[0..<(64 * warmupBatches)]),
                               configuration: config, random: root.stream("warm"))
            var rates: [Double] = []
            for r in 0..<repeats {
                var model = try Sequential(inputShape: [1, 28, 28], layers: Self.cnnLayers, random: root.stream("cnn/\(r)"))
                let seconds = try time { _ = try model.train(inputs: x, labels: y, configuration: config, random: root.stream("cnn/\(r)/train")) }
                rates.append(Double(n) / seconds)
            }
            result["cnn_train_samples_per_s"] = median(rates)
            result["cnn_train_samples_per_s_all"] = rates
        }
        if only.contains("loss") {
            var model = try Sequential(inputShape: [1, 28, 28], layers: Self.mlpLayers, random: root.stream("loss/init"))
            _ = try model.train(inputs: train.x.slice(axis: 0, 0..<10_000), labels: Array(train.y[0..<10_000]),
                                configuration: .init(epochs: 1, batchSize: 128, learningRate: 1e-3), random: root.stream("loss/train"))
            var rates: [Double] = []
            var checksum: Float = 0
            _ = model.perExampleLosses(test.x, labels: test.y, batchSize: 10_000)
            for _ in 0..<lossRepeats {
                let seconds = time { checksum = model.perExampleLosses(test.x, labels: test.y, batchSize: 10_000).reduce(0, +) }
                rates.append(Double(test.y.count) / seconds)
            }
            result["per_example_loss_samples_per_s"] = median(rates)
            result["per_example_loss_mean"] = Double(checksum) / Double(test.y.count)
        }
        result["peak_rss_mb"] = peakResidentMegabytes()
        return result
    }

    /// MNIST from the data directory, or random images of MNIST's shape when it is absent (the
    /// timings do not depend on pixel values; the JSON says which was used).
    func loadMNIST() throws -> (train: (x: Tensor, y: [Int]), test: (x: Tensor, y: [Int]), source: String) {
        if let loaded = try BenchmarkData.mnist(directory: dataDirectory) { return (loaded.0, loaded.1, "mnist") }
        var random = LabRandom(seed: 1)
        func fake(_ n: Int) -> (Tensor, [Int]) {
            (Tensor(shape: [n, 1, 28, 28]) { random.fillUniform($0, low: 0, high: 1) }, (0..<n).map { _ in random.nextInt(below: 10) })
        }
        let tr = fake(60_000), te = fake(10_000)
        return ((tr.0, tr.1), (te.0, te.1), "synthetic")
    }
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Raw matrix-product throughput for the MLP's shapes (diagnostic).
func gemmDiagnostic() -> [String: Any] {
    var random = LabRandom(seed: 3)
    var out: [String: Any] = ["openblas_core": BLAS.coreName]
    let cases: [(String, [Int], [Int], Bool, Bool)] = [
        ("forward x·Wᵀ 128x784x256", [128, 784], [256, 784], false, true),
        ("weight grad gᵀ·x 256x128x784", [128, 256], [128, 784], true, false),
        ("loss forward 10000x784x256", [10000, 784], [256, 784], false, true),
    ]
    for (name, sa, sb, ta, tb) in cases {
        let a = Tensor(shape: sa) { random.fillUniform($0, low: -1, high: 1) }
        let b = Tensor(shape: sb) { random.fillUniform($0, low: -1, high: 1) }
        let m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1], n = tb ? sb[0] : sb[1]
        let reps = max(3, 200_000_000 / (2 * m * n * k))
        _ = Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
        let seconds = time { for _ in 0..<reps { _ = Tensor.matmul(a, b, transposeA: ta, transposeB: tb) } }
        out[name] = Double(2 * m * n * k * reps) / seconds / 1e9
    }
    return out
}
