import BigIntegerModule
import Foundation
import Paillier
import TestSupport

/// SplitMix64: a small repeatable generator for test inputs (never for keys outside tests).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Fixtures {
    /// A 1024-bit test key made once per test process from a fixed seed (insecure on purpose).
    static let key1024: PaillierPrivateKey = {
        var rng = SplitMix64(seed: 1024)
        return try! PaillierPrivateKey.insecureGenerate(bits: 1024, using: &rng)
    }()

    static let vectorsFolder: URL = Bundle.module.url(forResource: "Vectors", withExtension: nil)!

    static func vectorFile(_ name: String) -> URL { vectorsFolder.appendingPathComponent(name) }

    nonisolated(unsafe) static let vectors: [String: Any] = {
        let data = try! Data(contentsOf: vectorFile("phe_vectors.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    /// The pheutil-made 1024-bit key of the vectors.
    static let pheKey: PaillierPrivateKey = try! PheJSON.readPrivateKey(
        at: vectorFile(vectors["private_key_file"] as! String), sizePolicy: .insecureAllowingShortKeys)

    static func temporaryFolder() throws -> URL { makeTemporaryFolder(prefix: "privacylab-paillier") }
}

func big(_ any: Any?) -> BigInteger { BigInteger(any as! String)! }

/// A vector's `{"float": repr}` or `{"int": decimal}` value.
enum VectorValue: Equatable {
    case float(Double)
    case int(BigInteger)

    init(_ any: Any?) {
        let object = any as! [String: String]
        if let text = object["float"] {
            self = .float(Double(text)!)
        } else {
            self = .int(BigInteger(object["int"]!)!)
        }
    }

    init(_ plain: PaillierPlainNumber) {
        switch plain {
        case let .integer(value): self = .int(value)
        case let .real(value): self = .float(value)
        }
    }

    var double: Double {
        switch self {
        case let .float(value): return value
        case let .int(value): return value.roundedToDouble()
        }
    }
}

extension PheJSON {
    static func encryptedNumber(_ any: Any?, publicKey: PaillierPublicKey) throws -> PaillierEncryptedNumber {
        let data = try JSONSerialization.data(withJSONObject: any!)
        return try PheJSON.encryptedNumber(from: data, publicKey: publicKey)
    }
}
