import Codecs
import Foundation
import NetworkTestSupport
import MPCNetwork
import SecretSharing
import Testing

/// Parties (and the dealer) as real child processes of `privacy-lab mpc run` on 127.0.0.1:
/// their result equals the in-process engine's bit for bit; a peer killed or stalled makes the
/// others stop with an error naming it.
@Suite("MPC between processes", .serialized)
struct ProcessTests {
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("privacy-lab").path
    }

    let w: Workspace

    init() throws {
        w = try Workspace()
        let (status, _, errors) = try Self.run(["mpc", "certs", "--names", "alice,bob,carol", "--with-dealer", "--out", w.path + "/certs"])
        #expect(status == 0, "\(errors)")
    }

    /// A child process with its output and errors collected in files.
    final class Child {
        let process = Process()
        let out: String, err: String
        init(_ arguments: [String], in folder: String, name: String, executable: String = ProcessTests.executable) throws {
            out = "\(folder)/\(name).stdout"
            err = "\(folder)/\(name).stderr"
            FileManager.default.createFile(atPath: out, contents: nil)
            FileManager.default.createFile(atPath: err, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = FileHandle(forWritingAtPath: out)
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
        }
        /// Waits up to `seconds`; kills the process if it is still running then.
        func finish(within seconds: Double) -> (status: Int32, finished: Bool) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            let finished = !process.isRunning
            if !finished { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return (process.terminationStatus, finished)
        }
        var errors: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }
        var output: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
    }

    static func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let folder = NSTemporaryDirectory()
        let child = try Child(arguments, in: folder, name: "mpcnet-\(UUID().uuidString)")
        let (status, _) = child.finish(within: 60)
        defer { try? FileManager.default.removeItem(atPath: child.out); try? FileManager.default.removeItem(atPath: child.err) }
        return (status, child.output, child.errors)
    }

    /// A labelled table: `rows` rows of `features` features in [-2, 2] and a 0/1 label from a
    /// fixed linear rule (inputs are not secrets here; the generator is seeded).
    static func table(rows: Int, features: Int, seed: UInt64) -> InputTable {
        var g = InsecureSplitMix64(seed: seed)
        var values: [Double] = []
        for _ in 0..<rows {
            var s = 0.3
            for j in 0..<features {
                let x = (Double(g.next() >> 11) / 9_007_199_254_740_992 * 4 - 2)
                values.append(x)
                s += (j % 2 == 0 ? 1 : -0.7) * x
            }
            values.append(s > 0 ? 1 : 0)
        }
        return InputTable(columns: (0..<features).map { "x\($0)" } + ["label"], values: values)
    }

    /// Writes a spec for `parties` (ids with their inputs' CSV text) and returns its path.
    func spec(
        parties: [(String, String)], task: String, correlations: String, output: String = "[alice]",
        receiveTimeout: Double = 20, modelOwner: String? = nil, host: String = "127.0.0.1"
    ) throws -> String {
        let ports = freePorts(parties.count + 1)
        var text = "version: 1\nca: certs/ca.pem\nparties:\n"
        for (i, (id, csv)) in parties.enumerated() {
            let source: String
            if id == modelOwner {
                source = "model: model.npz"
            } else {
                try w.write("\(id).csv", csv)
                source = "input: \(id).csv"
            }
            text += "  - {id: \(id), address: \"\(host):\(ports[i])\", certificate: certs/\(id).pem, key: certs/\(id)-key.pem, \(source)}\n"
        }
        text += "task: \(task)\noutput: \(output)\n"
        text += correlations.replacingOccurrences(of: "DEALER_PORT", with: "\(ports[parties.count])") + "\n"
        text += "insecure-mask-seed: 11\nlimits: {connect-timeout: 20, receive-timeout: \(receiveTimeout)}\n"
        return try w.write("spec.yaml", text)
    }

    static func split(_ t: InputTable, rows: Range<Int>) -> String {
        InputTable(columns: t.columns, values: Array(t.values[(rows.lowerBound * t.columns.count)..<(rows.upperBound * t.columns.count)])).csv()
    }

    static func columns(_ t: InputTable, _ cols: [Int]) -> String {
        var values: [Double] = []
        for r in 0..<t.rows { for c in cols { values.append(t.values[r * t.columns.count + c]) } }
        return InputTable(columns: cols.map { t.columns[$0] }, values: values).csv()
    }

    @Test("logistic regression, rows split, two processes: bit for bit the in-process result")
    func rowsSplitMatchesInProcess() throws {
        let data = Self.table(rows: 40, features: 3, seed: 5)
        let path = try spec(
            parties: [("alice", Self.split(data, rows: 0..<25)), ("bob", Self.split(data, rows: 25..<40))],
            task: "{kind: logistic-regression, split: rows, label: label, epochs: 2, batch-size: 10}",
            correlations: "correlations: {source: insecure-shared-seed, seed: 3}")
        let alice = try Child(["mpc", "run", path, "--party", "alice", "--output", w.path + "/out.csv"], in: w.path, name: "alice")
        let bob = try Child(["mpc", "run", path, "--party", "bob"], in: w.path, name: "bob")
        let a = alice.finish(within: 90), b = bob.finish(within: 90)
        #expect(a.status == 0 && a.finished, "alice: \(alice.errors)")
        #expect(b.status == 0 && b.finished, "bob: \(bob.errors)")
        let expected = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
        let got = try InputTable.read(w.path + "/out.csv")
        #expect(got.columns == ["w0", "w1", "w2", "bias"])
        #expect(got.values == expected[0].output)
        #expect(expected[1].output == nil)
        #expect(bob.errors.contains("the output goes to alice"))
    }

    @Test("a dealer process, columns split, three parties: bit for bit the in-process result")
    func dealerProcessColumnsSplit() throws {
        let data = Self.table(rows: 30, features: 4, seed: 9)
        let path = try spec(
            parties: [("alice", Self.columns(data, [0, 1])), ("bob", Self.columns(data, [2, 4])), ("carol", Self.columns(data, [3]))],
            task: "{kind: logistic-regression, split: columns, label: label, epochs: 1, batch-size: 15}",
            correlations: "correlations: {source: dealer, seed: 4, dealer: {id: dealer, address: \"127.0.0.1:DEALER_PORT\", certificate: certs/dealer.pem, key: certs/dealer-key.pem}}",
            output: "[alice, carol]")
        let dealer = try Child(["mpc", "run", path, "--dealer"], in: w.path, name: "dealer")
        let children = try ["alice", "bob", "carol"].map { try Child(["mpc", "run", path, "--party", $0], in: w.path, name: $0) }
        for c in children {
            let r = c.finish(within: 90)
            #expect(r.status == 0 && r.finished, "\(c.errors)")
        }
        let d = dealer.finish(within: 30)
        #expect(d.status == 0 && d.finished, "dealer: \(dealer.errors)")
        let expected = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
        let alice = try InputTable.parse(children[0].output, file: "alice")
        let carol = try InputTable.parse(children[2].output, file: "carol")
        #expect(alice.values == expected[0].output)
        #expect(carol.values == expected[0].output)
        #expect(children[1].output.isEmpty)
    }

    @Test("a party killed mid-protocol makes the other stop with an error naming it")
    func killedPeer() throws {
        let data = Self.table(rows: 40, features: 3, seed: 5)
        let path = try spec(
            parties: [("alice", Self.split(data, rows: 0..<20)), ("bob", Self.split(data, rows: 20..<40))],
            task: "{kind: logistic-regression, split: rows, label: label, epochs: 5000, batch-size: 10}",
            correlations: "correlations: {source: insecure-shared-seed, seed: 3}")
        let alice = try Child(["mpc", "run", path, "--party", "alice"], in: w.path, name: "alice")
        let bob = try Child(["mpc", "run", path, "--party", "bob"], in: w.path, name: "bob")
        Thread.sleep(forTimeInterval: 2)
        kill(bob.process.processIdentifier, SIGKILL)
        _ = bob.finish(within: 5)
        let a = alice.finish(within: 20)
        #expect(a.finished && a.status != 0)
        #expect(alice.errors.contains("'bob'"), "\(alice.errors)")
        // No input value appears in what alice printed.
        #expect(!data.values.prefix(20).contains { $0 != 0 && $0 != 1 && alice.errors.contains("\($0)") })
    }

    @Test("a stalled party makes the other stop after the receive timeout")
    func stalledPeer() throws {
        let data = Self.table(rows: 40, features: 3, seed: 5)
        let path = try spec(
            parties: [("alice", Self.split(data, rows: 0..<20)), ("bob", Self.split(data, rows: 20..<40))],
            task: "{kind: logistic-regression, split: rows, label: label, epochs: 5000, batch-size: 10}",
            correlations: "correlations: {source: insecure-shared-seed, seed: 3}", receiveTimeout: 2)
        let alice = try Child(["mpc", "run", path, "--party", "alice"], in: w.path, name: "alice")
        let bob = try Child(["mpc", "run", path, "--party", "bob"], in: w.path, name: "bob")
        Thread.sleep(forTimeInterval: 2)
        kill(bob.process.processIdentifier, SIGSTOP)
        let a = alice.finish(within: 20)
        kill(bob.process.processIdentifier, SIGKILL)
        _ = bob.finish(within: 5)
        #expect(a.finished && a.status != 0)
        #expect(alice.errors.contains("no message from peer 'bob' within 2.0 s"), "\(alice.errors)")
    }

    @Test("spec and input errors name the file and the field or line")
    func badSpecs() throws {
        let base = "version: 1\nca: c.pem\nparties:\n  - {id: a, address: \"127.0.0.1:1\", certificate: a.pem, key: a.key, input: a.csv}\n  - {id: b, address: \"127.0.0.1:2\", certificate: b.pem, key: b.key, input: b.csv}\ntask: {kind: relu}\ncorrelations: {source: insecure-shared-seed, seed: 1}\n"
        #expect(throws: MPCSpecError(file: "s.yaml", field: "task.kind", message: "unknown task 'svm'; known: logistic-regression, matmul, relu, sigmoid, mlp-inference")) {
            try MPCSpec.parse(base.replacingOccurrences(of: "kind: relu", with: "kind: svm"), file: "s.yaml")
        }
        #expect(throws: MPCSpecError(file: "s.yaml", field: "parties[1].address", message: "'127.0.0.1' is not host:port with a port in 1…65535")) {
            try MPCSpec.parse(base.replacingOccurrences(of: "127.0.0.1:2", with: "127.0.0.1"), file: "s.yaml")
        }
        #expect(throws: MPCSpecError(file: "s.yaml", field: "output", message: "'z' is not a party")) {
            try MPCSpec.parse(base + "output: [z]\n", file: "s.yaml")
        }
        #expect(throws: MPCSpecError.self) { try MPCSpec.parse(base + "x: &a [1]\ny: *a\n", file: "s.yaml") }
        #expect(try MPCSpec.parse(base, file: "dir/s.yaml").parties[0].input == "dir/a.csv")
        #expect(throws: MPCInputError(file: "t.csv", line: 3, message: "column 'y' is not a finite number")) {
            try InputTable.parse("x,y\n1,2\n3,secret\n", file: "t.csv")
        }
    }
}

