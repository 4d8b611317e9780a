// Gzip decompression through zlib's `inflate`.
internal import CZlib

/// Why a gzip stream could not be decompressed.
///
/// Offsets are byte offsets into the compressed input, so that a message can say where a file
/// went wrong. The `Datasets` loaders prefix the file name.
public enum GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input does not start with the gzip magic bytes `1f 8b` (at `offset`: 0 for the first
    /// member, later for a following member).
    case notGzip(offset: Int, found: [UInt8])
    /// The input ended inside a gzip member: `compressedBytes` were read, `decompressedBytes`
    /// produced, and the member's trailer (CRC-32 and length) was never reached.
    case truncated(compressedBytes: Int, decompressedBytes: Int)
    /// zlib rejected the data: a bad header, an invalid deflate block, or a CRC-32 / length
    /// trailer that does not match the decompressed bytes.
    case corrupt(offset: Int, reason: String)
    /// Bytes after the last complete member that are not another gzip member.
    case trailingGarbage(offset: Int, count: Int)
    /// zlib could not allocate memory or failed in an unexpected way.
    case zlibFailure(code: Int32, reason: String)
    /// The stream decompresses to more than `limit` bytes (a gzip bomb, or a file larger than
    /// the caller expects): inflating stopped at the limit, with at most `limit + 1` bytes held.
    case outputTooLarge(limit: Int)

    public var description: String {
        switch self {
        case let .notGzip(offset, found):
            let hex = found.map { String($0, radix: 16, uppercase: false) }.joined(separator: " ")
            return "not a gzip stream: expected magic bytes 1f 8b at byte offset \(offset), found \(hex.isEmpty ? "end of data" : hex)"
        case let .truncated(compressed, decompressed):
            return "truncated gzip stream: input ends after \(compressed) bytes (\(decompressed) bytes decompressed) before the end of the gzip member"
        case let .corrupt(offset, reason):
            return "corrupt gzip stream near byte offset \(offset): \(reason)"
        case let .trailingGarbage(offset, count):
            return "\(count) bytes of trailing data at byte offset \(offset) are not a gzip member"
        case let .zlibFailure(code, reason):
            return "zlib failure (code \(code)): \(reason)"
        case let .outputTooLarge(limit):
            return "the gzip stream decompresses to more than \(limit) bytes, the most expected here"
        }
    }
}

/// Gzip (RFC 1952) decompression, implemented by zlib's `inflate`.
///
/// A stream may hold several members one after another (as `cat a.gz b.gz` makes); their
/// decompressed contents are concatenated, as `gzip -d` does. Every member's CRC-32 and length
/// trailer is checked by zlib.
///
/// Deflate expands up to about 1032:1, so a few kilobytes can claim gigabytes. Every entry
/// takes a `maximumOutputSize` (default `defaultMaximumOutputSize`), checked while inflating:
/// the output never grows past `maximumOutputSize + 1` bytes, and a stream that would produce
/// more throws `GzipError.outputTooLarge` at that point. Callers that know the size to expect
/// (the size an IDX header announces) pass it.
///
/// - Complexity: O(compressed + decompressed bytes), decompressed bytes bounded by the limit;
///   one output allocation when the stream is a single member (its trailer gives the size),
///   amortised doubling otherwise.
public enum Gzip {
    /// The most bytes a stream may decompress to when the caller gives no limit: 1 GiB.
    public static let defaultMaximumOutputSize = 1 << 30

