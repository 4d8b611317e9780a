import Federated
import Foundation

/// The server's persisted round state: a `FederatedCheckpoint` and the key of the run it
/// belongs to, as versioned JSON (parameters and strategy state as base64 of little-endian
/// IEEE-754 words, so they round-trip bit for bit), written atomically (temp file + rename)
/// after every finished round.
enum RoundStateFile {
    struct Stored: Codable {
        var version: Int
        var run: String
        var nextRound: Int
        var global: String
        var strategyState: [String: String]
        var records: [RoundRecord]
    }

    static let version = 1
    /// The largest state file read back.
    static let maximumBytes = 1 << 30

    static func save(_ c: FederatedCheckpoint, run: String, to path: String) throws {
        let stored = Stored(version: version, run: run, nextRound: c.nextRound, global: base64(c.global.map(\.bitPattern)),
                            strategyState: c.strategyState.mapValues { base64($0.map(\.bitPattern)) }, records: c.records)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        encoder.outputFormatting = [.sortedKeys]
        do {
            try encoder.encode(stored).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FederatedNetworkError("cannot write the round state \(path): \(error.localizedDescription)")
        }
    }

    /// The checkpoint at `path`, nil when there is none.
    /// - Throws: `FederatedNetworkError` naming the file when it is unreadable, malformed or of another run.
    static func load(_ path: String, run: String) throws -> FederatedCheckpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size <= maximumBytes,
              let data = FileManager.default.contents(atPath: path) else {
            throw FederatedNetworkError("\(path): cannot read the round state (or it is over \(maximumBytes) bytes)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let stored = try? decoder.decode(Stored.self, from: data) else {
            throw FederatedNetworkError("\(path): not a round state file of this version (malformed JSON or missing fields)")
        }
        guard stored.version == version else { throw FederatedNetworkError("\(path): round state version \(stored.version), expected \(version)") }
        guard stored.run == run else {
            throw FederatedNetworkError("\(path): the round state belongs to another run (spec or seed changed); remove it to start over")
        }
        guard let global = words32(stored.global) else { throw FederatedNetworkError("\(path): global: not base64 of 4-byte words") }
        var state: [String: [Double]] = [:]
        for (name, text) in stored.strategyState {
            guard let w = words64(text) else { throw FederatedNetworkError("\(path): strategyState.\(name): not base64 of 8-byte words") }
            state[name] = w.map(Double.init(bitPattern:))
        }
        return FederatedCheckpoint(nextRound: stored.nextRound, global: global.map(Float.init(bitPattern:)), strategyState: state,
                                   records: stored.records)
    }

    static func base64<W: FixedWidthInteger>(_ words: [W]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * W.bitWidth / 8)
        for w in words { for i in 0..<(W.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * i))) } }
        return Data(bytes).base64EncodedString()
    }

    static func words32(_ text: String) -> [UInt32]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        let b = Array(data)
        return stride(from: 0, to: b.count, by: 4).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) } }
    }

    static func words64(_ text: String) -> [UInt64]? {
        guard let data = Data(base64Encoded: text), data.count % 8 == 0 else { return nil }
        let b = Array(data)
        return stride(from: 0, to: b.count, by: 8).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
    }
}