extension ProcessTests {
    @Test("dealer-free matmul: Paillier triples between two processes give the product")
    func paillierMatmul() throws {
        let a = InputTable(columns: ["a", "b", "c", "d"], values: [0.5, -1, 2, 0.25, 1.5, 0, -0.75, 1, -2, 0.125, 1, -1])
        let b = InputTable(columns: ["p", "q"], values: [1, -0.5, 0.25, 2, -1, 1.5, 0.75, 0])
        let path = try spec(
            parties: [("alice", a.csv()), ("bob", b.csv())], task: "{kind: matmul}",
            correlations: "correlations: {source: paillier, key-bits: 2048}", output: "[alice, bob]")
        let alice = try Child(["mpc", "run", path, "--party", "alice"], in: w.path, name: "alice")
        let bob = try Child(["mpc", "run", path, "--party", "bob"], in: w.path, name: "bob")
        let ra = alice.finish(within: 120), rb = bob.finish(within: 120)
        #expect(ra.status == 0 && ra.finished, "alice: \(alice.errors)")
        #expect(rb.status == 0 && rb.finished, "bob: \(bob.errors)")
        var expected = [Double](repeating: 0, count: 6)
        for i in 0..<3 { for j in 0..<2 { for l in 0..<4 { expected[i * 2 + j] += a.values[i * 4 + l] * b.values[l * 2 + j] } } }
        for child in [alice, bob] {
            let got = try InputTable.parse(child.output, file: "out").values
            #expect(got.count == 6)
            #expect(zip(got, expected).allSatisfy { abs($0 - $1) < 1e-3 }, "\(got) vs \(expected)")
            #expect(child.errors.contains("dealer-free triples (Paillier)"))
        }
    }
}

