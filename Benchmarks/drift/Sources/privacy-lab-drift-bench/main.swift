import Foundation
import PrivacyLab

/// `privacy-lab-drift-bench --reference FILE --tested FILE --features F [--permutations P] [--repeats R] [--seed S]`
///
/// Reads two row-major float64 little-endian files (NumPy's `tofile`), runs the per-feature
/// Kolmogorov–Smirnov test (Bonferroni) and the MMD permutation test of `DriftDetection`, and
/// prints one JSON object: each test's results and its median wall time over the repeats.
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: privacy-lab-drift-bench --reference FILE --tested FILE --features F [--permutations P] [--repeats R] [--seed S]\n".utf8))
    exit(2)
}

func readDoubles(_ path: String) -> [Double] {
    guard let data = FileManager.default.contents(atPath: path), data.count % 8 == 0 else {
        FileHandle.standardError.write(Data("privacy-lab-drift-bench: \(path) is missing or not a whole number of float64 values\n".utf8))
        exit(1)
    }
    return data.withUnsafeBytes { raw in (0..<data.count / 8).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) } }
}

var arguments = Array(CommandLine.arguments.dropFirst())
var referencePath: String?, testedPath: String?, features = 0, permutations = 100, repeats = 3, seed: UInt64 = 1
while let flag = arguments.first {
    arguments.removeFirst()
    func value() -> String { guard !arguments.isEmpty else { usage() }; return arguments.removeFirst() }
    switch flag {
    case "--reference": referencePath = value()
    case "--tested": testedPath = value()
    case "--features": features = Int(value()) ?? { usage() }()
    case "--permutations": permutations = Int(value()) ?? { usage() }()
    case "--repeats": repeats = Int(value()) ?? { usage() }()
    case "--seed": seed = UInt64(value()) ?? { usage() }()
    default: usage()
    }
}
guard let referencePath, let testedPath, features > 0, repeats > 0 else { usage() }
let reference = readDoubles(referencePath), tested = readDoubles(testedPath)

func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

do {
    var ks: FeatureDriftTest.Result?
    var ksTimes: [Double] = []
    for _ in 0..<repeats {
        ksTimes.append(try seconds {
            let test = try FeatureDriftTest(reference: reference, features: features)
            ks = try test.test(tested)
        })
    }
    var mmd: MMDDriftTest.Result?
    var sigma = 0.0
    var mmdTimes: [Double] = []
    for _ in 0..<repeats {
        mmdTimes.append(try seconds {
            let test = try MMDDriftTest(reference: reference, features: features, permutations: permutations)
            sigma = test.sigma
            mmd = try test.test(tested, random: LabRandom(seed: seed))
        })
    }
    let result: [String: Any] = [
        "ks_p_values": ks!.pValues, "ks_statistics": ks!.statistics, "ks_threshold": ks!.threshold, "ks_drift": ks!.drift,
        "ks_seconds": median(ksTimes),
        "mmd2": mmd!.mmd2, "mmd_p_value": mmd!.pValue, "mmd_sigma": sigma, "mmd_drift": mmd!.drift, "mmd_seconds": median(mmdTimes),
    ]
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("privacy-lab-drift-bench: \(error)\n".utf8))
    exit(1)
}
