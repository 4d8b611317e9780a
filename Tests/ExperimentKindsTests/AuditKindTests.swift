import AttackMetrics
import Codecs
import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import LabRandom
import MembershipInference
import Testing

/// Signals of a target and K reference models on N records, as a PyTorch user would save them:
/// reference model k trains on a random half of the records; a model's logit of the true label
/// is a per-record difficulty plus a bonus when it trained on the record, plus noise.
struct SyntheticSignals {
    var n = 200, c = 4, k = 8
    var labels: [Int] = []
    var members: [Bool] = []
    /// [N, C] and [K, N, C], row-major.
    var target: [Double] = []
    var references: [Double] = []
    /// [K, N].
    var referenceIn: [Bool] = []

    init(n: Int = 200, c: Int = 4, k: Int = 8, seed: UInt64 = 11) {
        self.n = n; self.c = c; self.k = k
        var r = LabRandom(seed: seed).stream("signals")
        labels = (0..<n).map { $0 % c }
        let difficulty = (0..<n).map { _ in r.nextNormal() }
        members = (0..<n).map { _ in r.nextBernoulli(0.5) }
        referenceIn = [Bool](repeating: false, count: k * n)
        for i in 0..<n {
            for m in r.sampleWithoutReplacement(k / 2, from: k) { referenceIn[m * n + i] = true }
        }
        func logits(trained: Bool, record i: Int) -> [Double] {
            (0..<c).map { j in j == labels[i] ? 1.5 + difficulty[i] + (trained ? 1.2 : 0) + 0.4 * r.nextNormal() : 0.5 * r.nextNormal() }
        }
        target = (0..<n).flatMap { logits(trained: members[$0], record: $0) }
        references = (0..<k).flatMap { m in (0..<n).flatMap { logits(trained: referenceIn[m * n + $0], record: $0) } }
    }