extension ProcessTests {
    /// A model of the given widths with weights in [-0.5, 0.5] and biases in [-0.1, 0.1] (seeded).
    static func model(widths: [Int], seed: UInt64) -> MLPModel {
        var g = InsecureSplitMix64(seed: seed)
        func uniform(_ r: Double) -> Double { (Double(g.next() >> 11) / 9_007_199_254_740_992 * 2 - 1) * r }
        return MLPModel(layers: (0..<(widths.count - 1)).map { l in
            MLPModel.Layer(weights: (0..<(widths[l] * widths[l + 1])).map { _ in uniform(0.5) },
                           bias: (0..<widths[l + 1]).map { _ in uniform(0.1) }, inputs: widths[l], outputs: widths[l + 1])
        })
    }

    @Test("MLP inference: alice's model (.npz), bob's rows; two processes give the in-process logits bit for bit, and plaintext's within fixed-point error")
    func mlpInference() throws {
        let model = Self.model(widths: [6, 16, 8, 3], seed: 21)
        try Data(model.npzBytes()).write(to: URL(fileURLWithPath: w.path + "/model.npz"))
        let rows = Self.table(rows: 9, features: 6, seed: 8)
        let x = InputTable(columns: (0..<6).map { "x\($0)" }, values: (0..<9).flatMap { r in rows.values[(r * 7)..<(r * 7 + 6)] })
        let path = try spec(
            parties: [("alice", ""), ("bob", x.csv())], task: "{kind: mlp-inference}",
            correlations: "correlations: {source: insecure-shared-seed, seed: 5}", output: "[bob]", modelOwner: "alice")
        let alice = try Child(["mpc", "run", path, "--party", "alice"], in: w.path, name: "alice")
        let bob = try Child(["mpc", "run", path, "--party", "bob"], in: w.path, name: "bob")
        let a = alice.finish(within: 90), b = bob.finish(within: 90)
        #expect(a.status == 0 && a.finished, "alice: \(alice.errors)")
        #expect(b.status == 0 && b.finished, "bob: \(bob.errors)")
        let got = try InputTable.parse(bob.output, file: "bob")
        let expected = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
        #expect(got.columns == ["logit0", "logit1", "logit2"])
        #expect(got.values == expected[1].output)
        #expect(expected[0].output == nil && alice.output.isEmpty)
        let plain = model.logits(x.values, rows: 9)
        let gap = zip(got.values, plain).map { abs($0 - $1) }.max() ?? .infinity
        #expect(got.values.count == plain.count && gap < 1e-3, "largest gap to plaintext \(gap)")
    }

