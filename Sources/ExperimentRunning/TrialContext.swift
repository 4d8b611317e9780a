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
    /// trial's key, and to be part of the description of any artifact computed from the file.
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

    /// A model from the cache, or trained by `train` and stored.
    ///
    /// - Parameters:
    ///   - role: what the model is to the trial (`target-model`, `reference-model-3`).
    ///   - description: everything that determines the model (canonical spec JSON of its data
    ///     and training, the seed and stream names); equal descriptions share one artifact.
    public func cachedModel(role: String, description: String,
                            train: @escaping @Sendable () async throws -> (model: Sequential, metadata: [String: String]))
        async throws -> (model: Sequential, metadata: [String: String], artifact: ArtifactReference) {
        let key = await reusableKey(kind: "models", description: description + Self.inputDescription(digests: inputDigests))
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
        let key = await reusableKey(kind: "arrays", description: description + Self.inputDescription(digests: inputDigests))
        let data = try await cache.data(key: key, kind: "arrays", fileExtension: "npy") { try await compute().npyData() }
        let source = (try? await cache.url(key: key))?.path ?? "artifact \(key)"
        return (try NumpyArray(npy: data, source: source), ArtifactReference(role: role, key: key))
    }

    /// The key of an artifact: this code's, unless the user allowed reusing another code's and
    /// an intact artifact exists under that code's key.
    func reusableKey(kind: String, description: String) async -> String {
        let key = ArtifactCache.key(kind: kind, description: description, codeVersion: codeVersion)
        guard !reusableCodeVersions.isEmpty, await !cache.contains(key: key) else { return key }
        for code in reusableCodeVersions {
            let other = ArtifactCache.key(kind: kind, description: description, codeVersion: code)
            if await cache.contains(key: other) { return other }
        }
        return key
    }
}

extension TrialContext {
    /// The lines that put a trial's inputs into a key: each file as `<path>=<sha256>` in the order
    /// of the paths, a path taken relative to the folder that holds all the files (so that the
    /// same contents under swapped names, or an image moved to another class folder, differ,
    /// while moving the whole folder does not), then the fingerprints; empty when there are none.
    ///
    /// Artifact descriptions get the file digests (a model trained on a changed file is never
    /// reused); trial keys get both. A named dataset's fingerprint stays out of artifact keys:
    /// its content is fixed by the code's checksum list, which a load reads exactly or fails.
    static func inputDescription(digests: [String: String], fingerprints: [String] = []) -> String {
        var text = ""
        if !digests.isEmpty {
            let paths = digests.keys.map { $0.split(separator: "/", omittingEmptySubsequences: true) }
            var common = paths[0].dropLast().count
            for parts in paths {
                var k = 0
                while k < min(common, parts.count - 1) && parts[k] == paths[0][k] { k += 1 }
                common = k
            }
            text += "\ninputs: " + digests.sorted { $0.key < $1.key }.map { entry in
                entry.key.split(separator: "/", omittingEmptySubsequences: true).dropFirst(common).joined(separator: "/") + "=" + entry.value
            }.joined(separator: ",")
        }
        if !fingerprints.isEmpty { text += "\ncontent: " + fingerprints.joined(separator: ",") }
        return text
    }
}