    /// Whether `bytes` starts with the gzip magic number `1f 8b`.
    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Whether `bytes` starts with the gzip magic number `1f 8b`.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { hasMagic($0) }
    }

    /// Decompresses a complete gzip stream (one or more members).
    ///
    /// - Parameter maximumOutputSize: the most decompressed bytes accepted (≥ 0).
    /// - Throws: `GzipError` for input that is not gzip, is truncated, corrupt, followed by
    ///   bytes that are not another member, or decompresses to more than `maximumOutputSize`.
    public static func decompress(_ bytes: [UInt8], maximumOutputSize: Int = defaultMaximumOutputSize) throws(GzipError) -> [UInt8] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(GzipError) -> [UInt8] in try decompress(buffer, maximumOutputSize: maximumOutputSize) }
        }
        return try result.get()
    }

    /// Decompresses a complete gzip stream (one or more members) held in raw memory.
    public static func decompress(_ input: UnsafeRawBufferPointer, maximumOutputSize: Int = defaultMaximumOutputSize) throws(GzipError) -> [UInt8] {
        guard hasMagic(input) else {
            throw .notGzip(offset: 0, found: Array(input.prefix(2)))
        }
        let limit = min(max(0, maximumOutputSize), Int.max - 1)
        // ISIZE (the last 4 bytes, little-endian) is the last member's length modulo 2^32: exact
        // for the usual single-member file, a starting guess otherwise.
        var hint = 1 << 16
        if input.count >= 18 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16
                | Int(input[n - 1]) << 24
            // Deflate expands at most ~1032:1; ignore absurd hints from a corrupt trailer.
            if isize > 0 && isize <= input.count &* 1040 { hint = isize }
        }
        // One byte past the limit tells a stream of exactly `limit` bytes from a longer one.
        hint = min(hint, limit + 1)
        var inflater = try Inflater(input: input, limit: limit)
        defer { inflater.end() }

        // First pass: inflate straight into the result array, sized by the hint, so that a
        // single-member file costs no copy. If the data turn out larger, continue in a
        // growable buffer.
        var outcome: Result<Bool, GzipError> = .success(false)
        var result = [UInt8](unsafeUninitializedCapacity: hint) { buffer, initialized in
            var output = OutputBuffer(external: buffer.baseAddress!, capacity: hint)
            outcome = Result { () throws(GzipError) -> Bool in try inflater.run(into: &output, canGrow: false) }
            initialized = output.count
        }
        if try outcome.get() { return result }
        var output = OutputBuffer(capacity: min(max(2 * hint, 1 << 16), limit + 1))
        defer { output.release() }
        result.withUnsafeBufferPointer { output.append($0) }
        result = []
        _ = try inflater.run(into: &output, canGrow: true)
        return output.finish()
    }

    /// Decompresses a complete gzip stream piece by piece: `consume` receives consecutive pieces
    /// of the decompressed bytes (each at most `chunkSize` bytes, valid only during the call),
    /// so a caller can convert data as it is produced without holding it all.
    ///
    /// Every piece handed over is correct decompressed data, but the stream's integrity (the
    /// CRC-32 and length trailers) is known only when this returns without throwing: discard
    /// what was consumed when it throws. At most `maximumOutputSize` bytes are handed over;
    /// a stream holding more throws `outputTooLarge` once it passes the limit.
    public static func decompress(
        _ input: UnsafeRawBufferPointer, chunkSize: Int = 1 << 18, maximumOutputSize: Int = defaultMaximumOutputSize,
        consume: (UnsafeRawBufferPointer) -> Void
    ) throws(GzipError) {
        guard hasMagic(input) else {
            throw .notGzip(offset: 0, found: Array(input.prefix(2)))
        }
        var inflater = try Inflater(input: input, limit: maximumOutputSize)
        defer { inflater.end() }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(chunkSize, 64))
        defer { buffer.deallocate() }
        var output = OutputBuffer(external: buffer, capacity: max(chunkSize, 64))
        while true {
            let finished = try inflater.run(into: &output, canGrow: false)
            consume(UnsafeRawBufferPointer(start: buffer, count: output.count))
            inflater.produced += output.count
            output.count = 0
            if finished { return }
        }
    }

    /// The first `count` decompressed bytes of a gzip stream (fewer if the stream is shorter),
    /// without decompressing the rest: for reading a header. Only the part read is checked: a
    /// stream that breaks before `count` bytes throws, the rest of the stream is not looked at.
    public static func decompressedPrefix(_ input: UnsafeRawBufferPointer, count: Int) throws(GzipError) -> [UInt8] {
        guard hasMagic(input) else {
            throw .notGzip(offset: 0, found: Array(input.prefix(2)))
        }
        var inflater = try Inflater(input: input, limit: Int.max)
        defer { inflater.end() }
        var outcome: Result<Bool, GzipError> = .success(true)
        let prefix = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var output = OutputBuffer(external: buffer.baseAddress!, capacity: count)
            outcome = Result { () throws(GzipError) -> Bool in try inflater.run(into: &output, canGrow: false) }
            initialized = output.count
        }
        _ = try outcome.get()
        return prefix
    }
}

