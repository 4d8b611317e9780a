#!/usr/bin/env python3
"""Side-by-side Paillier benchmark: PrivacyLab (`privacy-lab paillier bench --json`) against
python-paillier (`phe` with `gmpy2`), in one run, alternating between the two tools each round.

    python Benchmarks/paillier/compare.py --privacy-lab .build/release/privacy-lab \
        --bits 2048 3072 --rounds 3 --seconds 1

Both tools use the same key (made by phe, passed to PrivacyLab as a pheutil JWK file). Each
round times every operation with PrivacyLab (a subprocess, `--only` that operation) and with phe
(in this process) back to back, in alternating order, so both see the same machine load; the
median over rounds is reported with the ratio phe-seconds / PrivacyLab-seconds (above 1 means
PrivacyLab is faster). Every operation runs on one core, except the batch line (all cores).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import gmpy2
import phe
from phe.util import int_to_base64


def timed(seconds, body, minimum_calls=3):
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while calls < minimum_calls or elapsed < seconds:
        body()
        calls += 1
        elapsed = time.perf_counter() - start
    return elapsed / calls


def phe_keypair_file(bits, folder):
    """A key made by phe, written as a pheutil JWK, so both tools time the same key."""
    pub, priv = phe.generate_paillier_keypair(n_length=bits)
    jpub = {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": int_to_base64(pub.n), "kid": "bench"}
    path = os.path.join(folder, "key%d.json" % bits)
    with open(path, "w") as f:
        json.dump({"kty": "DAJ", "key_ops": ["decrypt"], "p": int_to_base64(priv.p),
                   "q": int_to_base64(priv.q), "pub": jpub, "kid": "bench"}, f)
    return pub, priv, path


def phe_operation(name, pub, priv, bits, seconds, keys):
    if name == "keygen":
        total = 0.0
        for _ in range(keys):
            start = time.perf_counter()
            phe.generate_paillier_keypair(n_length=bits)
            total += time.perf_counter() - start
        return total / keys
    if name == "powm_rn":
        n, n2 = gmpy2.mpz(pub.n), gmpy2.mpz(pub.nsquare)
        r = gmpy2.mpz(pub.get_random_lt_n())
        return timed(seconds, lambda: gmpy2.powmod(r, n, n2))
    plaintext = 123456789
    if name == "encrypt":
        return timed(seconds, lambda: pub.encrypt(plaintext))
    a = pub.encrypt(plaintext)
    b = pub.encrypt(987654321)
    if name == "decrypt":
        return timed(seconds, lambda: priv.decrypt(a))
    if name == "add":
        return timed(seconds, lambda: a + b)
    if name == "scalar_mul":
        scalar = 2 ** 52 + 12345
        return timed(seconds, lambda: a * scalar)
    raise ValueError(name)


def privacy_lab_bench(executable, key_path, operations, seconds, keys):
    out = subprocess.run(
        [executable, "paillier", "bench", "--key", key_path, "--only", ",".join(operations),
         "--seconds", str(seconds), "--keys", str(keys), "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# phe operation -> the PrivacyLab operations compared with it, timed back to back.
GROUPS = [
    ("keygen", ["keygen"]),
    ("powm_rn", ["powm_rn"]),
    ("encrypt", ["encrypt", "encrypt_fast", "encrypt_crt", "encrypt_fast_batch"]),
    ("decrypt", ["decrypt", "decrypt_powm_reference"]),
    ("add", ["add"]),
    ("scalar_mul", ["scalar_mul"]),
]

# (label, PrivacyLab metric, phe metric)
ROWS = [
    ("key generation", "keygen.seconds", "keygen.seconds"),
    ("one powm r^n mod n^2 (floor)", "powm_rn.seconds", "powm_rn.seconds"),
    ("encrypt, classic", "encrypt.seconds", "encrypt.seconds"),
    ("encrypt, fast (h_s^alpha)", "encrypt_fast.seconds", "encrypt.seconds"),
    ("encrypt, key owner (CRT)", "encrypt_crt.seconds", "encrypt.seconds"),
    ("decrypt (CRT, mpz_powm_sec)", "decrypt.seconds", "decrypt.seconds"),
    ("  reference: the 2 CRT powers with mpz_powm", "decrypt_powm_reference.seconds", "decrypt.seconds"),
    ("add ciphertexts", "add.seconds", "add.seconds"),
    ("multiply by 53-bit scalar", "scalar_mul.seconds", "scalar_mul.seconds"),
    ("encrypt, fast, batch all cores (per item)", "encrypt_fast_batch.per_item_seconds", "encrypt.seconds"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--privacy-lab", default=".build/release/privacy-lab")
    parser.add_argument("--bits", type=int, nargs="+", default=[2048, 3072])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    print("machine: %s, %s; python %s; phe %s; gmpy2 %s with %s"
          % (platform.machine(), platform.processor() or "?", platform.python_version(),
             phe.__version__, gmpy2.version(), gmpy2.mp_version()))
    results = {"phe_version": phe.__version__, "gmpy2_gmp": gmpy2.mp_version(), "bits": {}}
    folder = tempfile.mkdtemp(prefix="paillier-bench-")
    for bits in args.bits:
        ours, theirs = {}, {}
        params = None
        pub, priv, key_path = phe_keypair_file(bits, folder)
        for round_index in range(args.rounds):
            for group_index, (phe_name, lab_names) in enumerate(GROUPS):
                order = ["lab", "phe"] if (round_index + group_index) % 2 == 0 else ["phe", "lab"]
                for tool in order:
                    if tool == "lab":
                        report = privacy_lab_bench(args.privacy_lab, key_path, lab_names, args.seconds, args.keys)
                        params = report["params"]
                        for k, v in report["metrics"].items():
                            ours.setdefault(k, []).append(v)
                    else:
                        value = phe_operation(phe_name, pub, priv, bits, args.seconds, args.keys)
                        theirs.setdefault(phe_name + ".seconds", []).append(value)
            print("  %d bits: round %d/%d done" % (bits, round_index + 1, args.rounds), file=sys.stderr)
        lab = {k: statistics.median(v) for k, v in ours.items()}
        ph = {k: statistics.median(v) for k, v in theirs.items()}
        print()
        print("%d-bit modulus (median of %d alternating rounds; %s)" % (bits, args.rounds, json.dumps(params)))
        print("%-44s %14s %14s %14s %12s %9s" % ("operation", "PrivacyLab s", "phe s", "PrivacyLab /s", "phe /s", "ratio"))
        rows = []
        for label, lab_key, phe_key in ROWS:
            ls, ps = lab[lab_key], ph[phe_key]
            ratio = ps / ls
            rows.append({"operation": label, "privacy_lab_seconds": ls, "phe_seconds": ps, "ratio": ratio})
            print("%-44s %14.6g %14.6g %14.1f %12.1f %8.2fx" % (label, ls, ps, 1 / ls, 1 / ps, ratio))
        floor = statistics.median(e / p for e, p in zip(ours["encrypt.seconds"], ours["powm_rn.seconds"]))
        print("classic encryption / one powm (same run): %.3f" % floor)
        results["bits"][str(bits)] = {"params": params, "rows": rows, "encrypt_over_powm": floor,
                                      "privacy_lab": lab, "phe": ph}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
