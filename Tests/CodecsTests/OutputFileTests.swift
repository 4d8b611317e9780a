import Codecs
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `OutputFile` against every kind of target. Device nodes are made with `mknod` inside the
/// test's own folder (as root); nothing here ever touches the machine's real `/dev` entries.
@Suite("OutputFile")
struct OutputFileTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("outputfile-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func type(_ url: URL) -> mode_t {
        var info = stat()
        return lstat(url.path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    @Test("a regular file is replaced whole, with the mode asked for, and a failed write leaves nothing")
    func regularFiles() throws {
        let target = folder.appendingPathComponent("a.bin")
        try OutputFile.write(Array("old".utf8), to: target)
        try OutputFile.write(Array("new content".utf8), to: target, mode: 0o600)
        #expect(try Data(contentsOf: target) == Data("new content".utf8))
        #expect(try (FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int) == 0o600)
        // The target's folder is a regular file, so nothing can be created inside it.
        let blocker = folder.appendingPathComponent("blocker")
        try OutputFile.write("not a folder", to: blocker)
        #expect(throws: OutputFileError.self) { try OutputFile.write([UInt8](repeating: 1, count: 1 << 20), to: blocker.appendingPathComponent("m.bin")) }
        #expect(try entries() == ["a.bin", "blocker"])
    }

    @Test("replace: false refuses an existing file, of any kind, and leaves it as it was")
    func noReplace() throws {
        let target = folder.appendingPathComponent("key.json")
        try OutputFile.write("first", to: target, replace: false)
        #expect(throws: OutputFileError.self) { try OutputFile.write("second", to: target, replace: false) }
        #expect(try String(contentsOf: target, encoding: .utf8) == "first")
        let dangling = folder.appendingPathComponent("dangling")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: folder.appendingPathComponent("nowhere").path)
        let error = #expect(throws: OutputFileError.self) { try OutputFile.write("x", to: dangling, replace: false) }
        #expect(error?.kind == .exists)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("nowhere").path))
    }

    @Test("a symbolic link is followed, never replaced; a link to nothing and a directory are refused")
    func links() throws {
        let real = folder.appendingPathComponent("real.txt")
        let link = folder.appendingPathComponent("link.txt")
        try OutputFile.write("old", to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: real.path)
        try OutputFile.write("through the link", to: link)
        #expect(type(link) == S_IFLNK)
        #expect(try String(contentsOf: real, encoding: .utf8) == "through the link")
        let dangling = folder.appendingPathComponent("dangling")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: folder.appendingPathComponent("nowhere").path)
        let error = #expect(throws: OutputFileError.self) { try OutputFile.write("x", to: dangling) }
        #expect(error?.kind == .unsupportedTarget)
        #expect(type(dangling) == S_IFLNK)
        let directory = folder.appendingPathComponent("dir")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        #expect(throws: OutputFileError.self) { try OutputFile.write("x", to: directory) }
        #expect(type(directory) == S_IFDIR)
    }

    @Test("a character device is written in place and stays a device", .enabled(if: getuid() == 0, "mknod needs root"))
    func devices() throws {
        // A null device (major 1, minor 3) of our own, inside the test folder.
        let device = folder.appendingPathComponent("null")
        #expect(mknod(device.path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        try OutputFile.write(Array("discarded".utf8), to: device)
        try OutputFile.write(Array("discarded".utf8), to: device, mode: 0o600)
        #expect(type(device) == S_IFCHR)
        // A link to the device: the link stays, the device stays.
        let link = folder.appendingPathComponent("null-link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: device.path)
        try OutputFile.write("x", to: link)
        #expect(type(link) == S_IFLNK && type(device) == S_IFCHR)
        #expect(try entries() == ["null", "null-link"])
    }

    @Test("a FIFO is written in place when it has a reader, and refused at once when it has none")
    func fifos() throws {
        let fifo = folder.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let error = #expect(throws: OutputFileError.self) { try OutputFile.write("nobody reads", to: fifo) }
        #expect(error?.description.contains("no reader") == true)
        let reader = open(fifo.path, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        try OutputFile.write("hello", to: fifo)
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = read(reader, &buffer, buffer.count)
        #expect(n == 5 && Array(buffer.prefix(5)) == Array("hello".utf8))
        #expect(type(fifo) == S_IFIFO)
    }

    @Test("/dev/fd/N writes to this process's descriptor N in place")
    func descriptors() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        try OutputFile.write("to the pipe", to: URL(fileURLWithPath: "/dev/fd/\(ends[1])"))
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(ends[0], &buffer, buffer.count)
        #expect(n == 11 && String(decoding: buffer.prefix(11), as: UTF8.self) == "to the pipe")
    }
}
