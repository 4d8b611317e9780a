import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab ui [--store PATH] [--host ADDRESS] [--port N]`: the results browser.
struct UICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Browse stored runs and trials in a local web page (the store is opened read-only).",
        discussion: """
            Serves http://127.0.0.1:PORT/ until Ctrl-C: runs and trials with filters, a page per trial (spec, metrics, \
            bootstrap intervals, figures), ROC curves of selected trials overlaid, any metric against a parameter, and \
            exports of each view as CSV or as a self-contained HTML file. Prints the address on stdout once listening.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "The address to listen on (127.0.0.1: this machine only; 0.0.0.0 exposes the results to the network).")
    var host: String = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8080

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must lie in 0…65535, got \(port)") }
        guard !host.isEmpty, host.count <= 255 else { throw ValidationError("--host must name an address") }
    }

    func run() async throws {
        let store = try storeOptions.openReadOnly()
        let server = ResultsServer(browser: ResultsBrowser(store: store), host: host, port: port)
        let shown = host.contains(":") ? "[\(host)]" : host
        if !["127.0.0.1", "localhost", "::1"].contains(host) {
            FileHandle.standardError.write(Data("privacy-lab: warning: listening on \(host): anyone who can reach it can read these results\n".utf8))
        }
        do {
            try await server.run { port in
                FileHandle.standardOutput.write(Data("privacy-lab ui: serving \(store.url.path) at http://\(shown):\(port)/ (Ctrl-C stops)\n".utf8))
            }
        } catch {
            throw CLIError("cannot serve on \(host):\(port): \(error)")
        }
    }
}
