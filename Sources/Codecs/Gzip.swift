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
        }
    }
}

/// Gzip (RFC 1952) decompression, implemented by zlib's `inflate`.
///
/// A stream may hold several members one after another (as `cat a.gz b.gz` makes); their
/// decompressed contents are concatenated, as `gzip -d` does. Every member's CRC-32 and length
/// trailer is checked by zlib.
///
/// - Complexity: O(compressed + decompressed bytes); one output allocation when the stream is
///   a single member (its trailer gives the size), amortised doubling otherwise.
public enum Gzip {
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
    /// - Throws: `GzipError` for input that is not gzip, is truncated, corrupt, or followed by
    ///   bytes that are not another member.
    public static func decompress(_ bytes: [UInt8]) throws(GzipError) -> [UInt8] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(GzipError) -> [UInt8] in try decompress(buffer) }
        }
        return try result.get()
    }

    /// Decompresses a complete gzip stream (one or more members) held in raw memory.
    public static func decompress(_ input: UnsafeRawBufferPointer) throws(GzipError) -> [UInt8] {
        guard hasMagic(input) else {
            throw .notGzip(offset: 0, found: Array(input.prefix(2)))
        }
        // ISIZE (the last 4 bytes, little-endian) is the last member's length modulo 2^32: exact
        // for the usual single-member file, a starting guess otherwise.
        var capacity = 1 << 16
        if input.count >= 18 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16
                | Int(input[n - 1]) << 24
            // Deflate expands at most ~1032:1; ignore absurd hints from a corrupt trailer.
            if isize > 0 && isize <= input.count &* 1040 { capacity = isize }
        }
        var output = OutputBuffer(capacity: capacity)
        defer { output.release() }

        var stream = z_stream()
        let initCode = privacylab_inflate_init2(&stream, 16 + 15)  // 16: gzip wrapper only.
        guard initCode == Z_OK else {
            throw .zlibFailure(code: initCode, reason: "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }

        let base = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        var consumed = 0  // input bytes handed to zlib and consumed, across members
        var memberStart = 0
        while true {
            // Feed input in chunks that fit zlib's 32-bit counters.
            let remaining = input.count - consumed
            stream.next_in = base + consumed
            stream.avail_in = UInt32(min(remaining, Int(UInt32.max)))
            let offeredIn = Int(stream.avail_in)
            if output.free == 0 { output.grow() }
            stream.next_out = output.cursor
            stream.avail_out = UInt32(min(output.free, Int(UInt32.max)))
            let offeredOut = Int(stream.avail_out)

            let code = inflate(&stream, Z_NO_FLUSH)
            consumed += offeredIn - Int(stream.avail_in)
            output.count += offeredOut - Int(stream.avail_out)

            switch code {
            case Z_OK:
                continue
            case Z_STREAM_END:
                // A member ended; another one may follow.
                if consumed == input.count { return output.finish() }
                memberStart = consumed
                if input[consumed] == 0x1f && consumed + 1 < input.count && input[consumed + 1] == 0x8b {
                    let reset = inflateReset(&stream)
                    guard reset == Z_OK else {
                        throw .zlibFailure(code: reset, reason: "inflateReset failed")
                    }
                    continue
                }
                throw .trailingGarbage(offset: consumed, count: input.count - consumed)
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grow) or the input is exhausted.
                if stream.avail_out == 0 { output.grow(); continue }
                throw .truncated(compressedBytes: consumed, decompressedBytes: output.count)
            case Z_DATA_ERROR:
                let reason = stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                throw .corrupt(offset: max(consumed, memberStart), reason: reason)
            case Z_MEM_ERROR:
                throw .zlibFailure(code: code, reason: "out of memory")
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "unexpected inflate result"
                throw .zlibFailure(code: code, reason: reason)
            }
        }
    }
}

/// A growable byte buffer written by zlib, turned into an array once at the end.
private struct OutputBuffer {
    var start: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        start = .allocate(capacity: self.capacity)
    }

    var free: Int { capacity - count }
    var cursor: UnsafeMutablePointer<UInt8> { start + count }

    mutating func grow() {
        let newCapacity = capacity * 2
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: start, count: count)
        start.deallocate()
        start = bigger
        capacity = newCapacity
    }

    func finish() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            out.baseAddress!.update(from: start, count: count)
            initialized = count
        }
    }

    func release() { start.deallocate() }
}
