// PrivacyLab's side of the evasion cross-check and benchmark (Benchmarks/evasion/README.md).
//
//   privacy-lab-evasion-bench train  --out cnn.safetensors [--train 10000] [--epochs 3] [--seed 7]
//   privacy-lab-evasion-bench attack --model cnn.safetensors [--examples 1000] [--epsilon 0.3]
//                                   [--steps 40] [--step-size 0.01] [--threads 1] [--batch 250] [--skip-fgsm]
//
// `train` fits the benchmark CNN (conv5×5 16 → ReLU → max-pool 2 → conv5×5 32 → ReLU → max-pool 2 →
// dense 10) on the first --train MNIST training images and writes a safetensors checkpoint.
// `attack` runs FGSM and PGD (L∞, no random start, cross-entropy of the logits) on the first
// --examples MNIST test images and prints one JSON object: accuracies, timings, BLAS core.
// MNIST is read from --data-dir or $PRIVACY_LAB_DATA.
import Foundation
import PrivacyLab

struct Options {
    var command = ""
    var values: [String: String] = [:]
    var flags: Set<String> = []
    func string(_ key: String, _ fallback: String) -> String { values[key] ?? fallback }
    func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap { Int($0) } ?? fallback }
    func float(_ key: String, _ fallback: Float) -> Float { values[key].flatMap { Float($0) } ?? fallback }
}

func parse() -> Options {
    var options = Options()
    var arguments = Array(CommandLine.arguments.dropFirst())
    guard !arguments.isEmpty else { return options }
    options.command = arguments.removeFirst()
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a.hasPrefix("--"), i + 1 < arguments.count, !arguments[i + 1].hasPrefix("--") {
            options.values[String(a.dropFirst(2))] = arguments[i + 1]
            i += 2
        } else {
            options.flags.insert(String(a.dropFirst(2)))
            i += 1
        }
    }
    return options
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("privacy-lab-evasion-bench: \(message)\n".utf8))
    exit(1)
}

func loadMNIST(_ options: Options) throws -> Dataset {
    guard let path = options.values["data-dir"] ?? ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"] else {
        fail("pass --data-dir DIR or set PRIVACY_LAB_DATA to a folder holding mnist/")
    }
    return try DatasetRegistry.load(.mnist, from: DataDirectory(url: URL(fileURLWithPath: path)))
}

let benchmarkLayers: [Layer] = [
    .conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
    .conv2d(inChannels: 16, outChannels: 32, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
    .flatten, .dense(inputs: 32 * 7 * 7, outputs: 10),
]

func json(_ object: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// CPU seconds (user + system) of this process so far: on a shared machine, a fairer measure than
/// wall time (reported beside it).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

nonisolated(unsafe) var cpuTimes: [String: Double] = [:]

/// Wall seconds of `body`; its CPU seconds go to `cpuTimes[name]`.
func seconds(_ name: String, _ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let cpu = cpuSeconds()
    body()
    cpuTimes[name] = cpuSeconds() - cpu
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let options = parse()
do {
    switch options.command {
    case "train":
        let mnist = try loadMNIST(options)
        let n = min(options.int("train", 10000), mnist.train.count)
        let train = mnist.train.prefix(n)
        let seed = UInt64(options.int("seed", 7))
        var model = try Sequential(inputShape: [1, 28, 28], layers: benchmarkLayers, random: LabRandom(seed: seed).stream("init"))
        _ = try model.train(inputs: train.featureTensor, labels: train.intLabels,
                            configuration: TrainingConfiguration(epochs: options.int("epochs", 3), batchSize: 64, learningRate: 0.002),
                            random: LabRandom(seed: seed).stream("train"))
        try model.saveCheckpoint(to: URL(fileURLWithPath: options.string("out", "cnn.safetensors")))
        let test = mnist.test!.prefix(2000)
        print(json(["train_examples": n, "test_accuracy_2000": model.accuracy(test.featureTensor, labels: test.intLabels)]))
    case "attack":
        let threads = options.int("threads", 1)
        BLAS.threadCount = threads
        let model = try Sequential(checkpointAt: URL(fileURLWithPath: options.string("model", "cnn.safetensors")))
        let mnist = try loadMNIST(options)
        let test = mnist.test!.prefix(options.int("examples", 1000))
        let x = test.featureTensor, y = test.intLabels
        let epsilon = options.float("epsilon", 0.3), steps = options.int("steps", 40), stepSize = options.float("step-size", 0.01)
        let batch = options.int("batch", 250)
        var out: [String: Any] = ["tool": "privacy-lab", "openblas_core": BLAS.coreName, "threads": threads, "examples": test.count,
                                  "epsilon": Double(epsilon), "steps": steps, "step_size": Double(stepSize), "batch_size": batch]
        var clean = 0.0
        out["clean_seconds"] = seconds("clean") { clean = model.accuracy(x, labels: y) }
        out["clean_accuracy"] = clean
        if !options.flags.contains("skip-fgsm") {
            var result: RobustnessResult!
            out["fgsm_seconds"] = seconds("fgsm") {
                result = evaluateRobustness(of: model, against: FastGradientMethod(epsilon: epsilon), inputs: x, labels: y,
                                            batchSize: batch, random: LabRandom(seed: 0))
            }
            out["fgsm_adversarial_accuracy"] = result.adversarialAccuracy
            out["fgsm_robust_accuracy"] = result.robustAccuracy
        }
        var result: RobustnessResult!
        let pgd = ProjectedGradientDescent(epsilon: epsilon, stepSize: stepSize, steps: steps, randomStart: false)
        out["pgd_seconds"] = seconds("pgd") {
            result = evaluateRobustness(of: model, against: pgd, inputs: x, labels: y, batchSize: batch, random: LabRandom(seed: 0))
        }
        out["pgd_adversarial_accuracy"] = result.adversarialAccuracy
        out["pgd_robust_accuracy"] = result.robustAccuracy
        out["pgd_fooling_rate"] = result.foolingRate
        out["pgd_mean_linf"] = result.meanPerturbationNormAll
        out["pgd_adversarial_correct"] = String(result.adversarialCorrect.map { $0 ? "1" : "0" }.joined())
        for (name, value) in cpuTimes { out[name + "_cpu_seconds"] = value }
        print(json(out))
    default:
        fail("usage: privacy-lab-evasion-bench train|attack [options] (see Benchmarks/evasion/README.md)")
    }
} catch {
    fail("\(error)")
}
