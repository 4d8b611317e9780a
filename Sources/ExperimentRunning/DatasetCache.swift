import Datasets

/// Datasets loaded once per run and shared by its trials.
public actor DatasetCache {
    private var loaded: [String: Task<Dataset, any Error>] = [:]

    public init() {}

    /// The dataset `key` names (a dataset name and folder, or a spec's files): loaded by `load`
    /// the first time it is asked for, and shared after that.
    public func dataset(key: String, load: @escaping @Sendable () throws -> Dataset) async throws -> Dataset {
        if let task = loaded[key] { return try await task.value }
        let task = Task { () throws -> Dataset in try load() }
        loaded[key] = task
        return try await task.value
    }
}
