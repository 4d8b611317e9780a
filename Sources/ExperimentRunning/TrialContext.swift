import Codecs
import ExperimentStore
import Foundation
import LabRandom
import NeuralNetworks
import Tensors

/// What a trial gets from the runner: its random streams, where data lives, the artifact cache,
/// how much parallelism it may use, and a way to report progress.
public struct TrialContext: Sendable {
    public let trialIndex: Int
    /// The trial's seed; every random choice draws from a named stream of `random`.
    public let seed: UInt64
    public var random: LabRandom { LabRandom(seed: seed) }
    /// The folder datasets are read from.
    public let dataDirectory: URL
    /// Workers the trial may run in parallel (reference models, clients).
    public let workers: Int
    public let codeVersion: String
    /// Other code identities whose artifacts the user allowed this run to reuse.
    public let reusableCodeVersions: [String]
    /// The SHA-256 (hex) of each outside file the trial's parameters name, by path; part of the
    /// trial's key and of the key of every artifact the trial caches (`ArtifactKey.inputs`).
    public let inputDigests: [String: String]
    /// What stands for the content of inputs that are not files (`ExperimentKind.inputFingerprints`).
    public let inputFingerprints: [String]
    let cache: ArtifactCache
    package let datasets: DatasetCache
    let report: @Sendable (String) -> Void

    public init(trialIndex: Int, seed: UInt64, dataDirectory: URL, workers: Int, codeVersion: String,
                reusableCodeVersions: [String] = [],
                cache: ArtifactCache, datasets: DatasetCache, inputDigests: [String: String] = [:],
                inputFingerprints: [String] = [], report: @escaping @Sendable (String) -> Void) {
        self.inputDigests = inputDigests
        self.inputFingerprints = inputFingerprints
        self.trialIndex = trialIndex
        self.seed = seed
        self.dataDirectory = dataDirectory
        self.workers = workers
        self.codeVersion = codeVersion
        self.reusableCodeVersions = reusableCodeVersions
        self.cache = cache
        self.datasets = datasets
        self.report = report
    }

    /// Reports a line of progress for this trial.
    public func progress(_ message: String) { report(message) }

    /// A model from the cache, or trained by `train` and stored with `record` (what training
    /// reported: losses, the DP accountant's ε) in its checkpoint's metadata.
    ///
    /// - Parameters:
    ///   - role: what the model is to the trial (`target-model`, `reference-model-3`).
    ///   - recipe: everything that determines the model (spec sections as canonical JSON, the
    ///     seed and stream names, the indices it trains on); equal recipes share one artifact.
    public func cachedModel<Recipe: Encodable & Sendable, Record: Codable & Sendable>(
        role: String, recipe: Recipe, train: @escaping @Sendable () async throws -> (model: Sequential, record: Record)
    ) async throws -> (model: Sequential, record: Record, artifact: ArtifactReference) {
        let key = try await reusableKey(kind: "models", recipe: recipe)
        let data = try await cache.data(key: key, kind: "models", fileExtension: "safetensors") {
            let (model, record) = try await train()
            let text = String(decoding: try CanonicalJSON.encode(record), as: UTF8.self)
            return model.checkpointData(metadata: [Self.artifactKeyMetadata: key, Self.recordMetadata: text])
        }
        let source = (try? await cache.url(key: key))?.path ?? "artifact \(key)"
        let model = try Sequential(checkpoint: data, source: source)
        let metadata = try Checkpoint.decode(data, source: source).metadata
        guard let text = metadata[Self.recordMetadata],
              let record = try? JSONDecoder().decode(Record.self, from: Data(text.utf8)) else {
            throw ArtifactError(file: source, reason: "the cached model lacks its training record (\(Self.recordMetadata))")
        }
        return (model, record, ArtifactReference(role: role, key: key))
    }

    /// A model from the cache, or trained by `train` and stored; for models whose training
    /// reports nothing the trial needs.
    public func cachedModel<Recipe: Encodable & Sendable>(
        role: String, recipe: Recipe, train: @escaping @Sendable () async throws -> Sequential
    ) async throws -> (model: Sequential, artifact: ArtifactReference) {
        let result = try await cachedModel(role: role, recipe: recipe) { (model: try await train(), record: NoRecord()) }
        return (result.model, result.artifact)
    }

    /// The checkpoint metadata entry naming the artifact's key.
    public static let artifactKeyMetadata = "privacy-lab.artifact-key"
    /// The checkpoint metadata entry holding the training record, as canonical JSON.
    public static let recordMetadata = "privacy-lab.record"

    /// A float array from the cache, or computed and stored as `.npy`.
    public func cachedArray<Recipe: Encodable & Sendable>(
        role: String, recipe: Recipe, compute: @escaping @Sendable () async throws -> NumpyArray
    ) async throws -> (array: NumpyArray, artifact: ArtifactReference) {
        let key = try await reusableKey(kind: "arrays", recipe: recipe)
        let data = try await cache.data(key: key, kind: "arrays", fileExtension: "npy") { try await compute().npyData() }
        let source = (try? await cache.url(key: key))?.path ?? "artifact \(key)"
        return (try NumpyArray(npy: data, source: source), ArtifactReference(role: role, key: key))
    }

    /// The key of an artifact: this code's, unless the user allowed reusing another code's and
    /// an intact artifact exists under that code's key. Artifact keys hold the trial's input
    /// files (a model trained on a changed file is never reused) but not its other content
    /// fingerprints: a named dataset's content is fixed by the code's checksum list, which a
    /// load reads exactly or fails.
    func reusableKey<Recipe: Encodable & Sendable>(kind: String, recipe: Recipe) async throws -> String {
        let inputs = InputDigest.relative(inputDigests)
        let key = try ArtifactKey(kind: kind, code: codeVersion, inputs: inputs, recipe: recipe).hash()
        guard !reusableCodeVersions.isEmpty, await !cache.contains(key: key) else { return key }
        for code in reusableCodeVersions {
            let other = try ArtifactKey(kind: kind, code: code, inputs: inputs, recipe: recipe).hash()
            if await cache.contains(key: other) { return other }
        }
        return key
    }
}

/// The training record of a model whose training reports nothing a trial needs.
public struct NoRecord: Codable, Sendable {
    public init() {}
}
