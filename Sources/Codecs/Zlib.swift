internal import CZlib

/// zlib's deflate (RFC 1950 streams) and CRC-32, for writing PNG images.
public enum Zlib {
    /// The bytes compressed as one zlib stream at the given level (0–9).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var capacity = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &capacity, input.baseAddress, uLong(bytes.count), level)
            }
        }
        precondition(status == Z_OK, "Zlib.compress: zlib returned \(status) with a buffer of compressBound size")
        return Array(output.prefix(Int(capacity)))
    }

    /// CRC-32 (ISO 3309, as PNG and gzip use it) of `bytes`, continuing from `initial`.
    public static func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(CZlib.crc32(uLong(initial), buffer.baseAddress, uInt(buffer.count)))
        }
    }
}

/// Why a raw deflate stream could not be inflated.
public struct ZlibError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension Zlib {
    /// Inflates a raw deflate stream (RFC 1951, no zlib or gzip wrapper: what zip archives hold)
    /// that must decompress to exactly `count` bytes.
    ///
    /// The caller checks `count` against its limits before calling: it is the only allocation.
    /// - Throws: `ZlibError` when the stream is corrupt, ends early, decompresses to more or
    ///   fewer than `count` bytes, or is followed by extra input.
    public static func inflateRaw(_ input: UnsafeRawBufferPointer, count: Int) throws(ZlibError) -> [UInt8] {
        precondition(count >= 0, "Zlib.inflateRaw: negative count")
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        let code = privacylab_inflate_init2(stream, -15)   // negative window bits: raw deflate.
        guard code == Z_OK else { throw ZlibError("zlib inflateInit2 failed (code \(code))") }
        defer { inflateEnd(stream) }
        var failure: ZlibError?
        // One spare byte detects a stream longer than announced.
        let output = [UInt8](unsafeUninitializedCapacity: count + 1) { buffer, initialized in
            let inBase = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            var consumed = 0, produced = 0
            while true {
                let offeredIn = min(input.count - consumed, Int(UInt32.max))
                let offeredOut = min(count + 1 - produced, Int(UInt32.max))
                stream.pointee.next_in = inBase.map { $0 + consumed }
                stream.pointee.avail_in = UInt32(offeredIn)
                stream.pointee.next_out = buffer.baseAddress! + produced
                stream.pointee.avail_out = UInt32(offeredOut)
                let status = inflate(stream, Z_NO_FLUSH)
                consumed += offeredIn - Int(stream.pointee.avail_in)
                produced += offeredOut - Int(stream.pointee.avail_out)
                if status == Z_STREAM_END {
                    if produced != count {
                        failure = ZlibError("the deflate stream holds \(produced) bytes, the archive announced \(count)")
                    } else if consumed != input.count {
                        failure = ZlibError("\(input.count - consumed) bytes follow the end of the deflate stream")
                    }
                    break
                }
                if produced > count {
                    failure = ZlibError("the deflate stream holds more than the \(count) bytes the archive announced")
                    break
                }
                if status == Z_OK { continue }
                if status == Z_BUF_ERROR {
                    failure = ZlibError("the deflate stream is truncated: \(consumed) compressed bytes gave \(produced) of \(count) bytes")
                } else if status == Z_DATA_ERROR {
                    failure = ZlibError("corrupt deflate stream: \(stream.pointee.msg.map { String(cString: $0) } ?? "invalid data")")
                } else {
                    failure = ZlibError("zlib inflate failed (code \(status))")
                }
                break
            }
            initialized = min(produced, count)
        }
        if let failure { throw failure }
        return output
    }

    /// CRC-32 of raw memory, continuing from `initial`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = uLong(initial)
        var offset = 0
        while offset < bytes.count {
            let piece = min(bytes.count - offset, Int(UInt32.max))
            crc = CZlib.crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, uInt(piece))
            offset += piece
        }
        return UInt32(crc)
    }
}
