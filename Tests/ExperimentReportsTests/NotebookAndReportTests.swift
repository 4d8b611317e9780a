import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Notebooks and reports")
struct NotebookAndReportTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])

    @Test("notebooks-md/quick-check.md reproduces its recorded outputs from scratch (notebook check)")
    func quickCheckNotebook() async throws {
        let notebook = try Notebook(url: Self.repository.appendingPathComponent("notebooks-md/quick-check.md"))
        let w = try Workspace()
        let fresh = try await notebook.run(runner: runner, options: w.options(jobs: 2), figuresDirectory: w.url.appendingPathComponent("figures"))
        let recorded = try notebook.currentOutputs()
        #expect(fresh.count == recorded.count && !fresh.isEmpty)
        for (now, before) in zip(fresh, recorded) {
            #expect(now.trimmingCharacters(in: .newlines) == before?.trimmingCharacters(in: .newlines))
        }
        // The figures it links are the committed ones, byte for byte.
        for file in try FileManager.default.contentsOfDirectory(atPath: w.url.appendingPathComponent("figures").path) {
            let committed = try Data(contentsOf: Self.repository.appendingPathComponent("notebooks-md/figures/\(file)"))
            #expect(try Data(contentsOf: w.url.appendingPathComponent("figures/\(file)")) == committed, "\(file)")
        }
    }

    @Test("running a notebook inserts outputs after each block and replaces them on the next run")
    func outputsReplaced() async throws {
        let w = try Workspace()
        let text = "# N\n\n```privacy-lab\nversion: 1\nname: n\nkind: train\ndata: {dataset: synthetic-gaussian, samples: 100}\nmodel: {epochs: 1}\n```\n\nafter\n"
        let url = try w.write("n.md", text)
        for _ in 0..<2 {
            let notebook = try Notebook(url: url)
            let outputs = try await notebook.run(runner: runner, options: w.options(jobs: 1), figuresDirectory: w.url.appendingPathComponent("figures"))
            try notebook.replacingOutputs(outputs).write(to: url, atomically: true, encoding: .utf8)
        }
        let final = try String(contentsOf: url, encoding: .utf8)
        #expect(final.components(separatedBy: Notebook.outputStart).count == 2)
        #expect(final.hasSuffix("after\n") && final.contains("| target.parameters |"))
        // A spec error inside a block is reported at the notebook's line.
        let bad = try w.write("bad.md", "intro\n\n```privacy-lab\nversion: 1\nname: b\nkind: train\ndata: {dataset: nope}\n```\n")
        await #expect { _ = try await Notebook(url: bad).run(runner: runner, options: w.options(jobs: 1), figuresDirectory: w.url) } throws: { error in
            "\(error)".contains("bad.md:7: data.dataset: unknown dataset 'nope'")
        }
    }

    @Test("reports are deterministic files with a table and figures")
    func reports() async throws {
        let w = try Workspace()
        let summary = try await runner.run(specURL: try w.write("s.yaml", sweepSpec), options: w.options(jobs: 2))
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let first = try ReportWriter.write(runIDs: [summary.run.id], store: store, to: w.url.appendingPathComponent("a"))
        let second = try ReportWriter.write(runIDs: [summary.run.id], store: store, to: w.url.appendingPathComponent("b"))
        #expect(first.map(\.lastPathComponent) == second.map(\.lastPathComponent))
        for (a, b) in zip(first, second) { #expect(try Data(contentsOf: a) == Data(contentsOf: b)) }
        let markdown = try String(contentsOf: first[0], encoding: .utf8)
        #expect(markdown.contains("| model.epochs | seed |") && markdown.contains(".svg)"))
        #expect(first.contains { $0.lastPathComponent.hasSuffix("target-loss-curve.svg") })
        let svg = try String(contentsOf: try #require(first.first { $0.pathExtension == "svg" }), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))
    }

    @Test("image grids are valid PNG files")
    func pngGrid() {
        let png = Figures.imageGridPNG(images: [[0, 0.5, 1, 0.25], [1, 1, 0, 0]], height: 2, width: 2, columns: 2, scale: 3)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(Array(png[12..<16]) == Array("IHDR".utf8))
        // Width: 2 gutters + 2 × (6 + 2) = 18; height 2 + 8 = 10.
        #expect(Array(png[16..<24]) == [0, 0, 0, 18, 0, 0, 0, 10])
        #expect(Array(png.suffix(8).prefix(4)) == Array("IEND".utf8))
    }
}
