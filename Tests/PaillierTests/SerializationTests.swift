import BigIntegerModule
import Foundation
import Paillier
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing phe's JSON formats, and refusing bad input with errors that name the field.
@Suite struct SerializationTests {
    let key = Fixtures.key1024
    let policy = PaillierKeySizePolicy.insecureAllowingShortKeys

    func privateJSON() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: PheJSON.encode(privateKey: key, kid: "t")) as! [String: Any]
    }

    func load(_ object: [String: Any]) throws -> PaillierPrivateKey {
        try PheJSON.privateKey(from: JSONSerialization.data(withJSONObject: object), source: "key.json", sizePolicy: policy)
    }

    /// Expects a `.malformed` error naming `field`.
    func expectMalformed(_ field: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("no error thrown; expected one naming \(field)", sourceLocation: sourceLocation)
        } catch let PaillierError.malformed(_, named, _) {
            #expect(named == field, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func keysRoundTripThroughPheJSON() throws {
        let loaded = try PheJSON.privateKey(from: PheJSON.encode(privateKey: key), sizePolicy: policy)
        #expect(loaded.p == key.p && loaded.q == key.q && loaded.publicKey == key.publicKey)
        let publicKey = try PheJSON.publicKey(from: PheJSON.encode(publicKey: key.publicKey), sizePolicy: policy)
        #expect(publicKey == key.publicKey)
        let number = try key.publicKey.encrypt(-12.375)
        let decoded = try PheJSON.encryptedNumber(from: PheJSON.encode(encryptedNumber: number), publicKey: publicKey)
        #expect(decoded == number)
        #expect(try key.decryptDouble(decoded) == -12.375)
    }

    @Test func malformedKeysNameTheField() throws {
        expectMalformed("(document)") {
            _ = try PheJSON.privateKey(from: Data("{not json".utf8), sizePolicy: policy)
        }
        expectMalformed("(document)") {
            _ = try PheJSON.privateKey(from: Data("[1, 2]".utf8), sizePolicy: policy)
        }
        var object = try privateJSON()
        object.removeValue(forKey: "p")
        expectMalformed("p") { _ = try load(object) }
        object = try privateJSON(); object["q"] = "***"
        expectMalformed("q") { _ = try load(object) }
        object = try privateJSON(); object["q"] = 42
        expectMalformed("q") { _ = try load(object) }
        object = try privateJSON(); object["kty"] = "RSA"
        expectMalformed("kty") { _ = try load(object) }
        object = try privateJSON(); object["key_ops"] = ["encrypt"]
        expectMalformed("key_ops") { _ = try load(object) }
        object = try privateJSON(); object.removeValue(forKey: "pub")
        expectMalformed("pub") { _ = try load(object) }
        // n ≠ p·q
        object = try privateJSON()
        var pub = object["pub"] as! [String: Any]
        let otherN = try PaillierPrivateKey.insecureGenerate(bits: 1024).publicKey
        pub["n"] = (try JSONSerialization.jsonObject(with: PheJSON.encode(publicKey: otherN)) as! [String: Any])["n"]
        object["pub"] = pub
        expectMalformed("pub.n") { _ = try load(object) }
        // wrong algorithm
        object = try privateJSON()
        pub = object["pub"] as! [String: Any]; pub["alg"] = "RSA-OAEP"; object["pub"] = pub
        expectMalformed("pub.alg") { _ = try load(object) }
        // wrong size under the standard policy
        expectMalformed("pub.n") {
            _ = try PheJSON.privateKey(from: JSONSerialization.data(withJSONObject: try privateJSON()))
        }
    }

    @Test func malformedCiphertextsNameTheField() throws {
        let publicKey = key.publicKey
        func number(_ json: String) throws -> PaillierEncryptedNumber {
            try PheJSON.encryptedNumber(from: Data(json.utf8), source: "c.json", publicKey: publicKey)
        }
        expectMalformed("v") { _ = try number(#"{"e": 0}"#) }
        expectMalformed("v") { _ = try number(#"{"v": 12, "e": 0}"#) }
        expectMalformed("v") { _ = try number(#"{"v": "12a", "e": 0}"#) }
        expectMalformed("v") { _ = try number(#"{"v": "0", "e": 0}"#) }
        expectMalformed("v") { _ = try number(#"{"v": "\#(publicKey.nSquared)", "e": 0}"#) }
        expectMalformed("v") { _ = try number(#"{"v": "\#(key.p * 5)", "e": 0}"#) }  // not coprime with n
        expectMalformed("e") { _ = try number(#"{"v": "5", "e": 1.5}"#) }
        expectMalformed("e") { _ = try number(#"{"v": "5", "e": "0"}"#) }
        expectMalformed("e") { _ = try number(#"{"v": "5", "e": 100000000}"#) }
        #expect(try number(#"{"v": "5", "e": -3}"#).exponent == -3)
    }

    @Test func errorMessagesNeverContainSecrets() throws {
        let secrets = [key.p.description, key.q.description]
        var object = try privateJSON()
        object["q"] = (try JSONSerialization.jsonObject(with: PheJSON.encode(privateKey: key)) as! [String: Any])["p"]
        var messages: [String] = []
        do { _ = try load(object) } catch { messages.append("\(error)") }
        object = try privateJSON(); object["pub"] = ["kty": "DAJ", "alg": "PAI-GN1", "n": "AQ"]
        do { _ = try load(object) } catch { messages.append("\(error)") }
        do { _ = try key.publicKey.encrypt(signed: key.publicKey.n) } catch { messages.append("\(error)") }
        #expect(messages.count == 3)
        for message in messages {
            for secret in secrets { #expect(!message.contains(secret)) }
            #expect(!message.contains(key.publicKey.n.description))
        }
    }

    @Test func privateKeyFilesAreWrittenWithMode0600() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("key.json")
        // An existing world-readable file is replaced, not reused.
        try Data("old".utf8).write(to: url)
        chmod(url.path, 0o644)
        try PheJSON.writePrivateKey(key, to: url, kid: "test")
        var status = stat()
        #expect(stat(url.path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        let loaded = try PheJSON.readPrivateKey(at: url, sizePolicy: policy)
        #expect(loaded.publicKey == key.publicKey)
        let publicURL = folder.appendingPathComponent("key.pub.json")
        try PheJSON.writePublicKey(key.publicKey, to: publicURL)
        #expect(try PheJSON.readPublicKey(at: publicURL, sizePolicy: policy) == key.publicKey)
        #expect(throws: PaillierError.self) {
            _ = try PheJSON.readPrivateKey(at: folder.appendingPathComponent("missing.json"))
        }
    }
}
