import Codecs
import ExperimentKinds
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// Runs on a store encrypted at rest: the same results as on a plain store, checkpoints sealed
/// on disk, read back through the cache, and tampering reported by the trial that reads it.
@Suite("Runs on encrypted stores")
struct EncryptedStoreTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])

    func metrics(_ summary: ExperimentRunner.Summary) -> [[Metric]] {
        summary.trials.map { $0.metrics.sorted { $0.name < $1.name } }
    }

    func artifactFiles(_ w: Workspace) -> [URL] {
        let folder = w.url.appendingPathComponent("runs/artifacts")
        return (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { $0.pathExtension == "safetensors" }.sorted { $0.path < $1.path }
    }

    @Test("a sweep on an encrypted store gives bit-identical metrics to a plain store, with every checkpoint sealed")
    func sameMetrics() async throws {
        let plain = try Workspace(), sealed = try Workspace()
        let a = try await runner.run(specURL: try plain.write("s.yaml", sweepSpec), options: plain.options(jobs: 2))
        var options = sealed.options(jobs: 2)
        options.storeKey = StoreKey(secret: .random(), source: "test key")
        let spec = try sealed.write("s.yaml", sweepSpec)
        let b = try await runner.run(specURL: spec, options: options)
        #expect(b.trials.count == 4 && b.trials.allSatisfy { $0.status == .complete })
        #expect(metrics(a) == metrics(b))

        // The plain store's checkpoints show their safetensors metadata; the encrypted store's are
        // sealed, one per model, and the content addresses (file names) are the same.
        let plainFiles = artifactFiles(plain), sealedFiles = artifactFiles(sealed)
        #expect(!plainFiles.isEmpty && plainFiles.map(\.lastPathComponent) == sealedFiles.map(\.lastPathComponent))
        let marker = Array("privacy-lab.format".utf8)
        func holds(_ url: URL) throws -> Bool {
            let bytes = Array(try Data(contentsOf: url))
            return (0...(bytes.count - marker.count)).contains { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }
        }
        for file in plainFiles { #expect(try holds(file)) }
        for file in sealedFiles {
            #expect(SealedData.looksSealed(Array(try Data(contentsOf: file))))
            #expect(try !holds(file))
        }

        // Without the key the store does not open; with it, the runs are deleted and the sweep run
        // again: its trials load the sealed models from the cache and give the same metrics.
        await #expect { try await runner.run(specURL: spec, options: sealed.options(jobs: 2)) } throws: { error in
            "\(error)".contains("the store is encrypted at rest")
        }
        let store = try ResultStore(url: options.storeURL, key: options.storeKey)
        for run in try store.runs() { try store.deleteRun(run.id) }
        let c = try await runner.run(specURL: spec, options: options)
        #expect(metrics(c) == metrics(a))

        // A flipped bit in one sealed checkpoint: the trial that reads it fails, naming it.
        for run in try store.runs() { try store.deleteRun(run.id) }
        var bytes = try Data(contentsOf: sealedFiles[0])
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: sealedFiles[0])
        await #expect { try await runner.run(specURL: spec, options: options) } throws: { error in
            "\(error)".contains("was tampered with") && "\(error)".contains(sealedFiles[0].lastPathComponent)
        }
    }
}

/// The command line: `store keygen`, `run --store-key-file`, and the errors of a missing, wrong
/// or exposed key, none of which shows the key.
@Suite("Encrypted stores on the command line")
struct EncryptedStoreCommandTests {
    static let spec = """
    version: 1
    name: sealed
    kind: train
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 200, features: 4, classes: 2, separation: 2}
    model: {architecture: mlp, hidden: [8], epochs: 1, batch_size: 32}
    """

    /// Runs `privacy-lab` with `arguments` and exactly `environment` (no inherited store key).
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = ResumeTests.executable
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, out, err)
    }

    @Test("keygen, run with the key file or the environment, and refusals that never print the key")
    func endToEnd() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ResumeTests.executable.path))
        let w = try Workspace()
        let spec = try w.write("s.yaml", Self.spec)
        let key = w.url.appendingPathComponent("store.key").path, other = w.url.appendingPathComponent("other.key").path
        let store = w.url.appendingPathComponent("runs/store.sqlite").path
        #expect(try run(["store", "keygen", "--out", key]).status == 0)
        #expect(try run(["store", "keygen", "--out", other]).status == 0)
        let keyText = try String(contentsOfFile: key, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let again = try run(["store", "keygen", "--out", key])
        #expect(again.status != 0 && again.errors.contains("already exists"))
        #expect(try String(contentsOfFile: key, encoding: .utf8).hasPrefix(keyText))

        let first = try run(["run", spec.path, "--store", store, "--store-key-file", key, "--json", "--data-dir", w.url.path])
        #expect(first.status == 0, "\(first.errors)")
        let info = try run(["store", "info", "--store", store, "--store-key-file", key, "--json"])
        #expect(info.output.contains("\"encrypted\":true"), "\(info.output) \(info.errors)")
        // The same store through the environment variable, in hex: the same metrics, reused.
        let viaEnvironment = try run(["run", spec.path, "--store", store, "--json", "--data-dir", w.url.path],
                                     environment: [StoreKey.environmentVariable: keyText.uppercased()])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.errors)")
        func metrics(_ json: String) -> String? { json.range(of: "\"metrics\"").map { String(json[$0.lowerBound...].prefix(400)) } }
        #expect(metrics(first.output) != nil && metrics(first.output) == metrics(viaEnvironment.output))

        var failures: [String] = []
        let missing = try run(["runs", "list", "--store", store])
        #expect(missing.status != 0 && missing.errors.contains("the store is encrypted at rest; give its key with --store-key-file"), "\(missing.errors)")
        let wrong = try run(["runs", "list", "--store", store, "--store-key-file", other])
        #expect(wrong.status != 0 && wrong.errors.contains("does not unlock this encrypted store"), "\(wrong.errors)")
        let wrongEnvironment = try run(["run", spec.path, "--store", store, "--data-dir", w.url.path],
                                       environment: [StoreKey.environmentVariable: String(keyText.reversed())])
        #expect(wrongEnvironment.status != 0 && wrongEnvironment.errors.contains("$PRIVACY_LAB_STORE_KEY does not unlock"), "\(wrongEnvironment.errors)")
        #expect(chmod(key, 0o644) == 0)
        let exposed = try run(["runs", "list", "--store", store, "--store-key-file", key])
        #expect(exposed.status != 0 && exposed.errors.contains("permissions 0644 are too open"), "\(exposed.errors)")
        #expect(chmod(key, 0o600) == 0)
        let plainStore = w.url.appendingPathComponent("plain/store.sqlite").path
        #expect(try run(["run", spec.path, "--store", plainStore, "--data-dir", w.url.path]).status == 0)
        let late = try run(["run", spec.path, "--store", plainStore, "--store-key-file", key, "--data-dir", w.url.path])
        #expect(late.status != 0 && late.errors.contains("encrypted from its creation"), "\(late.errors)")
        failures += [missing, wrong, wrongEnvironment, exposed, late, again].map { $0.output + $0.errors }
        for text in failures + [first.errors, viaEnvironment.errors, info.output] {
            #expect(!text.contains(keyText) && !text.contains(keyText.uppercased()) && !text.contains(String(keyText.prefix(24))))
        }
    }
}
