import Codecs
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation

/// Executable Markdown notebooks: fenced ```privacy-lab blocks hold experiment specs; running
/// the notebook writes each block's results (a table and figure links) right below it between
/// marker comments, replacing earlier outputs. Outputs hold no run IDs or times, so a checked
/// notebook reproduces byte for byte.
///
/// A block's fence may carry options: ```` ```privacy-lab metrics=clean_accuracy,pgd.robust_accuracy@* ````
/// shows only those metrics (`*` matches any run of characters) in its table, in that order;
/// `layout=parts` turns that table into one row per part (the name before the first `.`: an
/// attack, a defence, a detector) and one column per remaining name (`robust_accuracy@0.3`).
/// Figures are named after the block's run (`figures/<run name>-…svg`; `-2`, `-3` for a name
/// that repeats in the notebook), not after the notebook's file, so a copied notebook checks.
public struct Notebook: Sendable {
    public static let outputStart = "<!-- privacy-lab:output -->"
    public static let outputEnd = "<!-- privacy-lab:end -->"

    public let url: URL
    public let text: String

    /// The largest notebook read (16 MiB).
    public static let maximumBytes = 16 << 20

    /// A spec block: its YAML and the line range of the block (fences included), plus the range
    /// of the output that follows it, if any.
    public struct Block: Sendable {
        public var yaml: String
        public var fenceLine: Int
        public var endLine: Int
        public var outputRange: Range<Int>?
        /// The metrics its table shows (`metrics=` on the fence), or nil for the default table.
        public var metrics: [String]? = nil
        /// How its table is laid out (`layout=` on the fence).
        public var layout: ReportWriter.TableLayout = .trials
    }

