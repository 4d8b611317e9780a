import Codecs
import Foundation

/// Canonical JSON of an `Encodable` value, the text every cache key hashes: object keys sorted,
/// no whitespace, `/` unescaped, numbers as Swift's shortest round-tripping form. Equal values
/// give equal bytes on every run and machine; a key type's fields are its whole meaning.
public enum CanonicalJSON {
    /// The canonical JSON bytes of `value`.
    /// - Throws: `EncodingError` when `value` holds a non-finite floating-point number.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// The SHA-256 (hex) of `value`'s canonical JSON.
    public static func sha256<T: Encodable>(_ value: T) throws -> String {
        SHA256.hash(Array(try encode(value))).hex
    }
}

/// The content of one outside file a trial read: its path, relative to the folder holding all
/// the trial's files, and the SHA-256 of its bytes.
public struct InputDigest: Codable, Hashable, Sendable {
    public var path: String
    public var sha256: String

    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }

    /// The digests of `files` (SHA-256 by absolute path) in path order, each path relative to the
    /// deepest folder that holds them all: the same contents under swapped names, or an image
    /// moved to another class folder, differ, while moving the whole folder does not.
    public static func relative(_ files: [String: String]) -> [InputDigest] {
        guard !files.isEmpty else { return [] }
        let paths = files.keys.map { $0.split(separator: "/", omittingEmptySubsequences: true) }
        var common = paths[0].dropLast().count
        for parts in paths {
            var k = 0
            while k < min(common, parts.count - 1) && parts[k] == paths[0][k] { k += 1 }
            common = k
        }
        return files.sorted { $0.key < $1.key }.map { entry in
            InputDigest(path: entry.key.split(separator: "/", omittingEmptySubsequences: true).dropFirst(common).joined(separator: "/"),
                        sha256: entry.value)
        }
    }
}

/// Everything that determines a cached artifact; its SHA-256 (`hash()`) is the artifact's key.
///
/// `recipe` is the kind's own typed account of what it computes (spec sections as canonical
/// JSON, seed and stream names, the indices it trains on); the runner adds the code that
/// computes it and the outside files the trial read, so a model trained on a changed file or by
/// changed code is never reused.
public struct ArtifactKey<Recipe: Encodable & Sendable>: Encodable, Sendable {
    /// The layout of this key; a new layout gives new keys.
    public let format = "privacy-lab artifact v2"
    /// The artifact's folder: `models` or `arrays`.
    public var kind: String
    /// The code identity (`PrivacyLabVersion.code`).
    public var code: String
    /// The outside files the trial read.
    public var inputs: [InputDigest]
    public var recipe: Recipe

    public init(kind: String, code: String, inputs: [InputDigest], recipe: Recipe) {
        self.kind = kind
        self.code = code
        self.inputs = inputs
        self.recipe = recipe
    }

    /// The artifact's key: the SHA-256 of this value's canonical JSON.
    public func hash() throws -> String { try CanonicalJSON.sha256(self) }
}

/// Everything that determines a trial's results; its hash is the trial key under which results
/// are stored and found again by any later run.
public struct TrialKey: Encodable, Sendable {
    public let format = "privacy-lab trial v2"
    /// The experiment kind (`membership-inference`).
    public var kind: String
    public var seed: UInt64
    /// The canonical JSON of the trial's spec body (every section but the header).
    public var body: String
    public var code: String
    /// The outside files the trial reads.
    public var inputs: [InputDigest]
    /// What stands for inputs that are not files (`ExperimentKind.inputFingerprints`).
    public var content: [String]

    public init(kind: String, seed: UInt64, body: String, code: String, inputs: [InputDigest], content: [String]) {
        self.kind = kind
        self.seed = seed
        self.body = body
        self.code = code
        self.inputs = inputs
        self.content = content
    }

    public func hash() throws -> String { try CanonicalJSON.sha256(self) }
}

/// What identifies a run of a spec (its header, body, sweep and the code), to find an
/// unfinished run of the same spec and resume it.
struct RunKey: Encodable {
    struct Axis: Encodable {
        var path: String
        /// The swept values, each as canonical JSON.
        var values: [String]
    }
    let format = "privacy-lab run v2"
    var kind: String
    var name: String
    var seed: UInt64
    var body: String
    var sweep: [Axis]
    var code: String
}
