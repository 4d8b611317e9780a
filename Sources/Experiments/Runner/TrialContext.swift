import Codecs
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
    /// The SHA-256 (hex) of each outside file the trial's parameters name, by path; part of the
    /// trial's key, and to be part of the description of any artifact computed from the file.
    public let inputDigests: [String: String]
    let cache: ArtifactCache
    let datasets: DatasetCache
    let report: @Sendable (String) -> Void

    public init(trialIndex: Int, seed: UInt64, dataDirectory: URL, workers: Int, codeVersion: String,
                cache: ArtifactCache, datasets: DatasetCache, inputDigests: [String: String] = [:],
                report: @escaping @Sendable (String) -> Void) {
        self.inputDigests = inputDigests
        self.trialIndex = trialIndex
        self.seed = seed
        self.dataDirectory = dataDirectory
        self.workers = workers
        self.codeVersion = codeVersion
        self.cache = cache
        self.datasets = datasets
        self.report = report
    }

    /// Reports a line of progress for this trial.
    public func progress(_ message: String) { report(message) }

    /// A model from the cache, or trained by `train` and stored.
    ///
    /// - Parameters:
    ///   - role: what the model is to the trial (`target-model`, `reference-model-3`).
    ///   - description: everything that determines the model (canonical spec JSON of its data
    ///     and training, the seed and stream names); equal descriptions share one artifact.
    public func cachedModel(role: String, description: String,
                            train: @escaping @Sendable () async throws -> (model: Sequential, metadata: [String: String]))
        async throws -> (model: Sequential, metadata: [String: String], artifact: ArtifactReference) {
        let key = ArtifactCache.key(kind: "models", description: description, codeVersion: codeVersion)
        let data = try await cache.data(key: key, kind: "models", fileExtension: "safetensors") {
            let (model, metadata) = try await train()
            return model.checkpointData(metadata: metadata.merging(["privacy-lab.artifact-key": key]) { a, _ in a })
        }
        let source = (try? await cache.url(key: key))?.path ?? "artifact \(key)"
        let model = try Sequential(checkpoint: data, source: source)
        let metadata = try Checkpoint.decode(data, source: source).metadata
        return (model, metadata, ArtifactReference(role: role, key: key))
    }

    /// A float array from the cache, or computed and stored as `.npy`.
    public func cachedArray(role: String, description: String,
                            compute: @escaping @Sendable () async throws -> NumpyArray) async throws -> (array: NumpyArray, artifact: ArtifactReference) {
        let key = ArtifactCache.key(kind: "arrays", description: description, codeVersion: codeVersion)
        let data = try await cache.data(key: key, kind: "arrays", fileExtension: "npy") { try await compute().npyData() }
        let source = (try? await cache.url(key: key))?.path ?? "artifact \(key)"
        return (try NumpyArray(npy: data, source: source), ArtifactReference(role: role, key: key))
    }
}
