import Foundation
import PrivacyLab

/// `privacy-lab-inversion-bench dlg [--json] [--iterations N] [--image I] [--seed S] [--no-line-search]
///                                  [--export DIR] [--data-dir DIR]`
///
/// DLG (Zhu et al. 2019) on one MNIST test image against DLG's LeNet (sigmoid, uniform ±0.5
/// initialisation): L-BFGS on the gradient-matching loss for N iterations. Prints the time of
/// the attack alone (data loading and the victim's gradient excluded), the PSNR/SSIM of the
/// reconstruction and OpenBLAS's core. `--export DIR` writes the exact problem (weights, image,
/// label, dummy start) as raw little-endian float32 files plus `problem.json`, so that the
/// PyTorch peer (Benchmarks/peers/pytorch_dlg.py) solves the same problem.
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: privacy-lab-inversion-bench dlg [--json] [--iterations N] [--image I] [--seed S] [--no-line-search] [--export DIR] [--data-dir DIR]\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "dlg" else { usage() }
arguments.removeFirst()
var json = false, iterations = 300, imageIndex = 0, seed: UInt64 = 1, lineSearch = true
var exportDirectory: URL? = nil
var dataDirectory = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"].map { URL(fileURLWithPath: $0) }
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { usage() }; return arguments.removeFirst() }
    switch flag {
    case "--json": json = true
    case "--iterations": iterations = Int(value()) ?? { usage() }()
    case "--image": imageIndex = Int(value()) ?? { usage() }()
    case "--seed": seed = UInt64(value()) ?? { usage() }()
    case "--no-line-search": lineSearch = false
    case "--export": exportDirectory = URL(fileURLWithPath: value())
    case "--data-dir": dataDirectory = URL(fileURLWithPath: value())
    default: usage()
    }
}
guard let dataDirectory else {
    FileHandle.standardError.write(Data("privacy-lab-inversion-bench: set PRIVACY_LAB_DATA or --data-dir (a folder holding mnist/)\n".utf8))
    exit(2)
}
BLAS.threadCount = Int(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "1") ?? 1

func writeRaw(_ t: Tensor, _ name: String, to dir: URL) throws {
    var data = Data()
    for v in t.scalars { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    try data.write(to: dir.appendingPathComponent(name + ".f32"))
}

do {
    let mnist = try DatasetRegistry.load(.mnist, from: DataDirectory(url: dataDirectory))
    let test = mnist.test!
    let image = Tensor(shape: [1, 1, 28, 28], scalars: Array(test.sample(imageIndex)))
    let label = Int(test.labels[imageIndex])
    let random = LabRandom(seed: seed)
    let layers = try VictimNetworks.lenetLayers(inputShape: [1, 28, 28], classes: 10)
    let model = try VictimNetworks.uniformlyInitialized(inputShape: [1, 28, 28], layers: layers, scale: 0.5, random: random.stream("victim"))
    let update = ClientUpdate.observe(model: model, inputs: image, labels: [label])
    let configuration = GradientInversion.DLGConfiguration(
        optimizer: .lbfgs(LBFGS.Configuration(maxIterations: iterations, maxEvaluations: iterations * 25, lineSearch: lineSearch)))
    let attackRandom = random.stream("attack")
    if let dir = exportDirectory {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, p) in zip(model.parameterNames, model.parameters) { try writeRaw(p, name, to: dir) }
        try writeRaw(image, "image", to: dir)
        // The dummy start the attack draws (the same streams as GradientInversion's restart 0).
        let r0 = attackRandom.stream("restart/0")
        var ds = r0.stream("data"), ls = r0.stream("labels")
        try writeRaw(Tensor(shape: [1, 1, 28, 28]) { ds.fillNormal($0, mean: 0, standardDeviation: 1) }, "dummy_data", to: dir)
        try writeRaw(Tensor(shape: [1, 10]) { ls.fillNormal($0, mean: 0, standardDeviation: 1) }, "dummy_labels", to: dir)
        let problem: [String: Any] = ["label": label, "parameters": model.parameterNames, "image_index": imageIndex,
                                      "shapes": Dictionary(uniqueKeysWithValues: zip(model.parameterNames, model.parameters.map(\.shape)))]
        try JSONSerialization.data(withJSONObject: problem, options: [.sortedKeys]).write(to: dir.appendingPathComponent("problem.json"))
    }
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try GradientInversion.invert(model: model, update: update, batchSize: 1, attack: .dlg(configuration), random: attackRandom)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let psnr = ImageMetrics.psnr(result.reconstructions.scalars, image.scalars)
    let ssim = ImageMetrics.ssim(result.reconstructions.scalars, image.scalars, height: 28, width: 28)
    let output: [String: Any] = [
        "tool": "privacy-lab", "attack": "dlg", "iterations": result.lossHistory.count, "evaluations": result.evaluations,
        "seconds": seconds, "seconds_per_evaluation": seconds / Double(max(1, result.evaluations)),
        "psnr_db": psnr, "ssim": ssim, "final_loss": result.loss, "label": label, "recovered_label": result.labels.first ?? -1,
        "openblas_core": BLAS.coreName, "threads": BLAS.threadCount, "line_search": lineSearch,
    ]
    if json {
        print(String(decoding: try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys]), as: UTF8.self))
    } else {
        for key in output.keys.sorted() { print("\(key): \(output[key]!)") }
    }
} catch {
    FileHandle.standardError.write(Data("privacy-lab-inversion-bench: \(error)\n".utf8))
    exit(1)
}
