import Foundation

/// Decodes one mapping of a spec into typed values, tracking key paths and unused keys.
///
/// Use: read every key the parameters know (`required`, `optional`, `section`), then call
/// `finish()`, which rejects any key left unread, suggesting the closest known one.
public final class SpecReader {
    public let file: String
    public let path: String
    package let node: SpecNode
    package let entries: [SpecNode.Entry]
    private var known: [String] = []

    public init(_ node: SpecNode, file: String, path: String = "") throws(SpecError) {
        self.file = file
        self.path = path
        self.node = node
        switch node.value {
        case let .mapping(entries): self.entries = entries
        case .null: self.entries = []
        default: throw SpecError(file: file, line: node.line, keyPath: path, message: "expected a mapping of keys to values")
        }
    }

    package func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error located at `key` (its line when present, else this mapping's).
    public func error(_ key: String, _ message: String) -> SpecError {
        SpecError(file: file, line: entries.first { $0.key == key }?.value.line ?? node.line, keyPath: keyPath(key), message: message)
    }

    /// Whether `key` is present (and not null).
    public func contains(_ key: String) -> Bool {
        known.append(key)
        guard let value = entries.first(where: { $0.key == key })?.value else { return false }
        return value.value != .null
    }

    /// The raw node at `key`, marking it as known.
    public func node(_ key: String) -> SpecNode? {
        known.append(key)
        guard let value = entries.first(where: { $0.key == key })?.value, value.value != .null else { return nil }
        return value
    }

    public func required<T: SpecDecodable>(_ key: String, _ type: T.Type = T.self) throws(SpecError) -> T {
        guard let value = node(key) else {
            throw SpecError(file: file, line: node.line, keyPath: keyPath(key), message: "is required (\(T.specTypeDescription))")
        }
        return try T(spec: value, file: file, path: keyPath(key))
    }

    public func optional<T: SpecDecodable>(_ key: String, default fallback: T) throws(SpecError) -> T {
        guard let value = node(key) else { return fallback }
        return try T(spec: value, file: file, path: keyPath(key))
    }

    public func optional<T: SpecDecodable>(_ key: String) throws(SpecError) -> T? {
        guard let value = node(key) else { return nil }
        return try T(spec: value, file: file, path: keyPath(key))
    }

    /// A number in a closed range.
    public func required<T: SpecDecodable & Comparable>(_ key: String, in range: ClosedRange<T>) throws(SpecError) -> T {
        let value: T = try required(key)
        guard range.contains(value) else { throw error(key, "must lie in \(range.lowerBound)…\(range.upperBound), got \(value)") }
        return value
    }

    public func optional<T: SpecDecodable & Comparable>(_ key: String, default fallback: T, in range: ClosedRange<T>) throws(SpecError) -> T {
        let value: T = try optional(key, default: fallback)
        guard range.contains(value) else { throw error(key, "must lie in \(range.lowerBound)…\(range.upperBound), got \(value)") }
        return value
    }

    /// A path to an outside file at `key`, resolved against the folder of the spec (or notebook)
    /// when relative. The file is not opened here: the runner hashes every input file of a
    /// trial (`ExperimentKind.inputFiles`) into its key, and the kind reads it when it runs.
    public func inputFile(_ key: String) throws(SpecError) -> URL {
        let text: String = try required(key)
        return try resolve(text, key: key)
    }

    /// An optional input file at `key` (see `inputFile(_:)`).
    public func optionalInputFile(_ key: String) throws(SpecError) -> URL? {
        guard let text: String = try optional(key) else { return nil }
        return try resolve(text, key: key)
    }

    private func resolve(_ text: String, key: String) throws(SpecError) -> URL {
        guard !text.isEmpty, !text.contains("\0") else { throw error(key, "expected a file path, got an empty string") }
        if text.hasPrefix("/") { return URL(fileURLWithPath: text).standardizedFileURL }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        return folder.appendingPathComponent(text).standardizedFileURL
    }

    /// The nested mapping at `key` (an empty one when absent).
    public func section(_ key: String) throws(SpecError) -> SpecReader {
        let value = node(key) ?? SpecNode(.mapping([]), line: node.line)
        return try SpecReader(value, file: file, path: keyPath(key))
    }

    /// Rejects keys that no reader asked for, suggesting the closest known key.
    public func finish() throws(SpecError) {
        for entry in entries where !known.contains(entry.key) {
            var message = "unknown key"
            if let suggestion = closestMatch(entry.key, among: known) { message += " (did you mean '\(suggestion)'?)" }
            let choices = Array(Set(known)).sorted()
            if !choices.isEmpty { message += "; known keys here: \(choices.joined(separator: ", "))" }
            throw SpecError(file: file, line: entry.value.line, keyPath: keyPath(entry.key), message: message)
        }
    }
}

/// The known word closest to `word` by edit distance, when it is close enough to be a typo.
public func closestMatch(_ word: String, among candidates: [String]) -> String? {
    var best: (String, Int)?
    for candidate in Set(candidates) {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        let limit = max(1, min(3, (candidate.count + 2) / 3))
        if distance <= limit, best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) {
            best = (candidate, distance)
        }
    }
    return best?.0
}

