import Foundation
import PrivacyLab

@_silgen_name("mallopt") func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// `privacy-lab-bench nn [--json] [--threads N] [--repeats R] [--only mlp,cnn,loss] [--cnn-images N] [--data-dir DIR]`
/// `privacy-lab-bench dp [--json] [--threads N] [--repeats R] [--sigma S] [--data-dir DIR]`
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: privacy-lab-bench nn [--json] [--threads N] [--repeats R] [--only mlp,cnn,loss] [--cnn-images N] [--data-dir DIR]\n".utf8))
    exit(2)
}

// Keep large tensors in the heap instead of fresh zeroed mmaps for each allocation.
_ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
_ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 256 << 20)
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "gemm" { BLAS.threadCount = 1; print(gemmDiagnostic()); exit(0) }
if arguments.first == "dp" { runDPBenchmark(Array(arguments.dropFirst())) }
guard arguments.first == "nn" else { usage() }
arguments.removeFirst()
var benchmark = NeuralNetworkBenchmark()
var json = false
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { usage() }; return arguments.removeFirst() }
    switch flag {
    case "--json": json = true
    case "--threads": benchmark.threads = Int(value()) ?? { usage() }()
    case "--repeats": benchmark.repeats = Int(value()) ?? { usage() }()
    case "--loss-repeats": benchmark.lossRepeats = Int(value()) ?? { usage() }()
    case "--cnn-images": benchmark.cnnImages = Int(value()) ?? { usage() }()
    case "--warmup-batches": benchmark.warmupBatches = Int(value()) ?? { usage() }()
    case "--only": benchmark.only = Set(value().split(separator: ",").map(String.init))
    case "--data-dir": benchmark.dataDirectory = URL(fileURLWithPath: value())
    default: usage()
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
} catch {
    FileHandle.standardError.write(Data("privacy-lab-bench: \(error)\n".utf8))
    exit(1)
}
