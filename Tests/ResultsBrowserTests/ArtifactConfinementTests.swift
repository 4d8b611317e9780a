import Codecs
import ExperimentStore
import Foundation
import ResultsBrowser
import Testing

/// The browser never shows a file outside the store: artifacts are read only inside the store's
/// artifacts folder, whatever path the database records or whatever link sits there.
@Suite("Results browser: files outside the store")
struct ArtifactConfinementTests {
    /// A store with three trials whose image-grid artifact (the same 2×4×4 `.npy` bytes) lies
    /// inside the artifacts folder (trial 0), at a recorded path `../../outside.npy` (trial 1),
    /// and behind a symbolic link inside the folder to a file outside it (trial 2).
    static func store(in scratch: Scratch) async throws -> (URL, outside: URL) {
        let url = scratch.url.appendingPathComponent("store/store.sqlite")
        let store = try ResultStore(url: url)
        let bytes = NumpyArray(shape: [2, 4, 4], values: (0..<32).map { Float($0) / 31 }).npyData()
        let outside = scratch.url.appendingPathComponent("outside.npy")
        try bytes.write(to: outside)
        let digest = SHA256.hash(Array(bytes)).hex
        let cache = ArtifactCache(store: store)
        _ = try await cache.data(key: "inside", kind: "arrays", fileExtension: "npy") { bytes }
        _ = try await cache.data(key: "linked", kind: "arrays", fileExtension: "npy") { bytes }
        try store.recordArtifactForTesting(key: "escaping", kind: "arrays", path: "../../outside.npy", byteCount: bytes.count, sha256: digest)
        let linked = store.artifactsDirectory.appendingPathComponent("arrays/linked.npy")
        try FileManager.default.removeItem(at: linked)
        try FileManager.default.createSymbolicLink(at: linked, withDestinationURL: outside)

        let run = RunRecord(id: "r-files", name: "files", kind: "audit", seed: 1, specFile: "s.yaml", specText: "name: files",
                            overrides: [], specHash: "h", codeVersion: "c", status: .complete, trialCount: 3,
                            createdAt: Date(timeIntervalSince1970: 0), finishedAt: nil)
        try store.createRun(run, trials: (0..<3).map { ($0, "{\"trial\":\($0)}", 1, "k\($0)") })
        for (index, key) in ["inside", "escaping", "linked"].enumerated() {
            try store.completeTrial(runID: run.id, index: index, outcome: TrialOutcome(
                metrics: [Metric(name: "x.auc", value: 0.5)], artifacts: [ArtifactReference(role: "image-grid/samples/2", key: key)]), seconds: 0)
        }
        return (url, outside)
    }

    @Test("an artifact inside the folder is shown; one recorded as ../ or linked to a file outside is not read")
    func confinement() async throws {
        let scratch = try Scratch()
        let (url, outside) = try await Self.store(in: scratch)
        let store = try ResultStore(url: url, readOnly: true)
        let browser = ResultsBrowser(store: store)
        // The control: the same bytes inside the folder make an image.
        #expect(occurrences(of: "<img ", in: browser.get("/trial?run=r-files&index=0").text) == 1)
        #expect(try ArtifactCache.verifiedData(key: "inside", store: store) != nil)
        for index in [1, 2] {
            let page = browser.get("/trial?run=r-files&index=\(index)")
            #expect(page.status == 200)
            #expect(occurrences(of: "<img ", in: page.text) == 0, "trial \(index)")
            #expect(!page.text.contains(outside.path))
        }
        #expect(try ArtifactCache.verifiedData(key: "escaping", store: store) == nil)
        #expect(try ArtifactCache.verifiedData(key: "linked", store: store) == nil)
        // Exports and comparisons read them no more than the page does.
        #expect(occurrences(of: "<img ", in: browser.get("/trial?run=r-files&index=1&format=html").text) == 0)
        #expect(occurrences(of: "<img ", in: browser.get("/compare?t=r-files/1&t=r-files/2").text) == 0)
    }

    @Test("an absolute recorded path or one through a linked folder is not read either")
    func absoluteAndLinkedFolder() async throws {
        let scratch = try Scratch()
        let (url, outside) = try await Self.store(in: scratch)
        let writable = try ResultStore(url: url)
        let bytes = try Data(contentsOf: outside)
        let digest = SHA256.hash(Array(bytes)).hex
        try writable.recordArtifactForTesting(key: "absolute", kind: "arrays", path: outside.path, byteCount: bytes.count, sha256: digest)
        let folderLink = writable.artifactsDirectory.appendingPathComponent("elsewhere")
        try FileManager.default.createSymbolicLink(at: folderLink, withDestinationURL: scratch.url)
        try writable.recordArtifactForTesting(key: "through-folder", kind: "arrays", path: "elsewhere/outside.npy", byteCount: bytes.count, sha256: digest)
        let store = try ResultStore(url: url, readOnly: true)
        #expect(try ArtifactCache.verifiedData(key: "absolute", store: store) == nil)
        #expect(try ArtifactCache.verifiedData(key: "through-folder", store: store) == nil)
    }
}