/// A zlib inflate stream over one input buffer, at a stable address (zlib keeps a pointer to it).
private struct Inflater {
    let stream: UnsafeMutablePointer<z_stream>
    let input: UnsafeRawBufferPointer
    /// Input bytes consumed by zlib so far, across members.
    var consumed = 0
    var memberStart = 0
    /// Bytes produced into earlier (already consumed) output chunks.
    var produced = 0
    /// The most decompressed bytes accepted, over all chunks.
    let limit: Int

    init(input: UnsafeRawBufferPointer, limit: Int) throws(GzipError) {
        self.input = input
        self.limit = min(max(0, limit), Int.max - 1)   // `limit + 1` never overflows
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = privacylab_inflate_init2(stream, 16 + 15)  // 16: gzip wrapper only.
        guard code == Z_OK else {
            stream.deallocate()
            throw .zlibFailure(code: code, reason: "inflateInit2 failed")
        }
    }

    func end() {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates until the input is used up (returns true) or, when `canGrow` is false, until
    /// `output` is full with data left to produce (returns false). Throws `outputTooLarge` as
    /// soon as more than `limit` bytes have been produced; a growing `output` is never made
    /// larger than `limit + 1 − produced` bytes.
    mutating func run(into output: inout OutputBuffer, canGrow: Bool) throws(GzipError) -> Bool {
        let base = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        while true {
            if output.free == 0 {
                guard canGrow else { return false }
                // `produced + output.count ≤ limit` here (checked below), so the bound exceeds
                // the capacity and the buffer grows by at least one byte.
                output.grow(upTo: limit - produced + 1)
            }
            // Feed input and output in pieces that fit zlib's 32-bit counters.
            let offeredIn = min(input.count - consumed, Int(UInt32.max))
            stream.pointee.next_in = base + consumed
            stream.pointee.avail_in = UInt32(offeredIn)
            let offeredOut = min(output.free, Int(UInt32.max))
            stream.pointee.next_out = output.cursor
            stream.pointee.avail_out = UInt32(offeredOut)

            let code = inflate(stream, Z_NO_FLUSH)
            consumed += offeredIn - Int(stream.pointee.avail_in)
            output.count += offeredOut - Int(stream.pointee.avail_out)
            if output.count > limit - produced { throw .outputTooLarge(limit: limit) }

            switch code {
            case Z_OK:
                continue
            case Z_STREAM_END:
                // A member ended; another one may follow.
                if consumed == input.count { return true }
                memberStart = consumed
                if input[consumed] == 0x1f && consumed + 1 < input.count && input[consumed + 1] == 0x8b {
                    let reset = inflateReset(stream)
                    guard reset == Z_OK else { throw .zlibFailure(code: reset, reason: "inflateReset failed") }
                    continue
                }
                throw .trailingGarbage(offset: consumed, count: input.count - consumed)
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grow) or the input is exhausted.
                if stream.pointee.avail_out == 0 { continue }
                throw .truncated(compressedBytes: consumed, decompressedBytes: produced + output.totalCount)
            case Z_DATA_ERROR:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data"
                throw .corrupt(offset: max(consumed, memberStart), reason: reason)
            case Z_MEM_ERROR:
                throw .zlibFailure(code: code, reason: "out of memory")
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "unexpected inflate result"
                throw .zlibFailure(code: code, reason: reason)
            }
        }
    }
}

/// Memory zlib writes into: either memory owned by the caller (fixed size) or a growable
/// allocation, turned into an array once at the end.
private struct OutputBuffer {
    var start: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var count = 0
    let owned: Bool

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        start = .allocate(capacity: self.capacity)
        owned = true
    }

    init(external: UnsafeMutablePointer<UInt8>, capacity: Int) {
        start = external
        self.capacity = capacity
        owned = false
    }

    var free: Int { capacity - count }
    var cursor: UnsafeMutablePointer<UInt8> { start + count }
    var totalCount: Int { count }

    /// Doubles the capacity, to at most `bound` bytes.
    mutating func grow(upTo bound: Int = .max) {
        precondition(owned, "OutputBuffer: cannot grow caller-owned memory")
        let newCapacity = min(capacity * 2, max(bound, capacity + 1))
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: start, count: count)
        start.deallocate()
        start = bigger
        capacity = newCapacity
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        while free < bytes.count { grow() }
        if let base = bytes.baseAddress { cursor.update(from: base, count: bytes.count) }
        count += bytes.count
    }

    func finish() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            out.baseAddress!.update(from: start, count: count)
            initialized = count
        }
    }

    func release() { if owned { start.deallocate() } }
}
