import BigIntegerModule
import Foundation
import Paillier
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Keys and key files crafted to stall, mislead or destroy: every public key read is checked,
/// key pairs are written whole or not at all, and the fast encryptor's secret exponent does not
/// choose which table rows are read.
@Suite struct HostileKeyTests {
    static func base64url(_ value: BigInteger) -> String {
        Data(value.bigEndianBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func publicKeyJSON(_ n: BigInteger) -> Data {
        Data(#"{"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": "\#(base64url(n))"}"#.utf8)
    }

    func expectRefused(_ n: BigInteger, _ reason: String, policy: PaillierKeySizePolicy = .insecureAllowingShortKeys,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: PaillierError.self, sourceLocation: sourceLocation) {
            _ = try PheJSON.publicKey(from: Self.publicKeyJSON(n), source: "pub.json", sizePolicy: policy)
        }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test func oversizedKeysAreRefusedByEveryPolicy() throws {
        // An 11 KB key file: an 88000-bit odd modulus (it would stall an encryption for minutes).
        var rng = SplitMix64(seed: 1)
        var n = BigInteger.random(bits: 88_000, using: &rng)
        n.setBit(87_999)
        n.setBit(0)
        #expect(Self.publicKeyJSON(n).count > 11_000)
        for policy in [PaillierKeySizePolicy.standard, .insecureAllowingShortKeys] {
            expectRefused(n, "a modulus of at most \(PaillierKeySize.maximumBits) bits, found 88000", policy: policy)
        }
        #expect(throws: PaillierError.keyTooLong(bits: 16_386, maximum: PaillierKeySize.maximumBits)) {
            _ = try PaillierPrivateKey.insecureGenerate(bits: 16_386)
        }
        // A key file larger than any key is refused before it is parsed.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paillier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let huge = folder.appendingPathComponent("huge.pub.json")
        try Data(count: PheJSON.maximumFileBytes + 1).write(to: huge)
        let error = #expect(throws: PaillierError.self) { _ = try PheJSON.readPublicKey(at: huge) }
        #expect(error?.description.contains("larger than \(PheJSON.maximumFileBytes) bytes") == true)
    }

    @Test func primeSquareAndSmallFactorModuliAreRefused() {
        var rng = SplitMix64(seed: 2)
        let prime = BigInteger.randomProbablePrime(bits: 2048, using: &rng)
        expectRefused(prime, "is prime", policy: .standard)
        let half = BigInteger.randomProbablePrime(bits: 1024, using: &rng)
        expectRefused(half * half, "is a perfect square", policy: .standard)
        var small = BigInteger.randomProbablePrime(bits: 2048, using: &rng) * BigInteger(997)
        expectRefused(small, "has a prime factor below 1000", policy: .standard)
        small = BigInteger.randomProbablePrime(bits: 2048, using: &rng) * BigInteger(3)
        expectRefused(small, "has a prime factor below 1000", policy: .standard)
        // A real modulus passes.
        #expect(throws: Never.self) { _ = try PaillierPublicKey(n: Fixtures.key1024.publicKey.n, sizePolicy: .insecureAllowingShortKeys) }
    }

    @Test func keyPairsAreNeverOverwrittenOrHalfWritten() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paillier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = Fixtures.key1024
        let privateURL = folder.appendingPathComponent("k.json"), publicURL = folder.appendingPathComponent("k.pub.json")
        try PheJSON.writeKeyPair(key, privateKeyTo: privateURL, publicKeyTo: publicURL, kid: "first")
        let before = try Data(contentsOf: privateURL)
        // Without replace, an existing pair stays as it was.
        var other = SplitMix64(seed: 3)
        let second = try PaillierPrivateKey.insecureGenerate(bits: 512, using: &other)
        #expect(throws: PaillierError.self) { try PheJSON.writeKeyPair(second, privateKeyTo: privateURL, publicKeyTo: publicURL) }
        #expect(try Data(contentsOf: privateURL) == before)
        try PheJSON.writeKeyPair(second, privateKeyTo: privateURL, publicKeyTo: publicURL, replace: true)
        #expect(try PheJSON.readPrivateKey(at: privateURL, sizePolicy: .insecureAllowingShortKeys).publicKey == second.publicKey)
        // The public file cannot be written (a directory in its place, a missing folder): no
        // private key is left behind, and no temporary file either.
        let lonely = folder.appendingPathComponent("lonely.json")
        let blocked = folder.appendingPathComponent("lonely.pub.json")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        #expect(throws: PaillierError.self) { try PheJSON.writeKeyPair(key, privateKeyTo: lonely, publicKeyTo: blocked) }
        #expect(throws: PaillierError.self) {
            try PheJSON.writeKeyPair(key, privateKeyTo: lonely, publicKeyTo: folder.appendingPathComponent("missing/lonely.pub.json"))
        }
        #expect(!FileManager.default.fileExists(atPath: lonely.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["k.json", "k.pub.json", "lonely.pub.json"])
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"))
    func writingToADeviceKeepsTheDevice() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paillier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Our own null device (major 1, minor 3), never the machine's /dev/null.
        let device = folder.appendingPathComponent("null")
        #expect(mknod(device.path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        try PheJSON.writePublicKey(Fixtures.key1024.publicKey, to: device)
        try PheJSON.writePrivateKey(Fixtures.key1024, to: device)
        var info = stat()
        #expect(lstat(device.path, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
    }

    @Test func tableRowsAreSelectedWithoutSecretDependentReads() {
        let rows = 8, width = 3
        let table = (0..<rows * width).map { UInt64($0) }
        table.withUnsafeBufferPointer { entries in
            for index in 0...UInt64(rows) {
                var read: [Int] = []
                var output = [UInt64](repeating: .max, count: width)
                output.withUnsafeMutableBufferPointer { out in
                    PaillierFastEncryptor.constantTimeSelect(rows: rows, width: width, index: index, into: out) { j in
                        read.append(j)
                        return entries.baseAddress! + j * width
                    }
                }
                // Every row is read, in the same order, whatever the (secret) index.
                #expect(read == Array(0..<rows))
                let expected = index < UInt64(rows) ? (0..<width).map { UInt64(Int(index) * width + $0) } : [0, 0, 0]
                #expect(output == expected)
            }
        }
    }

    @Test func fastEncryptionWithZeroDigitsIsExact() throws {
        struct Zeros: RandomNumberGenerator { mutating func next() -> UInt64 { 0 } }
        var rng = SplitMix64(seed: 4)
        let publicKey = Fixtures.key1024.publicKey
        let encryptor = PaillierFastEncryptor.insecure(publicKey: publicKey, using: &rng)
        var zeros = Zeros()
        // α = 0: every window digit is zero, so h_s^α = 1 and E(m) = 1 + m·n exactly.
        let m = BigInteger(12345)
        #expect(try encryptor.insecureEncrypt(m, using: &zeros).value == m * publicKey.n + 1)
        #expect(try Fixtures.key1024.decrypt(encryptor.encrypt(m)) == m)
    }
}
