// The umbrella module: it only re-exports PrivacyLab's targets, so that
// `import PrivacyLab` gives a user the whole lab.
@_exported import AttackMetrics
@_exported import Backdoors
@_exported import BigIntegerModule
@_exported import Codecs
@_exported import Datasets
@_exported import DriftDetection
@_exported import DPTraining
@_exported import Evasion
@_exported import ExperimentKinds
@_exported import ExperimentReports
@_exported import ExperimentRunning
@_exported import ExperimentSpecs
@_exported import ExperimentStore
@_exported import Federated
@_exported import LabRandom
@_exported import MembershipInference
@_exported import ModelAccess
@_exported import ModelExtraction
@_exported import ModelImport
@_exported import ModelInversion
@_exported import ModelServing
@_exported import ModelEndpoint
@_exported import MPCNetwork
@_exported import FederatedNetwork
@_exported import NeuralNetworks
@_exported import Paillier
@_exported import Poisoning
@_exported import PrivacyAccounting
@_exported import QueryDetection
@_exported import ResultsBrowser
@_exported import RingArithmetic
@_exported import SecretSharing
@_exported import Tensors
@_exported import ThreatTraining
@_exported import Transport