    static func softmax(_ row: ArraySlice<Double>) -> [Double] {
        let m = row.max()!
        let e = row.map { exp($0 - m) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    func probabilities(_ logits: [Double]) -> [Double] {
        stride(from: 0, to: logits.count, by: c).flatMap { Self.softmax(logits[$0..<($0 + c)]) }
    }

    /// Cross-entropy of each row against the label of its record.
    func losses(_ logits: [Double]) -> [Double] {
        stride(from: 0, to: logits.count, by: c).map { start in
            let row = logits[start..<(start + c)]
            let m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            return lse - row[start + labels[(start / c) % n]]
        }
    }

    /// Writes the arrays in assorted dtypes (labels int64, members bool, target float32,
    /// references float64, masks uint8) and returns the spec's `signals:` mapping.
    func write(to w: Workspace, form: String = "logits") throws -> String {
        func save(_ name: String, _ array: NumpyArray) throws { try array.npyData().write(to: w.url.appendingPathComponent(name)) }
        try save("y.npy", NumpyArray(shape: [n], values: labels))
        try save("m.npy", NumpyArray(shape: [n], values: members))
        try save("rin.npy", NumpyArray(shape: [k, n], values: referenceIn.map { UInt8($0 ? 1 : 0) }))
        switch form {
        case "probabilities":
            try save("t.npy", NumpyArray(shape: [n, c], values: probabilities(target)))
            try save("r.npy", NumpyArray(shape: [k, n, c], values: probabilities(references)))
        case "losses":
            try save("t.npy", NumpyArray(shape: [n], values: losses(target)))
            try save("r.npy", NumpyArray(shape: [k, n], values: losses(references)))
        default:
            try save("t.npy", NumpyArray(shape: [n, c], values: target.map { Float($0) }))
            try save("r.npy", NumpyArray(shape: [k, n, c], values: references))
        }
        return "{labels: y.npy, members: m.npy, target_\(form): t.npy, reference_\(form): r.npy, reference_members: rin.npy}"
    }

    /// φ = z_y − log Σ_{j≠y} exp z_j of one row (a slow oracle, written from the definition).
    func scaledLogit(_ logits: [Double], row: Int, label y: Int) -> Double {
        let z = Array(logits[(row * c)..<((row + 1) * c)])
        return z[y] - log((0..<c).filter { $0 != y }.map { exp(z[$0]) }.reduce(0, +))
    }

    /// Online LiRA with per-record variances, from its definition (Carlini et al. 2022): log
    /// N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out), σ the population standard deviation; the
    /// float32 target's logits as saved.
    func liraOracle() -> [Double] {
        let savedTarget = target.map { Double(Float($0)) }
        return (0..<n).map { i in
            let y = labels[i]
            var inside: [Double] = [], outside: [Double] = []
            for m in 0..<k {
                let phi = scaledLogit(Array(references[(m * n * c)..<((m + 1) * n * c)]), row: i, label: y)
                if referenceIn[m * n + i] { inside.append(phi) } else { outside.append(phi) }
            }
            func fit(_ v: [Double]) -> (Double, Double) {
                let mean = v.reduce(0, +) / Double(v.count)
                return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
            }
            func logDensity(_ x: Double, _ p: (Double, Double)) -> Double {
                -0.5 * ((x - p.0) / p.1) * ((x - p.0) / p.1) - log(p.1) - 0.5 * log(2 * Double.pi)
            }
            let phi = scaledLogit(savedTarget, row: i, label: y)
            return logDensity(phi, fit(inside)) - logDensity(phi, fit(outside))
        }
    }
}

@Suite("Audit kind")
struct AuditKindTests {
    let runner = ExperimentRunner(kinds: ExperimentCatalog.kinds)

    static func spec(_ signals: String, attack: String = "{bootstrap: 20}", extra: String = "") -> String {
        """
        version: 1
        name: audit-test
        kind: audit
        seed: 1
        signals: \(signals)
        attack: \(attack)
        \(extra)
        """
    }

    func run(_ w: Workspace, _ spec: String) async throws -> ExperimentRunner.Summary {
        try await runner.run(specURL: try w.write("audit.yaml", spec), options: w.options(jobs: 1))
    }

    func metric(_ summary: ExperimentRunner.Summary, _ name: String, trial: Int = 0) -> Double? {
        summary.trials[trial].metrics.first { $0.name == name }?.value
    }

    func exported(_ w: Workspace, _ summary: ExperimentRunner.Summary, _ file: String) throws -> NumpyArray {
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let folder = w.url.appendingPathComponent("scores-\(UUID().uuidString)")
        _ = try ScoreExport.write(runID: summary.run.id, store: store, to: folder)
        return try NumpyArray(npy: InputFile.read(folder.appendingPathComponent(file), maximumBytes: 1 << 30))
    }

    @Test("external logits: every method the signals allow runs, LiRA's scores match the definition")
    func logits() async throws {
        let w = try Workspace()
        let data = SyntheticSignals()
        let summary = try await run(w, Self.spec(try data.write(to: w)))
        for method in ["loss", "confidence", "entropy", "modified_entropy", "lira", "lira_offline", "lira_global",
                       "lira_offline_global", "rmia", "rmia_offline"] {
            for metric in ["auc", "tpr@0.001", "tpr@0", "advantage", "epsilon", "auc_low", "auc_high", "tpr@0.01_high"] {
                #expect(self.metric(summary, "\(method).\(metric)") != nil, "missing \(method).\(metric)")
            }
        }
        #expect(metric(summary, "shadow.auc") == nil, "the shadow attack trains attack models: only when asked for")
        #expect(metric(summary, "audit.records") == 200 && metric(summary, "audit.reference_models") == 8)
        // The records' membership bonus is strong: LiRA separates them.
        #expect(try #require(metric(summary, "lira.auc")) > 0.8)
        // Plumbing: the exported scores are LiRA's definition on the saved arrays, record by record.
        let lira = try exported(w, summary, "lira.npy").doubles()
        for (got, want) in zip(lira, data.liraOracle()) { #expect(abs(got - want) <= 1e-9 * max(1, abs(want))) }
        // And the reported AUC is the evaluation of those scores.
        let evaluation = try AttackEvaluation(scores: lira, isMember: data.members)
        #expect(metric(summary, "lira.auc") == evaluation.auc)
        #expect(try exported(w, summary, "members.npy").booleans() == data.members)
        #expect(try exported(w, summary, "indices.npy").integers() == Array(0..<200))
        #expect(summary.trials[0].metrics.contains { $0.name == "target.train_accuracy" })
    }

    @Test("probabilities and losses give the scores the logits give", arguments: ["probabilities", "losses"])
    func otherForms(form: String) async throws {
        let a = try Workspace(), b = try Workspace()
        var data = SyntheticSignals()
        data.target = data.target.map { Double(Float($0)) }   // the logits run reads float32 targets
        let logits = try await run(a, Self.spec(try data.write(to: a), attack: "{methods: [loss, lira, lira_offline, rmia], bootstrap: 0}"))
        let other = try await run(b, Self.spec(try data.write(to: b, form: form), attack: "{methods: [loss, lira, lira_offline, rmia], bootstrap: 0}"))
        for attack in ["loss", "lira", "lira_offline", "rmia"] {
            let x = try exported(a, logits, "\(attack).npy").doubles(), y = try exported(b, other, "\(attack).npy").doubles()
            for (u, v) in zip(x, y) { #expect(abs(u - v) <= 1e-9 * max(1, abs(u)), "\(attack) from \(form)") }
        }
        if form == "losses" {
            // Without the prediction vector there are no entropies; everything else runs by default.
            let all = try await run(b, Self.spec(try data.write(to: b, form: form)))
            #expect(metric(all, "entropy.auc") == nil && metric(all, "modified_entropy.auc") == nil)
            #expect(metric(all, "confidence.auc") != nil && metric(all, "lira_global.auc") != nil && metric(all, "rmia_offline.auc") != nil)
        }
    }

    @Test("population files feed RMIA; an .npz archive can hold every array")
    func populationAndArchive() async throws {
        let w = try Workspace()
        let data = SyntheticSignals(n: 120)
        let population = SyntheticSignals(n: 60, seed: 99)
        var members: [(String, NumpyArray)] = [
            ("labels", NumpyArray(shape: [data.n], values: data.labels)),
            ("members", NumpyArray(shape: [data.n], values: data.members)),
            ("target_logits", NumpyArray(shape: [data.n, data.c], values: data.target)),
            ("reference_logits", NumpyArray(shape: [data.k, data.n, data.c], values: data.references)),
            ("reference_members", NumpyArray(shape: [data.k, data.n], values: data.referenceIn)),
            ("population_labels", NumpyArray(shape: [population.n], values: population.labels)),
            ("population_target_logits", NumpyArray(shape: [population.n, data.c], values: population.target)),
            ("population_reference_logits", NumpyArray(shape: [data.k, population.n, data.c], values: population.references)),
        ]
        try Data(StoredZip.archive(members.map { ($0.0 + ".npy", $0.1.npyBytes()) })).write(to: w.url.appendingPathComponent("s.npz"))
        let summary = try await run(w, Self.spec("{archive: s.npz}", attack: "{methods: [rmia, rmia_offline, lira], bootstrap: 0}"))
        #expect(metric(summary, "audit.population") == 60)
        #expect(metric(summary, "rmia.auc") != nil && metric(summary, "rmia_offline.auc") != nil)
        // RMIA's score is the fraction of the 60 population records z with LR(x, z) > γ.
        let rmia = try exported(w, summary, "rmia.npy").doubles()
        #expect(rmia.allSatisfy { abs($0 * 60 - ($0 * 60).rounded()) < 1e-9 && $0 >= 0 && $0 <= 1 })
        // A typo in a member name is named.
        members[0].0 = "label"
        try Data(StoredZip.archive(members.map { ($0.0 + ".npy", $0.1.npyBytes()) })).write(to: w.url.appendingPathComponent("s.npz"))
        await #expect { _ = try await run(w, Self.spec("{archive: s.npz}")) } throws: { error in
            "\(error)".contains("s.npz (signals.archive): the archive member 'label' is not a signal name (did you mean 'labels'?)")
        }
    }

    @Test("shadow models' outputs on their own records run Shokri's attack, by default")
    func shadowFiles() async throws {
        let w = try Workspace()
        let data = SyntheticSignals(n: 120)
        let shadow = SyntheticSignals(n: 150, k: 6, seed: 5)
        try NumpyArray(shape: [shadow.n], values: shadow.labels).npyData().write(to: w.url.appendingPathComponent("sy.npy"))
        try NumpyArray(shape: [shadow.k, shadow.n, shadow.c], values: shadow.references.map { Float($0) }).npyData()
            .write(to: w.url.appendingPathComponent("s.npy"))
        try NumpyArray(shape: [shadow.k, shadow.n], values: shadow.referenceIn).npyData().write(to: w.url.appendingPathComponent("sin.npy"))
        let signals = "{labels: y.npy, members: m.npy, target_logits: t.npy, shadow_labels: sy.npy, shadow_logits: s.npy, shadow_members: sin.npy}"
        _ = try data.write(to: w)
        let summary = try await run(w, Self.spec(signals, attack: "{bootstrap: 0, shadow: {features: log_probabilities, hidden_units: 0, epochs: 100, learning_rate: 0.01}}"))
        #expect(metric(summary, "audit.shadow_models") == 6 && metric(summary, "audit.shadow_records") == 150)
        // The attack models learn the members' higher confidence: as good as thresholding the loss, roughly.
        let shadowAUC = try #require(metric(summary, "shadow.auc")), lossAUC = try #require(metric(summary, "loss.auc"))
        #expect(shadowAUC > 0.55 && shadowAUC > lossAUC - 0.05, "shadow \(shadowAUC), loss \(lossAUC)")
        #expect(metric(summary, "lira.auc") == nil, "no reference models were given")
        await #expect { _ = try await run(w, Self.spec(signals.replacingOccurrences(of: ", shadow_members: sin.npy", with: ""))) } throws: {
            "\($0)".contains("signals.shadow_members: shadow models need shadow_labels (M,)")
        }
    }

    @Test("asking for a method the signals do not allow names the missing key")
    func specErrors() throws {
        let cases: [(String, String, String)] = [
            ("{labels: y.npy, members: m.npy, target_losses: t.npy}", "{methods: [entropy]}",
             "attack.methods: 'entropy' needs signals.target_logits or signals.target_probabilities"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy}", "{methods: [loss, lira_offline]}",
             "attack.methods: 'lira_offline' needs reference models' outputs: signals.reference_logits"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy, reference_losses: r.npy, reference_members: rin.npy}", "{methods: [shadow]}",
             "'shadow' needs shadow models' outputs (signals.shadow_labels, shadow_logits or shadow_probabilities, shadow_members), or signals.reference_logits"),
            ("{labels: y.npy, target_logits: t.npy}", "{}", "signals.members: is required"),
            ("{labels: y.npy, members: m.npy}", "{}", "signals.target_logits: one of target_logits, target_probabilities, target_losses is required"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy, target_losses: l.npy}", "{}", "signals.target_losses: give only one of"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy, reference_logits: r.npy}", "{}", "signals.reference_members: is required with reference outputs"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy, reference_logits: r.npy, reference_members: rin.npy, population_labels: z.npy}", "{}",
             "signals.population_target_logits: population records need"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy, target_logit: x.npy}", "{}", "unknown key (did you mean 'target_logits'?)"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy}", "{methods: [lira], rmia_population: 0}", "attack.rmia_population: must be ≥ 1"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy}", "{shadow: {epochs: 0}}", "attack.shadow.epochs: must lie in 1…10000"),
            ("{labels: y.npy, members: m.npy, target_logits: t.npy}", "{methods: [loss, label_only]}",
             "attack.methods: 'label_only' queries the model with perturbed inputs, and an audit of saved signals has no model to query"),
        ]
        for (signals, attack, message) in cases {
            #expect { _ = try runner.plan(specText: Self.spec(signals, attack: attack), file: "/tmp/a.yaml", overrides: []) } throws: { error in
                let text = "\(error)"
                if !text.contains(message) { Issue.record("\(text) does not contain \(message)") }
                return text.contains(message)
            }
        }
    }

    /// Runs the audit after `mutate` rewrote some of the good files; returns the error text.
    func failure(methods: String = "", _ mutate: (Workspace, SyntheticSignals) throws -> Void) async throws -> String {
        let w = try Workspace()
        let data = SyntheticSignals(n: 40)
        let signals = try data.write(to: w)
        try mutate(w, data)
        do {
            _ = try await run(w, Self.spec(signals, attack: methods.isEmpty ? "{bootstrap: 0}" : "{methods: [\(methods)], bootstrap: 0}"))
        } catch {
            return "\(error)"
        }
        Issue.record("the audit ran")
        return ""
    }

    func save(_ w: Workspace, _ name: String, _ array: NumpyArray) throws {
        try array.npyData().write(to: w.url.appendingPathComponent(name))
    }

    @Test("bad input gets one clear error naming the file and the key")
    func badInput() async throws {
        func check(_ text: String, _ parts: String...) {
            for part in parts where !text.contains(part) { Issue.record("\(text)\ndoes not contain: \(part)") }
        }
        check(try await failure { w, d in try save(w, "t.npy", NumpyArray(shape: [39, 4], values: [Float](repeating: 0, count: 156))) },
              "t.npy (signals.target_logits): has 39 records along axis 0 (shape (39, 4)); labels (", "y.npy) has 40")
        check(try await failure { w, d in
            var r = d.references; r[(2 * d.n + 5) * d.c + 1] = .nan
            try save(w, "r.npy", NumpyArray(shape: [d.k, d.n, d.c], values: r))
        }, "r.npy (signals.reference_logits): element [2, 5, 1] is nan; logits must be finite")
        check(try await failure { w, d in
            var t = d.target.map { Float($0) }; t[3 * d.c] = -.infinity
            try save(w, "t.npy", NumpyArray(shape: [d.n, d.c], values: t))
        }, "t.npy (signals.target_logits): element [3, 0] is -inf")
        check(try await failure { w, d in try save(w, "y.npy", NumpyArray(shape: [d.n], values: d.labels.enumerated().map { $0 == 7 ? 4 : $1 })) },
              "y.npy (signals.labels): element [7] is 4, outside the 4 classes 0…3 of target_logits (")
        check(try await failure { w, d in try save(w, "y.npy", NumpyArray(shape: [d.n], values: d.labels.enumerated().map { $0 == 3 ? 1.5 : Double($1) })) },
              "y.npy (signals.labels): labels must be integers: element [3] is 1.5, not an integer")
        check(try await failure { w, d in try save(w, "m.npy", NumpyArray(shape: [d.n], values: d.members.map { $0 ? 2 : 0 } as [Int])) },
              "m.npy (signals.members): a membership mask must be 0/1: element [")
        check(try await failure { w, d in try save(w, "rin.npy", NumpyArray(shape: [d.k, d.n], values: d.referenceIn.map { $0 ? 0.5 : 0 } as [Double])) },
              "rin.npy (signals.reference_members): a membership mask must be 0/1")
        check(try await failure { w, d in try save(w, "rin.npy", NumpyArray(shape: [d.k, d.n - 1], values: [Bool](repeating: true, count: d.k * (d.n - 1)))) },
              "rin.npy (signals.reference_members): expected shape (8, 40)", "got (8, 39)")
        check(try await failure { w, d in try save(w, "m.npy", NumpyArray(shape: [d.n], values: [Bool](repeating: true, count: d.n))) },
              "m.npy (signals.members): all 40 records are members")
        // Reference counts, per method: no OUT model for record 5, no IN model for record 6.
        func recordWith(_ inside: Bool, _ record: Int) -> (Workspace, SyntheticSignals) throws -> Void {
            { w, d in
                var bits = d.referenceIn
                for m in 0..<d.k { bits[m * d.n + record] = inside }
                try save(w, "rin.npy", NumpyArray(shape: [d.k, d.n], values: bits))
            }
        }
        check(try await failure(methods: "lira_offline", recordWith(true, 5)),
              "rin.npy (signals.reference_members): record 5 is IN for all 8 reference models; lira_offline needs at least one OUT model per record")
        check(try await failure(methods: "lira_global", recordWith(false, 6)),
              "record 6 is IN for none of the 8 reference models; lira_global (online) needs at least one IN model per record")
        check(try await failure(methods: "rmia_offline", recordWith(true, 5)), "record 5 is IN for all 8 reference models; rmia_offline")
        // Files that are not .npy, or lie about their size.
        check(try await failure { w, _ in try Data("label\n1\n2\n".utf8).write(to: w.url.appendingPathComponent("y.npy")) },
              "y.npy (signals.labels): not a NumPy .npy file: expected the magic bytes")
        check(try await failure { w, d in
            try Data(StoredZip.archive([("labels.npy", NumpyArray(shape: [d.n], values: d.labels).npyBytes())])).write(to: w.url.appendingPathComponent("y.npy"))
        }, "this is a zip archive (an .npz?): name it as signals.archive")
        check(try await failure { w, _ in
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 30), }"
            header += String(repeating: " ", count: 117 - header.utf8.count) + "\n"
            try Data([0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 64))
                .write(to: w.url.appendingPathComponent("t.npy"))
        }, "t.npy (signals.target_logits): shape [1099511627776, 30] holds 32985348833280 elements, more than the 536870912 an audit reads from one array")
        // Within the limit, a shape the data do not fill.
        check(try await failure { w, _ in
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 400), }"
            header += String(repeating: " ", count: 117 - header.utf8.count) + "\n"
            try Data([0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 64))
                .write(to: w.url.appendingPathComponent("t.npy"))
        }, "t.npy (signals.target_logits): the .npy header declares shape (40, 400) of float32 (64000 bytes) but the file holds 64 bytes of data (truncated?)")
        check(try await failure { w, _ in try FileManager.default.removeItem(at: w.url.appendingPathComponent("r.npy")) },
              "r.npy", "file not found")
    }

    @Test("probabilities and losses are checked for what they are")
    func formChecks() async throws {
        let w = try Workspace()
        let d = SyntheticSignals(n: 40)
        _ = try d.write(to: w, form: "probabilities")
        var p = d.probabilities(d.target)
        p[9 * d.c] += 0.01
        try save(w, "t.npy", NumpyArray(shape: [d.n, d.c], values: p))
        let signals = "{labels: y.npy, members: m.npy, target_probabilities: t.npy}"
        await #expect { _ = try await run(w, Self.spec(signals)) } throws: { "\($0)".contains("t.npy (signals.target_probabilities): the probabilities [9, :] sum to 1.01") }
        try save(w, "t.npy", NumpyArray(shape: [d.n, d.c], values: d.target))
        await #expect { _ = try await run(w, Self.spec(signals)) } throws: { "\($0)".contains("probabilities lie in [0, 1] (were logits given as probabilities?)") }
        var losses = d.losses(d.target)
        losses[2] = -0.5
        try save(w, "l.npy", NumpyArray(shape: [d.n], values: losses))
        await #expect { _ = try await run(w, Self.spec("{labels: y.npy, members: m.npy, target_losses: l.npy}")) } throws: {
            "\($0)".contains("l.npy (signals.target_losses): element [2] is -0.5; a cross-entropy loss −log p_y is ≥ 0")
        }
    }

    @Test("fallbacks: a record with one OUT model uses the global variance; online methods leave the default when a record has no IN model")
    func fallbacks() async throws {
        let w = try Workspace()
        var d = SyntheticSignals(n: 60)
        for m in 0..<d.k { d.referenceIn[m * d.n + 3] = m != 0 }   // record 3: one OUT model
        for m in 0..<d.k { d.referenceIn[m * d.n + 4] = false }    // record 4: no IN model
        let summary = try await run(w, Self.spec(try d.write(to: w)))
        #expect(metric(summary, "lira_offline.auc") != nil && metric(summary, "lira_offline_global.auc") != nil)
        #expect(metric(summary, "lira.auc") == nil && metric(summary, "lira_global.auc") == nil)
        #expect(metric(summary, "rmia.auc") != nil, "online RMIA averages every model and needs no IN model")
        let perRecord = try exported(w, summary, "lira_offline.npy").doubles()
        #expect(perRecord.allSatisfy { $0.isFinite })
    }

    @Test("a changed input file is a new trial; a sweep exports one folder per trial")
    func inputsAndSweep() async throws {
        let w = try Workspace()
        var d = SyntheticSignals(n: 80)
        let signals = try d.write(to: w)
        let first = try await run(w, Self.spec(signals, attack: "{methods: [loss, rmia], bootstrap: 0}"))
        d.target = d.target.map { -$0 }
        _ = try d.write(to: w)
        let second = try await run(w, Self.spec(signals, attack: "{methods: [loss, rmia], bootstrap: 0}"))
        #expect(metric(first, "loss.auc") != metric(second, "loss.auc"), "the trial key holds the files' contents")
        #expect(second.computed == 1)
        let sweep = try await run(w, Self.spec(signals, attack: "{methods: [loss, rmia], bootstrap: 0}", extra: "sweep:\n  attack.gamma: [1, 2]"))
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/store.sqlite"))
        let folder = w.url.appendingPathComponent("sweep-scores")
        let written = try ScoreExport.write(runID: sweep.run.id, store: store, to: folder)
        let names = written.files.map { $0.path.replacingOccurrences(of: folder.path + "/", with: "") }.sorted()
        #expect(names == ["trial-0/indices.npy", "trial-0/loss.npy", "trial-0/members.npy", "trial-0/rmia.npy",
                          "trial-1/indices.npy", "trial-1/loss.npy", "trial-1/members.npy", "trial-1/rmia.npy"])
        let loss = try NumpyArray(npy: InputFile.read(folder.appendingPathComponent("trial-1/loss.npy"), maximumBytes: 1 << 20))
        #expect(loss.dataType == .float64 && loss.shape == [80])
        let members = try NumpyArray(npy: InputFile.read(folder.appendingPathComponent("trial-0/members.npy"), maximumBytes: 1 << 20))
        #expect(members.dataType == .uint8)
        #expect(try members.booleans() == d.members)
    }
}

/// A zip archive of stored (uncompressed) members, as `np.savez` writes them (without zip64).
enum StoredZip {
    static func archive(_ members: [(String, [UInt8])]) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, data) in members {
            let crc = Int(Zlib.crc32(data))
            let nameBytes = Array(name.utf8)
            let common = u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) + u32(data.count) + u32(data.count) + u16(nameBytes.count) + u16(0)
            directory += u32(0x0201_4b50) + u16(20) + common + u16(0) + u16(0) + u16(0) + u32(0) + u32(out.count) + nameBytes
            out += u32(0x0403_4b50) + common + nameBytes + data
        }
        let offset = out.count
        return out + directory + u32(0x0605_4b50) + u16(0) + u16(0) + u16(members.count) + u16(members.count)
            + u32(directory.count) + u32(offset) + u16(0)
    }
}
