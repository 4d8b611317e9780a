// The spec parser: YAML text → document → sweep → every trial's typed parameters (`plan`),
// exactly what `privacy-lab run` does before it stores anything.
import FuzzSupport
import PrivacyLab

let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    _ = try? runner.plan(specText: input.text, file: "/fuzz/spec.yaml", overrides: [])
    return 0
}
