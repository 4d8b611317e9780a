import Codecs
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("InputFile")
struct InputFileTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inputfile-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test("reads a regular file whole and hashes it like the in-memory hash")
    func readsRegularFile() throws {
        let url = folder.appendingPathComponent("a.bin")
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: url)
        #expect(try InputFile.read(url, maximumBytes: 4_000_000) == bytes)
        #expect(try InputFile.sha256(url, maximumBytes: 4_000_000) == SHA256.hash(bytes))
        #expect(try InputFile.size(url) == bytes.count)
    }

    @Test("refuses a file over the limit before reading it")
    func refusesLargeFile() throws {
        let url = folder.appendingPathComponent("big.bin")
        try Data(count: 1000).write(to: url)
        #expect(throws: InputFileError(.tooLarge, path: url.path, "the file holds 1000 bytes, more than the 999 allowed here")) {
            try InputFile.read(url, maximumBytes: 999)
        }
    }

    @Test("refuses a FIFO at once instead of waiting for a writer")
    func refusesFIFO() throws {
        let url = folder.appendingPathComponent("pipe")
        #expect(mkfifo(url.path, 0o600) == 0)
        let error = #expect(throws: InputFileError.self) { try InputFile.read(url, maximumBytes: 1 << 20) }
        #expect(error?.kind == .notRegularFile)
        #expect(error?.reason.contains("FIFO") == true)
    }

    @Test("refuses a directory and names a missing file")
    func refusesDirectoryAndMissing() throws {
        #expect((#expect(throws: InputFileError.self) { try InputFile.sha256(folder, maximumBytes: 10) })?.kind == .notRegularFile)
        let missing = folder.appendingPathComponent("nothing.npy")
        #expect((#expect(throws: InputFileError.self) { try InputFile.read(missing, maximumBytes: 10) })?.kind == .missing)
    }
}
