// Executable Markdown notebooks: blocks, their outputs, replacing outputs, and planning every
// block's spec as `notebook run` does before it runs anything.
import Foundation
import FuzzSupport
import PrivacyLab

let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)
let url = URL(fileURLWithPath: "/fuzz/notebook.md")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNotebook(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    guard let notebook = try? Notebook(bytes: input.bytes, url: url), let blocks = try? notebook.blocks() else { return 0 }
    _ = try? notebook.currentOutputs()
    _ = try? notebook.replacingOutputs(blocks.map { "output of block \($0.fenceLine)" })
    for block in blocks { _ = try? runner.plan(specText: block.yaml, file: url.path, overrides: []) }
    return 0
}
