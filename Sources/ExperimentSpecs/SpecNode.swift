import Codecs
import Yams

/// A node of a YAML experiment spec, with the line it came from (for error messages).
///
/// Specs are read in two steps: YAML text becomes a tree of `SpecNode`s (this file), and a
/// `SpecReader` decodes the tree into typed parameters, tracking the key path of every value so
/// that each error names the file, the line and the key.
public struct SpecNode: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        /// A scalar as written (YAML's plain or quoted text); typed by the reader.
        case scalar(String, quoted: Bool)
        case sequence([SpecNode])
        /// Keys in the order written.
        case mapping([Entry])
        case null
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: SpecNode
    }

    public var value: Value
    /// 1-based line in the source, `nil` for values from `--set` or generated ones.
    public var line: Int?

    public init(_ value: Value, line: Int? = nil) {
        self.value = value
        self.line = line
    }

    /// The node parsed from YAML text.
    /// - Throws: `SpecError` with the line of the first syntax error.
    public static func parse(yaml: String, file: String) throws(SpecError) -> SpecNode {
        try refuseAnchorsAndAliases(yaml: yaml, file: file)
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch let error as YamlError {
            throw SpecError(file: file, line: Self.line(of: error), keyPath: "", message: "malformed YAML: \(Self.problem(of: error))")
        } catch {
            throw SpecError(file: file, line: nil, keyPath: "", message: "malformed YAML: \(error)")
        }
        guard let node else { return SpecNode(.mapping([]), line: 1) }
        return try convert(node, file: file, path: "")
    }

    /// The tree of `node`, refusing any node met twice (an alias).
    ///
    /// Yams composes an alias as the very node its anchor names, with the anchor's mark and
    /// (in the version we build) without the anchor itself, so `Node.alias` never reaches this
    /// function and `Node.anchor` is always nil. Aliases are refused before composing by
    /// `refuseAnchorsAndAliases`; as a second line, every collection and non-empty scalar is
    /// recorded here by its kind and start mark — distinct nodes of one kind never start at the
    /// same place — so an alias that got through is refused on its first repetition, before the
    /// tree it names is copied again.
    static func convert(_ node: Node, file: String, path: String) throws(SpecError) -> SpecNode {
        var seen = Set<NodeIdentity>()
        return try convert(node, file: file, path: path, parentLine: node.mark?.line, seen: &seen)
    }

    struct NodeIdentity: Hashable {
        var kind: UInt8
        var line: Int
        var column: Int
    }

    static func convert(_ node: Node, file: String, path: String, parentLine: Int?,
                        seen: inout Set<NodeIdentity>) throws(SpecError) -> SpecNode {
        let line = node.mark?.line
        if let mark = node.mark {
            let kind: UInt8?
            switch node {
            case let .scalar(scalar): kind = scalar.string.isEmpty ? nil : 0
            case .sequence: kind = 1
            case .mapping: kind = 2
            case .alias: kind = 3
            }
            if let kind, !seen.insert(NodeIdentity(kind: kind, line: mark.line, column: mark.column)).inserted {
                throw SpecError(file: file, line: parentLine, keyPath: path,
                                message: "YAML aliases are not supported in specs (this value repeats the one at line \(mark.line)); write the values out")
            }
        }
        switch node {
        case let .scalar(scalar):
            if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return SpecNode(.null, line: line)
            }
            return SpecNode(.scalar(scalar.string, quoted: scalar.style != .plain), line: line)
        case let .sequence(sequence):
            var items: [SpecNode] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, file: file, path: "\(path)[\(index)]", parentLine: line, seen: &seen))
            }
            return SpecNode(.sequence(items), line: line)
        case let .mapping(mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                guard case let .scalar(keyScalar) = key else {
                    throw SpecError(file: file, line: key.mark?.line, keyPath: path, message: "mapping keys must be plain strings")
                }
                _ = try convert(key, file: file, path: path, parentLine: line, seen: &seen)
                let name = keyScalar.string
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                if entries.contains(where: { $0.key == name }) {
                    throw SpecError(file: file, line: key.mark?.line, keyPath: childPath, message: "duplicate key")
                }
                entries.append(Entry(key: name, value: try convert(value, file: file, path: childPath, parentLine: line, seen: &seen)))
            }
            return SpecNode(.mapping(entries), line: line)
        case .alias:
            throw SpecError(file: file, line: line, keyPath: path, message: "YAML aliases are not supported in specs")
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        default: return nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            return (context.map { "\($0.description) " } ?? "") + problem
        default: return "\(error)"
        }
    }

    /// The child at `key` of a mapping node.
    public subscript(key: String) -> SpecNode? {
        guard case let .mapping(entries) = value else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The tree with the value at a dotted path replaced (or added), creating mappings on the way.
    /// - Throws: when a step of the path is not a mapping.
    public func setting(_ path: [String], to newValue: SpecNode, file: String, fullPath: String) throws(SpecError) -> SpecNode {
        guard let first = path.first else { return newValue }
        var entries: [Entry]
        switch value {
        case let .mapping(existing): entries = existing
        case .null: entries = []
        default:
            throw SpecError(file: file, line: line, keyPath: fullPath, message: "cannot set a key inside a value that is not a mapping")
        }
        if let index = entries.firstIndex(where: { $0.key == first }) {
            entries[index].value = try entries[index].value.setting(Array(path.dropFirst()), to: newValue, file: file, fullPath: fullPath)
        } else {
            entries.append(Entry(key: first, value: try SpecNode(.null).setting(Array(path.dropFirst()), to: newValue, file: file, fullPath: fullPath)))
        }
        return SpecNode(.mapping(entries), line: line)
    }

    /// The tree without the entry at `key` (top level).
    public func removing(_ key: String) -> SpecNode {
        guard case let .mapping(entries) = value else { return self }
        return SpecNode(.mapping(entries.filter { $0.key != key }), line: line)
    }

    /// A canonical JSON text of the node (keys sorted, scalars typed as YAML would type them),
    /// used for hashing and storing parameters.
    public var canonicalJSON: String {
        switch value {
        case .null: return "null"
        case let .scalar(text, quoted):
            if !quoted {
                if text == "true" || text == "false" { return text }
                if Int(text) != nil { return text }
                if let d = Double(text), d.isFinite { return SpecNode.jsonNumber(d) }
            }
            return SpecNode.jsonString(text)
        case let .sequence(items): return "[" + items.map(\.canonicalJSON).joined(separator: ",") + "]"
        case let .mapping(entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\(SpecNode.jsonString($0.key)):\($0.value.canonicalJSON)" }
                .joined(separator: ",") + "}"
        }
    }

    /// A short YAML-like rendering for tables (`5`, `[256, 128]`, `adam`).
    public var displayText: String {
        switch value {
        case .null: return "null"
        case let .scalar(text, _): return text
        case let .sequence(items): return "[" + items.map(\.displayText).joined(separator: ", ") + "]"
        case let .mapping(entries): return "{" + entries.map { "\($0.key): \($0.value.displayText)" }.joined(separator: ", ") + "}"
        }
    }

    static func jsonNumber(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }

    package static func jsonString(_ s: String) -> String { JSONText.string(s) }
}

/// A spec that cannot be used, with where and why.
public struct SpecError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    /// The dotted key path, e.g. `model.epochs`; empty for the whole document.
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}
