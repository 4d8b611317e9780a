import Codecs
import ExperimentStore
import ExperimentTestSupport
import Foundation
import Testing

/// Artifacts encrypted at rest: a store made with a `StoreKey` seals every artifact file, opens
/// only with its key, and reports tampering instead of using or silently recomputing the file.
@Suite("Encryption at rest")
struct EncryptionTests {
    /// An artifact with a recognisable 4 KiB run of bytes (a float32 array's values).
    static let values: [Float] = (0..<1024).map { Float($0) * 0.001 + 0.123 }
    static var payload: Data { NumpyArray(shape: [1024], values: values).npyData() }
    static var valueBytes: [UInt8] { values.withUnsafeBytes { Array($0) } }

    /// A key file written by `StoreKey.generate`, its text, and the key read back from it.
    func keyFile(_ w: Workspace, _ name: String = "store.key") throws -> (url: URL, text: String, key: StoreKey) {
        let url = w.url.appendingPathComponent(name)
        try StoreKey.generate(writingTo: url)
        let text = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (url, text, try StoreKey(keyFile: url))
    }

    /// Every regular file under `folder`, with its bytes.
    func files(under folder: URL) -> [(URL, [UInt8])] {
        var out: [(URL, [UInt8])] = []
        for case let file as URL in FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)! {
            if let data = try? Data(contentsOf: file) { out.append((file, Array(data))) }
        }
        return out
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    func store(_ w: Workspace, key: StoreKey?) throws -> (ResultStore, ArtifactCache) {
        let store = try ResultStore(url: w.url.appendingPathComponent("runs/s.sqlite"), key: key)
        return (store, ArtifactCache(store: store))
    }

