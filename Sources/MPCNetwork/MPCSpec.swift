import Foundation
import SecretSharing
import Transport
import Yams

/// The spec of one networked MPC run, shared by every party (and the dealer): who takes part and
/// where, what each one inputs, what is computed and who learns the result.
///
/// ```yaml
/// version: 1
/// ca: certs/ca.pem                 # the CA every certificate must chain to
/// parties:                         # in party order: index 0, 1, …
///   - id: alice                    # the name its certificate carries (SAN or CN)
///     address: 127.0.0.1:7101      # where it listens (exactly this address)
///     certificate: certs/alice.pem
///     key: certs/alice-key.pem
///     input: alice.csv             # read by alice alone; header row, numbers
///     # model: mlp.npz             # mlp-inference: the one party holding the model names it
///                                  # instead of an input (`MLPModel`); the others' rows are joined
///   - id: bob
///     …
/// task:
///   kind: logistic-regression      # logistic-regression | matmul | relu | sigmoid | mlp-inference
///   split: rows                    # rows | columns: how the parties' CSVs form one table
///   label: label                   # logistic regression: the label column (0/1)
///   epochs: 5                      # batch-size, learning-rate, sigmoid-iterations likewise
///   sigmoid: piecewise             # piecewise (cubic pieces, 8 rounds) | exp (30–31 rounds)
/// output: [alice]                  # who learns the result (default: every party)
/// correlations:
///   source: dealer                 # dealer (a `--dealer` process) | insecure-shared-seed
///   dealer: {id: dealer, address: 127.0.0.1:7100, certificate: certs/dealer.pem, key: certs/dealer-key.pem}
///   seed: 7                        # insecure-shared-seed only (and an insecure, reproducible dealer)
/// insecure-mask-seed: 7            # optional: reproducible masks, for tests only
/// limits: {connect-timeout: 30, receive-timeout: 60, max-frame-bytes: 67108864}
/// ```
///
/// Relative paths are relative to the spec's folder. Every error names the file and the field.
public struct MPCSpec: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var id: String
        public var address: NodeAddress
        public var certificate: String
        public var key: String
    }

    public struct PartySpec: Sendable, Equatable {
        public var node: Node
        /// The party's CSV; every party but an `mlp-inference` run's model owner has one.
        public var input: String?
        /// `mlp-inference`: the model file (`MLPModel.read`) of the one party that holds it.
        public var model: String?
    }

    public enum Split: String, Sendable, Equatable, Codable { case rows, columns }

    public enum TaskKind: String, Sendable, Equatable, Codable, CaseIterable {
        case logisticRegression = "logistic-regression"
        case matmul, relu, sigmoid
        case mlpInference = "mlp-inference"
    }

    /// Where the Beaver triples and other correlations come from.
    public enum CorrelationSource: Sendable, Equatable {
        /// A dealer process (`privacy-lab mpc run --dealer`), trusted and colluding with no party.
        case dealer(Node, seed: UInt64?)
        /// Every party runs the same seeded dealer itself: every party can compute every other
        /// party's shares. Reproducible, and insecure: for tests and demonstrations only.
        case insecureSharedSeed(UInt64)
        /// No dealer: two parties make multiplication and matrix triples with Paillier
        /// (`PaillierTripleProvider`); products are truncated locally (SecureML), so only
        /// `matmul` runs in this mode.
        case paillier(keyBits: Int)
    }

    public var file: String
    public var ca: String
    public var parties: [PartySpec]
    public var task: TaskKind
    public var split: Split
    public var label: String?
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var sigmoidIterations: Int
    /// Logistic regression's sigmoid (`task.sigmoid`).
    public var sigmoid: SigmoidApproximation = .piecewiseCubic
    public var output: [String]
    public var correlations: CorrelationSource
    public var insecureMaskSeed: UInt64?
    public var limits: TransportLimits
    public var fractionalBits: Int

    /// The index of party `id`, if it is one.
    public func index(of id: String) -> Int? { parties.firstIndex { $0.node.id == id } }

    /// `mlp-inference`: the index of the party that holds the model.
    public var modelOwner: Int? { parties.firstIndex { $0.model != nil } }

    /// The indices of the parties that learn the output.
    public var outputIndices: Set<Int> { Set(output.compactMap { index(of: $0) }) }
}

/// A spec that cannot be used: `description` reads `<file>: <field>: <reason>`.
public struct MPCSpecError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var field: String
    public var message: String
    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
    public var description: String { field.isEmpty ? "\(file): \(message)" : "\(file): \(field): \(message)" }
}

// MARK: Reading

