public import Codecs
public import Foundation
import BigIntegerModule

/// python-paillier's JSON formats, as written and read by `phe` and its CLI `pheutil`.
///
/// - public key (JWK): `{"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": B64, "kid": …}`
/// - private key (JWK): `{"kty": "DAJ", "key_ops": ["decrypt"], "p": B64, "q": B64, "pub": {…}, "kid": …}`
/// - encrypted number: `{"v": "<ciphertext in decimal>", "e": <exponent>}`
///
/// B64 is the unpadded base64url of the integer's big-endian bytes (phe's `int_to_base64`).
/// Everything read is validated, and errors name the source and the field: a missing or mistyped
/// field, a key whose n ≠ p·q or whose primes are not prime, a modulus below the size policy, a
/// ciphertext ≥ n² or not coprime with n. Errors never quote p, q or plaintexts.
///
/// The formats carry no version field of their own; PrivacyLab writes them unchanged so
/// that `pheutil` reads its files.
public enum PheJSON {
    // MARK: Reading

    public static func publicKey(from data: Data, source: String = "public key",
                                 sizePolicy: PaillierKeySizePolicy = .standard) throws -> PaillierPublicKey {
        let object = try parseObject(data, source: source)
        return try publicKey(in: object, source: source, prefix: "", sizePolicy: sizePolicy)
    }

    public static func privateKey(from data: Data, source: String = "private key",
                                  sizePolicy: PaillierKeySizePolicy = .standard) throws -> PaillierPrivateKey {
        let object = try parseObject(data, source: source)
        try expect(object, "kty", equals: "DAJ", source: source)
        guard case let .array(ops)? = object["key_ops"], ops.contains(.string("decrypt")) else {
            throw PaillierError.malformed(source: source, field: "key_ops", expected: "an array containing \"decrypt\"")
        }
        guard case let .object(pub)? = object["pub"] else {
            throw PaillierError.malformed(source: source, field: "pub", expected: "the public key as a JSON object")
        }
        let publicKey = try publicKey(in: pub, source: source, prefix: "pub.", sizePolicy: sizePolicy)
        let p = try base64Integer(object, "p", source: source)
        let q = try base64Integer(object, "q", source: source)
        do {
            return try PaillierPrivateKey(publicKey: publicKey, p: p, q: q, sizePolicy: sizePolicy)
        } catch let PaillierError.invalidKey(field, reason) {
            let named = field == "n" ? "pub.n" : field
            throw PaillierError.malformed(source: source, field: named, expected: "a consistent key (\(reason))")
        }
    }

    public static func encryptedNumber(from data: Data, source: String = "encrypted number",
                                       publicKey: PaillierPublicKey) throws -> PaillierEncryptedNumber {
        let object = try parseObject(data, source: source)
        guard case let .string(text)? = object["v"] else {
            throw PaillierError.malformed(source: source, field: "v", expected: "the ciphertext as a string of decimal digits")
        }
        guard let value = BigInteger(text, radix: 10), !text.hasPrefix("+") else {
            throw PaillierError.malformed(source: source, field: "v", expected: "a string of decimal digits")
        }
        guard case let .integer(exponent)? = object["e"] else {
            throw PaillierError.malformed(source: source, field: "e", expected: "the exponent as a JSON integer")
        }
        let ciphertext: PaillierCiphertext
        do {
            ciphertext = try PaillierCiphertext(value: value, publicKey: publicKey)
        } catch let PaillierError.invalidCiphertext(reason) {
            throw PaillierError.malformed(source: source, field: "v", expected: "a ciphertext of this key: \(reason)")
        }
        do {
            return try PaillierEncryptedNumber(ciphertext: ciphertext, exponent: exponent)
        } catch let PaillierError.invalidExponent(reason) {
            throw PaillierError.malformed(source: source, field: "e", expected: "a usable exponent: \(reason)")
        }
    }

    // MARK: Writing

    public static func encode(publicKey: PaillierPublicKey, kid: String? = nil) -> Data {
        encodeJSON(publicJWK(publicKey, kid: kid))
    }

    public static func encode(privateKey: PaillierPrivateKey, kid: String? = nil, publicKid: String? = nil) -> Data {
        encodeJSON(PrivateJWK(
            kty: "DAJ", key_ops: ["decrypt"], p: base64url(privateKey.p), q: base64url(privateKey.q),
            pub: publicJWK(privateKey.publicKey, kid: publicKid), kid: kid))
    }

