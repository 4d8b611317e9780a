// PrivacyLab's side of the black-box evasion cross-check with ART (Benchmarks/blackbox-evasion/README.md).
//
//   privacy-lab-blackbox-bench train  --out mlp.safetensors [--train 10000] [--epochs 5] [--seed 7]
//   privacy-lab-blackbox-bench attack --model mlp.safetensors --attack square|hop_skip_jump|boundary --norm linf|l2
//                                     [--examples 100] [--epsilon 0.3] [--iterations 100] [--p-init 0.05]
//                                     [--max-eval 1000] [--init-eval 100] [--queries 1000000] [--seed 1]
//
// `train` fits the benchmark MLP (flatten → dense 784→128 → ReLU → dense 128→10) on the first --train
// MNIST training images and writes a safetensors checkpoint. `attack` runs one black-box attack on
// the first --examples MNIST test images through a label- or probability-only view that counts the
// rows it is asked about, and prints one JSON object: success rate over the images the model gets
// right, median perturbation of the successes in the attack's norm, queries, wall and CPU seconds,
// and the OpenBLAS core.
import Foundation
import PrivacyLab

struct Options {
    var command = ""
    var values: [String: String] = [:]
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
    while i + 1 < arguments.count, arguments[i].hasPrefix("--") {
        options.values[String(arguments[i].dropFirst(2))] = arguments[i + 1]
        i += 2
    }
    return options
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("privacy-lab-blackbox-bench: \(message)\n".utf8))
    exit(1)
}

func loadMNIST() throws -> Dataset {
    guard let path = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"] else { fail("set PRIVACY_LAB_DATA to a folder holding mnist/") }
    return try DatasetRegistry.load(.mnist, from: DataDirectory(url: URL(fileURLWithPath: path)))
}

func json(_ object: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// The victim as an attacker sees it: probabilities (and so labels) only, every row counted.
final class Counted: ProbabilityAccess, @unchecked Sendable {
    let model: Sequential
    var rows = 0
    init(_ model: Sequential) { self.model = model }
    var classCount: Int { model.classCount }
    func probabilities(for inputs: Tensor) -> Tensor {
        rows += inputs.shape[0]
        return model.probabilities(for: inputs)
    }
}

let options = parse()
do {
    switch options.command {
    case "train":
        let mnist = try loadMNIST()
        let train = mnist.train.prefix(min(options.int("train", 10000), mnist.train.count))
        let seed = UInt64(options.int("seed", 7))
        let layers: [Layer] = [.flatten, .dense(inputs: 784, outputs: 128), .relu, .dense(inputs: 128, outputs: 10)]
        var model = try Sequential(inputShape: [1, 28, 28], layers: layers, random: LabRandom(seed: seed).stream("init"))
        _ = try model.train(inputs: train.featureTensor, labels: train.intLabels,
                            configuration: TrainingConfiguration(epochs: options.int("epochs", 5), batchSize: 64, learningRate: 0.002),
                            random: LabRandom(seed: seed).stream("train"))
        try model.saveCheckpoint(to: URL(fileURLWithPath: options.string("out", "mlp.safetensors")))
        let test = mnist.test!.prefix(2000)
        print(json(["train_examples": train.count, "test_accuracy_2000": model.accuracy(test.featureTensor, labels: test.intLabels)]))
    case "attack":
        BLAS.threadCount = 1
        let model = try Sequential(checkpointAt: URL(fileURLWithPath: options.string("model", "mlp.safetensors")))
        let test = try loadMNIST().test!.prefix(options.int("examples", 100))
        let x = test.featureTensor, y = test.intLabels
        let clean = model.predictedLabels(for: x)
        let correct = (0..<y.count).filter { clean[$0] == y[$0] }
        let norm: PerturbationNorm = options.string("norm", "linf") == "l2" ? .l2 : .linf
        let epsilon = options.float("epsilon", 0.3)
        let random = LabRandom(seed: UInt64(options.int("seed", 1)))
        let counted = Counted(model)
        let name = options.string("attack", "square")
        let start = DispatchTime.now().uptimeNanoseconds, cpu = cpuSeconds()
        var adversarial: Tensor
        var perExampleQueries: [Int]
        switch name {
        case "square":
            let run = SquareAttack(norm: norm, epsilon: epsilon, maximumQueries: options.int("iterations", 100) + 1,
                                   initialFraction: options.float("p-init", 0.05)).run(x, labels: y, goal: .untargeted, model: counted, random: random)
            (adversarial, perExampleQueries) = (run.adversarial, run.queries)
        case "hop_skip_jump":
            let run = HopSkipJump(norm: norm, iterations: options.int("iterations", 10), initialProbes: options.int("init-eval", 100),
                                  maximumProbes: options.int("max-eval", 1000), maximumQueries: options.int("queries", 1_000_000))
                .run(x, labels: y, goal: .untargeted, model: counted, random: random)
            (adversarial, perExampleQueries) = (run.adversarial, run.queries)
        case "boundary":
            // ART starts the walk from the noise itself.
            let run = BoundaryAttack(iterations: options.int("iterations", 100), maximumQueries: options.int("queries", 1_000_000),
                                     bisectsStart: false)
                .run(x, labels: y, goal: .untargeted, model: counted, random: random)
            (adversarial, perExampleQueries) = (run.adversarial, run.queries)
        default:
            fail("unknown --attack \(name): square, hop_skip_jump or boundary")
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuUsed = cpuSeconds() - cpu
        // One image at a time, as the attacks asked: a decision-based attack's answer lies within its
        // bisection threshold of the boundary, where a batched product may round the other way.
        let d = x.scalarCount / y.count
        let predicted = (0..<y.count).map { i in
            model.predictedLabels(for: Tensor(shape: [1] + Array(x.shape.dropFirst()), scalars: Array(adversarial.scalars[i * d..<(i + 1) * d])))[0]
        }
        let batched = model.predictedLabels(for: adversarial)
        let distances = norm.perExample(withoutGradients { adversarial - x })
        // A success: an image the model got right, now misclassified (within ε for the score-based attack by construction).
        let fooled = correct.filter { predicted[$0] != y[$0] }
        let within = fooled.filter { name == "square" || distances[$0] <= epsilon }
        let sorted = fooled.map { distances[$0] }.sorted()
        print(json(["tool": "privacy-lab", "attack": name, "norm": norm.rawValue, "epsilon": Double(epsilon), "examples": y.count,
                    "clean_correct": correct.count, "success_rate": Double(fooled.count) / Double(max(1, correct.count)),
                    "success_rate_within_epsilon": Double(within.count) / Double(max(1, correct.count)),
                    "success_rate_batched": Double(correct.filter { batched[$0] != y[$0] }.count) / Double(max(1, correct.count)),
                    "median_perturbation": sorted.isEmpty ? 0 : Double(sorted[sorted.count / 2]),
                    "not_fooled": correct.filter { predicted[$0] == y[$0] }, "queries": counted.rows, "queries_per_image": Double(counted.rows) / Double(y.count),
                    "queries_counted_by_attack": perExampleQueries.reduce(0, +),
                    "seconds": wall, "cpu_seconds": cpuUsed, "openblas_core": BLAS.coreName]))
    default:
        fail("usage: privacy-lab-blackbox-bench train|attack [options] (see Benchmarks/blackbox-evasion/README.md)")
    }
} catch {
    fail("\(error)")
}