private struct RawSpec: Decodable {
    struct RawNode: Decodable {
        var id: String
        var address: String
        var certificate: String
        var key: String
        var input: String?
        var model: String?
    }
    struct RawTask: Decodable {
        var kind: String
        var split: String?
        var label: String?
        var epochs: Int?
        var batchSize: Int?
        var learningRate: Double?
        var sigmoidIterations: Int?
        var sigmoid: String?
        enum CodingKeys: String, CodingKey {
            case kind, split, label, epochs, sigmoid
            case batchSize = "batch-size", learningRate = "learning-rate", sigmoidIterations = "sigmoid-iterations"
        }
    }
    struct RawCorrelations: Decodable {
        var source: String
        var dealer: RawNode?
        var seed: UInt64?
        var keyBits: Int?
        enum CodingKeys: String, CodingKey { case source, dealer, seed, keyBits = "key-bits" }
    }
    struct RawLimits: Decodable {
        var connectTimeout: Double?
        var receiveTimeout: Double?
        var maxFrameBytes: Int?
        enum CodingKeys: String, CodingKey {
            case connectTimeout = "connect-timeout", receiveTimeout = "receive-timeout", maxFrameBytes = "max-frame-bytes"
        }
    }
    var version: Int
    var ca: String
    var parties: [RawNode]
    var task: RawTask
    var output: [String]?
    var correlations: RawCorrelations
    var insecureMaskSeed: UInt64?
    var limits: RawLimits?
    var fractionalBits: Int?
    enum CodingKeys: String, CodingKey {
        case version, ca, parties, task, output, correlations, limits
        case insecureMaskSeed = "insecure-mask-seed", fractionalBits = "fractional-bits"
    }
}

extension MPCSpec {
    /// The most bytes a spec file may have.
    public static let maximumFileBytes = 1 << 20

