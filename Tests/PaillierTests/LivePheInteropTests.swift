import BigIntegerModule
import Foundation
import Paillier
import Testing

/// Round trips with a live python-paillier, when `PRIVACY_LAB_PYTHON` names a Python with `phe`.
enum LivePhe {
    static var python: String? {
        guard let path = ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"], !path.isEmpty else { return nil }
        return path
    }
}

@Suite(.enabled(if: LivePhe.python != nil, "set PRIVACY_LAB_PYTHON to a Python with phe"))
struct LivePheInteropTests {
    /// Runs a Python snippet with `phe` imported; returns stdout.
    func runPython(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LivePhe.python!)
        process.arguments = ["-c", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let helper = """
    import json, sys
    import phe
    from phe.util import base64_to_int
    def load(path):
        jwk = json.load(open(path))
        pub = phe.PaillierPublicKey(base64_to_int(jwk['pub']['n']))
        return pub, phe.PaillierPrivateKey(pub, base64_to_int(jwk['p']), base64_to_int(jwk['q']))
    def load_enc(pub, path):
        d = json.load(open(path))
        return phe.EncryptedNumber(pub, int(d['v']), d['e'])


    """

    @Test func privacyLabKeysAndCiphertextsWorkInPhe() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = try PaillierPrivateKey.generate(bits: 2048)
        let keyURL = folder.appendingPathComponent("key.json")
        try PheJSON.writePrivateKey(key, to: keyURL)
        let a = try key.publicKey.encrypt(-1234.5625)
        let b = try PaillierFastEncryptor(publicKey: key.publicKey).encrypt(0.0625)
        let sum = try a.adding(b).rerandomized()
        let sumURL = folder.appendingPathComponent("sum.json")
        try PheJSON.encode(encryptedNumber: sum).write(to: sumURL)
        let printed = try runPython(Self.helper + """
        pub, priv = load(sys.argv[1])
        print(repr(priv.decrypt(load_enc(pub, sys.argv[2]))))
        """, [keyURL.path, sumURL.path])
        #expect(Double(printed) == -1234.5)
    }

    @Test func pheKeysAndCiphertextsWorkInPrivacyLab() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try runPython("""
        import json, sys, phe
        from phe.util import int_to_base64
        pub, priv = phe.generate_paillier_keypair(n_length=2048)
        jpub = {'kty': 'DAJ', 'alg': 'PAI-GN1', 'key_ops': ['encrypt'], 'n': int_to_base64(pub.n), 'kid': 'live'}
        json.dump({'kty': 'DAJ', 'key_ops': ['decrypt'], 'p': int_to_base64(priv.p), 'q': int_to_base64(priv.q), 'pub': jpub, 'kid': 'live'}, open(sys.argv[1] + '/key.json', 'w'))
        e = pub.encrypt(3.75) * -4 + 1.5
        json.dump({'v': str(e.ciphertext()), 'e': e.exponent}, open(sys.argv[1] + '/c.json', 'w'))
        """, [folder.path])
        let key = try PheJSON.readPrivateKey(at: folder.appendingPathComponent("key.json"))
        let number = try PheJSON.readEncryptedNumber(at: folder.appendingPathComponent("c.json"), publicKey: key.publicKey)
        #expect(try key.decryptDouble(number) == -13.5)
    }
}
