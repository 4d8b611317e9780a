import Foundation

/// A parsed experiment spec (version 1): its header, its body with `--set` overrides applied,
/// and its sweep, expanded into trials.
///
/// ```yaml
/// version: 1
/// name: digits-mlp
/// kind: train
/// seed: 7
/// data: {dataset: digits}
/// model: {architecture: mlp, hidden: [128], epochs: 20}
/// sweep:
///   model.epochs: [5, 20]
/// ```
public struct ExperimentDocument: Sendable {
    /// The spec format versions this PrivacyLab reads.
    public static let supportedVersions = [1]

    /// The most trials one spec's sweep may expand to. A sweep's size is the product of its
    /// lists' lengths; it is checked (with overflow) before the sweep is expanded, so a spec of a
    /// few hundred bytes cannot plan 10¹² trials.
    public static let maximumTrials = 10_000

    public let file: String
    public let version: Int
    public let name: String
    public let kind: String
    public let seed: UInt64
    /// The body with overrides applied and the header and `sweep` removed.
    public let body: SpecNode
    /// Swept key paths and their values, in the order written.
    public let sweep: [(path: String, values: [SpecNode])]
    /// The overrides given with `--set`, as written.
    public let overrides: [String]

    /// Parses a spec's text and applies `key=value` overrides (values are YAML scalars or flow
    /// collections: `model.epochs=10`, `model.hidden=[64,64]`).
    public init(yaml: String, file: String, overrides: [String] = [], knownKinds: [String]) throws(SpecError) {
        var root = try SpecNode.parse(yaml: yaml, file: file)
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw SpecError(file: file, line: nil, keyPath: "", message: "--set '\(override)' is not of the form key=value")
            }
            let key = String(override[..<equals]), text = String(override[override.index(after: equals)...])
            let value = try SpecNode.parse(yaml: text.isEmpty ? "''" : text, file: "--set \(key)")
            let path = key.split(separator: ".").map(String.init)
            guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
                throw SpecError(file: file, line: nil, keyPath: key, message: "--set key is not a dotted key path")
            }
            root = try root.setting(path, to: SpecNode(value.value, line: nil), file: file, fullPath: key)
        }
        let header = try SpecReader(root, file: file)
        version = try header.required("version")
        guard Self.supportedVersions.contains(version) else {
            throw header.error("version", "spec version \(version) is not supported; this PrivacyLab reads version \(Self.supportedVersions.map(String.init).joined(separator: ", "))")
        }
        name = try header.required("name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw header.error("name", "must be a non-empty name of letters, digits, '-', '_' or '.'")
        }
        let kindName: String = try header.required("kind")
        guard knownKinds.contains(kindName) else {
            var message = "unknown experiment kind '\(kindName)'"
            if let suggestion = closestMatch(kindName, among: knownKinds) { message += " (did you mean '\(suggestion)'?)" }
            message += "; known kinds: \(knownKinds.sorted().joined(separator: ", "))"
            throw header.error("kind", message)
        }
        kind = kindName
        seed = try header.optional("seed", default: 0)
        var sweep: [(String, [SpecNode])] = []
        var trialCount = 1
        if let sweepNode = header.node("sweep") {
            guard case let .mapping(entries) = sweepNode.value else {
                throw header.error("sweep", "expected a mapping of key paths to lists of values")
            }
            for entry in entries {
                guard case let .sequence(values) = entry.value.value, !values.isEmpty else {
                    throw SpecError(file: file, line: entry.value.line, keyPath: "sweep.\(entry.key)", message: "expected a non-empty list of values")
                }
                if ["version", "name", "kind", "seed", "sweep"].contains(entry.key.split(separator: ".").first.map(String.init) ?? "") {
                    if entry.key != "seed" {
                        throw SpecError(file: file, line: entry.value.line, keyPath: "sweep.\(entry.key)", message: "cannot sweep the spec header")
                    }
                }
                sweep.append((entry.key, values))
                // The product is checked as it grows (with overflow), before anything is expanded.
                let (product, overflow) = trialCount.multipliedReportingOverflow(by: values.count)
                trialCount = overflow ? Int.max : product
            }
            if trialCount > Self.maximumTrials {
                let factors = sweep.map { String($0.1.count) }.joined(separator: " × ")
                let total = trialCount == Int.max ? "more than \(Int.max)" : "\(trialCount)"
                throw header.error("sweep", "expands to \(factors) = \(total) trials; the limit is \(Self.maximumTrials) trials per spec (split the spec, or sweep fewer values)")
            }
        }
        // `--set` on a swept key (or on a section holding one) would be silently replaced by the
        // sweep's values: refuse it.
        for override in overrides {
            let key = String(override.prefix { $0 != "=" })
            if let swept = sweep.first(where: { $0.0 == key || $0.0.hasPrefix(key + ".") || key.hasPrefix($0.0 + ".") }) {
                throw SpecError(file: file, line: nil, keyPath: key,
                                message: "--set \(key): the spec sweeps sweep.\(swept.0) (\(swept.1.count) values); change the sweep in the spec instead")
            }
        }
        self.sweep = sweep
        self.overrides = overrides
        self.file = file
        var body = root
        for key in ["version", "name", "kind", "seed", "sweep"] { body = body.removing(key) }
        self.body = body
        // The body's top-level keys are checked by the kind's decoder; mark them known here.
        if case let .mapping(entries) = body.value { for entry in entries { _ = header.node(entry.key) } }
        try header.finish()
    }

    /// One trial per element of the cross product of the sweep's lists (the first swept key
    /// varies slowest), each with its parameters and its full body.
    public func trials() throws(SpecError) -> [TrialDefinition] {
        var combinations: [[(String, SpecNode)]] = [[]]
        for (path, values) in sweep {
            combinations = combinations.flatMap { prefix in values.map { prefix + [(path, $0)] } }
        }
        var result: [TrialDefinition] = []
        for (index, combination) in combinations.enumerated() {
            var body = self.body
            var seed = self.seed
            for (path, value) in combination {
                if path == "seed" {
                    seed = try UInt64(spec: value, file: file, path: "sweep.seed")
                } else {
                    body = try body.setting(path.split(separator: ".").map(String.init), to: value, file: file, fullPath: path)
                }
            }
            result.append(TrialDefinition(index: index, parameters: combination.map { TrialParameter(path: $0.0, value: $0.1) },
                                          body: body, seed: seed))
        }
        return result
    }
}

/// One swept parameter of a trial.
public struct TrialParameter: Sendable, Equatable {
    public var path: String
    public var value: SpecNode
}

/// One trial of an experiment: the sweep's values for it and the body they produce.
public struct TrialDefinition: Sendable {
    public var index: Int
    public var parameters: [TrialParameter]
    public var body: SpecNode
    public var seed: UInt64

    /// `{"model.epochs": 5}` as canonical JSON.
    public var parametersJSON: String {
        "{" + parameters.map { "\(SpecNode.jsonString($0.path)):\($0.value.canonicalJSON)" }.joined(separator: ",") + "}"
    }
}
