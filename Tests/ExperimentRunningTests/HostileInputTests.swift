import Codecs
import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// Specs, files and artifacts crafted to exhaust or crash the lab: each gets one clear error
/// (naming the file, the key and the limit) before anything is allocated or stored.
@Suite("Hostile inputs")
struct HostileInputTests {
    let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)

    func planError(_ yaml: String, overrides: [String] = []) -> SpecError? {
        do { _ = try runner.plan(specText: yaml, file: "exp.yaml", overrides: overrides); return nil } catch { return error }
    }

    static let valid = """
    version: 1
    name: t
    kind: train
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 100}
    model: {architecture: mlp, hidden: [8], epochs: 1}
    """

    @Test("a YAML alias bomb is refused at its first anchor, and so is any alias")
    func aliasBomb() {
        // "Billion laughs": each level repeats the previous one 9 times; expanded, 9⁹ strings.
        var yaml = "version: 1\nname: bomb\nkind: train\nlol0: &l0 [lol]\n"
        for level in 1...9 { yaml += "lol\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ",") + "]\n" }
        #expect(yaml.utf8.count < 700)
        let error = planError(yaml)
        #expect(error?.description.contains("exp.yaml:4: YAML anchors and aliases are not supported in specs (found '&l0')") == true,
                "\(String(describing: error))")
        // A harmless alias in an otherwise valid spec is refused just the same, wherever it is.
        let aliased = Self.valid.replacingOccurrences(of: "hidden: [8]", with: "hidden: &h [8]") + "\nsweep:\n  model.hidden: [*h]\n"
        #expect(planError(aliased)?.description.contains("exp.yaml:6: YAML anchors and aliases are not supported") == true)
        for text in ["\nx: &k name\n*k : 2\n", "\nx:\n  - *k\n", "\nx: {a: 1, b: *k}\n", "\nx: !!str &k v\n", "\n? *k\n: 1\n"] {
            #expect(planError(Self.valid + text)?.description.contains("anchors and aliases are not supported") == true, "\(text)")
        }
        // `&` and `*` inside scalars, quotes, comments and block scalars are text, not aliases.
        let prose = Self.valid + "\n# *stars* & ampersands\n" + "notes: |\n  - *not an alias*\n  & neither\nmore: 'it''s *x'\nmath: 2*3 & 4\n"
        #expect(planError(prose)?.description.contains("unknown key") == true, "\(String(describing: planError(prose)))")
    }

    @Test("a sweep is checked by the product of its lists before it is expanded")
    func sweepProduct() {
        let small = Self.valid + "\nsweep:\n  model.epochs: [\((1...30).map(String.init).joined(separator: ","))]\n"
            + "  seed: [\((1...30).map(String.init).joined(separator: ","))]\n  data.samples: [\((100...129).map(String.init).joined(separator: ","))]\n"
        let error = planError(small)
        #expect(error?.keyPath == "sweep")
        #expect(error?.description.contains("30 × 30 × 30 = 27000 trials; the limit is \(ExperimentDocument.maximumTrials) trials per spec") == true,
                "\(String(describing: error))")
        // 10¹² combinations from a few hundred bytes: one error, nothing expanded.
        var huge = Self.valid + "\nsweep:\n"
        for key in ["model.epochs", "seed", "data.samples", "data.features", "data.classes", "data.separation"] {
            huge += "  \(key): [\((1...100).map { String($0 + 10) }.joined(separator: ","))]\n"
        }
        let hugeError = planError(huge)
        #expect(hugeError?.description.contains("= 1000000000000 trials; the limit is") == true, "\(String(describing: hugeError))")
        // Overflowing Int is reported, not trapped on.
        var overflow = Self.valid + "\nsweep:\n"
        for index in 0..<10 { overflow += "  model.k\(index): [\((1...100).map(String.init).joined(separator: ","))]\n" }
        #expect(planError(overflow)?.description.contains("more than \(Int.max) trials") == true)
    }

    @Test("data and models are checked by product against the budget, naming the key and the limit")
    func budget() {
        let data = planError(Self.valid.replacingOccurrences(of: "samples: 100", with: "samples: 10000000, features: 100000"))
        #expect(data?.keyPath == "data.samples")
        #expect(data?.description.contains("samples × features = 10000000 × 100000") == true && data?.description.contains("\(SpecBudget.maximumDataValues)") == true,
                "\(String(describing: data))")
        let model = planError(Self.valid.replacingOccurrences(of: "hidden: [8]", with: "hidden: [1000000, 1000000]"))
        #expect(model?.keyPath == "model.hidden")
        #expect(model?.description.contains("more than the limit of \(SpecBudget.maximumModelParameters)") == true, "\(String(describing: model))")
        let batch = planError(Self.valid.replacingOccurrences(of: "hidden: [8]", with: "hidden: [100000], batch_size: 1000000"))
        #expect(batch?.keyPath == "model.batch_size")
        #expect(batch?.description.contains("activations, more than the limit of \(SpecBudget.maximumBatchActivations)") == true, "\(String(describing: batch))")
        let convolutions = planError(Self.valid.replacingOccurrences(of: "synthetic-gaussian, samples: 100", with: "mnist")
            .replacingOccurrences(of: "architecture: mlp, hidden: [8]", with: "architecture: cnn, channels: [4096, 4096], kernel_size: 15"))
        #expect(convolutions?.keyPath == "model.channels", "\(String(describing: convolutions))")
        // The same limits hold inside other kinds (here a federated spec's local batch).
        let federated = planError("""
        version: 1
        name: f
        kind: federated
        data: {dataset: synthetic-gaussian, samples: 1000}
        model: {architecture: mlp, hidden: [100000]}
        local: {batch_size: 1000000}
        """)
        #expect(federated?.keyPath == "local.batch_size", "\(String(describing: federated))")
        // A valid spec stays valid.
        #expect(planError(Self.valid) == nil)
    }

    @Test("the PLD accountant's grid is checked while the spec is decoded")
    func pldGrid() {
        let spec = """
        version: 1
        name: dp
        kind: dp-training
        data: {dataset: synthetic-gaussian, samples: 200}
        model: {architecture: mlp, hidden: [8], epochs: 1}
        privacy: {noise_multiplier: 0.001, accountant: pld}
        """
        let error = planError(spec)
        #expect(error?.keyPath == "privacy.noise_multiplier", "\(String(describing: error))")
        #expect(error?.description.contains("accountant: rdp") == true)
        #expect(planError(spec.replacingOccurrences(of: "0.001", with: "1.1")) == nil)
    }

    @Test("a run interrupted while planning stores nothing")
    func interruptedPlanning() async throws {
        let w = try Workspace()
        let spec = try w.write("s.yaml", sweepSpec)
        let options = w.options(jobs: 1)
        let runner = self.runner
        let task = Task { try await runner.run(specURL: spec, options: options) }
        task.cancel()
        let result = await task.result
        guard case let .failure(error) = result, case RunnerError.cancelledBeforeStart = error else {
            Issue.record("expected RunnerError.cancelledBeforeStart, got \(result)")
            return
        }
        // No run was created (the store may not even exist).
        if FileManager.default.fileExists(atPath: options.storeURL.path) {
            #expect(try ResultStore(url: options.storeURL).runs().isEmpty)
        }
    }

    @Test("a spec that is a directory, a FIFO or too large gets a clear message")
    func specFiles() async throws {
        let w = try Workspace()
        let folder = w.url.appendingPathComponent("spec.yaml")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        await #expect { _ = try await runner.run(specURL: folder, options: w.options(jobs: 1)) } throws: { error in
            let text = "\(error)"
            return text.contains("spec.yaml: cannot read the spec: expected a regular file, found a directory") && !text.contains("NSCocoaErrorDomain")
        }
        let fifo = w.url.appendingPathComponent("fifo.yaml")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        await #expect { _ = try await runner.run(specURL: fifo, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("found a FIFO")
        }
        let large = try w.write("large.yaml", Self.valid + "\n# " + String(repeating: "x", count: ExperimentRunner.maximumSpecBytes) + "\n")
        await #expect { _ = try await runner.run(specURL: large, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("larger than \(ExperimentRunner.maximumSpecBytes) bytes")
        }
    }

    @Test("reports parse only artifacts whose size and SHA-256 still match the store")
    func reportChecksArtifactHashes() async throws {
        let w = try Workspace()
        let trainer = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])
        let summary = try await trainer.run(specURL: try w.write("s.yaml", Self.valid), options: w.options(jobs: 1))
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let cache = ArtifactCache(store: store)
        let key = SHA256.hash(utf8: "probe grid").hex
        let grid = NumpyArray(shape: [2, 2, 2], values: [0, 0.25, 0.5, 1, 1, 0.5, 0.25, 0] as [Float]).npyData()
        _ = try await cache.data(key: key, kind: "arrays", fileExtension: "npy") { grid }
        let trial = summary.trials[0]
        try store.completeTrial(runID: summary.run.id, index: 0,
                                outcome: TrialOutcome(metrics: trial.metrics, artifacts: [ArtifactReference(role: "image-grid/probe/2", key: key)]),
                                seconds: 0)
        let intact = try ReportWriter.write(runIDs: [summary.run.id], store: store, to: w.url.appendingPathComponent("a"))
        #expect(intact.contains { $0.pathExtension == "png" })
        // The same bytes, other values: the digest no longer matches, so the grid is skipped.
        let file = try #require(try await cache.url(key: key))
        let tampered = NumpyArray(shape: [2, 2, 2], values: [1, 1, 1, 1, 0, 0, 0, 0] as [Float]).npyData()
        #expect(tampered.count == grid.count)
        try tampered.write(to: file)
        let after = try ReportWriter.write(runIDs: [summary.run.id], store: store, to: w.url.appendingPathComponent("b"))
        #expect(!after.contains { $0.pathExtension == "png" })
        #expect(try !String(contentsOf: after[0], encoding: .utf8).contains(".png"))
    }

    @Test("a crafted .npy shape is an error, not a trap")
    func craftedNumpyShape() throws {
        func npy(shape: String, payload: Int) -> Data {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: (64 - (11 + header.utf8.count) % 64) % 64) + "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
            data.append(contentsOf: Array(header.utf8))
            data.append(Data(count: payload))
            return data
        }
        // 2⁶² × 4 values overflow Int; 2⁶¹ × 2 values overflow the byte count (× 4 bytes).
        for shape in ["(4611686018427387904, 4)", "(2305843009213693952, 2)", "(3037000500, 3037000500)"] {
            #expect(throws: ArtifactError.self) { _ = try NumpyArray(npy: npy(shape: shape, payload: 16), source: "x.npy") }
        }
        #expect(throws: ArtifactError.self) { _ = try NumpyArray(npy: npy(shape: "(99999999999999999999,)", payload: 16), source: "x.npy") }
        #expect(try NumpyArray(npy: npy(shape: "(2, 2)", payload: 16), source: "x.npy").shape == [2, 2])
    }
}
