// privacy-lab-data-bench: dataset loading times, side by side with numpy's reader in the same run.
//
//   privacy-lab-data-bench [--data-dir DIR] [--repeats N] [--python PATH] [--json]
//
// DIR defaults to $PRIVACY_LAB_DATA; PATH to $PRIVACY_LAB_PYTHON, else python3 (needs numpy).
import Foundation
import PrivacyLab

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("privacy-lab-data-bench: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var dataPath = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"]
var python = ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"] ?? "python3"
var repeats = 7
var json = false
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { fail("\(flag) needs a value") }; return arguments.removeFirst() }
    switch flag {
    case "--data-dir": dataPath = value()
    case "--repeats":
        guard let n = Int(value()), n > 0 else { fail("--repeats needs a positive integer") }
        repeats = n
    case "--python": python = value()
    case "--json": json = true
    default: fail("unknown flag \(flag)")
    }
}
let directory = DataDirectory.resolve(explicit: dataPath, environmentValue: nil,
                                      currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
let images = directory.file("mnist/train-images-idx3-ubyte.gz")
let labels = directory.file("mnist/train-labels-idx1-ubyte.gz")
guard DatasetRegistry.isPresent(.mnist, in: directory) else { fail("MNIST not found in \(directory)") }

/// Best-of-`repeats` wall time of `body`, in seconds.
@MainActor
func best<T>(_ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
    var bestTime = Double.infinity
    var last: T?
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        bestTime = min(bestTime, elapsed)
        last = value
    }
    return (bestTime, last!)
}

do {
    let compressed = [UInt8](try Data(contentsOf: images))
    let inflate = try best { try Gzip.decompress(compressed) }
    let fileInflate = try best { try Gzip.decompress([UInt8](try Data(contentsOf: images))) }
    let raw = try best { try IDX.read(images) }
    let floats = try best { try IDXImageLoader.load(images: images, labels: labels) }
    let sha = best { SHA256.hash(compressed) }
    let registry = try best { try DatasetRegistry.load(.mnist, from: directory) }
    let registryUnchecked = try best {
        try DatasetRegistry.load(.mnist, from: directory, options: LoadOptions(verifyChecksums: false))
    }
    let checksum = floats.value.features.reduce(0.0) { $0 + Double($1) }

    // The peer, in the same run.
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("numpy_peer.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, script.path, images.path, labels.path, String(repeats)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var peer: [String: Any] = [:]
    if process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: output) as? [String: Any] {
        peer = object
    } else {
        FileHandle.standardError.write(Data("privacy-lab-data-bench: numpy peer unavailable (\(python) with numpy needed)\n".utf8))
    }
    func ratio(_ key: String, _ ours: Double) -> Double? { (peer[key] as? Double).map { $0 / ours } }

    var result: [String: Any] = [
        "benchmark": "mnist-train-load", "repeats": repeats, "samples": floats.value.count,
        "privacylab.inflate_s": inflate.seconds,
        "privacylab.read_and_inflate_s": fileInflate.seconds,
        "privacylab.idx_uint8_s": raw.seconds,
        "privacylab.idx_float_with_labels_s": floats.seconds,
        "privacylab.sha256_compressed_s": sha.seconds,
        "privacylab.sha256_mb_per_s": Double(compressed.count) / sha.seconds / 1e6,
        "privacylab.registry_train_test_checked_s": registry.seconds,
        "privacylab.registry_train_test_unchecked_s": registryUnchecked.seconds,
        "privacylab.pixel_sum": checksum,
    ]
    for (key, value) in peer { result["numpy.\(key)"] = value }
    if let r = ratio("inflate", fileInflate.seconds) { result["ratio.inflate (numpy/ours)"] = r }
    if let r = ratio("idx_uint8", raw.seconds) { result["ratio.idx_uint8 (numpy/ours)"] = r }
    if let r = ratio("with_labels", floats.seconds) { result["ratio.float_with_labels (numpy/ours)"] = r }
    if json {
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        for key in result.keys.sorted() { print("\(key): \(result[key]!)") }
    }
} catch {
    fail("\(error)")
}
