"""Known-answer vectors for PrivacyLab's sealed-data envelope (Sources/Codecs/SealedData.swift),
computed with pyca/cryptography's AES-GCM (OpenSSL), independently of swift-crypto.

Format: magic "PLSD" | version 1 | algorithm 1 | 12-byte nonce | ciphertext | 16-byte tag, with
the 18-byte header followed by the context as GCM's associated data.

Run from this folder: python3 make_vectors.py > vectors.json
"""
import hashlib
import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def stream(label, n):
    """Deterministic bytes for the vectors (SHA-256 in counter mode over a label)."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def seal(key, nonce, context, plaintext):
    header = b"PLSD" + bytes([1, 1]) + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, header + context)


vectors = []
for index, (size, context) in enumerate([(0, b""), (1, b"a"), (16, b"privacy-lab artifact v1 0123"),
                                         (31, b"privacy-lab store data key v1"), (32, b""), (1000, b"x" * 70)]):
    key = stream(f"key/{index}", 32)
    nonce = stream(f"nonce/{index}", 12)
    plaintext = stream(f"plaintext/{index}", size)
    vectors.append({"key": key.hex(), "nonce": nonce.hex(), "context": context.hex(),
                    "plaintext": plaintext.hex(), "sealed": seal(key, nonce, context, plaintext).hex()})
print(json.dumps({"generator": "make_vectors.py (pyca/cryptography AESGCM)", "vectors": vectors}, indent=1))
