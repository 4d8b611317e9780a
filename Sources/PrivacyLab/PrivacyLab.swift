// The umbrella module: it only re-exports PrivacyLab's targets, so that
// `import PrivacyLab` gives a user the whole lab.
@_exported import Codecs
@_exported import Datasets
@_exported import DPTraining
@_exported import Experiments
@_exported import LabRandom
@_exported import NeuralNetworks
@_exported import PrivacyAccounting
@_exported import Tensors

/// The version of the PrivacyLab package, printed by `privacy-lab --version` and recorded
/// with every stored result.
public enum PrivacyLabVersion {
    public static let string = "0.1.0"
}