    @Test("MLP inference with the rows split over two data parties, or their columns: plaintext's logits within fixed-point error")
    func mlpInferenceSplits() throws {
        let model = Self.model(widths: [5, 12, 4], seed: 3)
        try Data(model.npzBytes()).write(to: URL(fileURLWithPath: w.path + "/model.npz"))
        let t = Self.table(rows: 10, features: 5, seed: 4)
        let x = InputTable(columns: (0..<5).map { "x\($0)" }, values: (0..<10).flatMap { r in t.values[(r * 6)..<(r * 6 + 5)] })
        let plain = model.logits(x.values, rows: 10)
        for (split, bob, carol) in [("rows", Self.split(x, rows: 0..<6), Self.split(x, rows: 6..<10)),
                                    ("columns", Self.columns(x, [0, 1, 2]), Self.columns(x, [3, 4]))] {
            let path = try spec(
                parties: [("alice", ""), ("bob", bob), ("carol", carol)], task: "{kind: mlp-inference, split: \(split)}",
                correlations: "correlations: {source: insecure-shared-seed, seed: 5}", output: "[carol]", modelOwner: "alice")
            let results = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
            let got = try #require(results[2].output)
            #expect(results[0].output == nil && results[1].output == nil)
            let gap = zip(got, plain).map { abs($0 - $1) }.max() ?? .infinity
            #expect(got.count == plain.count && gap < 1e-3, "\(split): largest gap to plaintext \(gap)")
        }
    }

