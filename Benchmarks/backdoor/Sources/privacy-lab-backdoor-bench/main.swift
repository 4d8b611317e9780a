import Foundation
import PrivacyLab

// Neural Cleanse over every MNIST label on a BadNets-backdoored CNN, timed: PrivacyLab's side of
// Benchmarks/backdoor/run-nc-bench.sh (ART's side is Benchmarks/peers/art_neural_cleanse.py).
//
//   privacy-lab-backdoor-bench [--data-dir DIR] [--steps S] [--clean N] [--epochs E] [--model FILE]
//
// The victim: conv5×5×16 (same) – ReLU – max-pool 2 – conv5×5×32 (same) – ReLU – max-pool 2 –
// dense 128 – ReLU – dense 10, trained with Adam (lr 0.001, batch 64) on MNIST where a 4×4
// checkerboard at the bottom-right corner (1 px margin) relabels poisoned samples to 0, poison
// making up 10% of class 0. Neural Cleanse runs with ART's defaults (lr 0.1, Adam β (0.5, 0.9),
// initial cost 1e-3, patience 5, multiplier 1.5, early stop) but the L1 mask norm, S steps of
// N/32 mini-batches of 32 over N clean test images, for each of the 10 labels. One JSON object
// on stdout; the BLAS core OpenBLAS chose is part of it.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("privacy-lab-backdoor-bench: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var dataDirectory = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"].map { URL(fileURLWithPath: $0) }
var steps = 20, cleanCount = 1000, epochs = 3
var modelFile: URL? = nil
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { fail("\(flag) needs a value") }; return arguments.removeFirst() }
    switch flag {
    case "--data-dir": dataDirectory = URL(fileURLWithPath: value())
    case "--steps": steps = Int(value()) ?? { fail("--steps needs an integer") }()
    case "--clean": cleanCount = Int(value()) ?? { fail("--clean needs an integer") }()
    case "--epochs": epochs = Int(value()) ?? { fail("--epochs needs an integer") }()
    case "--model": modelFile = URL(fileURLWithPath: value())
    default: fail("unknown flag \(flag)")
    }
}
guard let dataDirectory else { fail("give --data-dir or set PRIVACY_LAB_DATA") }
BLAS.threadCount = 1

let mnist: Dataset
do { mnist = try DatasetRegistry.load(.mnist, from: DataDirectory(url: dataDirectory)) } catch { fail("\(error)") }
let test = mnist.test!
let attack = BackdoorAttack(trigger: .patch(.checkerboard, size: 4, position: .bottomRight, margin: 1, sampleShape: [1, 28, 28]),
                            targeting: .allToOne(target: 0), budget: .fractionOfTargetClass(0.1))
let layers: [Layer] = [
    .conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
    .conv2d(inChannels: 16, outChannels: 32, kernelSize: 5, stride: 1, padding: 2), .relu, .maxPool2d(size: 2, stride: 2),
    .flatten, .dense(inputs: 32 * 49, outputs: 128), .relu, .dense(inputs: 128, outputs: 10),
]
let clock = ContinuousClock()
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

var model: Sequential
var trainSeconds = 0.0
if let modelFile, FileManager.default.fileExists(atPath: modelFile.path) {
    do { model = try Sequential(checkpointAt: modelFile) } catch { fail("\(error)") }
} else {
    var random = LabRandom(seed: 7)
    let poisoned: PoisonedDataset
    do { poisoned = try attack.poison(mnist.train.examples, classCount: mnist.train.classCount, random: &random) } catch { fail("\(error)") }
    let recipe = SequentialRecipe(inputShape: [1, 28, 28], layers: layers,
                                  configuration: TrainingConfiguration(epochs: epochs, batchSize: 64, learningRate: 0.001))
    let start = clock.now
    do { model = try recipe.train(inputs: poisoned.data.inputs, labels: poisoned.data.labels, random: LabRandom(seed: 8)) } catch { fail("\(error)") }
    trainSeconds = seconds(clock.now - start)
    if let modelFile { try? model.saveCheckpoint(to: modelFile) }
}
let metrics = BackdoorMetrics.evaluate(model, attack: attack, test: test.subset(Array(cleanCount..<test.count)).examples,
                                       classCount: test.classCount)
let clean = test.prefix(cleanCount)
let nc = NeuralCleanse(steps: steps, batchSize: 32)
var perLabel: [Double] = []
var last = clock.now
let start = clock.now
let report: NeuralCleanse.Report
do {
    report = try nc.scan(model: model, inputs: clean.featureTensor, random: LabRandom(seed: 9)) { trigger in
        let now = clock.now
        perLabel.append(seconds(now - last))
        last = now
        FileHandle.standardError.write(Data("label \(trigger.label): L1 \(trigger.maskNorm), steps \(trigger.stepsRun), \(perLabel.last!) s\n".utf8))
    }
} catch { fail("\(error)") }
let total = seconds(clock.now - start)
let result: [String: Any] = [
    "tool": "privacy-lab", "blas_core": BLAS.coreName, "blas_configuration": BLAS.configuration,
    "steps": steps, "clean_images": cleanCount, "batch_size": 32,
    "train_seconds": trainSeconds, "neural_cleanse_seconds": total, "per_label_seconds": perLabel,
    "steps_run": report.triggers.map(\.stepsRun),
    "clean_accuracy": metrics.cleanAccuracy, "attack_success_rate": metrics.attackSuccessRate,
    "mask_l1_norms": report.maskNorms, "anomaly_indices": report.anomalyIndices, "flagged_labels": report.flaggedLabels,
    "target": 0, "target_anomaly_index": report.anomalyIndices[0],
]
let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
