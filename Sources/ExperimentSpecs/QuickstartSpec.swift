/// The quickstart experiment, built into the binary so that `privacy-lab quickstart` runs from
/// any folder. It is `experiments/quickstart.yaml` byte for byte (a test compares them).
public enum QuickstartSpec {
    public static let text = """
    # The README's first command: a membership-inference experiment on generated data (no files,
    # no network, seconds). A target MLP overfits 450 of 1 200 examples; eight reference models
    # train on random halves; three attacks ask "was this example in the target's training set?".
    version: 1
    name: quickstart
    kind: membership-inference
    seed: 7
    data: {dataset: synthetic-gaussian, samples: 1600, features: 30, classes: 4, separation: 2}
    model: {architecture: mlp, hidden: [64], epochs: 30, batch_size: 32, optimizer: adam, learning_rate: 0.002}
    attack: {methods: [loss, lira, rmia], reference_models: 8, online: true, members: 450, non_members: 450, rmia_population: 300}
    """ + "\n"
}
