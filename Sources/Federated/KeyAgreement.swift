@preconcurrency internal import Crypto

/// Pairwise key agreement for secure aggregation: X25519 (Curve25519 Diffie–Hellman) and
/// HKDF-SHA256, both from swift-crypto.
///
/// Each participant draws a key pair from the OS CSPRNG (swift-crypto's key generation) and
/// publishes its 32-byte public key. Participants u and v agree on the X25519 shared secret
/// s = X25519(a_u, A_v) = X25519(a_v, A_u), and every per-pair secret is
///
///     HKDF-SHA256(ikm: s, salt: "privacy-lab/secagg/v2", info: label ‖ 0 ‖ lo ‖ hi ‖ A_lo ‖ A_hi, 32 bytes)
///
/// with lo = min(u, v), hi = max(u, v) as 8-byte little-endian integers and A_lo, A_hi their
/// public keys: each purpose has its own label (`Purpose`), and a secret is bound to the
/// unordered pair and to both public keys, so no two pairs (nor two purposes) share a secret.
///
/// A peer's public key must be exactly 32 bytes, and a key of small order (which forces the
/// shared secret to zero whatever the secret key, RFC 7748 §6.1) is refused by checking the
/// shared secret against zero in constant time; swift-crypto accepts both silently.
///
/// - Complexity: one X25519 scalar multiplication and one HKDF (three HMAC-SHA256) per agreement.
/// - Reference: Bernstein, "Curve25519: new Diffie–Hellman speed records" (PKC 2006); RFC 7748
///   (X25519, about 128-bit security); RFC 5869 (HKDF).
/// - Caveat: the secrets live in process memory. swift-crypto zeroes its own key storage; the
///   raw secret key handed to Shamir sharing (`rawSecretKey`) and the `BigInteger` made of it
///   are ordinary memory (GMP limbs are cleared on release, the `Data` copy is not).
public enum PairwiseKeyAgreement {
    /// The byte length of a public key on the wire.
    public static let publicKeyBytes = 32
    /// The byte length of a secret key (what dropout recovery shares).
    public static let secretKeyBytes = 32

    /// What a pair derives a secret for: each purpose has its own HKDF `info` label.
    public enum Purpose: String, CaseIterable, Sendable {
        /// The 256-bit key of the ChaCha12 stream that masks the pair's inputs (step 3 of
        /// Bonawitz et al.). A key that encrypts Shamir shares between clients must come from a
        /// second key pair, as in Bonawitz et al., not from this one: the server rebuilds a
        /// dropped client's mask secret key, and with it every secret derived from it.
        case pairwiseMask = "privacy-lab/secagg/v2/pairwise-mask"
        /// The AES-256-GCM key under which a deployed client encrypts the Shamir shares it sends a
        /// peer through the server (Bonawitz et al.'s c_{u,v}), agreed from a second key pair that
        /// is never shared, so the server cannot read the shares it relays.
        case shareEncryption = "privacy-lab/secagg/v2/share-encryption"
    }

    /// A participant's secret key and its public key. Its description never shows the secret.
    public struct SecretKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        let key: Curve25519.KeyAgreement.PrivateKey
        /// The 32-byte public key to publish.
        public let publicKey: [UInt8]

        init(_ key: Curve25519.KeyAgreement.PrivateKey) {
            self.key = key
            publicKey = Array(key.publicKey.rawRepresentation)
        }

        /// A fresh key pair from the OS CSPRNG.
        public static func generate() -> SecretKey { SecretKey(Curve25519.KeyAgreement.PrivateKey()) }

        /// The key rebuilt from its 32 raw bytes (what Shamir reconstruction yields).
        /// - Throws: `protocolFailure` when `raw` is not 32 bytes.
        public init(rawSecretKey raw: [UInt8]) throws(FederatedError) {
            guard raw.count == PairwiseKeyAgreement.secretKeyBytes,
                  let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
            else {
                throw .protocolFailure("a rebuilt secret key has \(raw.count) bytes, expected \(PairwiseKeyAgreement.secretKeyBytes)")
            }
            self.init(key)
        }

        /// The 32 secret bytes, for Shamir sharing only.
        public var rawSecretKey: [UInt8] { Array(key.rawRepresentation) }

