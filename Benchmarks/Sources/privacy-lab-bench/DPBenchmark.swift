import Foundation
import PrivacyLab

/// Issue #8's DP-SGD benchmark, PrivacyLab's side (the Opacus side is Benchmarks/dp/opacus_dp.py;
/// Benchmarks/dp/run.sh runs both alternately): MLP 784-256-10 on MNIST's 60k training images,
/// SGD (lr 0.1), one epoch of
/// (a) non-private mini-batch training, batch 128, shuffled;
/// (b) DP-SGD: Poisson sampling at q = 128/60000 (⌈60000/128⌉ = 469 steps), per-sample clipping at
///     C = 1, noise multiplier σ = 1.0, OS-keyed ChaCha8 noise; ε from the RDP accountant, δ = 1e-5.
/// Samples/s counts the examples actually processed (Σ Poisson batch sizes for DP).
struct DPBenchmark {
    var threads = 1
    var repeats = 3
    var dataDirectory: URL?
    var noiseMultiplier = 1.0
    var learningRate: Float = 0.1

    static let layers: [Layer] = [.flatten, .dense(inputs: 784, outputs: 256), .relu, .dense(inputs: 256, outputs: 10)]

    func run() throws -> [String: Any] {
        BLAS.threadCount = threads
        let (train, test, source) = try loadMNIST()
        let n = train.y.count
        var result: [String: Any] = [
            "tool": "privacy-lab", "version": PrivacyLabVersion.string, "threads": threads,
            "openblas_core": BLAS.coreName, "data": source, "noise_multiplier": noiseMultiplier,
            "env_OPENBLAS_CORETYPE": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "",
        ]
        let root = LabRandom(seed: 8)
        let plain = TrainingConfiguration(epochs: 1, batchSize: 128, learningRate: learningRate, optimizer: .sgd())
        let dp = DPTrainingConfiguration(epochs: 1, expectedBatchSize: 128, maxPhysicalBatchSize: 256, learningRate: learningRate,
                                         optimizer: .sgd(), noiseMultiplier: noiseMultiplier, clipping: .flat(maxNorm: 1),
                                         delta: 1e-5, accounting: .rdp())
        // Warm-up of both paths on a slice.
        var warm = try Sequential(inputShape: [1, 28, 28], layers: Self.layers, random: root.stream("warm"))
        let head = train.x.slice(axis: 0, 0..<2560), headLabels = Array(train.y[0..<2560])
        _ = try warm.train(inputs: head, labels: headLabels, configuration: plain, random: root.stream("warm"))
        var warmAccountant = PrivacyAccountant()
        _ = try warm.trainPrivately(inputs: head, labels: headLabels, configuration: dp, accountant: &warmAccountant)

        var plainRates: [Double] = [], dpRates: [Double] = [], plainCPURates: [Double] = [], dpCPURates: [Double] = []
        var plainAccuracy = 0.0, dpAccuracy = 0.0, epsilon = 0.0, steps = 0, clipped = 0.0
        for r in 0..<repeats {
            // Alternate the two within the run, so that load changes hit both.
            var model = try Sequential(inputShape: [1, 28, 28], layers: Self.layers, random: root.stream("model/\(r)"))
            var plainCPU = processCPUSeconds()
            let plainSeconds = try time { _ = try model.train(inputs: train.x, labels: train.y, configuration: plain, random: root.stream("plain/\(r)")) }
            plainCPU = processCPUSeconds() - plainCPU
            plainRates.append(Double(n) / plainSeconds)
            plainCPURates.append(Double(n) / plainCPU)
            plainAccuracy = model.accuracy(test.x, labels: test.y)

            var privateModel = try Sequential(inputShape: [1, 28, 28], layers: Self.layers, random: root.stream("model/\(r)"))
            var accountant = PrivacyAccountant(method: .rdp())
            var report: DPTrainingReport?
            var dpCPU = processCPUSeconds()
            let dpSeconds = try time {
                report = try privateModel.trainPrivately(inputs: train.x, labels: train.y, configuration: dp, accountant: &accountant)
            }
            dpCPU = processCPUSeconds() - dpCPU
            guard let report else { continue }
            dpRates.append(Double(report.batchSizes.reduce(0, +)) / dpSeconds)
            dpCPURates.append(Double(report.batchSizes.reduce(0, +)) / dpCPU)
            dpAccuracy = privateModel.accuracy(test.x, labels: test.y)
            epsilon = report.epsilon
            steps = report.steps
            clipped = report.clippedFraction
        }
        result["plain_train_samples_per_s"] = median(plainRates)
        result["plain_train_samples_per_s_all"] = plainRates
        result["plain_test_accuracy"] = plainAccuracy
        result["dp_train_samples_per_s"] = median(dpRates)
        result["dp_train_samples_per_s_all"] = dpRates
        result["dp_test_accuracy"] = dpAccuracy
        result["dp_over_plain"] = median(dpRates) / median(plainRates)
        // Per CPU-second of this process: steadier than wall time on a machine shared with others.
        result["plain_train_samples_per_cpu_s"] = median(plainCPURates)
        result["dp_train_samples_per_cpu_s"] = median(dpCPURates)
        result["dp_over_plain_cpu"] = median(dpCPURates) / median(plainCPURates)
        result["dp_epsilon"] = epsilon
        result["dp_delta"] = 1e-5
        result["dp_steps"] = steps
        result["dp_clipped_fraction"] = clipped
        // Noise alone: one step's Gaussian noise for the MLP's 203,530 parameters.
        var noise = DPOptimizer(wrapping: SGD(), noiseMultiplier: noiseMultiplier, clipping: .flat(maxNorm: 1), expectedBatchSize: 128)
        let shapes = warm.parameters.map(\.shape)
        let count = warm.parameterCount
        _ = noise.privatizedGradients(shapes: shapes)
        let noiseSeconds = time { for _ in 0..<20 { _ = noise.privatizedGradients(shapes: shapes) } }
        result["noise_ns_per_value"] = noiseSeconds / Double(20 * count) * 1e9
        result["noise_cpu_ns_per_value"] = { () -> Double in
            let start = processCPUSeconds()
            for _ in 0..<20 { _ = noise.privatizedGradients(shapes: shapes) }
            return (processCPUSeconds() - start) / Double(20 * count) * 1e9
        }()
        var insecure = DPOptimizer(wrapping: SGD(), noiseMultiplier: noiseMultiplier, clipping: .flat(maxNorm: 1), expectedBatchSize: 128,
                                   randomness: .insecureSeeded(LabRandom(seed: 1)))
        let insecureSeconds = time { for _ in 0..<20 { _ = insecure.privatizedGradients(shapes: shapes) } }
        result["noise_insecure_ns_per_value"] = insecureSeconds / Double(20 * count) * 1e9

        result["peak_rss_mb"] = peakResidentMegabytes()
        return result
    }

