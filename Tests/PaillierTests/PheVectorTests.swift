import BigIntegerModule
import Foundation
import Paillier
import Testing

/// Known-answer vectors made by python-paillier (`scripts/paillier/make_phe_vectors.py`).
@Suite struct PheVectorTests {
    let key = Fixtures.pheKey
    var publicKey: PaillierPublicKey { key.publicKey }

    @Test func pheutilKeyFilesLoadAndAgree() throws {
        let publicKey = try PheJSON.readPublicKey(
            at: Fixtures.vectorFile(Fixtures.vectors["public_key_file"] as! String),
            sizePolicy: .insecureAllowingShortKeys)
        #expect(publicKey == key.publicKey)
        #expect(publicKey.bits == 1024)
        #expect(key.p * key.q == publicKey.n)
        #expect(publicKey.maxInt == big(Fixtures.vectors["max_int"]))
    }

    @Test func shortPheutilKeyIsRefusedByDefault() {
        #expect {
            _ = try PheJSON.readPrivateKey(at: Fixtures.vectorFile(Fixtures.vectors["private_key_file"] as! String))
        } throws: { error in
            "\(error)".contains("pub.n") && "\(error)".contains("2048")
        }
    }

    @Test func pheutilCiphertextsDecrypt() throws {
        for case let item as [String: Any] in Fixtures.vectors["pheutil_ciphertexts"] as! [Any] {
            let number = try PheJSON.readEncryptedNumber(
                at: Fixtures.vectorFile(item["file"] as! String), publicKey: publicKey)
            #expect(number.exponent <= -32)  // pheutil pads exponents down to -32
            #expect(try key.decryptDouble(number) == item["plaintext"] as! Double, "\(item["file"]!)")
        }
    }

    @Test func rawEncryptionMatchesPheWithTheSameRandomizer() throws {
        for case let item as [String: Any] in Fixtures.vectors["raw_encrypt"] as! [Any] {
            let m = big(item["m"]), r = big(item["r"]), c = big(item["c"])
            #expect(try publicKey.insecureEncrypt(m, randomizer: r).value == c)
            #expect(try key.insecureEncrypt(m, randomizer: r).value == c)  // CRT path
            #expect(try key.decrypt(PaillierCiphertext(value: c, publicKey: publicKey)) == m)
        }
    }

    @Test func encodingMatchesPheEncodedNumber() throws {
        var checked = 0
        for case let item as [String: Any] in Fixtures.vectors["encode"] as! [Any] {
            let precision = item["precision"] as? Double
            let maxExponent = item["max_exponent"] as? Int
            let encoded: PaillierEncodedNumber
            if item["kind"] as! String == "float" {
                let value = Double(item["value"] as! String)!
                encoded = try PaillierEncodedNumber.encode(value, publicKey: publicKey, precision: precision, maxExponent: maxExponent)
            } else {
                encoded = try PaillierEncodedNumber.encode(big(item["value"]), publicKey: publicKey, precision: precision, maxExponent: maxExponent)
            }
            #expect(encoded.exponent == item["exponent"] as! Int, "\(item)")
            #expect(encoded.encoding == big(item["encoding"]), "\(item)")
            #expect(VectorValue(try encoded.decode()) == VectorValue(item["decoded"]), "\(item)")
            checked += 1
        }
        #expect(checked > 1000)
    }

    @Test func outOfRangeIntegersAreRefusedAsPheDoes() {
        for text in Fixtures.vectors["encode_out_of_range"] as! [String] {
            #expect(throws: PaillierError.self) {
                _ = try PaillierEncodedNumber.encode(BigInteger(text)!, publicKey: publicKey)
            }
        }
    }

    @Test func homomorphicResultsEqualPheCiphertexts() throws {
        for case let item as [String: Any] in Fixtures.vectors["operations"] as! [Any] {
            let a = try PheJSON.encryptedNumber(item["a"], publicKey: publicKey)
            let expected = try PheJSON.encryptedNumber(item["result"], publicKey: publicKey)
            let result: PaillierEncryptedNumber
            switch item["op"] as! String {
            case "add":
                result = try a.adding(PheJSON.encryptedNumber(item["b"], publicKey: publicKey))
            case "sub":
                result = try a.subtracting(PheJSON.encryptedNumber(item["b"], publicKey: publicKey))
            case "add_scalar":
                switch VectorValue(item["scalar"]) {
                case let .float(x): result = try a.adding(x)
                case let .int(k): result = try a.adding(k)
                }
            case "mul_scalar":
                switch VectorValue(item["scalar"]) {
                case let .float(x): result = try a.multiplied(by: x)
                case let .int(k): result = try a.multiplied(by: k)
                }
            case "decrease_exponent":
                result = try a.decreasingExponent(to: item["new_exponent"] as! Int)
            default:
                Issue.record("unknown op \(item["op"]!)")
                continue
            }
            #expect(result.exponent == expected.exponent, "\(item["op"]!)")
            #expect(result.ciphertext == expected.ciphertext, "\(item["op"]!)")
            if let decrypted = item["decrypted"] {
                #expect(VectorValue(try key.decrypt(result)) == VectorValue(decrypted))
            }
        }
    }

    @Test func pheCiphertextsDecrypt() throws {
        for case let item as [String: Any] in Fixtures.vectors["decrypt"] as! [Any] {
            let number = try PheJSON.encryptedNumber(item["ciphertext"], publicKey: publicKey)
            #expect(VectorValue(try key.decrypt(number)) == VectorValue(item["decrypted"]))
        }
    }

    @Test func a2048BitPheKeyLoadsUnderTheStandardPolicy() throws {
        let vector = Fixtures.vectors["key2048"] as! [String: Any]
        let data = try JSONSerialization.data(withJSONObject: vector["private_jwk"]!)
        let key = try PheJSON.privateKey(from: data)
        #expect(key.publicKey.bits == 2048)
        let number = try PheJSON.encryptedNumber(vector["ciphertext"], publicKey: key.publicKey)
        #expect(VectorValue(try key.decrypt(number)) == VectorValue(vector["decrypted"]))
    }
}
