import ExperimentKinds
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// `data:` sections naming the user's files (CSV, NumPy arrays, image folders): decoding, running,
/// and the files' content in trial and artifact keys; a named dataset's checksum list in the key.
@Suite("Data from files in specs")
struct DataFilesSpecTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])

    func spec(_ data: String, epochs: Int = 20) -> String {
        """
        version: 1
        name: files
        kind: train
        seed: 3
        data: \(data)
        model: {architecture: mlp, hidden: [8], epochs: \(epochs), batch_size: 16, learning_rate: 0.05}
        """
    }

    /// Two separable classes in two numeric columns plus a categorical one; `flip` swaps the labels.
    func csvText(flip: Bool = false) -> String {
        var lines = ["x,y,colour,label"]
        for i in 0..<80 {
            let positive = i % 2 == 0
            let label = positive != flip ? "yes" : "no"
            lines.append("\(positive ? 1.5 : -1.5),\(Double(i % 7) / 7),\(i % 3 == 0 ? "red" : "blue"),\(label)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func accuracy(_ summary: ExperimentRunner.Summary) -> Double? {
        summary.trials.first?.metrics.first { $0.name == "target.train_accuracy" }?.value
    }

    func decodeError(_ data: String, in w: Workspace) -> String? {
        do { _ = try runner.plan(specText: spec(data), file: w.url.appendingPathComponent("s.yaml").path, overrides: []); return nil }
        catch { return error.description }
    }

    @Test("a CSV spec runs; a changed file is a new trial whose model is retrained (not taken from the cache)")
    func csvContentInKeys() async throws {
        let w = try Workspace()
        _ = try w.write("table.csv", csvText())
        let file = try w.write("s.yaml", spec("{csv: table.csv, label_column: label, categorical: [colour], scaling: standard}"))
        let first = try await runner.run(specURL: file, options: w.options(jobs: 1))
        #expect(first.computed == 1 && (accuracy(first) ?? 0) > 0.95)
        #expect(try await runner.run(specURL: file, options: w.options(jobs: 1)).computed == 0)
        // Same spec, same size, labels flipped: a model reused from the cache would score ≈ 0.
        _ = try w.write("table.csv", csvText(flip: true))
        let flipped = try await runner.run(specURL: file, options: w.options(jobs: 1))
        #expect(flipped.computed == 1 && flipped.trials[0].trialKey != first.trials[0].trialKey)
        #expect((accuracy(flipped) ?? 0) > 0.95, "a model trained on the old file was reused")
    }

    @Test("NumPy arrays and an image folder run through the train kind")
    func npyAndImages() async throws {
        let w = try Workspace()
        // Arrays written in NumPy's format by hand: float32 (40, 2) features, int64 labels.
        func npy(_ descr: String, _ shape: String, _ payload: [UInt8]) -> Data {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            let n = header.utf8.count
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 255), UInt8(n >> 8)] + Array(header.utf8) + payload)
        }
        var features: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<40 {
            for v in [Float(i % 2 == 0 ? 2 : -2), Float(i % 5) / 5] { features += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
            labels += withUnsafeBytes(of: Int64(i % 2).littleEndian, Array.init)
        }
        try npy("<f4", "(40, 2)", features).write(to: w.url.appendingPathComponent("x.npy"))
        try npy("<i8", "(40,)", labels).write(to: w.url.appendingPathComponent("y.npy"))
        let arrays = try await runner.run(specURL: try w.write("a.yaml", spec("{features: x.npy, labels: y.npy}")), options: w.options(jobs: 1))
        #expect(arrays.trials.first?.status == .complete && (accuracy(arrays) ?? 0) > 0.95, "\(String(describing: arrays.trials.first?.error))")

        for (name, value) in [("dark", UInt8(20)), ("light", UInt8(230))] {
            for k in 0..<12 {
                let url = w.url.appendingPathComponent("faces/\(name)/\(k).pgm")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(Array("P5\n4 3\n255\n".utf8) + (0..<12).map { value &+ UInt8(($0 + k) % 9) }).write(to: url)
            }
        }
        let imageSpec = try w.write("i.yaml", spec("{images: faces, test_fraction: 0.25}"))
        let images = try await runner.run(specURL: imageSpec, options: w.options(jobs: 1))
        #expect(images.trials.first?.status == .complete && (accuracy(images) ?? 0) > 0.9, "\(String(describing: images.trials.first?.error))")
        // Moving an image to the other class changes the key even though no file's bytes change.
        try FileManager.default.moveItem(at: w.url.appendingPathComponent("faces/dark/0.pgm"), to: w.url.appendingPathComponent("faces/light/moved.pgm"))
        let moved = try await runner.run(specURL: imageSpec, options: w.options(jobs: 1))
        #expect(moved.computed == 1 && moved.trials[0].trialKey != images.trials[0].trialKey)
    }

    @Test("data section errors name the key: two sources, none, half a test part, a missing file, a bad file")
    func specErrors() async throws {
        let w = try Workspace()
        #expect(decodeError("{dataset: iris, csv: a.csv, label_column: y}", in: w)?.contains("data.csv: give one source of data: dataset and csv are both present") == true)
        #expect(decodeError("{limit: 10}", in: w)?.contains("data.dataset: is required: name a dataset, or give files with features (and labels), npz, csv or images") == true)
        #expect(decodeError("{features: x.npy, labels: y.npy, test_features: t.npy}", in: w)?.contains("data.test_labels: is required with test_features") == true)
        #expect(decodeError("{csv: a.csv}", in: w)?.contains("data.label_column: is required") == true)
        #expect(decodeError("{csv: a.csv, label_column: y, categorical: [y]}", in: w)?.contains("data.categorical: lists the label column 'y'") == true)
        #expect(decodeError("{features: x.npy, labels: y.npy, label_column: y}", in: w)?.contains("data.label_column: unknown key") == true)
        #expect(decodeError("{npz: d.npz, members: {features: a}}", in: w)?.contains("data.members.labels: is required") == true)

        // A missing file is reported before anything runs, naming it.
        let missing = try w.write("m.yaml", spec("{csv: nowhere.csv, label_column: y}"))
        await #expect { try await runner.run(specURL: missing, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("nowhere.csv: file not found")
        }
        // A ragged CSV fails its trial with the file, line and reason.
        _ = try w.write("bad.csv", "a,y\n1,0\n2\n")
        let bad = try w.write("b.yaml", spec("{csv: bad.csv, label_column: y}"))
        await #expect { try await runner.run(specURL: bad, options: w.options(jobs: 1)) } throws: { error in
            "\(error)".contains("bad.csv: line 3: expected 2 comma-separated fields (as the header), found 1")
        }
    }

    /// The train kind without its input fingerprints, to compare keys with.
    enum UnfingerprintedTrain: ExperimentKind {
        static let name = "train"
        static let summary = "train without input fingerprints"
        static func parameters(from body: SpecReader) throws(SpecError) -> TrainKind.Parameters { try TrainKind.parameters(from: body) }
        static func run(_ parameters: TrainKind.Parameters, context: TrialContext) async throws -> TrialOutcome {
            try await TrainKind.run(parameters, context: context)
        }
    }

    @Test("a named dataset's checksum list is part of the trial key",
          .enabled(if: ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"] != nil, "PRIVACY_LAB_DATA is not set"))
    func namedDatasetFingerprint() async throws {
        let data = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"]!)
        let w = try Workspace()
        let text = spec("{dataset: iris}", epochs: 1)
        let planned = try runner.plan(specText: text, file: "s.yaml", overrides: []).trials[0].1 as! TrainKind.Parameters
        #expect(TrainKind.inputFingerprints(of: planned).count == 1
                && TrainKind.inputFingerprints(of: planned)[0].hasPrefix("dataset iris sha256:"))
        #expect(TrainKind.inputFiles(of: planned).isEmpty)
        var options = w.options(jobs: 1)
        options.dataDirectory = data
        let with = try await runner.run(specURL: try w.write("s.yaml", text), options: options)
        options.storeURL = w.url.appendingPathComponent("other/store.sqlite")
        let without = try await ExperimentRunner(kinds: [AnyExperimentKind(UnfingerprintedTrain.self)])
            .run(specURL: try w.write("s.yaml", text), options: options)
        #expect(with.trials[0].trialKey != without.trials[0].trialKey)
        #expect(with.trials[0].metrics == without.trials[0].metrics)
    }
}