        public var description: String { "PairwiseKeyAgreement.SecretKey(public: \(publicKey.prefix(4).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())…, secret: redacted)" }
        public var debugDescription: String { description }
        public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey]) }
    }

    /// A 256-bit secret shared by one pair for one purpose. Compared in constant time; its
    /// description never shows it.
    public struct PairSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        let key: SymmetricKey

        /// The secret as four little-endian 64-bit words (a `MaskGenerator` key).
        var words: [UInt64] { key.withUnsafeBytes { KeyWords.words(of: Array($0)) } }

        public static func == (a: PairSecret, b: PairSecret) -> Bool { a.key == b.key }
        public var description: String { "PairwiseKeyAgreement.PairSecret(redacted)" }
        public var debugDescription: String { description }
        public var customMirror: Mirror { Mirror(self, children: [:]) }
    }

    /// The secret that the owner of `secretKey`, participant `own`, shares with participant
    /// `peer` whose public key is `peerPublicKey`, for `purpose`. Symmetric:
    /// `derive(p, a_u, A_v, u, v) == derive(p, a_v, A_u, v, u)`.
    ///
    /// - Throws: `protocolFailure` naming the peer when its public key is not 32 bytes or has
    ///   small order, or when `own == peer`.
    public static func derive(_ purpose: Purpose, secretKey: SecretKey, peerPublicKey: [UInt8], own: Int, peer: Int) throws(FederatedError) -> PairSecret {
        guard own != peer else { throw .protocolFailure("participant \(own) cannot agree a key with itself") }
        guard peerPublicKey.count == publicKeyBytes else {
            throw .protocolFailure("participant \(peer)'s public key has \(peerPublicKey.count) bytes, expected \(publicKeyBytes) (an X25519 key)")
        }
        let shared: SharedSecret
        do {
            let peerKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublicKey)
            shared = try secretKey.key.sharedSecretFromKeyAgreement(with: peerKey)
        } catch {
            throw .protocolFailure("participant \(peer)'s public key is not a usable X25519 key")
        }
        // A small-order point gives the all-zero secret whatever our key is (RFC 7748 §6.1).
        let zero = shared.withUnsafeBytes { bytes in bytes.reduce(UInt8(0)) { $0 | $1 } == 0 }
        guard !zero else {
            throw .protocolFailure("participant \(peer)'s public key has small order (the shared secret would be zero)")
        }
        let (lo, hi) = own < peer ? (own, peer) : (peer, own)
        let (loKey, hiKey) = own < peer ? (secretKey.publicKey, peerPublicKey) : (peerPublicKey, secretKey.publicKey)
        var info = Array(purpose.rawValue.utf8) + [0]
        for value in [UInt64(lo), UInt64(hi)] {
            for i in 0..<8 { info.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
        }
        info += loKey + hiKey
        let key = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: Array(salt.utf8), sharedInfo: info, outputByteCount: 32)
        return PairSecret(key: key)
    }

    static let salt = "privacy-lab/secagg/v2"

    /// The byte overhead of `seal`: a 12-byte nonce and a 16-byte tag.
    public static let sealOverhead = 28

    /// A 256-bit key from the OS CSPRNG (a client's self-mask seed b_u).
    static func randomSeed() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }
}

extension PairwiseKeyAgreement.PairSecret {
    /// AES-256-GCM encryption of `plaintext` under this secret, bound to `context` (authenticated,
    /// not encrypted), with a fresh random nonce: nonce ‖ ciphertext ‖ tag.
    public func seal(_ plaintext: [UInt8], context: [UInt8]) throws(FederatedError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: context)
            return Array(box.combined!)
        } catch {
            throw .protocolFailure("share encryption failed")
        }
    }

    /// The plaintext of a `seal`ed box.
    /// - Throws: `protocolFailure` when the box is malformed or was not sealed under this secret
    ///   and `context` (tampered, misdirected or replayed from another round).
    public func open(_ box: [UInt8], context: [UInt8]) throws(FederatedError) -> [UInt8] {
        guard box.count >= PairwiseKeyAgreement.sealOverhead,
              let sealed = try? AES.GCM.SealedBox(combined: box),
              let plain = try? AES.GCM.open(sealed, using: key, authenticating: context)
        else { throw .protocolFailure("an encrypted share does not open (tampered, misdirected or from another round)") }
        return Array(plain)
    }
}

/// 32 key bytes as four little-endian words, and a generator that yields them once: the only
/// way to hand a derived secret key to `MaskGenerator`, whose keyed-from-words entry is named
/// `insecureKeyed` because it accepts any generator (here the words are a secret 256-bit key,
/// which is what a PRG seed must be).
struct KeyWords: RandomNumberGenerator {
    var words: [UInt64]
    var position = 0

    static func words(of bytes: [UInt8]) -> [UInt64] {
        precondition(bytes.count >= 32, "KeyWords: need 32 bytes")
        return (0..<4).map { w in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * w + $1]) << (8 * $1) } }
    }

    mutating func next() -> UInt64 {
        precondition(position < words.count, "KeyWords: a key has only four words")
        defer { position += 1 }
        return words[position]
    }
}
