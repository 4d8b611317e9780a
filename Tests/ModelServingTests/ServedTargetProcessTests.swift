import Codecs
import Foundation
import LabRandom
import NetworkTestSupport
import NeuralNetworks
import Testing

/// `privacy-lab serve` and `privacy-lab run` as two processes, as a user runs them: an extraction
/// experiment steals the served model over real sockets.
@Suite("A served target attacked by the runner over HTTP", .serialized)
struct ServedTargetProcessTests {
    @Test("extraction against privacy-lab serve: the run's query count is the log's, fidelity is far above chance, and a spent budget fails the run with the refusal named and the token never shown")
    func extractionOverHTTP() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pl-served-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The victim: an MLP over 20 features and 4 classes, saved as a lab checkpoint.
        let victim = try Sequential(inputShape: [20], layers: [.dense(inputs: 20, outputs: 32), .relu, .dense(inputs: 32, outputs: 4)],
                                    random: LabRandom(seed: 11))
        try victim.saveCheckpoint(to: URL(fileURLWithPath: "\(folder)/victim.safetensors"))
        func token(_ id: String, budget: Int) throws -> String {
            let maker = try ChildProcess(["serve", "token", "--tokens", "\(folder)/tokens.json", "--id", id, "--rate", "100000",
                                          "--burst", "100000", "--budget", "\(budget)"], in: folder, name: "token-\(id)")
            #expect(maker.finish(within: 60).status == 0, "\(maker.errors)")
            let secret = maker.output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("plt_") }
            return String(try #require(secret, "no token in: \(maker.output)"))
        }
        let rich = try token("attacker", budget: 1_000_000)
        let poor = try token("poor", budget: 150)
        let server = try ChildProcess(["serve", "\(folder)/victim.safetensors", "--tokens", "\(folder)/tokens.json",
                                       "--log", "\(folder)/queries.log", "--port", "0"], in: folder, name: "serve")
        defer { server.killNow() }
        let deadline = Date().addingTimeInterval(60)
        while !server.output.contains("http://"), server.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let address = try #require(server.output.split(separator: " ").first { $0.hasPrefix("http://") }, "serve printed: \(server.output) \(server.errors)")
        let root = String(address.dropLast("/v1/predict,".count))
        func spec(_ name: String) -> String {
            """
            version: 1
            name: \(name)
            kind: extraction
            seed: 3
            data: {dataset: synthetic-gaussian, samples: 1200, features: 20, classes: 4, separation: 3}
            victim: {endpoint: "\(root)", token_env: SERVED_TOKEN, rows_per_request: 100}
            surrogate: {architecture: mlp, hidden: [32], epochs: 20, batch_size: 32, optimizer: adam, learning_rate: 0.01}
            extraction: {methods: [knockoff], budgets: [100, 300], targets: probabilities, sampling: random}
            outputs: [full, label-only]
            """
        }
        try spec("served-extraction").write(toFile: "\(folder)/spec.yaml", atomically: true, encoding: .utf8)
        let run = try ChildProcess(["run", "\(folder)/spec.yaml", "--store", "\(folder)/store.sqlite", "--jobs", "1", "--json"], in: folder, name: "run",
                                   environment: ProcessInfo.processInfo.environment.merging(["SERVED_TOKEN": rich]) { $1 })
        #expect(run.finish(within: 600).status == 0, "\(run.errors)")
        let metrics = try Self.metrics(run.output)
        // Every row the endpoint answered is in its query log, one line per request.
        let answered = try #require(metrics["victim.endpoint_queries"])
        #expect(Double(try Self.loggedRows(folder, token: "attacker")) == answered)
        // The test part's answers for fidelity, then per policy the test part again (the answers'
        // utility) and 300 knockoff queries.
        let test = Int(try #require(metrics["victim.test_queries"]))
        #expect(answered == Double(3 * test + 2 * 300))
        #expect(try #require(metrics["knockoff/full.fidelity@300"]) > 0.6)
        #expect(try #require(metrics["knockoff/label-only.fidelity@300"]) > 0.4)

        // Membership inference against the same endpoint: records as .npy files, half marked members.
        var generator = LabRandom(seed: 5).stream("records")
        let features = (0..<(400 * 20)).map { _ in Float(generator.nextNormal()) }
        let labels = (0..<400).map { $0 % 4 }
        try NumpyArray(shape: [400, 20], values: features).npyData().write(to: URL(fileURLWithPath: "\(folder)/x.npy"))
        try NumpyArray(shape: [400], values: labels).npyData().write(to: URL(fileURLWithPath: "\(folder)/y.npy"))
        try NumpyArray(shape: [400], values: (0..<400).map { $0 < 200 }).npyData().write(to: URL(fileURLWithPath: "\(folder)/members.npy"))
        try """
            version: 1
            name: served-membership
            kind: membership-inference
            seed: 3
            data: {features: \(folder)/x.npy, labels: \(folder)/y.npy, classes: 4}
            model: {endpoint: "\(root)", token_env: SERVED_TOKEN, members: \(folder)/members.npy}
            attack: {methods: [loss, confidence, label_only], members: 100, non_members: 100}
            """.write(toFile: "\(folder)/membership.yaml", atomically: true, encoding: .utf8)
        let before = try Self.loggedRows(folder, token: "attacker")
        let audit = try ChildProcess(["run", "\(folder)/membership.yaml", "--store", "\(folder)/store.sqlite", "--jobs", "1", "--json"], in: folder,
                                     name: "membership", environment: ProcessInfo.processInfo.environment.merging(["SERVED_TOKEN": rich]) { $1 })
        #expect(audit.finish(within: 600).status == 0, "\(audit.errors)")
        let audited = try Self.metrics(audit.output)
        #expect(Double(try Self.loggedRows(folder, token: "attacker") - before) == (try #require(audited["target.endpoint_queries"])))
        for name in ["loss.auc", "confidence.auc", "label_only.auc"] {
            let auc = try #require(audited[name], "\(audited.keys.sorted())")
            #expect(auc >= 0 && auc <= 1)
        }

        // Black-box evasion against the same endpoint: the Square Attack (probabilities) and
        // HopSkipJump (labels), each input's queries answered over HTTP.
        let evasion = """
            version: 1
            name: served-evasion
            kind: evasion
            seed: 3
            data: {dataset: synthetic-gaussian, samples: 1200, features: 20, classes: 4, separation: 3}
            model: {endpoint: "\(root)", token_env: SERVED_TOKEN}
            attack: {methods: [square, hop_skip_jump], norm: l2, epsilons: [0, 1, 4], examples: 8, queries: 200,
                     query_budgets: [100, 200], steps: 3, clip: [-20, 20]}
            """
        try evasion.write(toFile: "\(folder)/evasion.yaml", atomically: true, encoding: .utf8)
        let beforeEvasion = try Self.loggedRows(folder, token: "attacker")
        let attack = try ChildProcess(["run", "\(folder)/evasion.yaml", "--store", "\(folder)/store.sqlite", "--jobs", "1", "--json"], in: folder,
                                      name: "evasion", environment: ProcessInfo.processInfo.environment.merging(["SERVED_TOKEN": rich]) { $1 })
        #expect(attack.finish(within: 600).status == 0, "\(attack.errors)")
        let attacked = try Self.metrics(attack.output)
        #expect(Double(try Self.loggedRows(folder, token: "attacker") - beforeEvasion) == (try #require(attacked["target.endpoint_queries"])))
        for name in ["square.robust_accuracy@4.0", "hop_skip_jump.robust_accuracy@4.0", "hop_skip_jump.success_rate@q200"] {
            #expect((0...1).contains(try #require(attacked[name], "\(attacked.keys.sorted())")))
        }
        // A larger budget never leaves more inputs robust.
        #expect(attacked["square.robust_accuracy@4.0"]! <= attacked["square.robust_accuracy@1.0"]!)
        // White-box attacks need gradients an endpoint does not give: a spec error, before any query.
        try evasion.replacingOccurrences(of: "methods: [square, hop_skip_jump]", with: "methods: [pgd]")
            .write(toFile: "\(folder)/whitebox.yaml", atomically: true, encoding: .utf8)
        let whitebox = try ChildProcess(["run", "\(folder)/whitebox.yaml", "--store", "\(folder)/store.sqlite"], in: folder, name: "whitebox",
                                        environment: ProcessInfo.processInfo.environment.merging(["SERVED_TOKEN": rich]) { $1 })
        #expect(whitebox.finish(within: 120).status != 0 && whitebox.errors.contains("needs the model's gradients"), "\(whitebox.errors)")

        // The poor token's budget runs out mid-run: the run fails naming the refusal.
        try spec("served-extraction-poor").write(toFile: "\(folder)/poor.yaml", atomically: true, encoding: .utf8)
        // (A fresh store: the same trial in the first store would be reused from it, not run.)
        let failing = try ChildProcess(["run", "\(folder)/poor.yaml", "--store", "\(folder)/poor.sqlite", "--jobs", "1"], in: folder, name: "poor",
                                       environment: ProcessInfo.processInfo.environment.merging(["SERVED_TOKEN": poor]) { $1 })
        #expect(failing.finish(within: 600).status != 0)
        #expect(failing.errors.contains("stopped answering after") && failing.errors.contains("403"), "\(failing.errors)")
        #expect(!failing.errors.contains(poor) && !failing.output.contains(poor))
        #expect(server.process.isRunning)
    }

    /// The input rows the query log admitted for `token`.
    static func loggedRows(_ folder: String, token: String) throws -> Int {
        try String(contentsOfFile: "\(folder)/queries.log", encoding: .utf8).split(separator: "\n").compactMap { line -> Int? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["token"] as? String == token else { return nil }
            return o["rows"] as? Int
        }.reduce(0, +)
    }

    /// Metric name → value of a run's first trial, from `run --json`.
    static func metrics(_ json: String) throws -> [String: Double] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not JSON: \(json.prefix(300))")
        let trials = try #require(object["trials"] as? [[String: Any]])
        let metrics = try #require(trials.first?["metrics"] as? [String: Any])
        return metrics.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