    /// The options on a ```` ```privacy-lab ```` fence line, or nil when the line opens no block.
    func fenceOptions(_ line: String, lineNumber: Int) throws -> [String: String]? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("```privacy-lab") else { return nil }
        let rest = trimmed.dropFirst("```privacy-lab".count)
        guard rest.isEmpty || rest.first == " " else { return nil }
        var options: [String: String] = [:]
        for word in rest.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["metrics", "layout"].contains(parts[0]), !parts[1].isEmpty, options[parts[0]] == nil else {
                throw RunnerError.spec(SpecError(file: url.path, line: lineNumber, keyPath: "",
                                                 message: "'\(word)' is not a block option; the fence takes metrics=NAME,NAME (with * as a wildcard) and layout=parts"))
            }
            options[parts[0]] = parts[1]
        }
        if let layout = options["layout"] {
            guard ReportWriter.TableLayout(rawValue: layout) != nil else {
                throw RunnerError.spec(SpecError(file: url.path, line: lineNumber, keyPath: "",
                                                 message: "'layout=\(layout)' is not a table layout; use layout=parts or layout=trials"))
            }
            guard options["metrics"] != nil || layout == "trials" else {
                throw RunnerError.spec(SpecError(file: url.path, line: lineNumber, keyPath: "",
                                                 message: "layout=parts needs metrics=NAME,NAME to say which metrics the parts table shows"))
            }
        }
        return options
    }

    public init(url: URL) throws {
        let bytes: [UInt8]
        do throws(InputFileError) { bytes = try InputFile.read(url, maximumBytes: Self.maximumBytes) } catch {
            throw RunnerError.spec(SpecError(file: url.path, line: nil, keyPath: "", message: "cannot read the notebook: \(error.reason)"))
        }
        try self.init(bytes: bytes, url: url)
    }

    /// A notebook from its bytes (as read from `url`, which names it in errors and locates its
    /// figures); a pure function from bytes to a notebook or a thrown error.
    /// - Throws: `RunnerError.spec` when the bytes are larger than `maximumBytes` or not UTF-8.
    public init(bytes: [UInt8], url: URL) throws {
        self.url = url
        guard bytes.count <= Self.maximumBytes else {
            throw RunnerError.spec(SpecError(file: url.path, line: nil, keyPath: "", message: "cannot read the notebook: larger than \(Self.maximumBytes) bytes"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RunnerError.spec(SpecError(file: url.path, line: nil, keyPath: "", message: "cannot read the notebook: it is not UTF-8 text"))
        }
        self.text = text
    }

    var lines: [String] { text.components(separatedBy: "\n") }

    /// The spec blocks in order.
    public func blocks() throws -> [Block] {
        let lines = self.lines
        var blocks: [Block] = []
        var i = 0
        while i < lines.count {
            if let options = try fenceOptions(lines[i], lineNumber: i + 1) {
                let start = i
                var j = i + 1
                while j < lines.count && lines[j].trimmingCharacters(in: .whitespaces) != "```" { j += 1 }
                guard j < lines.count else {
                    throw RunnerError.spec(SpecError(file: url.path, line: start + 1, keyPath: "", message: "unclosed ```privacy-lab block"))
                }
                var output: Range<Int>?
                var k = j + 1
                while k < lines.count && lines[k].trimmingCharacters(in: .whitespaces).isEmpty { k += 1 }
                if k < lines.count && lines[k].trimmingCharacters(in: .whitespaces) == Self.outputStart {
                    var e = k + 1
                    while e < lines.count && lines[e].trimmingCharacters(in: .whitespaces) != Self.outputEnd { e += 1 }
                    guard e < lines.count else {
                        throw RunnerError.spec(SpecError(file: url.path, line: k + 1, keyPath: "", message: "output block without \(Self.outputEnd)"))
                    }
                    output = k..<(e + 1)
                }
                blocks.append(Block(yaml: lines[(start + 1)..<j].joined(separator: "\n"), fenceLine: start, endLine: j, outputRange: output,
                                    metrics: options["metrics"].map { $0.split(separator: ",").map(String.init) },
                                    layout: options["layout"].flatMap(ReportWriter.TableLayout.init(rawValue:)) ?? .trials))
                i = output?.upperBound ?? (j + 1)
            } else {
                i += 1
            }
        }
        return blocks
    }

    /// The notebook's text with the given outputs (one per block, in order) in place.
    public func replacingOutputs(_ outputs: [String]) throws -> String {
        var lines = self.lines
        let blocks = try self.blocks()
        guard outputs.count == blocks.count else {
            throw RunnerError.internalInconsistency("\(url.path): \(outputs.count) outputs for \(blocks.count) blocks")
        }
        for (block, output) in zip(blocks, outputs).reversed() {
            let rendered = [Self.outputStart] + output.trimmingCharacters(in: .newlines).components(separatedBy: "\n") + [Self.outputEnd]
            if let range = block.outputRange {
                lines.replaceSubrange(range, with: rendered)
            } else {
                lines.insert(contentsOf: [""] + rendered, at: block.endLine + 1)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The current output text of each block (nil where none).
    public func currentOutputs() throws -> [String?] {
        let lines = self.lines
        return try blocks().map { block in
            block.outputRange.map { range in lines[(range.lowerBound + 1)..<(range.upperBound - 1)].joined(separator: "\n") }
        }
    }

    /// Runs every block through the runner, writes figures next to the notebook
    /// (`figures/<run name>-…svg`), and returns the outputs.
    public func run(runner: ExperimentRunner, options: ExperimentRunner.Options, figuresDirectory: URL) async throws -> [String] {
        try FileManager.default.createDirectory(at: figuresDirectory, withIntermediateDirectories: true)
        var outputs: [String] = []
        var prefixes: [String: Int] = [:]
        for block in try blocks() {
            // The block runs as a spec of the notebook itself: relative file paths in it resolve
            // against the notebook's folder.
            let summary: ExperimentRunner.Summary
            do { summary = try await runner.run(specText: block.yaml, specURL: url, options: options) } catch let error as RunnerError {
                // Point spec errors at the notebook's lines.
                if case let .spec(specError) = error {
                    var located = specError
                    located.file = url.path
                    located.line = specError.line.map { $0 + block.fenceLine + 1 }
                    throw RunnerError.spec(located)
                }
                throw error
            }
            let store = try ResultStore(url: options.storeURL, key: options.storeKey)
            let outcomes = try summary.trials.map { try store.outcome(runID: summary.run.id, index: $0.index) }
            let name = ReportWriter.slug(summary.run.name).isEmpty ? "block" : ReportWriter.slug(summary.run.name)
            prefixes[name, default: 0] += 1
            let prefix = prefixes[name]! == 1 ? name : "\(name)-\(prefixes[name]!)"
            let (markdown, figures) = ReportWriter.render(run: summary.run, trials: summary.trials, outcomes: outcomes,
                                                          figurePrefix: prefix, includeProvenance: false, metrics: block.metrics,
                                                          layout: block.layout)
            let (gridMarkdown, grids) = try ReportWriter.imageGrids(trials: summary.trials, outcomes: outcomes, store: store,
                                                                     figurePrefix: prefix)
            let relative = figuresDirectory.lastPathComponent
            var output = (markdown + gridMarkdown).replacingOccurrences(of: "](\(prefix)", with: "](\(relative)/\(prefix)")
            for (name, svg) in figures {
                try OutputFile.write(Data(svg.utf8), to: figuresDirectory.appendingPathComponent(name))
            }
            for (name, png) in grids {
                try OutputFile.write(png, to: figuresDirectory.appendingPathComponent(name))
            }
            output = "_\(summary.run.name) · \(summary.run.kind) · seed \(summary.run.seed) · \(summary.trials.count) trial\(summary.trials.count == 1 ? "" : "s")_\n\n" + output
            outputs.append(output)
        }
        return outputs
    }
}
