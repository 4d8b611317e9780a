import Codecs
import Foundation
public import ModelAccess

/// What a client may do with a served model: who it is, how fast and how much it may ask, until
/// when, what it sees of the answers, and whether a detector watches its queries.
///
/// Stored in a tokens file (JSON, a list of these objects) with the SHA-256 of the secret token,
/// never the token itself: a stolen tokens file does not let anyone query the model.
public struct ServingToken: Codable, Sendable, Equatable {
    /// A name for the client (letters, digits, `-`, `_`, `.`; at most 64): what logs and metrics show.
    public var id: String
    /// The SHA-256 of the secret token, in hex.
    public var sha256: String
    /// Queries (input rows) a second, refilled continuously, and the most a client may send at once.
    public var ratePerSecond: Double
    public var burst: Int
    /// Queries in all over the token's life (the query log carries the count across restarts).
    public var budget: Int
    /// After this instant the token is refused (nil: never).
    public var expires: Date?
    /// What the client sees of each answer.
    public var output: OutputPolicy
    /// The detector watching the client's queries (`none`, `blacklight`, `knn`); a client flagged
    /// once is blocked from then on.
    public var detector: DetectorChoice

    public enum DetectorChoice: String, Codable, Sendable, Equatable { case none, blacklight }

    enum CodingKeys: String, CodingKey {
        case id, sha256, burst, budget, expires, output, detector
        case ratePerSecond = "rate_per_second"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        sha256 = try c.decode(String.self, forKey: .sha256)
        ratePerSecond = try c.decode(Double.self, forKey: .ratePerSecond)
        burst = try c.decode(Int.self, forKey: .burst)
        budget = try c.decode(Int.self, forKey: .budget)
        expires = try c.decodeIfPresent(Date.self, forKey: .expires)
        let name = try c.decode(String.self, forKey: .output)
        do { output = try OutputPolicy(serving: name) } catch {
            throw DecodingError.dataCorruptedError(forKey: .output, in: c, debugDescription: error.description)
        }
        detector = try c.decode(DetectorChoice.self, forKey: .detector)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(ratePerSecond, forKey: .ratePerSecond)
        try c.encode(burst, forKey: .burst)
        try c.encode(budget, forKey: .budget)
        try c.encodeIfPresent(expires, forKey: .expires)
        try c.encode(output.description, forKey: .output)
        try c.encode(detector, forKey: .detector)
    }

    public init(id: String, sha256: String, ratePerSecond: Double = 10, burst: Int = 100, budget: Int = 10_000,
                expires: Date? = nil, output: OutputPolicy = .full, detector: DetectorChoice = .none) {
        self.id = id
        self.sha256 = sha256
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.budget = budget
        self.expires = expires
        self.output = output
        self.detector = detector
    }

    /// Checks every field; the error names the token and the field.
    public func validate() throws(ServingError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ allowed.contains($0) }) else {
            throw ServingError("token id '\(id.prefix(80))': use 1…64 letters, digits, '-', '_' or '.'")
        }
        guard SHA256Digest(hex: sha256) != nil else { throw ServingError("token \(id): sha256 must be 64 hex digits") }
        guard ratePerSecond.isFinite, ratePerSecond > 0, ratePerSecond <= 1e6 else {
            throw ServingError("token \(id): rate_per_second must be in (0, 1000000], got \(ratePerSecond)")
        }
        guard (1...1_000_000).contains(burst) else { throw ServingError("token \(id): burst must be 1…1000000, got \(burst)") }
        guard budget >= 0 else { throw ServingError("token \(id): budget must be ≥ 0, got \(budget)") }
    }
}

/// The tokens a server accepts, read from its tokens file.
public struct TokenRegistry: Sendable {
    public let tokens: [ServingToken]
    private let digests: [[UInt8]]

    /// The most bytes a tokens file may have.
    public static let maximumFileBytes = 4 << 20

    public init(tokens: [ServingToken]) throws(ServingError) {
        var seen = Set<String>()
        for t in tokens {
            try t.validate()
            guard seen.insert(t.id).inserted else { throw ServingError("token id '\(t.id)' appears twice") }
        }
        self.tokens = tokens
        digests = tokens.map { SHA256Digest(hex: $0.sha256)!.bytes }
    }

    /// Reads a tokens file (a JSON list of `ServingToken`).
    /// - Throws: `ServingError` naming the file and what is wrong with it.
    public init(contentsOf url: URL) throws(ServingError) {
        let data: Data
        do { data = Data(try InputFile.read(url, maximumBytes: Self.maximumFileBytes)) } catch {
            throw ServingError("\(url.path): \(error)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let list: [ServingToken]
        do { list = try decoder.decode([ServingToken].self, from: data) } catch {
            throw ServingError("\(url.path): not a tokens file (a JSON list of tokens): \(Self.describe(error))")
        }
        do { try self.init(tokens: list) } catch { throw ServingError("\(url.path): \(error.description)") }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "missing '\(key.stringValue)' at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context):
            return "\(context.debugDescription) at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default:
            return "\(error)"
        }
    }

    /// The token whose digest is the SHA-256 of `secret`, comparing with every stored digest in
    /// constant time (no early exit, no comparison that stops at the first differing byte).
    public func authenticate(_ secret: String) -> ServingToken? {
        let presented = SHA256.hash(utf8: secret).bytes
        var found = -1
        for (index, digest) in digests.enumerated() {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= digest[i] ^ presented[i] }
            // Branch-free select: mask is all ones when the digests are equal.
            let equal = Int(difference == 0 ? 1 : 0)
            found = equal * index + (1 - equal) * found
        }
        return found >= 0 ? tokens[found] : nil
    }

    /// A new secret token (32 bytes from the operating system's random source, hex) and its
    /// record; the secret is shown once to be handed to the client and never stored.
    public static func newToken(id: String, ratePerSecond: Double, burst: Int, budget: Int, expires: Date?,
                                output: OutputPolicy, detector: ServingToken.DetectorChoice) throws(ServingError) -> (secret: String, token: ServingToken) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = "plt_" + bytes.map { String(format: "%02x", $0) }.joined()
        let token = ServingToken(id: id, sha256: SHA256.hash(utf8: secret).hex, ratePerSecond: ratePerSecond, burst: burst,
                                 budget: budget, expires: expires, output: output, detector: detector)
        try token.validate()
        return (secret, token)
    }

    /// The tokens file's text: tokens sorted by id, pretty-printed, dates in ISO 8601.
    public func fileText() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(tokens.sorted { $0.id < $1.id })) ?? Data("[]".utf8)
    }
}

/// A served model's configuration or a request that cannot be used, named.
public struct ServingError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
