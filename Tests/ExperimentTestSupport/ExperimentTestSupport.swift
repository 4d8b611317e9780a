import ExperimentRunning
import Foundation
import TestSupport

// Helpers shared by the experiment targets' tests.

/// A temporary folder with a spec and a store, removed afterwards.
public final class Workspace {
    public let url: URL
    public init() throws {
        url = makeTemporaryFolder(prefix: "pl-exp")
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
    public func options(jobs: Int, store: String = "runs/store.sqlite") -> ExperimentRunner.Options {
        ExperimentRunner.Options(dataDirectory: url, storeURL: url.appendingPathComponent(store), jobs: jobs)
    }
}

/// A sweep of four small `train` trials (two epoch counts × two seeds) on generated data.
public let sweepSpec = """
version: 1
name: sweep
kind: train
seed: 5
data: {dataset: synthetic-gaussian, samples: 300, features: 6, classes: 3, separation: 2}
model: {architecture: mlp, hidden: [16], epochs: 3, batch_size: 32, dropout: 0.1}
sweep:
  model.epochs: [1, 3]
  seed: [5, 6]
"""