#!/usr/bin/env python3
"""Generate python-paillier (phe) interoperability vectors for PrivacyLab's Paillier tests.

Run with a Python that has `phe` (and `gmpy2`) installed:

    python scripts/paillier/make_phe_vectors.py Tests/PaillierTests/Vectors

It writes:
  - pheutil_private_1024.json, pheutil_public_1024.json, pheutil_ciphertext_*.json: files made
    by the `pheutil` command-line tool itself (genpkey, extract, encrypt, add, multiply, addenc);
  - phe_vectors.json: known-answer vectors made with phe's library API with fixed randomizers
    (raw encryption, EncodedNumber encode/decode, homomorphic results before obfuscation, and
    decryption of obfuscated ciphertexts).

The keys are test keys (1024 bits, plus one 2048-bit key): never use them for anything else.
"""
import json
import os
import random
import subprocess
import sys

import phe
from phe import EncodedNumber, EncryptedNumber, PaillierPrivateKey, PaillierPublicKey
from phe.util import base64_to_int, int_to_base64


def pheutil(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "pheutil")
    subprocess.run([exe, *args], check=True, stderr=subprocess.DEVNULL)


def enc_json(enc):
    return {"v": str(enc.ciphertext(be_secure=False)), "e": enc.exponent}


def value_json(x):
    # floats as repr (round-trips exactly), ints as decimal strings
    if isinstance(x, float):
        return {"float": repr(x)}
    return {"int": str(x)}


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261129)

    # --- Files made by pheutil itself -------------------------------------------------
    priv_path = os.path.join(out, "pheutil_private_1024.json")
    pub_path = os.path.join(out, "pheutil_public_1024.json")
    pheutil("genpkey", "--keysize", "1024", "--id", "PrivacyLab test key", priv_path)
    pheutil("extract", priv_path, pub_path)
    cli_cases = []
    for i, plaintext in enumerate(["3.25", "-17", "1e-7", "123456789.5"]):
        path = os.path.join(out, "pheutil_ciphertext_%d.json" % i)
        pheutil("encrypt", pub_path, "--output", path, "--", plaintext)
        cli_cases.append({"file": os.path.basename(path), "plaintext": float(plaintext)})
    sum_path = os.path.join(out, "pheutil_ciphertext_sum.json")
    pheutil("addenc", pub_path, os.path.join(out, "pheutil_ciphertext_0.json"),
            os.path.join(out, "pheutil_ciphertext_1.json"), "--output", sum_path)
    cli_cases.append({"file": "pheutil_ciphertext_sum.json", "plaintext": 3.25 + -17.0})
    prod_path = os.path.join(out, "pheutil_ciphertext_product.json")
    pheutil("multiply", pub_path, os.path.join(out, "pheutil_ciphertext_0.json"), "--output", prod_path, "--", "-2.5")
    cli_cases.append({"file": "pheutil_ciphertext_product.json", "plaintext": 3.25 * -2.5})
    plus_path = os.path.join(out, "pheutil_ciphertext_plus.json")
    pheutil("add", pub_path, os.path.join(out, "pheutil_ciphertext_1.json"), "--output", plus_path, "--", "0.125")
    cli_cases.append({"file": "pheutil_ciphertext_plus.json", "plaintext": -17.0 + 0.125})

    with open(priv_path) as f:
        jwk = json.load(f)
    pub = PaillierPublicKey(base64_to_int(jwk["pub"]["n"]))
    priv = PaillierPrivateKey(pub, base64_to_int(jwk["p"]), base64_to_int(jwk["q"]))
    n = pub.n

    def rand_r():
        return rng.randrange(1, n)

    # --- Raw encryption with fixed randomizers -----------------------------------------
    raw = []
    for m in [0, 1, 2, 12345, n // 3 - 1, n - 1, n - 12345, rng.randrange(n), rng.randrange(n)]:
        r = rand_r()
        raw.append({"m": str(m), "r": str(r), "c": str(pub.raw_encrypt(m, r_value=r))})

    # --- EncodedNumber encode / decode ---------------------------------------------------
    encode = []
    floats = [0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 3.141592653589793, 1e-300, 5e-324, 2.5e-310,
              1e300, -123456.789, 2.0 ** 60, 1.0 / 3.0, 6.02214076e23]
    for _ in range(30):
        floats.append(rng.uniform(-1e6, 1e6) * 10.0 ** rng.randint(-20, 20))
    for x in floats:
        for precision in [None, 1e-3, 1e-10, 0.5, 1e4]:
            for max_exponent in [None, -40, -3, 0, 2]:
                try:
                    e = EncodedNumber.encode(pub, x, precision=precision, max_exponent=max_exponent)
                except ValueError:
                    continue
                encode.append({"kind": "float", "value": repr(x),
                               "precision": precision, "max_exponent": max_exponent,
                               "encoding": str(e.encoding), "exponent": e.exponent,
                               "decoded": value_json(e.decode())})
    ints = [0, 1, -1, 7, -7, 255, 256, 2 ** 64 + 3, -(2 ** 100), n // 3 - 1, -(n // 3 - 1)]
    for _ in range(20):
        ints.append(rng.randrange(-(2 ** 200), 2 ** 200))
    for k in ints:
        for precision in [None, 16.0, 1000.0, 1e-5]:
            for max_exponent in [None, -2, 0, 3]:
                try:
                    e = EncodedNumber.encode(pub, k, precision=precision, max_exponent=max_exponent)
                except ValueError:
                    continue
                encode.append({"kind": "int", "value": str(k),
                               "precision": precision, "max_exponent": max_exponent,
                               "encoding": str(e.encoding), "exponent": e.exponent,
                               "decoded": value_json(e.decode())})
    out_of_range = [str(n // 3), str(-(n // 3)), str(n)]

    # --- Homomorphic operations, deterministic (fixed r, before obfuscation) ----------------
    ops = []
    pairs = [(1.5, 2.25), (-3.0, 0.001), (10 ** 9, -7), (0.1, 0.2), (-2.5e-8, 1234.5)]
    for a, b in pairs:
        ea = pub.encrypt(a, r_value=rand_r())
        eb = pub.encrypt(b, r_value=rand_r())
        ops.append({"op": "add", "a": enc_json(ea), "b": enc_json(eb), "result": enc_json(ea + eb),
                    "decrypted": value_json(priv.decrypt(ea + eb))})
        ops.append({"op": "add_scalar", "a": enc_json(ea), "scalar": value_json(b), "result": enc_json(ea + b),
                    "decrypted": value_json(priv.decrypt(ea + b))})
        ops.append({"op": "mul_scalar", "a": enc_json(ea), "scalar": value_json(b), "result": enc_json(ea * b),
                    "decrypted": value_json(priv.decrypt(ea * b))})
        ops.append({"op": "sub", "a": enc_json(ea), "b": enc_json(eb), "result": enc_json(ea - eb),
                    "decrypted": value_json(priv.decrypt(ea - eb))})
        ops.append({"op": "decrease_exponent", "a": enc_json(ea), "new_exponent": ea.exponent - 3,
                    "result": enc_json(ea.decrease_exponent_to(ea.exponent - 3))})
    for k in [-1, -5, 3, 0]:
        ea = pub.encrypt(42, r_value=rand_r())
        ops.append({"op": "mul_scalar", "a": enc_json(ea), "scalar": value_json(k), "result": enc_json(ea * k),
                    "decrypted": value_json(priv.decrypt(ea * k))})

    # --- Decryption of obfuscated ciphertexts ----------------------------------------------
    decrypt = []
    for x in [0, 1, -1, 2 ** 62, -(2 ** 70), 3.5, -0.000125, 1e20, 12345.678]:
        e = pub.encrypt(x)
        decrypt.append({"ciphertext": {"v": str(e.ciphertext()), "e": e.exponent}, "decrypted": value_json(priv.decrypt(e))})

    # --- A 2048-bit key (standard size policy) ---------------------------------------------
    pub2, priv2 = phe.generate_paillier_keypair(n_length=2048)
    e2 = pub2.encrypt(-987654321)
    key2048 = {
        "private_jwk": {"kty": "DAJ", "key_ops": ["decrypt"], "p": int_to_base64(priv2.p),
                        "q": int_to_base64(priv2.q),
                        "pub": {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"],
                                "n": int_to_base64(pub2.n), "kid": "PrivacyLab 2048-bit test key"},
                        "kid": "PrivacyLab 2048-bit test key"},
        "ciphertext": {"v": str(e2.ciphertext()), "e": e2.exponent},
        "decrypted": value_json(priv2.decrypt(e2)),
    }

    vectors = {
        "generator": "scripts/paillier/make_phe_vectors.py",
        "phe_version": phe.__version__,
        "private_key_file": os.path.basename(priv_path),
        "public_key_file": os.path.basename(pub_path),
        "max_int": str(pub.max_int),
        "pheutil_ciphertexts": cli_cases,
        "raw_encrypt": raw,
        "encode": encode,
        "encode_out_of_range": out_of_range,
        "operations": ops,
        "decrypt": decrypt,
        "key2048": key2048,
    }
    with open(os.path.join(out, "phe_vectors.json"), "w") as f:
        json.dump(vectors, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d encode, %d raw, %d op, %d decrypt vectors to %s"
          % (len(encode), len(raw), len(ops), len(decrypt), out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/PaillierTests/Vectors")
