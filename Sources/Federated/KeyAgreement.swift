import BigIntegerModule
import Codecs

/// Finite-field Diffie–Hellman over a safe-prime group, for pairwise key agreement.
///
/// p = 2q + 1 with p and q prime and g = 2, which generates the subgroup of order q (2 is a
/// quadratic residue since p ≡ 7 mod 8). A secret exponent a is drawn from the OS CSPRNG with
/// `exponentBits` bits (2× the security level, as RFC 7919 §5.2 recommends) and the public key
/// is A = g^a mod p, computed with `mpz_powm_sec`. The shared element g^(ab) is hashed with
/// SHA-256 together with a domain label and both parties' indices into a 256-bit key.
///
/// A peer's public key is checked to lie in [2, p − 2]: for a safe prime this excludes the
/// subgroups of order 1 and 2, so a confinement attack learns at most the secret's lowest bit
/// (a full membership test A^q = 1 would cost one more full-length exponentiation per peer).
///
/// - Complexity: one exponentiation with an `exponentBits`-bit exponent modulo p per key pair or
///   agreement.
/// - Reference: Diffie, Hellman, "New Directions in Cryptography" (1976); the group is RFC 3526's
///   2048-bit MODP group 14 (about 112-bit security).
public struct DiffieHellmanGroup: Sendable, Equatable {
    public let p: BigInteger
    public let q: BigInteger
    public let g: BigInteger
    public let exponentBits: Int

    /// RFC 3526 group 14: the 2048-bit MODP safe prime, g = 2, 224-bit secret exponents.
    public static let modp2048: DiffieHellmanGroup = {
        let hex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            + "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            + "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            + "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
            + "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
            + "15728E5A8AACAA68FFFFFFFFFFFFFFFF"
        let p = BigInteger(hex, radix: 16)!
        return DiffieHellmanGroup(p: p, q: (p - 1) >> 1, g: 2, exponentBits: 224)
    }()

    /// The byte length of a group element on the wire.
    public var elementBytes: Int { (p.bitWidth + 7) / 8 }

    /// A key pair with the secret from the OS CSPRNG.
    public func generateKeyPair() -> (secret: BigInteger, publicKey: BigInteger) {
        var secret = BigInteger(0)
        while secret < 2 { secret = BigInteger.random(bits: exponentBits) }
        return (secret, g.securePower(secret, modulo: p))
    }

    /// The 256-bit key shared by the owner of `secret` and the owner of `peerPublicKey`, bound to
    /// the unordered pair {`first`, `second`} of participant indices.
    /// - Throws: `protocolFailure` when the peer's key is outside [2, p − 2].
    public func agree(secret: BigInteger, peerPublicKey: BigInteger, first: Int, second: Int) throws(FederatedError) -> [UInt64] {
        guard peerPublicKey >= 2, peerPublicKey <= p - 2 else {
            throw .protocolFailure("a public key lies outside [2, p − 2] (participant \(first == second ? first : Swift.max(first, second)))")
        }
        let shared = peerPublicKey.securePower(secret, modulo: p)
        var hasher = SHA256()
        hasher.update(Array("privacy-lab/secagg/pairwise-mask/v1".utf8))
        var ids = [UInt8](repeating: 0, count: 16)
        let (lo, hi) = (UInt64(Swift.min(first, second)), UInt64(Swift.max(first, second)))
        for i in 0..<8 { ids[i] = UInt8(truncatingIfNeeded: lo >> (8 * i)); ids[8 + i] = UInt8(truncatingIfNeeded: hi >> (8 * i)) }
        hasher.update(ids)
        hasher.update(shared.bigEndianBytes(count: elementBytes) ?? shared.bigEndianBytes)
        return KeyWords.words(of: hasher.finalize().bytes)
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
