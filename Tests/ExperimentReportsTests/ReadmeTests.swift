import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentSpecs
import ExperimentTestSupport
import Foundation
import Testing

/// The README's promises about the quickstart: the built-in spec is the committed file, and the
/// table the README shows is what the quickstart prints (written by
/// `scripts/update_readme_quickstart.py`).
@Suite("README quickstart")
struct ReadmeTests {
    static let repository = ExampleSpecTests.repository

    @Test("the quickstart built into the binary is experiments/quickstart.yaml byte for byte")
    func builtInSpecIsTheFile() throws {
        let file = try String(contentsOf: Self.repository.appendingPathComponent("experiments/quickstart.yaml"), encoding: .utf8)
        #expect(QuickstartSpec.text == file)
    }

    @Test("the README's quickstart table is what the quickstart prints")
    func readmeTableReproduces() async throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "```\ntarget: "))
        let end = try #require(readme.range(of: "\n```", range: start.upperBound..<readme.endIndex))
        let shown = String(readme[readme.index(start.lowerBound, offsetBy: 4)..<end.lowerBound])
        let w = try Workspace()
        let summary = try await ExperimentRunner(kinds: ExperimentCatalog.kinds).run(
            specText: QuickstartSpec.text, specURL: w.url.appendingPathComponent("quickstart.yaml"), options: w.options(jobs: 2))
        let printed = try #require(ResultRendering.attackTable(trials: summary.trials))
        #expect(printed.trimmingCharacters(in: .newlines) == shown)
    }
}