/// Edit distance with adjacent transpositions (optimal string alignment): insertions,
/// deletions, substitutions and swaps of neighbours each cost 1, so `epohcs` is 1 from `epochs`.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
        }
    }
    return d[x.count][y.count]
}

// MARK: - Decodable values

/// A value that can be read from a spec node.
public protocol SpecDecodable {
    init(spec node: SpecNode, file: String, path: String) throws(SpecError)
    /// What the spec must hold, for error messages ("an integer").
    static var specTypeDescription: String { get }
}

extension SpecNode {
    package func scalarText(file: String, path: String, expected: String) throws(SpecError) -> (String, Bool) {
        guard case let .scalar(text, quoted) = value else {
            throw SpecError(file: file, line: line, keyPath: path, message: "expected \(expected), got \(kindDescription)")
        }
        return (text, quoted)
    }

    package var kindDescription: String {
        switch value {
        case .null: return "nothing"
        case let .scalar(text, _): return "'\(text)'"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

extension Int: SpecDecodable {
    public static var specTypeDescription: String { "an integer" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        let (text, quoted) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        guard !quoted, let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw SpecError(file: file, line: node.line, keyPath: path, message: "expected an integer, got '\(text)'")
        }
        self = value
    }
}

extension UInt64: SpecDecodable {
    public static var specTypeDescription: String { "a non-negative integer" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        let (text, quoted) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        guard !quoted, let value = UInt64(text.replacingOccurrences(of: "_", with: "")) else {
            throw SpecError(file: file, line: node.line, keyPath: path, message: "expected a non-negative integer, got '\(text)'")
        }
        self = value
    }
}

extension Double: SpecDecodable {
    public static var specTypeDescription: String { "a number" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        let (text, quoted) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        let lowered = text.lowercased()
        if !quoted, [".inf", "inf", "+.inf", "infinity"].contains(lowered) { self = .infinity; return }
        guard !quoted, let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            throw SpecError(file: file, line: node.line, keyPath: path, message: "expected a number, got '\(text)'")
        }
        self = value
    }
}

extension Float: SpecDecodable {
    public static var specTypeDescription: String { "a number" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        self = Float(try Double(spec: node, file: file, path: path))
    }
}

extension Bool: SpecDecodable {
    public static var specTypeDescription: String { "true or false" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        let (text, quoted) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        switch (text.lowercased(), quoted) {
        case ("true", false), ("yes", false), ("on", false): self = true
        case ("false", false), ("no", false), ("off", false): self = false
        default: throw SpecError(file: file, line: node.line, keyPath: path, message: "expected true or false, got '\(text)'")
        }
    }
}

extension String: SpecDecodable {
    public static var specTypeDescription: String { "a string" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        self = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription).0
    }
}

extension Array: SpecDecodable where Element: SpecDecodable {
    public static var specTypeDescription: String { "a list of \(Element.specTypeDescription)s" }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        switch node.value {
        case let .sequence(items):
            var result: [Element] = []
            for (index, item) in items.enumerated() { result.append(try Element(spec: item, file: file, path: "\(path)[\(index)]")) }
            self = result
        case .scalar:
            // A single value where a list is expected is a list of one.
            self = [try Element(spec: node, file: file, path: path)]
        default:
            throw SpecError(file: file, line: node.line, keyPath: path, message: "expected \(Self.specTypeDescription), got \(node.kindDescription)")
        }
    }
}

/// String enums read from specs by raw value, with suggestions for typos.
public protocol SpecEnum: SpecDecodable, RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == String {}

extension SpecEnum {
    public static var specTypeDescription: String { "one of " + allCases.map { $0.rawValue }.joined(separator: ", ") }
    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        let (text, _) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        guard let value = Self(rawValue: text) else {
            let names = Self.allCases.map { $0.rawValue }
            var message = "unknown value '\(text)'"
            if let suggestion = closestMatch(text, among: names) { message += " (did you mean '\(suggestion)'?)" }
            message += "; expected \(Self.specTypeDescription)"
            throw SpecError(file: file, line: node.line, keyPath: path, message: message)
        }
        self = value
    }
}
