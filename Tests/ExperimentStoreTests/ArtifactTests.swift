import Codecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

@Suite("Artifacts")
struct ArtifactTests {
    @Test("a cached artifact is returned intact, and a corrupted one is recomputed")
    func corruptionIsRecomputed() async throws {
        let w = try Workspace()
        let store = try ResultStore(url: w.url.appendingPathComponent("s.sqlite"))
        let cache = ArtifactCache(store: store)
        let key = SHA256.hash(utf8: "an artifact").hex
        let counter = Counter()
        let produce: @Sendable () async throws -> Data = { await counter.increment(); return Data("payload".utf8) }
        #expect(try await cache.data(key: key, kind: "arrays", fileExtension: "bin", produce: produce) == Data("payload".utf8))
        #expect(try await cache.data(key: key, kind: "arrays", fileExtension: "bin", produce: produce) == Data("payload".utf8))
        #expect(await counter.value == 1)
        // Flip the file's content: the digest no longer matches, so it is produced again.
        let file = try #require(try await cache.url(key: key))
        try Data("paYload".utf8).write(to: file)
        #expect(try await cache.data(key: key, kind: "arrays", fileExtension: "bin", produce: produce) == Data("payload".utf8))
        #expect(await counter.value == 2)
    }

    @Test(".npy arrays round-trip and malformed ones are refused")
    func numpy() throws {
        let array = NumpyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5] as [Float])
        let doubles = NumpyArray(shape: [3], values: [0.1, 1e-300, -2.5] as [Double])
        #expect(try NumpyArray(npy: doubles.npyData(), source: "d.npy") == doubles)
        let data = array.npyData()
        // The header is padded so the data starts on a 64-byte boundary, as NumPy writes it.
        let headerLength = Int(data[8]) | (Int(data[9]) << 8)
        #expect((10 + headerLength) % 64 == 0)
        #expect(try NumpyArray(npy: data, source: "a.npy") == array)
        #expect(throws: (any Error).self) { try NumpyArray(npy: data.prefix(data.count - 4), source: "a.npy") }
        #expect(throws: (any Error).self) { try NumpyArray(npy: Data("not numpy".utf8), source: "a.npy") }
    }

    @Test(".npy files are read by NumPy", .enabled(if: ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"] != nil))
    func numpyInterop() throws {
        let w = try Workspace()
        let url = w.url.appendingPathComponent("a.npy")
        try NumpyArray(shape: [2, 2], values: [1, 2, 3, 4.5] as [Float]).npyData().write(to: url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"]!)
        process.arguments = ["-c", "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, float(a.sum()))", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "(2, 2) float32 10.5")
    }
}

actor Counter {
    var value = 0
    func increment() { value += 1 }
}