    /// `{"v": …, "e": …}`. Re-randomize first if the number comes from homomorphic operations.
    public static func encode(encryptedNumber: PaillierEncryptedNumber) -> Data {
        encodeJSON(EncryptedJSON(v: encryptedNumber.ciphertext.value.description, e: encryptedNumber.exponent))
    }

    // MARK: Files

    public static func readPublicKey(at url: URL, sizePolicy: PaillierKeySizePolicy = .standard) throws -> PaillierPublicKey {
        try publicKey(from: read(url), source: url.path, sizePolicy: sizePolicy)
    }

    public static func readPrivateKey(at url: URL, sizePolicy: PaillierKeySizePolicy = .standard) throws -> PaillierPrivateKey {
        try privateKey(from: read(url), source: url.path, sizePolicy: sizePolicy)
    }

    public static func readEncryptedNumber(at url: URL, publicKey: PaillierPublicKey) throws -> PaillierEncryptedNumber {
        try encryptedNumber(from: read(url), source: url.path, publicKey: publicKey)
    }

    /// Writes a private key with mode 0600 (owner read/write only) through `OutputFile`: atomic
    /// for a regular file, never a rename over a device or FIFO. With `replace: false` an
    /// existing file is an error and is left as it was.
    public static func writePrivateKey(_ key: PaillierPrivateKey, to url: URL, kid: String? = nil, publicKid: String? = nil,
                                       replace: Bool = true) throws {
        try commit(preparePrivateKey(key, to: url, kid: kid, publicKid: publicKid, replace: replace), url)
    }

    /// Writes a public key with mode 0644 (see `writePrivateKey`).
    public static func writePublicKey(_ key: PaillierPublicKey, to url: URL, kid: String? = nil, replace: Bool = true) throws {
        try commit(preparePublicKey(key, to: url, kid: kid, replace: replace), url)
    }

    /// Writes a key pair: the private key (mode 0600) and its public key (mode 0644).
    ///
    /// Both files are written to temporaries beside their targets first; only when both are on
    /// disk are they renamed into place, so a failure to write either (a full disk, a folder
    /// that cannot be written, a directory in the public key's place) leaves both targets as
    /// they were. With `replace: false` (the default) an existing file at either path is an
    /// error and nothing is written.
    public static func writeKeyPair(_ key: PaillierPrivateKey, privateKeyTo privateURL: URL, publicKeyTo publicURL: URL,
                                    kid: String? = nil, replace: Bool = false) throws {
        let privatePending = try preparePrivateKey(key, to: privateURL, kid: kid, publicKid: kid, replace: replace)
        let publicPending: OutputFile.Pending
        do { publicPending = try preparePublicKey(key.publicKey, to: publicURL, kid: kid, replace: replace) } catch {
            privatePending.discard()
            throw error
        }
        do { try commit(privatePending, privateURL) } catch {
            publicPending.discard()
            throw error
        }
        try commit(publicPending, publicURL)
    }

    /// Makes a prepared key write visible, with a `PaillierError` naming the file on failure.
    public static func commit(_ pending: OutputFile.Pending, _ url: URL) throws {
        do throws(OutputFileError) { try pending.commit() } catch {
            throw PaillierError.fileError(path: url.path, reason: error.reason)
        }
    }

    /// A private-key write made ready (its temporary file written) but not yet visible: prepare
    /// both files of a pair, then commit both, so that a failure leaves neither changed.
    public static func preparePrivateKey(_ key: PaillierPrivateKey, to url: URL, kid: String? = nil, publicKid: String? = nil,
                                         replace: Bool = true) throws -> OutputFile.Pending {
        var data = encode(privateKey: key, kid: kid, publicKid: publicKid)
        data.append(0x0A)
        defer { data.resetBytes(in: 0..<data.count) }
        do throws(OutputFileError) { return try OutputFile.prepare(data, to: url, mode: 0o600, replace: replace) } catch {
            throw PaillierError.fileError(path: url.path, reason: error.reason)
        }
    }

    /// A public-key write made ready but not yet visible (see `preparePrivateKey`).
    public static func preparePublicKey(_ key: PaillierPublicKey, to url: URL, kid: String? = nil,
                                        replace: Bool = true) throws -> OutputFile.Pending {
        var data = encode(publicKey: key, kid: kid)
        data.append(0x0A)
        do throws(OutputFileError) { return try OutputFile.prepare(data, to: url, mode: 0o644, replace: replace) } catch {
            throw PaillierError.fileError(path: url.path, reason: error.reason)
        }
    }