    func loadMNIST() throws -> (train: (x: Tensor, y: [Int]), test: (x: Tensor, y: [Int]), source: String) {
        guard let directory = dataDirectory else {
            throw DatasetError(.invalidArgument, file: "PRIVACY_LAB_DATA", "pass --data-dir DIR or set PRIVACY_LAB_DATA to a directory holding mnist/")
        }
        let dataset = try DatasetRegistry.load(.mnist, from: DataDirectory(url: directory))
        guard let test = dataset.test else { throw DatasetError(.malformed, file: "mnist", "expected a test part") }
        return ((dataset.train.featureTensor, dataset.train.intLabels), (test.featureTensor, test.intLabels), "mnist")
    }
}

/// CPU time used by this process so far, in seconds.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// `privacy-lab-bench dp …`: parses its flags, runs, prints, exits.
func runDPBenchmark(_ flags: [String]) -> Never {
    var arguments = flags
    var benchmark = DPBenchmark()
    var json = false
    func fail() -> Never {
        FileHandle.standardError.write(Data("usage: privacy-lab-bench dp [--json] [--threads N] [--repeats R] [--sigma S] [--data-dir DIR]\n".utf8))
        exit(2)
    }
    while let flag = arguments.first {
        arguments.removeFirst()
        func value() -> String { guard !arguments.isEmpty else { fail() }; return arguments.removeFirst() }
        switch flag {
        case "--json": json = true
        case "--threads": benchmark.threads = Int(value()) ?? { fail() }()
        case "--repeats": benchmark.repeats = Int(value()) ?? { fail() }()
        case "--sigma": benchmark.noiseMultiplier = Double(value()) ?? { fail() }()
        case "--data-dir": benchmark.dataDirectory = URL(fileURLWithPath: value())
        default: fail()
        }
    }
    if benchmark.dataDirectory == nil, let env = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"] {
        benchmark.dataDirectory = URL(fileURLWithPath: env)
    }
    do {
        let result = try benchmark.run()
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for key in result.keys.sorted() { print("\(key): \(result[key]!)") }
        }
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("privacy-lab-bench dp: \(error)\n".utf8))
        exit(1)
    }
}
