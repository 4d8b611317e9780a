import Codecs
import ExperimentRunning
import Foundation
import Testing

@Suite("The sources' fingerprint")
struct SourceFingerprintTests {
    /// The build plugin's tool hashes with `sha256sum`; the same stream hashed here with
    /// swift-crypto must give the fingerprint compiled into the binary: "privacy-lab sources v1",
    /// then for every file of `Sources/` and for `Package.swift`, in path order, its relative path,
    /// its byte count and its bytes.
    @Test("the fingerprint compiled in is the SHA-256 of the package's sources as they are now")
    func fingerprintMatchesSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fm = FileManager.default
        var relative = ["Package.swift"]
        let sources = root.appendingPathComponent("Sources")
        let enumerator = try #require(fm.enumerator(at: sources, includingPropertiesForKeys: [.isRegularFileKey]))
        for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let path = url.standardizedFileURL.path
            let prefix = root.standardizedFileURL.path + "/"
            #expect(path.hasPrefix(prefix))
            relative.append(String(path.dropFirst(prefix.count)))
        }
        relative.sort()
        #expect(relative.count > 100)
        var hasher = SHA256()
        hasher.update(Array("privacy-lab sources v1\n".utf8))
        for path in relative {
            let data = try Data(contentsOf: root.appendingPathComponent(path))
            hasher.update(Array("\(path)\n\(data.count)\n".utf8))
            hasher.update([UInt8](data))
        }
        #expect(hasher.finalize().hex == PrivacyLabVersion.sourceFingerprint)
    }
}
