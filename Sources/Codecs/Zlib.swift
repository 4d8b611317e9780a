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
