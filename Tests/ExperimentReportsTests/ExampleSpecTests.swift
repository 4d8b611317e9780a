import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import Foundation
import Testing

/// Every spec in experiments/ and every block of the notebooks in notebooks-md/ decodes and plans
/// with this build (the README promises they run as written).
@Suite("Committed specs and notebooks")
struct ExampleSpecTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)

    static func files(in folder: String, ending: String) -> [URL] {
        let root = repository.appendingPathComponent(folder)
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        return (enumerator?.allObjects as? [URL] ?? []).filter { $0.pathExtension == ending }.sorted { $0.path < $1.path }
    }

    @Test("every experiments/**/*.yaml plans")
    func specsPlan() throws {
        let specs = Self.files(in: "experiments", ending: "yaml")
        #expect(specs.count >= 10)
        for spec in specs {
            let text = try String(contentsOf: spec, encoding: .utf8)
            #expect(throws: Never.self, "\(spec.lastPathComponent)") { _ = try runner.plan(specText: text, file: spec.path, overrides: []) }
        }
    }

    @Test("every notebook block plans")
    func notebooksPlan() throws {
        let notebooks = Self.files(in: "notebooks-md", ending: "md")
        #expect(notebooks.count >= 4)
        for url in notebooks {
            for block in try Notebook(url: url).blocks() {
                #expect(throws: Never.self, "\(url.lastPathComponent) line \(block.fenceLine + 1)") {
                    _ = try runner.plan(specText: block.yaml, file: url.path, overrides: [])
                }
            }
        }
    }
}
