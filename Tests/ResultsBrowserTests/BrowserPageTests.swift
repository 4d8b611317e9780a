import Codecs
import ExperimentReports
import ExperimentStore
import Foundation
import ResultsBrowser
import Testing

/// The pages, filters and exports of the results browser over a store the quickstart wrote.
@Suite("Results browser: pages")
struct BrowserPageTests {
    @Test("the listing shows every run and trial of the store with its metrics as stored")
    func listing() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let page = browser.get("/?columns=*.auc+target.test_accuracy")
        #expect(page.status == 200)
        #expect(page.contentType.hasPrefix("text/html"))
        #expect(page.text.contains("2 trials of 2 runs"))
        for summary in runs {
            let trial = try #require(summary.trials.first)
            #expect(page.text.contains("data-run=\"\(summary.run.id)\" data-trial=\"0\""))
            for name in ["lira.auc", "loss.auc", "rmia.auc", "target.test_accuracy"] {
                let value = try #require(trial.metrics.first { $0.name == name }?.value)
                #expect(page.text.contains("data-metric=\"\(name)\">\(ResultRendering.format(value))</td>"), "\(name)")
            }
        }
        // The second run's overrides are shown; metrics not asked for are not columns.
        #expect(page.text.contains("<td>seed=8 model.epochs=10</td>"))
        #expect(!page.text.contains("data-metric=\"lira.epsilon\""))
    }

    @Test("filters on kind, name, parameters (swept or from the spec) and metrics keep exactly the matching trials")
    func filters() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let (first, second) = (runs[0].run.id, runs[1].run.id)
        func shown(_ target: String) -> Set<String> {
            let page = browser.get(target)
            #expect(page.status == 200, "\(target)")
            return Set([first, second].filter { page.text.contains("data-run=\"\($0)\"") })
        }
        #expect(shown("/") == [first, second])
        #expect(shown("/?kind=membership-inference") == [first, second])
        #expect(shown("/?kind=train") == [])
        #expect(shown("/?name=QUICK") == [first, second])
        #expect(shown("/?name=lira") == [])
        #expect(shown("/?run=\(second)") == [second])
        // Not swept: the values come from each run's spec with its overrides.
        #expect(shown("/?param=seed%3D8") == [second])
        #expect(shown("/?param=model.epochs%3E%3D20") == [first])
        #expect(shown("/?param=model.optimizer%3Dadam") == [first, second])
        #expect(shown("/?param=model.epochs%3C20%3B+seed%3D7") == [])
        // A threshold between the two runs' LiRA AUCs keeps the one above it.
        let auc = runs.map { $0.trials[0].metrics.first { $0.name == "lira.auc" }!.value }
        let threshold = (auc[0] + auc[1]) / 2
        #expect(shown("/?metric=lira.auc%3E\(threshold)") == [auc[0] > auc[1] ? first : second])
        #expect(shown("/?metric=lira.auc%3C%3D\(threshold)") == [auc[0] > auc[1] ? second : first])
        #expect(shown("/?metric=nosuch.metric%3E0") == [])
        #expect(browser.get("/?kind=train").text.contains("No trial matches."))
    }

    @Test("a trial's page shows its spec, parameters, metrics with bootstrap intervals, the report's ROC figure and artifacts")
    func trialPage() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let store = try ResultStore(url: url, readOnly: true)
        let browser = ResultsBrowser(store: store)
        let run = runs[1].run, trial = runs[1].trials[0]
        let page = browser.get("/trial?run=\(run.id)&index=0")
        #expect(page.status == 200)
        #expect(page.text.contains("quickstart #0 seed=8 model.epochs=10"))
        #expect(page.text.contains("<pre id=\"spec\">"))
        #expect(page.text.contains("kind: membership-inference"))
        for name in ["lira.auc", "rmia.tpr@0.01", "target.train_accuracy"] {
            let value = try #require(trial.metrics.first { $0.name == name }?.value)
            #expect(page.text.contains("<tr data-metric=\"\(name)\"><td>\(name)</td><td class=\"num\">\(ResultRendering.format(value))</td>"))
        }
        // lira.auc's interval is shown beside it, and its bounds are no rows of their own.
        let low = try #require(trial.metrics.first { $0.name == "lira.auc_low" }?.value)
        let high = try #require(trial.metrics.first { $0.name == "lira.auc_high" }?.value)
        #expect(page.text.contains("[\(ResultRendering.format(low)), \(ResultRendering.format(high))]"))
        #expect(!page.text.contains("data-metric=\"lira.auc_low\""))
        // The figure is the report's: the same SVG `privacy-lab report` writes for this trial.
        let outcome = try store.outcome(runID: run.id, index: 0)
        let (_, figures) = ReportWriter.render(run: run, trials: [trial], outcomes: [outcome], figurePrefix: "trial", includeProvenance: false)
        let roc = try #require(figures.first)
        #expect(page.text.contains(roc.1))
        #expect(occurrences(of: "<svg", in: page.text) == figures.count)
        #expect(page.text.contains("<td>target-model</td><td>models</td>"))
        // A run id prefix is enough; a missing trial is a 404.
        #expect(browser.get("/trial?run=\(run.id.prefix(24))&index=0").status == 200)
        #expect(browser.get("/trial?run=\(run.id)&index=1").status == 404)
    }

    @Test("selected trials' ROC curves overlay in one log-log figure, every attack of every trial a curve")
    func rocOverlay() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let page = browser.get("/compare?t=\(runs[0].run.id)/0&t=\(runs[1].run.id)/0&plot=roc")
        #expect(page.status == 200)
        #expect(occurrences(of: "<svg", in: page.text) == 1)
        // Three attacks × two trials, each a polyline and a legend entry naming its trial.
        #expect(occurrences(of: "<polyline", in: page.text) == 6)
        #expect(page.text.contains("(log)"))
        for attack in ["lira", "loss", "rmia"] {
            #expect(page.text.contains(">\(attack) quickstart #0 (AUC"))
            #expect(page.text.contains(">\(attack) quickstart #0 seed=8 model.epochs=10 (AUC"))
        }
        // One trial alone: three curves; the same trial twice counts once.
        let one = browser.get("/compare?t=\(runs[0].run.id)/0&t=\(runs[0].run.id)/0")
        #expect(occurrences(of: "<polyline", in: one.text) == 3)
    }

    @Test("a metric against a parameter draws one point per selected trial at the trial's values")
    func metricAgainstParameter() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let ids = runs.map(\.run.id)
        let page = browser.get("/compare?t=\(ids[0])/0&t=\(ids[1])/0&plot=metric&metric=lira.auc&parameter=model.epochs")
        #expect(page.status == 200)
        #expect(page.text.contains("lira.auc against model.epochs"))
        // One trial per run: one line through both points, at epochs 30 and 10.
        #expect(occurrences(of: "<circle", in: page.text) == 2)
        #expect(occurrences(of: "<polyline", in: page.text) == 1)
        #expect(!page.text.contains("id=\"skipped\""))
        // A key no trial has plots nothing and says so.
        let none = browser.get("/compare?t=\(ids[0])/0&plot=metric&metric=lira.auc&parameter=no.such.key")
        #expect(none.text.contains("id=\"no-figure\""))
        #expect(browser.get("/compare?t=\(ids[0])/0&plot=metric&metric=lira.auc").status == 400)
    }

    @Test("CSV exports hold the shown rows and the stored numbers exactly")
    func csvExports() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let listing = browser.get("/?columns=lira.auc&format=csv")
        #expect(listing.contentType.hasPrefix("text/csv"))
        #expect(listing.headers.contains { $0.0 == "Content-Disposition" && $0.1.contains("attachment") })
        let lines = listing.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "run,name,kind,status,overrides,trial,trial status,lira.auc")
        #expect(lines.count == 3)
        for summary in runs {
            let auc = summary.trials[0].metrics.first { $0.name == "lira.auc" }!.value
            let line = try #require(lines.first { $0.hasPrefix(summary.run.id) })
            #expect(Double(line.split(separator: ",").last!) == auc)
        }
        let trial = browser.get("/trial?run=\(runs[0].run.id)&index=0&format=csv").text
        let row = try #require(trial.split(separator: "\n").first { $0.hasPrefix("lira.auc,") })
        let fields = row.split(separator: ",").map { Double($0) }
        let metrics = runs[0].trials[0].metrics
        #expect(fields[1] == metrics.first { $0.name == "lira.auc" }!.value)
        #expect(fields[2] == metrics.first { $0.name == "lira.auc_low" }!.value)
        #expect(fields[3] == metrics.first { $0.name == "lira.auc_high" }!.value)
        let compared = browser.get("/compare?t=\(runs[0].run.id)/0&t=\(runs[1].run.id)/0&format=csv").text
        #expect(compared.split(separator: "\n").count == 3)
    }

    @Test("HTML exports are self-contained: figures and style inline, no links back, no forms, no scripts")
    func htmlExports() async throws {
        let scratch = try Scratch()
        let (url, runs) = try await scratch.quickstartStore()
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let ids = runs.map(\.run.id)
        for target in ["/?format=html", "/trial?run=\(ids[0])&index=0&format=html", "/compare?t=\(ids[0])/0&t=\(ids[1])/0&format=html"] {
            let served = browser.get(target.replacingOccurrences(of: "format=html", with: "")), exported = browser.get(target)
            #expect(exported.status == 200)
            #expect(exported.headers.contains { $0.0 == "Content-Disposition" && $0.1.contains(".html") })
            #expect(served.text.contains("<a href=") && served.text.contains("id=\"export-html\""))
            for forbidden in ["<a ", "href=", "<form", "<script", "<link", "src=\"http", "url("] {
                #expect(!exported.text.contains(forbidden), "\(target) holds \(forbidden)")
            }
            #expect(exported.text.contains("<style>"))
            #expect(occurrences(of: "<svg", in: exported.text) == occurrences(of: "<svg", in: served.text))
            for id in ids where served.text.contains(id) { #expect(exported.text.contains(id)) }
        }
    }

    @Test("browsing writes nothing to the store: the database and artifacts are unchanged, nothing is added but SQLite's reader files")
    func readOnly() async throws {
        let scratch = try Scratch()
        let (written, runs) = try await scratch.quickstartStore()
        // A copy that no writer in this process has open: the runner's pool, whenever it is
        // released, checkpoints the original's WAL.
        let folder = scratch.url.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: written.deletingLastPathComponent(), to: folder)
        let url = folder.appendingPathComponent(written.lastPathComponent)
        let before = try snapshot(folder)
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let ids = runs.map(\.run.id)
        for target in ["/", "/?param=seed%3D8", "/trial?run=\(ids[0])&index=0", "/compare?t=\(ids[0])/0&t=\(ids[1])/0",
                       "/compare?t=\(ids[0])/0&plot=metric&metric=lira.auc&parameter=seed", "/?format=csv", "/?format=html"] {
            #expect(browser.get(target).status == 200)
        }
        // A reader of a WAL database may create SQLite's shared-memory index (`-shm`) and, when
        // there is none, an empty `-wal`; every other file is as it was, a WAL that was there
        // is unchanged, and one created holds no write.
        let after = try snapshot(folder)
        let changed = Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }.sorted()
        let wal = url.path + "-wal"
        let allowed = [url.path + "-shm"] + (before[wal] == nil ? [wal] : [])
        #expect(changed.allSatisfy(allowed.contains), "changed: \(changed)")
        if before[wal] == nil {
            #expect(((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int ?? 0) == 0)
        }
        #expect(after[url.path] == before[url.path] && before[url.path] != nil)
    }

    @Test("text from the store is escaped: a hostile run name, spec or metric name stays text")
    func escaping() throws {
        let scratch = try Scratch()
        let url = scratch.url.appendingPathComponent("hostile/store.sqlite")
        let store = try ResultStore(url: url)
        let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
        let run = RunRecord(id: "r-hostile", name: hostile, kind: "membership-inference", seed: 1, specFile: hostile,
                            specText: "name: x\n# </pre>" + hostile, overrides: [hostile], specHash: "h", codeVersion: hostile,
                            status: .complete, trialCount: 1, createdAt: Date(timeIntervalSince1970: 0), finishedAt: nil)
        try store.createRun(run, trials: [(0, "{\(JSONText.string("model.\(hostile)")):\(JSONText.string(hostile))}", 1, "k")])
        try store.completeTrial(runID: run.id, index: 0, outcome: TrialOutcome(
            metrics: [Metric(name: "\(hostile).auc", value: 0.5)],
            series: [Series(name: "membership.roc", label: hostile, x: [0.01, 1], y: [0.02, 1], xLabel: hostile, yLabel: "tpr", logX: true, logY: true)]),
            seconds: 1)
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        for target in ["/", "/?columns=*", "/trial?run=r-hostile&index=0", "/compare?t=r-hostile/0", "/?format=html",
                       "/trial?run=r-hostile&index=0&format=html", "/?name=\(urlEncoded(hostile))"] {
            let page = browser.get(target)
            #expect(page.status == 200, "\(target)")
            #expect(!page.text.contains("<script"), "\(target)")
            #expect(!page.text.contains("<img src=x"), "\(target)")
            #expect(page.text.contains("&lt;script&gt;"), "\(target)")
        }
    }

    @Test("a listing stops at maximumRows trials and says so")
    func rowLimit() throws {
        let scratch = try Scratch()
        let url = scratch.url.appendingPathComponent("many/store.sqlite")
        let store = try ResultStore(url: url)
        let count = ResultsBrowser.maximumRows + 1
        let run = RunRecord(id: "r-many", name: "many", kind: "train", seed: 1, specFile: "s.yaml", specText: "name: many", overrides: [],
                            specHash: "h", codeVersion: "c", status: .complete, trialCount: count,
                            createdAt: Date(timeIntervalSince1970: 0), finishedAt: nil)
        try store.createRun(run, trials: (0..<count).map { ($0, "{\"seed\":\($0)}", UInt64($0), "k\($0)") })
        let browser = ResultsBrowser(store: try ResultStore(url: url, readOnly: true))
        let page = browser.get("/")
        #expect(occurrences(of: "<tr data-run=", in: page.text) == ResultsBrowser.maximumRows)
        #expect(page.text.contains("id=\"truncated\""))
        let narrowed = browser.get("/?param=seed%3C10")
        #expect(occurrences(of: "<tr data-run=", in: narrowed.text) == 10)
        #expect(!narrowed.text.contains("id=\"truncated\""))
    }

    /// Percent-encodes everything but letters and digits.
    func urlEncoded(_ text: String) -> String {
        text.utf8.map { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
    }
}
