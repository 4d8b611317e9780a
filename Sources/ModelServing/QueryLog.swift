import Codecs
import Foundation
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#endif

/// One line of the query log: a request to the prediction endpoint and what became of it.
public struct QueryLogEntry: Codable, Sendable, Equatable {
    /// When the request arrived (ISO 8601, milliseconds, UTC).
    public var time: String
    /// The token's id, or nil when the request carried no valid token.
    public var token: String?
    /// The HTTP status answered.
    public var status: Int
    /// Input rows in the request (0 when the body could not be read as inputs).
    public var rows: Int
    /// The SHA-256 of the request body, in hex.
    public var inputSHA256: String
    /// Whether the token's detector flagged the request (the token is blocked from then on).
    public var flagged: Bool
    /// Where the rows start in the inputs file (Float32, little-endian, row after row), when the
    /// server keeps inputs for offline replay.
    public var inputOffset: Int?

    enum CodingKeys: String, CodingKey {
        case time, token, status, rows, flagged
        case inputSHA256 = "input_sha256"
        case inputOffset = "input_offset"
    }
}

/// The append-only log of every query a served model receives: one JSON line per request, written
/// with a single `write` to a file opened for appending (mode 0600), so lines from concurrent
/// requests never interleave and nothing already written is rewritten. With `keepsInputs`, the
/// admitted rows go to `<log>.inputs` beside it, so detectors can replay each client's stream
/// offline. Lines reach the operating system at once (they survive a crash of the server, not a
/// power cut: there is no fsync per request).
public final class QueryLog: @unchecked Sendable {
    public let url: URL
    public let inputsURL: URL?
    private let lock = NSLock()
    private let descriptor: Int32
    private let inputsDescriptor: Int32
    private var inputsLength: Int

    /// Opens (creating if needed) the log at `url` for appending.
    /// - Throws: `ServingError` when the file cannot be opened for appending.
    public init(url: URL, keepsInputs: Bool = false) throws(ServingError) {
        self.url = url
        descriptor = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ServingError("\(url.path): cannot open the query log for appending (errno \(errno))") }
        if keepsInputs {
            let inputs = URL(fileURLWithPath: url.path + ".inputs")
            inputsURL = inputs
            inputsDescriptor = open(inputs.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard inputsDescriptor >= 0 else {
                close(descriptor)
                throw ServingError("\(inputs.path): cannot open the inputs file for appending (errno \(errno))")
            }
            var info = stat()
            fstat(inputsDescriptor, &info)
            inputsLength = Int(info.st_size)
        } else {
            inputsURL = nil
            inputsDescriptor = -1
            inputsLength = 0
        }
    }

    deinit {
        close(descriptor)
        if inputsDescriptor >= 0 { close(inputsDescriptor) }
    }

    /// Used only under `lock`.
    nonisolated(unsafe) static let timeFormat: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    /// Appends one entry; `rows` (the admitted inputs) go to the inputs file when it is kept.
    /// - Throws: `ServingError` when the write fails or is short.
    public func append(time: Date, token: String?, status: Int, rows: Int, body: [UInt8], flagged: Bool,
                       inputs: [Float]? = nil) throws(ServingError) {
        lock.lock()
        defer { lock.unlock() }
        var offset: Int? = nil
        if inputsDescriptor >= 0, let inputs, !inputs.isEmpty {
            let written = inputs.withUnsafeBytes { write(inputsDescriptor, $0.baseAddress, $0.count) }
            guard written == inputs.count * 4 else { throw ServingError("\(inputsURL!.path): short write of the inputs (errno \(errno))") }
            offset = inputsLength
            inputsLength += written
        }
        let entry = QueryLogEntry(time: Self.timeFormat.string(from: time), token: token, status: status, rows: rows,
                                  inputSHA256: SHA256.hash(body).hex, flagged: flagged, inputOffset: offset)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = (try? encoder.encode(entry)) ?? Data()
        line.append(0x0A)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { throw ServingError("\(url.path): short write to the query log (errno \(errno))") }
    }

    /// The entries of a log file, in order. A last line without its newline (a write cut short)
    /// is left out; any other line that is not an entry is an error naming its line number.
    /// - Throws: `ServingError` for an unreadable file, one over `maximumBytes`, or a bad line.
    public static func read(_ url: URL, maximumBytes: Int = 1 << 30) throws(ServingError) -> [QueryLogEntry] {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(url, maximumBytes: maximumBytes) } catch { throw ServingError("\(url.path): \(error)") }
        let decoder = JSONDecoder()
        var entries: [QueryLogEntry] = []
        var start = 0, number = 0
        while start < bytes.count {
            guard let end = bytes[start...].firstIndex(of: 0x0A) else { break }
            number += 1
            do { entries.append(try decoder.decode(QueryLogEntry.self, from: Data(bytes[start..<end]))) } catch {
                throw ServingError("\(url.path): line \(number) is not a query-log entry: \(TokenRegistry.describe(error))")
            }
            start = end + 1
        }
        return entries
    }

    /// Each token's admitted queries, replayed from a log and its inputs file: per token id, the
    /// rows (`width` values each) in the order they were answered.
    /// - Throws: `ServingError` when an entry points outside the inputs file.
    public static func streams(_ entries: [QueryLogEntry], inputs url: URL, width: Int,
                               maximumBytes: Int = 1 << 32) throws(ServingError) -> [String: [Float]] {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(url, maximumBytes: maximumBytes) } catch { throw ServingError("\(url.path): \(error)") }
        var out: [String: [Float]] = [:]
        for (line, e) in entries.enumerated() {
            guard let token = e.token, let offset = e.inputOffset else { continue }
            let (size, overflow) = e.rows.multipliedReportingOverflow(by: width * 4)
            guard !overflow, offset >= 0, e.rows >= 0, offset <= bytes.count - size || size == 0 && offset <= bytes.count else {
                throw ServingError("\(url.path): entry \(line + 1) points at bytes \(offset)… beyond the \(bytes.count) the inputs file holds")
            }
            var rows = [Float](repeating: 0, count: e.rows * width)
            rows.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + size])) } }
            out[token, default: []] += rows
        }
        return out
    }
}
