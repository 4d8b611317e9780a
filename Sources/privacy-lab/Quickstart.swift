import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab quickstart`: runs the quickstart experiment (the README's first command) from any
/// folder: `experiments/quickstart.yaml` when run from the PrivacyLab folder, else the same spec
/// built into the binary (`QuickstartSpec.text`, which a test keeps equal to the file).
struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the quickstart experiment (experiments/quickstart.yaml, built in): generated data, no files, no network.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        configureAllocator()
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let file = here.appendingPathComponent("experiments/quickstart.yaml")
        let (text, url): (String, URL)
        if FileManager.default.fileExists(atPath: file.path) {
            do { (text, url) = (try ExperimentRunner.readSpec(file), file) } catch { throw CLIError(error.description) }
        } else {
            (text, url) = (QuickstartSpec.text, here.appendingPathComponent("quickstart.yaml (built in)"))
        }
        let runner = ExperimentRunner(kinds: Kinds.all)
        var options = ExperimentRunner.Options(dataDirectory: here.appendingPathComponent("data"), storeURL: storeOptions.url,
                                               jobs: ProcessInfo.processInfo.activeProcessorCount, codeVersion: PrivacyLabVersion.code)
        options.storeKey = try storeOptions.key()
        options.progress = TerminalProgress()
        let finalOptions = options
        let summary: ExperimentRunner.Summary
        do {
            summary = try await withInterruptHandling { try await runner.run(specText: text, specURL: url, options: finalOptions) }
        } catch RunnerError.cancelled {
            FileHandle.standardError.write(Data("privacy-lab: quickstart interrupted; run it again to resume\n".utf8))
            throw ExitCode(128 + (InterruptState.signal == 0 ? SIGINT : InterruptState.signal))
        } catch let error as RunnerError {
            throw CLIError(error.description)
        }
        printSummary(summary, json: json)
    }
}
