import Datasets

/// Datasets loaded once per run and shared by its trials.
public actor DatasetCache {
    private var loaded: [AnyHashable: Task<Dataset, any Error>] = [:]

    public init() {}

    /// The dataset `key` stands for (a dataset name and folder, a spec's files): loaded by
    /// `load` the first time it is asked for, and shared after that. Keys of different types
    /// never match.
    public func dataset<Key: Hashable & Sendable>(key: Key, load: @escaping @Sendable () throws -> Dataset) async throws -> Dataset {
        if let task = loaded[AnyHashable(key)] { return try await task.value }
        let task = Task { () throws -> Dataset in try load() }
        loaded[AnyHashable(key)] = task
        return try await task.value
    }
}
