import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// A kind that reads one outside file and reports its size: the smallest kind whose results
/// depend on a file's content.
enum FileSizeKind: ExperimentKind {
    static let name = "file-size"
    static let summary = "report the size of a file"
    struct Parameters: Sendable { var file: URL }
    static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let r = try body.section("input")
        let file = try r.inputFile("file")
        try r.finish()
        return Parameters(file: file)
    }
    static func inputFiles(of parameters: Parameters) -> [URL] { [parameters.file] }
    static func run(_ parameters: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let data = try Data(contentsOf: parameters.file)
        return TrialOutcome(metrics: [Metric(part: "file", "bytes", Double(data.count)),
                                      Metric(part: "file", "digests", Double(context.inputDigests.count))])
    }
}

@Suite("Trial keys: code and input files")
struct CodeAndInputKeyTests {
    @Test("a trial's key holds the content of the files it reads: a changed file is recomputed, an unchanged one reused")
    func inputFileContentIsInTheKey() async throws {
        let w = try Workspace()
        let runner = ExperimentRunner(kinds: [AnyExperimentKind(FileSizeKind.self)])
        _ = try w.write("data.txt", "abc")
        // The path is relative to the spec's folder.
        let spec = try w.write("s.yaml", "version: 1\nname: f\nkind: file-size\nseed: 1\ninput: {file: data.txt}\n")
        let first = try await runner.run(specURL: spec, options: w.options(jobs: 1))
        #expect(first.computed == 1 && first.trials[0].metrics.contains(Metric(part: "file", "bytes", 3)))
        #expect(first.trials[0].metrics.contains(Metric(part: "file", "digests", 1)))
        let again = try await runner.run(specURL: spec, options: w.options(jobs: 1))
        #expect(again.computed == 0)
        _ = try w.write("data.txt", "abcdef")
        let changed = try await runner.run(specURL: spec, options: w.options(jobs: 1))
        #expect(changed.computed == 1 && changed.trials[0].metrics.contains(Metric(part: "file", "bytes", 6)))
    }

    @Test("a missing input file is an error naming it before anything runs")
    func missingInputFile() async throws {
        let w = try Workspace()
        let runner = ExperimentRunner(kinds: [AnyExperimentKind(FileSizeKind.self)])
        let spec = try w.write("s.yaml", "version: 1\nname: f\nkind: file-size\nseed: 1\ninput: {file: absent.npy}\n")
        let error = await #expect(throws: RunnerError.self) { try await runner.run(specURL: spec, options: w.options(jobs: 1)) }
        #expect(error?.description.contains(w.url.appendingPathComponent("absent.npy").path) == true)
        #expect(!FileManager.default.fileExists(atPath: w.url.appendingPathComponent("runs/store.sqlite").path))
    }

    @Test("results of other code are recomputed, and reused only when that code is named")
    func otherCodeIsNotReused() async throws {
        let w = try Workspace()
        let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])
        let spec = try w.write("s.yaml", sweepSpec)
        var a = w.options(jobs: 2)
        a.codeVersion = "test+sources.a"
        let first = try await runner.run(specURL: spec, options: a)
        #expect(first.computed == 4)
        let models = w.url.appendingPathComponent("runs/artifacts/models")
        let modelCount = try FileManager.default.contentsOfDirectory(atPath: models.path).count
        var b = w.options(jobs: 2)
        b.codeVersion = "test+sources.b"
        let second = try await runner.run(specURL: spec, options: b)
        #expect(second.computed == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).count == 2 * modelCount)
        var c = w.options(jobs: 2)
        c.codeVersion = "test+sources.c"
        c.reusableCodeVersions = ["test+sources.a"]
        let third = try await runner.run(specURL: spec, options: c)
        #expect(third.computed == 0)
        // The run records the code that asked for it, and its JSON export says so.
        #expect(third.run.codeVersion == "test+sources.c")
        #expect(ResultRendering.json(run: third.run, trials: third.trials).contains("\"code\":\"test+sources.c\""))
        #expect(third.trials.map { $0.metrics.sorted { $0.name < $1.name } } == first.trials.map { $0.metrics.sorted { $0.name < $1.name } })
        #expect(PrivacyLabVersion.code.hasPrefix(PrivacyLabVersion.string + "+sources."))
        #expect(PrivacyLabVersion.sourceFingerprint.count == 64 && PrivacyLabVersion.sourceFingerprint.allSatisfy(\.isHexDigit))
    }
}

@Suite("Run ids")
struct RunIdTests {
    @Test("a run-id prefix finds the one run it starts, and lists the runs when it starts several")
    func prefixes() async throws {
        let w = try Workspace()
        let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])
        let spec = try w.write("s.yaml", "version: 1\nname: p\nkind: train\nseed: 1\ndata: {dataset: synthetic-gaussian, samples: 60}\nmodel: {epochs: 1}\n")
        let first = try await runner.run(specURL: spec, options: w.options(jobs: 1))
        var changed = w.options(jobs: 1)
        changed.overrides = ["model.epochs=2"]
        let second = try await runner.run(specURL: spec, options: changed)
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        #expect(try store.run(first.run.id).id == first.run.id)
        #expect(try store.run(String(second.run.id.dropLast(2))).id == second.run.id)
        // "r-" starts both ids: an error that lists them, not a guess.
        let error = #expect(throws: StoreError.self) { try store.run("r-") }
        #expect(error?.description.contains(first.run.id) == true && error?.description.contains(second.run.id) == true)
        // '%' and '_' are not wildcards.
        #expect(throws: StoreError.self) { try store.run("r%") }
        #expect(throws: StoreError.self) { try store.run("nothing") }
    }
}
