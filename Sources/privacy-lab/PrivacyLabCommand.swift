import ArgumentParser
import PrivacyLab

/// The `privacy-lab` command: a thin, declarative surface over the library. No science here.
@main
struct PrivacyLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy-lab",
        abstract: "Attack and defend machine-learning models: reproducible privacy experiments.",
        version: PrivacyLabVersion.description,
        subcommands: [RunCommand.self, RunsCommand.self, ReportCommand.self, NotebookCommand.self, Quickstart.self,
                      DataCommand.self, DPCommand.self, PaillierCommand.self, MPCCommand.self, FLCommand.self, UICommand.self, ServeCommand.self, StoreCommand.self]
    )
}
