import Codecs
import Datasets
import Foundation
import Testing

/// The reference data folder from `PRIVACY_LAB_DATA` (tests may read the environment; the
/// library may not). `nil` skips the real-data tests, with the reason shown.
let referenceDataDirectory: DataDirectory? = {
    guard let value = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"], !value.isEmpty else { return nil }
    return DataDirectory.resolve(explicit: nil, environmentValue: value,
                                 currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
}()

let skipReason: Comment = "PRIVACY_LAB_DATA is not set: real-data tests need ../shared/data"

/// A fresh temporary folder, removed by the caller's `defer`.
func makeTemporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("privacylab-datasets-\(UUID().uuidString)", isDirectory: true)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ bytes: [UInt8], to url: URL) {
    try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try! Data(bytes).write(to: url)
}

func write(_ text: String, to url: URL) { write(Array(text.utf8), to: url) }

/// Runs `body`, which must throw a `DatasetError`, and returns it (nil if it did not throw one).
func datasetError(_ body: () throws -> Void) -> DatasetError? {
    do {
        try body()
        return nil
    } catch let error as DatasetError {
        return error
    } catch {
        return nil
    }
}

/// A big-endian IDX header for unsigned bytes.
func idxHeader(_ dimensions: [Int]) -> [UInt8] {
    var out: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { out += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return out
}

/// CRC-32 (IEEE), bitwise.
func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// A gzip member with stored (uncompressed) deflate blocks: lets tests write `.gz` files.
func gzipStored(_ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
    var offset = 0
    repeat {
        let n = min(65535, payload.count - offset)
        out.append(offset + n == payload.count ? 1 : 0)
        out += [UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
        out += payload[offset..<offset + n]
        offset += n
    } while offset < payload.count
    let crc = crc32(payload), size = UInt32(truncatingIfNeeded: payload.count)
    for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(s))) }
    for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(s))) }
    return out
}

/// A gzip member of `payload` compressed by zlib's deflate: a few KB for megabytes of zeros, as
/// a gzip bomb is.
func gzipDeflated(_ payload: [UInt8]) -> [UInt8] {
    let zlib = Zlib.compress(payload, level: 9)
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]
    out += zlib[2..<(zlib.count - 4)]   // raw deflate, without zlib's header and Adler-32
    let crc = crc32(payload), size = UInt32(truncatingIfNeeded: payload.count)
    for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(s))) }
    for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(s))) }
    return out
}
