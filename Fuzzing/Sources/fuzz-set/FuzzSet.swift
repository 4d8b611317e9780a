// `--set key=value` overrides on a valid spec: the first byte picks one of the specs below
// (experiments/quickstart.yaml, experiments/train/digits-mlp.yaml, experiments/dp/quick-dp.yaml),
// the rest is split at newlines into up to eight overrides, then the spec is planned as `run`
// plans it.
import FuzzSupport
import PrivacyLab

let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)

let baseSpecs = [
    """
    version: 1
    name: quickstart
    kind: membership-inference
    seed: 7
    data: {dataset: synthetic-gaussian, samples: 1600, features: 30, classes: 4, separation: 2}
    model: {architecture: mlp, hidden: [64], epochs: 30, batch_size: 32, optimizer: adam, learning_rate: 0.002}
    attack: {methods: [loss, lira, rmia], reference_models: 8, online: true, members: 450, non_members: 450, rmia_population: 300}
    """,
    """
    version: 1
    name: digits-mlp
    kind: train
    seed: 7
    data: {dataset: digits, test_fraction: 0.25}
    model: {architecture: mlp, hidden: [128], epochs: 40, batch_size: 32, optimizer: adam, learning_rate: 0.001}
    sweep:
      model.epochs: [5, 20, 40]
    """,
    """
    version: 1
    name: quick-dp
    kind: dp-training
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 3000, features: 20, classes: 3, separation: 3}
    model: {architecture: mlp, hidden: [32], epochs: 5, batch_size: 128, optimizer: sgd, momentum: 0.9, learning_rate: 0.2}
    privacy: {epsilon: 1, delta: 1.0e-5, max_grad_norm: 1, noise: insecure-reproducible}
    sweep:
      privacy.epsilon: [1, 8]
    """,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let spec = baseSpecs[Int(input.takeByte()) % baseSpecs.count]
    let overrides = input.split(0x0A, limit: 8).map { String(decoding: $0, as: UTF8.self) }
    _ = try? runner.plan(specText: spec, file: "/fuzz/spec.yaml", overrides: overrides)
    return 0
}
