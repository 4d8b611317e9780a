// swift-tools-version: 6.1
// PrivacyLab: a research lab for attacking and defending machine-learning models.
// Layering (arrows point down only) is described in README.md and docs/ARCHITECTURE.md.
import PackageDescription

// The platform claim: PrivacyLab is built and tested on Linux (x86-64, glibc) only. Its native
// dependencies (OpenBLAS, GMP, zlib from the system's packages), its `/proc` and `flock` uses and
// every test and benchmark run there; a build elsewhere stops here instead of half-working.
#if !os(Linux)
#error("PrivacyLab builds on Linux only (see README.md, Two commands)")
#endif

let package = Package(
    name: "PrivacyLab",
    products: [
        .library(name: "PrivacyLab", targets: ["PrivacyLab"]),
        .executable(name: "privacy-lab", targets: ["privacy-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // The HTTP server of `privacy-lab ui` (ResultsBrowser). No traits: the lab needs neither
        // swift-configuration nor full Foundation in it, and a smaller build keeps CI short.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        // The Prometheus text format of `privacy-lab serve`'s /metrics (ModelServing only).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: Layer 0 — C libraries, reached only from layer 1 with `internal import`.
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CGMP", path: "Sources/CGMP", pkgConfig: "gmp",
            providers: [.apt(["libgmp-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // PrivacyLab's own kernels in C (element-wise exp, tanh, sigmoid, Adam; direct convolutions;
        // ring products), vectorised and cloned for AVX-512, AVX2 and the baseline. Built with the
        // package manager's own flags: each file sets its floating-point contraction by a pragma,
        // and the hot loops are written so that -O2 gives them -O3's code (see convolution.c).
        .target(name: "CKernels", path: "Sources/CKernels"),

        // MARK: Layer 1 — foundations.
        .target(name: "LabRandom"),
        .target(name: "Tensors", dependencies: ["COpenBLAS", "CKernels"]),
        // Codecs imports swift-crypto for SHA-256 (and Federated, for X25519 and HKDF).
        .target(name: "Codecs", dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "BigIntegerModule", dependencies: ["CGMP"]),
        .target(name: "RingArithmetic", dependencies: ["CKernels"]),

        // MARK: Layer 2 — mechanisms.
        .target(name: "Paillier", dependencies: ["BigIntegerModule", "LabRandom", "Codecs", "Tensors"]),
        .target(name: "AttackMetrics", dependencies: ["LabRandom"]),
        // Drift of input distributions: per-feature Kolmogorov–Smirnov and kernel MMD tests.
        .target(name: "DriftDetection", dependencies: ["LabRandom"]),
        // Stateful detectors of query-based attacks (Chen et al.'s k-NN, Blacklight, PRADA).
        .target(name: "QueryDetection", dependencies: ["Codecs"]),
        .target(name: "ModelAccess", dependencies: ["Tensors", "LabRandom"]),
        .target(name: "ModelEndpoint", dependencies: ["ModelAccess", "Tensors"]),
        .target(name: "SecretSharing", dependencies: ["LabRandom", "RingArithmetic"]),

        // MARK: Layer 2 — mechanisms.
        .target(name: "PrivacyAccounting"),
        // Framed, size-limited byte streams over TCP with mutual TLS (swift-nio, swift-nio-ssl);
        // development certificates (swift-certificates).
        .target(
            name: "Transport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // MARK: Layer 3 — MPC between processes: specs, TLS channels, the dealer as a service.
        .target(
            name: "MPCNetwork",
            dependencies: ["SecretSharing", "Transport", "Paillier", "BigIntegerModule", "Codecs", .product(name: "Yams", package: "Yams")]),

        // MARK: Layer 3 — learning.
        .target(
            name: "NeuralNetworks", dependencies: ["Tensors", "LabRandom", "ModelAccess", "Codecs"]),
        .target(
            name: "Datasets", dependencies: ["Codecs", "LabRandom", "Tensors", "AttackMetrics"]),
        // Imports PyTorch nn.Sequential classifiers (safetensors state dict + layer list); sits on
        // NeuralNetworks, whose engine runs them.
        .target(name: "ModelImport", dependencies: ["NeuralNetworks", "ModelAccess", "Codecs", "Tensors", "LabRandom"]),

        // MARK: Layer 4 — applied.
        .target(
            name: "DPTraining", dependencies: ["NeuralNetworks", "PrivacyAccounting", "LabRandom", "Tensors"]),
        .target(
            name: "Federated",
            dependencies: ["NeuralNetworks", "Datasets", "Paillier", "SecretSharing", "PrivacyAccounting", "BigIntegerModule",
                           "Codecs", "RingArithmetic", "LabRandom", "Tensors", .product(name: "Crypto", package: "swift-crypto")]),

        // MARK: Layer 5 — federated learning between processes: server and clients over Transport.
        .target(
            name: "FederatedNetwork",
            dependencies: ["Federated", "Transport", "BigIntegerModule", "LabRandom"]),

        // MARK: Layer 5 — threats.
        .target(
            name: "MembershipInference",
            dependencies: ["AttackMetrics", "ModelAccess", "Tensors", "LabRandom"]),
        .target(
            name: "Evasion", dependencies: ["ModelAccess", "Tensors", "LabRandom"]),
        .target(name: "ModelExtraction", dependencies: ["ModelAccess", "Tensors", "LabRandom"]),
        .target(
            name: "Poisoning", dependencies: ["ModelAccess", "Tensors", "LabRandom"]),
        .target(
            name: "ModelInversion",
            dependencies: ["ModelAccess", "Tensors", "LabRandom"]),
        .target(
            name: "Backdoors",
            dependencies: ["AttackMetrics", "ModelAccess", "Tensors", "LabRandom"]),

        // MARK: Layer 6 — threat training: the threats' and defences' trainings of PrivacyLab
        // networks (adversarial training, distillation, fine-tuning after pruning, unlearning, shadow
        // attack models, federated victims' updates), kept out of the threat targets.
        .target(
            name: "ThreatTraining",
            dependencies: ["Backdoors", "Evasion", "MembershipInference", "ModelInversion", "ModelAccess", "NeuralNetworks",
                           "Tensors", "LabRandom"]),

        // MARK: Layer 7 — experiment specs (YAML → typed trees) and the results store with its
        // content-addressed artifacts.
        .target(name: "ExperimentSpecs", dependencies: ["Codecs", .product(name: "Yams", package: "Yams")]),
        .target(name: "ExperimentStore", dependencies: ["Codecs", .product(name: "GRDB", package: "GRDB.swift")]),

        // MARK: Layer 8 — the runner: plans trials, keys and caches them, runs them in parallel.
        .target(
            name: "ExperimentRunning",
            dependencies: ["ExperimentSpecs", "ExperimentStore", "Codecs", "Datasets", "NeuralNetworks", "LabRandom", "Tensors"],
            plugins: ["CodeFingerprint"]),

        // MARK: Layer 9 — the experiment kinds (each calls the library through the runner's cache),
        // and reports, figures and notebooks.
        .target(
            name: "ExperimentKinds",
            dependencies: [
                "ExperimentRunning", "ExperimentSpecs", "ExperimentStore",
                "LabRandom", "Tensors", "NeuralNetworks", "Codecs", "Datasets", "AttackMetrics", "ModelAccess",
                "MembershipInference", "PrivacyAccounting", "DPTraining", "ModelInversion", "Federated", "Paillier", "Evasion", "Poisoning", "Backdoors", "ModelExtraction",
                "ModelImport", "ThreatTraining", "DriftDetection", "FederatedNetwork", "Transport",
                "QueryDetection", "ModelEndpoint",
            ]),
        .target(name: "ExperimentReports", dependencies: ["ExperimentRunning", "ExperimentSpecs", "ExperimentStore", "Codecs"]),

        // MARK: Layer 10 — the results browser: stored runs and trials as local web pages
        // (`privacy-lab ui`), drawn with the reports' figures, served by Hummingbird.
        .target(
            name: "ResultsBrowser",
            dependencies: ["ExperimentReports", "ExperimentStore", "ExperimentSpecs", "Codecs",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")]),

        // A model served over HTTP (`privacy-lab serve`): tokens, rate limits, budgets, output
        // policies, detectors, the query log, and monitoring (drift of the inputs and predictions,
        // alerts, Prometheus metrics), behind Hummingbird.
        .target(
            name: "ModelServing",
            dependencies: ["ModelAccess", "QueryDetection", "DriftDetection", "Codecs", "Tensors",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus")]),

        // The fingerprint of the sources every result is keyed by (see Plugins/CodeFingerprint).
        .executableTarget(name: "privacy-lab-fingerprint", path: "Plugins/CodeFingerprintTool"),
        .plugin(name: "CodeFingerprint", capability: .buildTool(), dependencies: ["privacy-lab-fingerprint"],
                path: "Plugins/CodeFingerprint"),

        // MARK: Layers 11 and 12 — the umbrella and the command-line tool.
        .target(
            name: "PrivacyLab",
            dependencies: ["LabRandom", "Tensors", "NeuralNetworks", "Codecs", "Datasets",
                           "ExperimentSpecs", "ExperimentStore", "ExperimentRunning", "ExperimentKinds", "ExperimentReports",
                           "BigIntegerModule", "Paillier", "AttackMetrics", "DriftDetection", "ModelAccess", "ModelExtraction", "MembershipInference",
                           "SecretSharing", "PrivacyAccounting", "DPTraining", "ModelInversion", "Federated", "Evasion", "Poisoning", "Backdoors",
                           "ModelImport", "RingArithmetic", "ThreatTraining", "Transport", "MPCNetwork", "FederatedNetwork", "ResultsBrowser",
                           "QueryDetection", "ModelServing", "ModelEndpoint"]),
        .executableTarget(
            name: "privacy-lab",
            dependencies: [
                "PrivacyLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Benchmarks are a nested package (Benchmarks/Package.swift), so building PrivacyLab never builds them.

        // MARK: Tests — one test target per source target, and the helpers they share.
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .target(name: "NetworkTestSupport", dependencies: ["Transport"], path: "Tests/NetworkTestSupport"),
        .testTarget(name: "TransportTests", dependencies: ["NetworkTestSupport", "Transport"]),
        .testTarget(name: "LabRandomTests", dependencies: ["LabRandom"], resources: [.copy("Vectors")]),
        .testTarget(name: "DriftDetectionTests", dependencies: ["DriftDetection", "LabRandom", "TestSupport"]),
        .testTarget(name: "QueryDetectionTests", dependencies: ["QueryDetection", "LabRandom", "TestSupport"]),
        .testTarget(name: "ModelServingTests", dependencies: ["ModelServing", "ModelEndpoint", "ModelAccess", "Tensors", "Codecs", "LabRandom",
                                                             "NeuralNetworks", "TestSupport", "NetworkTestSupport"]),
        .testTarget(name: "ModelExtractionTests", dependencies: ["ModelExtraction", "ModelAccess", "NeuralNetworks", "Tensors", "LabRandom"]),
        .testTarget(name: "ModelAccessTests", dependencies: ["ModelAccess", "Tensors", "LabRandom"]),
        .testTarget(
            name: "ThreatTrainingTests",
            dependencies: ["TestSupport", "ThreatTraining", "Evasion", "Backdoors", "NeuralNetworks", "Datasets", "Tensors", "LabRandom"]),
        .testTarget(name: "TensorsTests", dependencies: ["TestSupport", "Tensors", "LabRandom"]),
        .target(name: "ExperimentTestSupport", dependencies: ["TestSupport", "ExperimentRunning"], path: "Tests/ExperimentTestSupport"),
        .testTarget(name: "ExperimentSpecsTests", dependencies: ["ExperimentSpecs", "ExperimentRunning", "ExperimentKinds"]),
        .testTarget(name: "ExperimentStoreTests", dependencies: ["ExperimentTestSupport", "ExperimentStore", "Codecs"]),
        .testTarget(
            name: "ExperimentRunningTests",
            dependencies: ["TestSupport", "ExperimentTestSupport", "ExperimentRunning", "ExperimentSpecs", "ExperimentStore", "ExperimentKinds",
                           "ExperimentReports", "Codecs", "NeuralNetworks", "LabRandom", "Tensors"]),
        .testTarget(
            name: "ExperimentKindsTests",
            dependencies: ["TestSupport", "ExperimentTestSupport", "ExperimentKinds", "ExperimentRunning", "ExperimentSpecs", "ExperimentStore",
                           "ExperimentReports", "AttackMetrics", "NeuralNetworks", "LabRandom", "Codecs", "MembershipInference", "ModelImport",
                           "Datasets", "Tensors"]),
        .testTarget(
            name: "ExperimentReportsTests",
            dependencies: ["TestSupport", "ExperimentTestSupport", "ExperimentReports", "ExperimentRunning", "ExperimentSpecs", "ExperimentStore",
                           "ExperimentKinds", "Codecs"]),
        .testTarget(
            name: "ResultsBrowserTests",
            dependencies: ["TestSupport", "ExperimentTestSupport", "ResultsBrowser", "ExperimentReports", "ExperimentRunning",
                           "ExperimentSpecs", "ExperimentStore", "ExperimentKinds", "Codecs"]),
        .testTarget(
            name: "NeuralNetworksTests", dependencies: ["TestSupport", "NeuralNetworks", "Tensors", "LabRandom", "Datasets"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "DatasetsTests", dependencies: ["Datasets", "AttackMetrics", "Codecs", "LabRandom"],
            exclude: ["make_fixtures.py"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BigIntegerModuleTests", dependencies: ["BigIntegerModule"]),
        .testTarget(
            name: "PaillierTests", dependencies: ["TestSupport", "Paillier", "BigIntegerModule"],
            resources: [.copy("Vectors")]),
        .testTarget(name: "AttackMetricsTests", dependencies: ["AttackMetrics", "LabRandom"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MembershipInferenceTests",
            dependencies: [
                "MembershipInference", "ThreatTraining", "AttackMetrics", "ModelAccess", "NeuralNetworks", "Datasets", "Tensors",
                "LabRandom",
            ]),
        .testTarget(name: "MPCNetworkTests", dependencies: ["NetworkTestSupport", "MPCNetwork", "Transport", "SecretSharing", "Datasets", "LabRandom", "Codecs"]),
        .testTarget(
            name: "FederatedNetworkTests",
            dependencies: ["NetworkTestSupport", "FederatedNetwork", "Federated", "ExperimentKinds", "ExperimentRunning", "Datasets", "Transport",
                           "LabRandom"]),
        .testTarget(name: "SecretSharingTests", dependencies: ["SecretSharing", "Datasets", "LabRandom", "RingArithmetic"]),
        .testTarget(name: "RingArithmeticTests", dependencies: ["RingArithmetic", "LabRandom"]),
        .testTarget(
            name: "PrivacyAccountingTests", dependencies: ["PrivacyAccounting"],
            exclude: ["generate_vectors.py"], resources: [.copy("Vectors")]),
        .testTarget(
            name: "DPTrainingTests", dependencies: ["DPTraining", "NeuralNetworks", "PrivacyAccounting", "LabRandom", "Tensors"],
            exclude: ["chacha_reference.py"]),
        .testTarget(
            name: "ModelInversionTests",
            dependencies: ["ModelInversion", "ThreatTraining", "ModelAccess", "NeuralNetworks", "Datasets", "Tensors", "LabRandom"]),
        .testTarget(
            name: "FederatedTests",
            dependencies: ["TestSupport", "Federated", "NeuralNetworks", "Datasets", "Paillier", "BigIntegerModule", "PrivacyAccounting", "LabRandom", "Tensors"]),
        .testTarget(
            name: "EvasionTests", dependencies: ["TestSupport", "Evasion", "ThreatTraining", "ModelAccess", "NeuralNetworks", "Datasets", "Tensors", "LabRandom"]),
        .testTarget(
            name: "PoisoningTests", dependencies: ["Poisoning", "ModelAccess", "NeuralNetworks", "Datasets", "Tensors", "LabRandom"]),
        .testTarget(
            name: "ModelImportTests", dependencies: ["ModelImport", "ModelAccess", "NeuralNetworks", "Tensors", "LabRandom"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "BackdoorsTests",
            dependencies: ["TestSupport", "Backdoors", "ThreatTraining", "ModelAccess", "NeuralNetworks", "Datasets", "Tensors", "LabRandom"]),
    ]
)