    @Test("MLP model files and specs: errors name the file and the array or field")
    func mlpErrors() throws {
        let model = Self.model(widths: [3, 4, 2], seed: 1)
        var arrays = try NumpyArchive(npz: model.npzBytes(), maximumMemberBytes: 1 << 20)
        #expect(try MLPModel.parse(npz: model.npzBytes(), file: "m.npz") == model)
        // Layers that do not chain.
        let w0 = try arrays.array(named: "0.weight"), w2 = NumpyArray(shape: [2, 5], values: [Double](repeating: 0, count: 10))
        #expect(throws: MPCInputError(file: "m.npz", line: nil, message: "'2.weight' takes 5 inputs but the layer before it gives 4")) {
            try MLPModel.parse(npz: NumpyArchive.npzBytes([("0.weight", w0), ("2.weight", w2)]), file: "m.npz")
        }
        #expect(throws: MPCInputError(file: "m.npz", line: nil, message: "the array 'running_mean' is neither a layer's .weight nor its .bias")) {
            try MLPModel.parse(npz: NumpyArchive.npzBytes([("0.weight", w0), ("running_mean", w2)]), file: "m.npz")
        }
        #expect(throws: MPCInputError(file: "m.npz", line: nil, message: "'0.bias' has shape [5], its weight needs [4]")) {
            try MLPModel.parse(npz: NumpyArchive.npzBytes([("0.weight", w0), ("0.bias", NumpyArray(shape: [5], values: [Double](repeating: 0, count: 5)))]), file: "m.npz")
        }
        #expect(throws: MPCInputError.self) { try MLPModel.parse(npz: Array("not a zip".utf8), file: "m.npz") }
        arrays = try NumpyArchive(npz: NumpyArchive.npzBytes([("0.weight", NumpyArray(shape: [4, 3], values: [Double](repeating: .nan, count: 12)))]), maximumMemberBytes: 1 << 20)
        #expect(throws: MPCInputError(file: "m.npz", line: nil, message: "'0.weight' holds a value that is not finite")) {
            try MLPModel.parse(npz: NumpyArchive.npzBytes([("0.weight", try arrays.array(named: "0.weight"))]), file: "m.npz")
        }
        let base = "version: 1\nca: c.pem\nparties:\n  - {id: a, address: \"127.0.0.1:1\", certificate: a.pem, key: a.key, model: m.npz}\n  - {id: b, address: \"127.0.0.1:2\", certificate: b.pem, key: b.key, input: b.csv}\ntask: {kind: mlp-inference}\ncorrelations: {source: insecure-shared-seed, seed: 1}\n"
        #expect(try MPCSpec.parse(base, file: "s.yaml").modelOwner == 0)
        #expect(throws: MPCSpecError(file: "s.yaml", field: "parties[0].model", message: "only the mlp-inference task takes a model")) {
            try MPCSpec.parse(base.replacingOccurrences(of: "mlp-inference", with: "relu"), file: "s.yaml")
        }
        #expect(throws: MPCSpecError(file: "s.yaml", field: "parties", message: "mlp-inference needs exactly one party naming a model, got 0")) {
            try MPCSpec.parse(base.replacingOccurrences(of: "model: m.npz", with: "input: a.csv"), file: "s.yaml")
        }
    }
}
