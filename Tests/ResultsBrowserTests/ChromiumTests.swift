import ExperimentReports
import ExperimentSpecs
import ExperimentStore
import Foundation
import Testing
import TestSupport

/// `privacy-lab ui` in a real browser: headless Chromium (Debian's `chromium`) loads the pages
/// the command serves for a store the quickstart made, the test checks the DOM Chromium built
/// from them, and screenshots are written for a reviewer to open:
/// `.build/ui-screenshots/*.png` in the repository (the test prints the folder).
///
/// Skipped, saying why, when no `chromium` is installed (`apt-get install chromium`; `.ci/run`
/// installs it).
@Suite("Results browser: in Chromium")
struct ChromiumTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The `privacy-lab` executable built beside the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("privacy-lab")
    }

    /// Where screenshots go: `.build/ui-screenshots` in the repository.
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/ui-screenshots", isDirectory: true)

    /// Runs a command to its end (killed after 180 s: a hung browser fails the test instead of
    /// hanging the suite) and returns its standard output and exit status.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in folder: URL) throws -> (String, Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["180", executable] + arguments
        process.currentDirectoryURL = folder
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// Chromium's DOM of `url` after loading it, serialised.
    static func dom(_ url: String, profile: URL) throws -> String {
        let (text, status) = try run(chromium!, flags(profile) + ["--dump-dom", url], in: profile)
        #expect(status == 0, "chromium --dump-dom \(url) exited \(status)")
        return text
    }

    /// A screenshot of `url` at `width`×`height`, saved as `name`.png in `screenshots`.
    static func screenshot(_ url: String, _ name: String, width: Int = 1400, height: Int, profile: URL) throws {
        let file = screenshots.appendingPathComponent("\(name).png")
        try? FileManager.default.removeItem(at: file)
        try run(chromium!, flags(profile) + ["--hide-scrollbars", "--window-size=\(width),\(height)", "--screenshot=\(file.path)", url], in: profile)
        let bytes = try Data(contentsOf: file)
        #expect(bytes.count > 5000 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(name).png is no screenshot")
    }

    static func flags(_ profile: URL) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--no-first-run", "--disable-extensions",
         "--user-data-dir=\(profile.appendingPathComponent("profile").path)"]
    }

    @Test("the quickstart's runs, a trial, a ROC overlay, a metric plot and an exported page render in Chromium with the stored numbers",
          .enabled(if: chromium != nil, "chromium is not installed (apt-get install -y --no-install-recommends chromium); skipped"))
    func browse() async throws {
        let scratch = try Scratch()
        let folder = scratch.url
        let store = folder.appendingPathComponent("runs/privacy-lab.sqlite")
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        print("ui screenshots: \(Self.screenshots.path)")

        // The store: `privacy-lab quickstart`, then the same spec with other settings.
        let cli = Self.executable.path
        #expect(try Self.run(cli, ["quickstart", "--store", store.path], in: folder).1 == 0)
        let spec = folder.appendingPathComponent("quickstart.yaml")
        try QuickstartSpec.text.write(to: spec, atomically: true, encoding: .utf8)
        #expect(try Self.run(cli, ["run", spec.path, "--store", store.path, "--set", "seed=8", "--set", "model.epochs=10"], in: folder).1 == 0)
        let reader = try ResultStore(url: store, readOnly: true)
        let runs = try reader.runs().reversed().map { $0 }
        try #require(runs.count == 2)
        let trials = try runs.map { try reader.trials(runID: $0.id)[0] }

        // The server, on a free port; it prints its address once listening.
        let server = Process()
        server.executableURL = Self.executable
        server.arguments = ["ui", "--store", store.path, "--port", "0"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        let watchdog = Task.detached { try await Task.sleep(for: .seconds(600)); if server.isRunning { server.terminate() } }
        defer { watchdog.cancel() }
        var printed = ""
        while !printed.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        let base = try #require(printed.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression).map { String(printed[$0]) },
                                "privacy-lab ui printed: \(printed)")

        // The listing: both runs, a row each, their AUCs as the store has them.
        let listing = try Self.dom(base, profile: folder)
        #expect(occurrences(of: "<tr data-run=", in: listing) == 2)
        for (run, trial) in zip(runs, trials) {
            #expect(listing.contains(run.id))
            let auc = try #require(trial.metrics.first { $0.name == "lira.auc" }?.value)
            #expect(listing.contains("data-metric=\"lira.auc\">\(ResultRendering.format(auc))</td>"))
        }
        try Self.screenshot(base, "runs", height: 700, profile: folder)

        // A filter on a spec value that was not swept keeps the second run only.
        let filtered = try Self.dom(base + "?param=seed%3D8", profile: folder)
        #expect(occurrences(of: "<tr data-run=", in: filtered) == 1 && filtered.contains(runs[1].id))

        // The first trial: its spec, its metrics with bootstrap intervals, the ROC figure.
        let trialURL = base + "trial?run=\(runs[0].id)&index=0"
        let trialPage = try Self.dom(trialURL, profile: folder)
        #expect(trialPage.contains("quickstart #0"))
        #expect(trialPage.contains("kind: membership-inference"))
        #expect(trialPage.contains("<th>bootstrap interval</th>"))
        #expect(occurrences(of: "<svg", in: trialPage) == 1)
        try Self.screenshot(trialURL, "trial", height: 2200, profile: folder)

        // Both trials' ROC curves in one figure, and LiRA's AUC against the epochs.
        let compareURL = base + "compare?t=\(runs[0].id)/0&t=\(runs[1].id)/0"
        let compared = try Self.dom(compareURL + "&plot=roc", profile: folder)
        #expect(occurrences(of: "<svg", in: compared) == 1 && occurrences(of: "<polyline", in: compared) == 6)
        try Self.screenshot(compareURL + "&plot=roc", "compare-roc", height: 1100, profile: folder)
        let metricURL = compareURL + "&plot=metric&metric=lira.auc&parameter=model.epochs"
        let metricPage = try Self.dom(metricURL, profile: folder)
        #expect(occurrences(of: "<circle", in: metricPage) == 2)
        try Self.screenshot(metricURL, "compare-metric", height: 900, profile: folder)

        // The comparison exported as one HTML file opens with the server gone.
        let port = Int(base.split(separator: ":").last!.dropLast())!
        let export = try get(port: port, "/compare?t=\(runs[0].id)/0&t=\(runs[1].id)/0&format=html")
        #expect(export.status == 200)
        let file = folder.appendingPathComponent("export.html")
        try export.body.write(to: file, atomically: true, encoding: .utf8)
        server.terminate()
        server.waitUntilExit()
        let offline = try Self.dom(file.absoluteString, profile: folder)
        #expect(occurrences(of: "<polyline", in: offline) == 6)
        #expect(offline.contains(runs[1].id))
        try Self.screenshot(file.absoluteString, "export", height: 1100, profile: folder)
    }
}