    /// Reads and validates the spec at `path`.
    public static func load(_ path: String) throws(MPCSpecError) -> MPCSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MPCSpecError(file: path, field: "", message: "cannot read the spec file")
        }
        guard data.count <= maximumFileBytes else {
            throw MPCSpecError(file: path, field: "", message: "the spec is over \(maximumFileBytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MPCSpecError(file: path, field: "", message: "the spec is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates spec text; relative paths are resolved against `file`'s folder.
    public static func parse(_ text: String, file: String) throws(MPCSpecError) -> MPCSpec {
        func fail(_ field: String, _ message: String) -> MPCSpecError {
            MPCSpecError(file: file, field: field, message: message)
        }
        if containsAnchorOrAlias(text) {
            throw fail("", "YAML anchors and aliases are not supported in MPC specs; write the values out")
        }
        let raw: RawSpec
        do {
            raw = try YAMLDecoder().decode(RawSpec.self, from: text)
        } catch let error as DecodingError {
            throw fail(Self.path(of: error), Self.problem(of: error))
        } catch {
            throw fail("", "malformed YAML")
        }
        guard raw.version == 1 else { throw fail("version", "only version 1 is known, got \(raw.version)") }
        let folder = (file as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") || folder.isEmpty ? p : folder + "/" + p
        }
        func node(_ r: RawSpec.RawNode, _ field: String) throws(MPCSpecError) -> Node {
            guard !r.id.isEmpty, r.id.count <= 63,
                  r.id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw fail("\(field).id", "'\(r.id)' must be 1–63 ASCII letters, digits or '-'")
            }
            guard let colon = r.address.lastIndex(of: ":"),
                  let port = Int(r.address[r.address.index(after: colon)...]), (1...65535).contains(port) else {
                throw fail("\(field).address", "'\(r.address)' is not host:port with a port in 1…65535")
            }
            var host = String(r.address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw fail("\(field).address", "'\(r.address)' names no host") }
            return Node(id: r.id, address: NodeAddress(id: r.id, host: host, port: port),
                        certificate: resolve(r.certificate), key: resolve(r.key))
        }
        guard raw.parties.count >= 2 else { throw fail("parties", "at least two parties are needed, got \(raw.parties.count)") }
        guard raw.parties.count <= 16 else { throw fail("parties", "at most 16 parties are supported, got \(raw.parties.count)") }
        guard let task = TaskKind(rawValue: raw.task.kind) else {
            throw fail("task.kind", "unknown task '\(raw.task.kind)'; known: \(TaskKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var parties: [PartySpec] = []
        for (i, r) in raw.parties.enumerated() {
            let n = try node(r, "parties[\(i)]")
            if r.model != nil {
                guard task == .mlpInference else {
                    throw fail("parties[\(i)].model", "only the mlp-inference task takes a model")
                }
                guard r.input == nil else {
                    throw fail("parties[\(i)].input", "the model owner has no input CSV in mlp-inference (the others hold the rows)")
                }
            } else if r.input == nil {
                throw fail("parties[\(i)].input", "missing: every party names its input CSV (in mlp-inference, all but the model owner)")
            }
            parties.append(PartySpec(node: n, input: r.input.map(resolve), model: r.model.map(resolve)))
        }
        if task == .mlpInference && parties.filter({ $0.model != nil }).count != 1 {
            throw fail("parties", "mlp-inference needs exactly one party naming a model, got \(parties.filter { $0.model != nil }.count)")
        }
        let ids = parties.map(\.node.id)
        guard Set(ids).count == ids.count else { throw fail("parties", "party ids must be distinct") }
        let split: Split
        if let s = raw.task.split {
            guard let v = Split(rawValue: s) else { throw fail("task.split", "must be rows or columns, got '\(s)'") }
            split = v
        } else {
            split = .rows
        }
        if task == .logisticRegression && raw.task.label == nil {
            throw fail("task.label", "logistic regression needs the name of its label column")
        }
        if task == .matmul && raw.parties.count != 2 {
            throw fail("task.kind", "matmul multiplies party 0's matrix by party 1's: it needs exactly two parties")
        }
        let epochs = raw.task.epochs ?? 5, batch = raw.task.batchSize ?? 50
        let rate = raw.task.learningRate ?? 0.5, iterations = raw.task.sigmoidIterations ?? 6
        guard (1...10_000).contains(epochs) else { throw fail("task.epochs", "must lie in 1…10000, got \(epochs)") }
        guard batch >= 1 else { throw fail("task.batch-size", "must be positive, got \(batch)") }
        guard rate > 0, rate.isFinite else { throw fail("task.learning-rate", "must be positive, got \(rate)") }
        guard (1...20).contains(iterations) else { throw fail("task.sigmoid-iterations", "must lie in 1…20, got \(iterations)") }
        let sigmoid: SigmoidApproximation
        switch raw.task.sigmoid ?? "piecewise" {
        case "piecewise": sigmoid = .piecewiseCubic
        case "exp": sigmoid = .exponential
        case let other: throw fail("task.sigmoid", "must be piecewise or exp, got '\(other)'")
        }
        let output = raw.output ?? ids
        guard !output.isEmpty else { throw fail("output", "at least one party must learn the output") }
        for o in output where !ids.contains(o) { throw fail("output", "'\(o)' is not a party") }
        let correlations: CorrelationSource
        switch raw.correlations.source {
        case "dealer":
            guard let d = raw.correlations.dealer else {
                throw fail("correlations.dealer", "missing: the dealer's id, address, certificate and key")
            }
            let dealer = try node(d, "correlations.dealer")
            guard !ids.contains(dealer.id) else { throw fail("correlations.dealer.id", "the dealer cannot be a party") }
            correlations = .dealer(dealer, seed: raw.correlations.seed)
        case "insecure-shared-seed":
            guard let seed = raw.correlations.seed else {
                throw fail("correlations.seed", "insecure-shared-seed needs the seed every party uses")
            }
            correlations = .insecureSharedSeed(seed)
        case "paillier":
            let bits = raw.correlations.keyBits ?? 2048
            guard (2048...4096).contains(bits) else { throw fail("correlations.key-bits", "must lie in 2048…4096, got \(bits)") }
            guard raw.parties.count == 2, task == .matmul else {
                throw fail("correlations.source", "paillier (dealer-free) triples serve two parties and the matmul task only")
            }
            correlations = .paillier(keyBits: bits)
        default:
            throw fail("correlations.source", "must be dealer, paillier or insecure-shared-seed, got '\(raw.correlations.source)'")
        }
        var limits = TransportLimits()
        if let l = raw.limits {
            if let v = l.connectTimeout {
                guard v > 0, v <= 3600 else { throw fail("limits.connect-timeout", "must lie in (0, 3600] seconds, got \(v)") }
                limits.connectTimeout = v
            }
            if let v = l.receiveTimeout {
                guard v > 0, v <= 3600 else { throw fail("limits.receive-timeout", "must lie in (0, 3600] seconds, got \(v)") }
                limits.receiveTimeout = v
            }
            if let v = l.maxFrameBytes {
                guard v >= 1024, v <= 1 << 31 else { throw fail("limits.max-frame-bytes", "must lie in 1024…\(1 << 31), got \(v)") }
                limits = TransportLimits(maximumFrameBytes: v, connectTimeout: limits.connectTimeout,
                                         receiveTimeout: limits.receiveTimeout)
            }
        }
        let bits = raw.fractionalBits ?? 16
        guard (8...24).contains(bits) else { throw fail("fractional-bits", "must lie in 8…24, got \(bits)") }
        var spec = MPCSpec(
            file: file, ca: resolve(raw.ca), parties: parties, task: task, split: split, label: raw.task.label,
            epochs: epochs, batchSize: batch, learningRate: rate, sigmoidIterations: iterations, output: output,
            correlations: correlations, insecureMaskSeed: raw.insecureMaskSeed, limits: limits, fractionalBits: bits)
        spec.sigmoid = sigmoid
        return spec
    }

    /// Whether YAML text has an anchor (`&name`) or alias (`*name`) outside quotes and comments.
    static func containsAnchorOrAlias(_ text: String) -> Bool {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var quote: Character?
            var previous: Character = " "
            for c in line {
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "#" && (previous == " " || previous == "\t") {
                    break
                } else if (c == "&" || c == "*") && (previous == " " || previous == "[" || previous == "," || previous == "{" || previous == ":") {
                    return true
                }
                previous = c
            }
        }
        return false
    }

    private static func path(of error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): context = c
        case let .keyNotFound(key, c):
            return (c.codingPath + [key]).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        @unknown default: return ""
        }
        return context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    private static func problem(of error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(type, _): return "expected a value of type \(type)"
        case let .valueNotFound(type, _): return "missing a value of type \(type)"
        case .keyNotFound: return "missing"
        case .dataCorrupted: return "malformed YAML or value"
        @unknown default: return "unreadable"
        }
    }
}
