import ArgumentParser
import Foundation

/// `privacy-lab quickstart`: runs `experiments/quickstart.yaml` (the README's first command).
struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the quickstart experiment (experiments/quickstart.yaml): generated data, no files, no network.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let spec = "experiments/quickstart.yaml"
        guard FileManager.default.fileExists(atPath: spec) else {
            throw CLIError("\(spec): not found; run the quickstart from the PrivacyLab folder, or `privacy-lab run SPEC.yaml`")
        }
        var command = try RunCommand.parse([spec, "--store", storeOptions.store] + (json ? ["--json"] : []))
        try await command.run()
    }
}
