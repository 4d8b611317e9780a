import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab report ID… --out DIR`
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write a Markdown report with SVG figures for stored runs.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "Run IDs (or unique prefixes).") var ids: [String]
    @Option(help: "The folder to write report.md and its figures into.") var out: String

    func run() throws {
        let store = try storeOptions.openReadOnly()
        do {
            let files = try ReportWriter.write(runIDs: ids, store: store, to: URL(fileURLWithPath: out))
            for file in files { print(file.path) }
        } catch { throw CLIError("\(error)") }
    }
}

/// `privacy-lab notebook run FILE.md | check FILE.md`
struct NotebookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook", abstract: "Run or check executable Markdown notebooks.", subcommands: [Run.self, Check.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run each ```privacy-lab block and write its results below it.")
        @Argument(help: "The notebook.") var file: String
        @OptionGroup var location: DataCommand.Location
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Trials run in parallel.") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        func validate() throws {
            guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must lie in 1…1024, got \(jobs)") }
        }

        func run() async throws {
            configureAllocator()
            let url = URL(fileURLWithPath: file)
            let storeKey = try storeOptions.key()
            do {
                let notebook = try Notebook(url: url)
                var options = ExperimentRunner.Options(dataDirectory: location.resolve().url, storeURL: storeOptions.url, jobs: jobs)
                options.storeKey = storeKey
                options.progress = TerminalProgress()
                let outputs = try await notebook.run(runner: ExperimentRunner(kinds: Kinds.all), options: options,
                                                     figuresDirectory: url.deletingLastPathComponent().appendingPathComponent("figures"))
                try OutputFile.write(Data(try notebook.replacingOutputs(outputs).utf8), to: url)
                FileHandle.standardError.write(Data("\(file): \(outputs.count) block\(outputs.count == 1 ? "" : "s") run\n".utf8))
            } catch let error as RunnerError { throw CLIError(error.description) } catch { throw CLIError("\(file): \(error)") }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-run each block from scratch (a fresh store) and fail if any output differs from the notebook's.")
        @Argument(help: "The notebook.") var file: String
        @OptionGroup var location: DataCommand.Location
        @Option(help: "Trials run in parallel.") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        func validate() throws {
            guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must lie in 1…1024, got \(jobs)") }
        }

        func run() async throws {
            configureAllocator()
            let url = URL(fileURLWithPath: file)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("privacy-lab-check-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            do {
                let notebook = try Notebook(url: url)
                var options = ExperimentRunner.Options(dataDirectory: location.resolve().url,
                                                       storeURL: scratch.appendingPathComponent("store.sqlite"), jobs: jobs)
                // With $PRIVACY_LAB_STORE_KEY set, the scratch store is encrypted like any other.
                do { options.storeKey = try StoreKey(environment: ProcessInfo.processInfo.environment) } catch { throw CLIError(error.description) }
                options.progress = TerminalProgress()
                let fresh = try await notebook.run(runner: ExperimentRunner(kinds: Kinds.all), options: options,
                                                   figuresDirectory: scratch.appendingPathComponent("figures"))
                let current = try notebook.currentOutputs()
                var differences = 0
                for (index, (now, before)) in zip(fresh, current).enumerated() {
                    if before?.trimmingCharacters(in: .newlines) != now.trimmingCharacters(in: .newlines) {
                        differences += 1
                        FileHandle.standardError.write(Data("\(file): block \(index + 1): output differs\(before == nil ? " (no output recorded; run `notebook run` first)" : "")\n--- recorded\n\(before ?? "")\n+++ now\n\(now)\n".utf8))
                    }
                }
                guard differences == 0 else { throw CLIError("\(file): \(differences) of \(fresh.count) block outputs differ") }
                FileHandle.standardError.write(Data("\(file): \(fresh.count) block\(fresh.count == 1 ? "" : "s") reproduced\n".utf8))
            } catch let error as RunnerError { throw CLIError(error.description) }
        }
    }
}