    // MARK: Internals

    struct PublicJWK: Codable {
        var kty: String
        var alg: String
        var key_ops: [String]
        var n: String
        var kid: String?
    }

    struct PrivateJWK: Codable {
        var kty: String
        var key_ops: [String]
        var p: String
        var q: String
        var pub: PublicJWK
        var kid: String?
    }

    struct EncryptedJSON: Codable {
        var v: String
        var e: Int
    }

    static func publicJWK(_ key: PaillierPublicKey, kid: String?) -> PublicJWK {
        PublicJWK(kty: "DAJ", alg: "PAI-GN1", key_ops: ["encrypt"], n: base64url(key.n), kid: kid)
    }

    static func encodeJSON<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(value)
    }

    static func publicKey(in object: [String: JSONValue], source: String, prefix: String,
                          sizePolicy: PaillierKeySizePolicy) throws -> PaillierPublicKey {
        try expect(object, "kty", equals: "DAJ", source: source, prefix: prefix)
        try expect(object, "alg", equals: "PAI-GN1", source: source, prefix: prefix)
        let n = try base64Integer(object, "n", source: source, prefix: prefix)
        do {
            return try PaillierPublicKey(n: n, sizePolicy: sizePolicy)
        } catch let PaillierError.invalidKey(_, reason) {
            throw PaillierError.malformed(source: source, field: prefix + "n", expected: reason)
        } catch let PaillierError.keyTooShort(bits, minimum) {
            throw PaillierError.malformed(
                source: source, field: prefix + "n",
                expected: "a modulus of at least \(minimum) bits, found \(bits) (short keys need an insecure… API)")
        } catch let PaillierError.keyTooLong(bits, maximum) {
            throw PaillierError.malformed(source: source, field: prefix + "n", expected: "a modulus of at most \(maximum) bits, found \(bits)")
        }
    }

    static func expect(_ object: [String: JSONValue], _ field: String, equals expected: String,
                       source: String, prefix: String = "") throws {
        guard case let .string(value)? = object[field], value == expected else {
            throw PaillierError.malformed(source: source, field: prefix + field, expected: "\"\(expected)\"")
        }
    }

    static func base64Integer(_ object: [String: JSONValue], _ field: String, source: String, prefix: String = "") throws -> BigInteger {
        guard case let .string(text)? = object[field], let bytes = base64urlDecode(text), !bytes.isEmpty else {
            throw PaillierError.malformed(
                source: source, field: prefix + field, expected: "a base64url-encoded big-endian positive integer")
        }
        return BigInteger(bigEndianBytes: bytes)
    }

    static func parseObject(_ data: Data, source: String) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw PaillierError.malformed(source: source, field: "(document)", expected: "valid JSON")
        }
        guard case let .object(object) = value else {
            throw PaillierError.malformed(source: source, field: "(document)", expected: "a JSON object")
        }
        return object
    }

    /// The largest key or ciphertext file read: 64 KiB. A key at `PaillierKeySize.maximumBits`
    /// takes about 6 KB and its ciphertexts about 10 KB; a larger file is refused before it is
    /// read or parsed.
    public static let maximumFileBytes = 1 << 16

    static func read(_ url: URL) throws -> Data {
        do throws(InputFileError) {
            return Data(try InputFile.read(url, maximumBytes: maximumFileBytes))
        } catch {
            switch error.kind {
            case .tooLarge: throw PaillierError.fileError(path: url.path, reason: "larger than \(maximumFileBytes) bytes; not a Paillier key or ciphertext")
            case .missing: throw PaillierError.fileError(path: url.path, reason: "file not found")
            case .notRegularFile, .unreadable: throw PaillierError.fileError(path: url.path, reason: error.reason)
            }
        }
    }

    // MARK: base64url (RFC 4648 §5, unpadded)

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64url(_ value: BigInteger) -> String {
        let bytes = value.bigEndianBytes
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            let available = min(3, bytes.count - index)
            for k in 0...available {
                out.append(alphabet[Int((triple >> UInt32(18 - 6 * k)) & 63)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64urlDecode(_ text: String) -> [UInt8]? {
        var chars = Array(text.utf8)
        while chars.last == UInt8(ascii: "=") { chars.removeLast() }
        guard chars.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var accumulator: UInt32 = 0, bits = 0
        for c in chars {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"), UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): v = 63
            default: return nil
            }
            accumulator = accumulator << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

/// A parsed JSON value that keeps integers apart from other numbers.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}
