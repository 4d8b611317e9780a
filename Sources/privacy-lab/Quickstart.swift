import ArgumentParser
import PrivacyLab

/// `privacy-lab quickstart`: the README's first command (filled in as the stack lands).
struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a generated dataset and report its accuracy (no files, no network).")
    func run() async throws {
        throw ValidationError("quickstart is not wired yet")
    }
}