    @Test("an artifact round-trips through an encrypted store, reopened with its key, and no file holds its plaintext")
    func roundTripAndNoPlaintext() async throws {
        let w = try Workspace()
        let (_, _, key) = try keyFile(w)
        let (store, cache) = try store(w, key: key)
        #expect(store.isEncrypted)
        let id = SHA256.hash(utf8: "scores").hex
        let counter = Counter()
        let produce: @Sendable () async throws -> Data = { await counter.increment(); return Self.payload }
        #expect(try await cache.data(key: id, kind: "arrays", fileExtension: "npy", produce: produce) == Self.payload)
        // Reopened with the key (another process, later): read back, not recomputed.
        let (reopened, again) = try self.store(w, key: key)
        #expect(reopened.isEncrypted)
        #expect(try await again.data(key: id, kind: "arrays", fileExtension: "npy", produce: produce) == Self.payload)
        #expect(try ArtifactCache.verifiedData(key: id, store: reopened) == Self.payload)
        #expect(await counter.value == 1)
        // The stored file is the sealed artifact; neither it nor the database holds the values.
        let file = try #require(try await cache.url(key: id))
        let stored = Array(try Data(contentsOf: file))
        #expect(SealedData.looksSealed(stored) && stored.count == Self.payload.count + SealedData.overhead)
        let all = files(under: w.url.appendingPathComponent("runs"))
        #expect(all.count >= 2)
        let needle = Array(Self.valueBytes.prefix(64))
        #expect(contains(Array(Self.payload), needle))  // the test can fail: the payload holds them
        for (url, bytes) in all { #expect(!contains(bytes, needle), "\(url.path) holds plaintext") }
        // The same artifact in a plain store sits there in the clear (the check above would see it).
        let plain = try Workspace()
        _ = try await ArtifactCache(store: ResultStore(url: plain.url.appendingPathComponent("runs/s.sqlite")))
            .data(key: id, kind: "arrays", fileExtension: "npy", produce: produce)
        #expect(files(under: plain.url.appendingPathComponent("runs")).contains { contains($0.1, needle) })
    }

    /// Every error text raised in `body`, for the test that no key material appears in any.
    func errorText(_ body: () async throws -> Void) async -> String {
        do { try await body(); return "" } catch { return "\(error) \(String(reflecting: error))" }
    }

    @Test("a flipped bit, a truncated or grown file, swapped files, a wrong or missing key, a key file of mode 0644: each its named error, never the key")
    func tamperingAndKeys() async throws {
        let w = try Workspace()
        let (keyURL, keyText, key) = try keyFile(w)
        let (store, cache) = try store(w, key: key)
        let a = SHA256.hash(utf8: "a").hex, b = SHA256.hash(utf8: "b").hex
        _ = try await cache.data(key: a, kind: "arrays", fileExtension: "npy") { Self.payload }
        _ = try await cache.data(key: b, kind: "arrays", fileExtension: "npy") { NumpyArray(shape: [2], values: [1, 2] as [Float]).npyData() }
        let fileA = try #require(try await cache.url(key: a)), fileB = try #require(try await cache.url(key: b))
        let original = try Data(contentsOf: fileA)
        var texts: [String] = []

        func expectTampered(_ artifact: String, _ file: URL, _ what: String, reason: String? = nil) async {
            let text = await errorText { _ = try ArtifactCache.verifiedData(key: artifact, store: store) }
            texts.append(text)
            #expect(text.contains("artifact \(artifact) was tampered with") && text.contains(file.path), "\(what): \(text)")
            if let reason { #expect(text.contains(reason), "\(what): \(text)") }
            // The cache refuses it too, rather than recomputing over it.
            let viaCache = await errorText { _ = try await ArtifactCache(store: store).data(key: artifact, kind: "arrays", fileExtension: "npy") { Data() } }
            #expect(viaCache.contains("was tampered with"), "\(what) through the cache: \(viaCache)")
        }

        // A flipped bit in the ciphertext.
        var flipped = original
        flipped[flipped.count / 2] ^= 0x10
        try flipped.write(to: fileA)
        await expectTampered(a, fileA, "flipped bit")
        // Truncated, and grown.
        try original.prefix(original.count - 1).write(to: fileA)
        await expectTampered(a, fileA, "truncated")
        try (original + Data([0])).write(to: fileA)
        await expectTampered(a, fileA, "grown")
        try original.write(to: fileA)
        #expect(try ArtifactCache.verifiedData(key: a, store: store) == Self.payload)

        // Swapped files, their records swapped too (sizes and digests then match): GCM's
        // associated data, the content address, tells them apart.
        let bytesA = try Data(contentsOf: fileA), bytesB = try Data(contentsOf: fileB)
        try bytesB.write(to: fileA)
        try bytesA.write(to: fileB)
        try store.recordArtifactForTesting(key: a, kind: "arrays", path: "arrays/\(a).npy", byteCount: bytesB.count, sha256: SHA256.hash(Array(bytesB)).hex)
        try store.recordArtifactForTesting(key: b, kind: "arrays", path: "arrays/\(b).npy", byteCount: bytesA.count, sha256: SHA256.hash(Array(bytesA)).hex)
        await expectTampered(a, fileA, "swapped", reason: "authentication failed")
        await expectTampered(b, fileB, "swapped", reason: "authentication failed")
        // A plaintext file with a matching record, where a sealed one belongs.
        let plain = Array(Self.payload)
        try Data(plain).write(to: fileA)
        try store.recordArtifactForTesting(key: a, kind: "arrays", path: "arrays/\(a).npy", byteCount: plain.count, sha256: SHA256.hash(plain).hex)
        await expectTampered(a, fileA, "plaintext", reason: "not sealed")

        // Wrong key, missing key.
        let storeURL = store.url
        let (_, _, otherKey) = try keyFile(w, "other.key")
        let wrong = await errorText { _ = try ResultStore(url: storeURL, key: otherKey) }
        #expect(wrong.contains("does not unlock this encrypted store") && wrong.contains("other.key"), "\(wrong)")
        #expect(throws: StoreError.wrongEncryptionKey(file: storeURL.path, keySource: otherKey.source)) { try ResultStore(url: storeURL, key: otherKey) }
        #expect(throws: StoreError.wrongEncryptionKey(file: storeURL.path, keySource: otherKey.source)) { try ResultStore(url: storeURL, readOnly: true, key: otherKey) }
        #expect(throws: StoreError.encryptionKeyRequired(file: storeURL.path)) { try ResultStore(url: storeURL) }
        #expect(throws: StoreError.encryptionKeyRequired(file: storeURL.path)) { try ResultStore(url: storeURL, readOnly: true) }
        texts.append(wrong)
        texts.append(await errorText { _ = try ResultStore(url: storeURL) })

        // A key file others can read, a malformed one, an existing one not replaced.
        #expect(chmod(keyURL.path, 0o644) == 0)
        let open = await errorText { _ = try StoreKey(keyFile: keyURL) }
        #expect(open.contains("permissions 0644 are too open") && open.contains("chmod 600"), "\(open)")
        #expect(throws: StoreKeyError.tooOpen(file: keyURL.path, mode: 0o644)) { try StoreKey(keyFile: keyURL) }
        #expect(chmod(keyURL.path, 0o640) == 0)
        #expect(throws: StoreKeyError.tooOpen(file: keyURL.path, mode: 0o640)) { try StoreKey(keyFile: keyURL) }
        texts.append(open)
        #expect(chmod(keyURL.path, 0o600) == 0)
        #expect(throws: StoreKeyError.exists(file: keyURL.path)) { try StoreKey.generate(writingTo: keyURL) }
        #expect(String(decoding: Array(try Data(contentsOf: keyURL)), as: UTF8.self).hasPrefix(keyText))
        let truncatedKey = w.url.appendingPathComponent("short.key")
        try OutputFile.write(String(keyText.dropLast(2)) + "\n", to: truncatedKey, mode: 0o600)
        let malformed = await errorText { _ = try StoreKey(keyFile: truncatedKey) }
        #expect(malformed.contains("no 256-bit store key"), "\(malformed)")
        texts.append(malformed)
        let environment = await errorText { _ = try StoreKey(environment: [StoreKey.environmentVariable: String(keyText.dropFirst())]) }
        #expect(environment.contains("$PRIVACY_LAB_STORE_KEY: no 256-bit store key"), "\(environment)")
        texts.append(environment)
        texts.append("\(key) \(String(reflecting: key))")

        // No text holds the key, in any case or the base64 form, nor half of it.
        let bytes = SealedDataTestsSupport.bytes(hex: keyText)
        let forms = [keyText, keyText.uppercased(), String(keyText.prefix(32)), String(keyText.suffix(32)), Data(bytes).base64EncodedString()]
        #expect(texts.count >= 12)
        for text in texts { for form in forms { #expect(!text.contains(form), "an error shows key material: \(text)") } }
    }

    @Test("the key file is written with mode 0600, and the environment variable takes hex or base64")
    func keySources() async throws {
        let w = try Workspace()
        let (url, text, fileKey) = try keyFile(w)
        var info = stat()
        #expect(stat(url.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(text.count == 64)
        let (store, cache) = try store(w, key: fileKey)
        let id = SHA256.hash(utf8: "m").hex
        _ = try await cache.data(key: id, kind: "models", fileExtension: "safetensors") { Data("weights".utf8) }
        let base64 = Data(SealedDataTestsSupport.bytes(hex: text)).base64EncodedString()
        for value in [text, text.uppercased(), base64] {
            let key = try #require(try StoreKey(environment: [StoreKey.environmentVariable: value]))
            #expect(key.source == "$PRIVACY_LAB_STORE_KEY")
            #expect(try ArtifactCache.verifiedData(key: id, store: ResultStore(url: store.url, readOnly: true, key: key)) == Data("weights".utf8))
        }
        // A missing folder is made for the key, readable by its owner only.
        let nested = w.url.appendingPathComponent("keys/lab/store.key")
        try StoreKey.generate(writingTo: nested)
        #expect(stat(nested.deletingLastPathComponent().path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(stat(nested.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try StoreKey(environment: [:]) == nil)
        #expect(try StoreKey(environment: [StoreKey.environmentVariable: ""]) == nil)
    }

    @Test("a key given to a plain store that holds results is refused for writing; read-only, it is harmless")
    func plainStores() async throws {
        let w = try Workspace()
        let url = w.url.appendingPathComponent("runs/s.sqlite")
        let plain = try ResultStore(url: url)
        #expect(!plain.isEncrypted)
        let id = SHA256.hash(utf8: "p").hex
        _ = try await ArtifactCache(store: plain).data(key: id, kind: "arrays", fileExtension: "npy") { Self.payload }
        let (_, _, key) = try keyFile(w)
        #expect(throws: StoreError.plaintextStore(file: url.path, keySource: key.source)) { try ResultStore(url: url, key: key) }
        let reader = try ResultStore(url: url, readOnly: true, key: key)
        #expect(!reader.isEncrypted)
        #expect(try ArtifactCache.verifiedData(key: id, store: reader) == Self.payload)
        // A new store given the key is encrypted; one opened without a key stays plain.
        #expect(try ResultStore(url: w.url.appendingPathComponent("new/s.sqlite"), key: key).isEncrypted)
        #expect(try !ResultStore(url: w.url.appendingPathComponent("other/s.sqlite")).isEncrypted)
    }
}

enum SealedDataTestsSupport {
    static func bytes(hex: String) -> [UInt8] {
        let utf8 = Array(hex.utf8)
        return stride(from: 0, to: utf8.count, by: 2).map { UInt8(String(decoding: utf8[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
