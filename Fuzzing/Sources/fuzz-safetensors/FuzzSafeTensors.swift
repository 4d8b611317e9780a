// Safetensors files: the first byte picks what the rest is: 0 a safetensors file, parsed and
// every tensor converted; 1 a PyTorch state dict imported into a small fixed architecture and
// run on a batch; 2 a PyTorch layer list (JSON), validated and, when small enough to run
// quickly, built with random weights and run on a batch of zeros; 3 a PrivacyLab checkpoint
// (the store's model artifacts: architecture in the metadata), loaded and run when small.
import Foundation
import FuzzSupport
import PrivacyLab

/// Conv2d(1→2, 3×3) → BatchNorm2d(2) → ReLU → Flatten → Linear(8→3), on 1×4×4 inputs.
let fixedArchitecture = PyTorchArchitecture(inputShape: [1, 4, 4], layers: [
    .conv2d(inChannels: 1, outChannels: 2, kernelSize: 3), .batchNorm2d(numFeatures: 2), .relu, .flatten,
    .linear(inFeatures: 8, outFeatures: 3),
])

/// Whether a layer list is small enough to build and run in a fuzzing iteration.
func isSmall(_ architecture: PyTorchArchitecture) -> Bool {
    guard architecture.inputShape.allSatisfy({ (0...64).contains($0) }),
          architecture.inputShape.reduce(1, *) <= 4096, architecture.layers.count <= 16 else { return false }
    for layer in architecture.layers {
        switch layer {
        case let .linear(i, o, _): if i > 4096 || o > 64 { return false }
        case let .conv2d(i, o, k, s, p, _):
            if i > 8 || o > 8 || k.height > 8 || k.width > 8 || s.height > 8 || s.width > 8 || p.height > 8 || p.width > 8 { return false }
        case let .batchNorm1d(n, _, _, _), let .batchNorm2d(n, _, _, _): if n > 4096 { return false }
        case let .maxPool2d(k, s), let .avgPool2d(k, s): if k > 8 || (s ?? 0) > 8 { return false }
        default: break
        }
    }
    return true
}

func run(_ model: ImportedModel) {
    let shape = [2] + model.architecture.inputShape
    let logits = model.network.logits(Tensor(zeros: shape))
    precondition(logits.shape.first == 2, "import: a batch of 2 gave logits of shape \(logits.shape)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mode = input.takeByte() % 4
    let bytes = Data(input.bytes)
    switch mode {
    case 0:
        guard let file = try? SafeTensors.parse(bytes, source: "fuzz.safetensors") else { return 0 }
        for entry in file.entries {
            if entry.dtype.isConvertibleToFloat { _ = try? file.floats(entry) } else { _ = try? file.integers(entry) }
        }
    case 1:
        guard let model = try? ImportedModel(checkpoint: bytes, source: "fuzz.safetensors", architecture: fixedArchitecture) else { return 0 }
        run(model)
    case 3:
        guard let network = try? Sequential(checkpoint: bytes, source: "fuzz.safetensors"),
              network.inputShape.reduce(1, *) <= 4096, network.parameterCount <= 1 << 16 else { return 0 }
        let logits = network.logits(Tensor(zeros: [2] + network.inputShape))
        precondition(logits.shape.first == 2, "checkpoint: a batch of 2 gave logits of shape \(logits.shape)")
    default:
        guard let architecture = try? PyTorchArchitecture(json: bytes, source: "fuzz.json"),
              (try? architecture.validated(source: "fuzz.json")) != nil, isSmall(architecture),
              let model = try? ImportedModel(architecture: architecture, random: LabRandom(seed: 1)) else { return 0 }
        run(model)
    }
    return 0
}
