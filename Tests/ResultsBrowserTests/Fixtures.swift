import Codecs
import ExperimentKinds
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import ResultsBrowser
import TestSupport

/// A temporary folder, removed afterwards.
final class Scratch: @unchecked Sendable {
    let url: URL
    init() throws { url = makeTemporaryFolder(prefix: "pl-ui") }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// A store with the schema and no runs, opened read-only as `privacy-lab ui` opens it.
    func emptyStore() throws -> ResultStore {
        let file = url.appendingPathComponent("empty/store.sqlite")
        _ = try ResultStore(url: file)
        return try ResultStore(url: file, readOnly: true)
    }

    /// The quickstart run twice in-process (`privacy-lab quickstart`'s spec; the second run with
    /// `--set seed=8 --set model.epochs=10`): two membership-inference runs of one trial each, with
    /// ROC curves and bootstrap intervals. Returns the store file and the two runs.
    func quickstartStore() async throws -> (URL, [ExperimentRunner.Summary]) {
        let storeURL = url.appendingPathComponent("quickstart/store.sqlite")
        var summaries: [ExperimentRunner.Summary] = []
        for overrides in [[], ["seed=8", "model.epochs=10"]] {
            var options = ExperimentRunner.Options(dataDirectory: url, storeURL: storeURL, jobs: 2)
            options.overrides = overrides
            summaries.append(try await ExperimentRunner(kinds: ExperimentCatalog.kinds).run(
                specText: QuickstartSpec.text, specURL: url.appendingPathComponent("quickstart.yaml"), options: options))
        }
        return (storeURL, summaries)
    }
}

extension ResultsBrowser {
    /// The response to `GET target`.
    func get(_ target: String) -> BrowserResponse { respond(method: "GET", target: target) }
}

/// The number of non-overlapping occurrences of `needle`.
func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// The SHA-256 of every file under `folder` (relative path → hex digest): equal before and after
/// when nothing under it was written, created or removed.
func snapshot(_ folder: URL) throws -> [String: String] {
    var result: [String: String] = [:]
    guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [:] }
    for case let file as URL in files {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        result[file.path] = SHA256.hash(Array(try Data(contentsOf: file))).hex
    }
    return result
}
