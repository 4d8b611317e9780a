#!/usr/bin/env python3
"""Independent reference implementation of PrivacyLab's LabRandom (algorithm version 1).

Written from the algorithm's description in Sources/LabRandom/LabRandom.swift, not translated
from the Swift code, so that the known-answer vectors it writes check the Swift implementation
against the specification. Standard library only (plus ctypes for the C library's logf/sinf/cosf,
so that fillNormal's float values can be compared closely).

    python3 scripts/labrandom_reference.py > Tests/LabRandomTests/Vectors/labrandom-v1.json
"""
import ctypes
import ctypes.util
import json
import math
import struct
import sys

MASK = (1 << 64) - 1
PHI = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def f32(x):
    """Round a Python float to the nearest IEEE binary32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _libm():
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    for fn in ("logf", "sinf", "cosf"):
        getattr(lib, fn).restype = ctypes.c_float
        getattr(lib, fn).argtypes = [ctypes.c_float]
    return lib


LIBM = _libm()


def logf(x):
    return LIBM.logf(x) if LIBM else f32(math.log(x))


def sinf(x):
    return LIBM.sinf(x) if LIBM else f32(math.sin(x))


def cosf(x):
    return LIBM.cosf(x) if LIBM else f32(math.cos(x))


class Generator:
    """Key (fixed) plus xoshiro256** state (consumed)."""

    def __init__(self, key):
        key = list(key)
        if not any(key):
            key[0] = PHI
        self.key = tuple(key)
        self.s = list(key)

    @classmethod
    def root(cls, seed):
        s = seed & MASK
        key = []
        for _ in range(4):
            s = (s + PHI) & MASK
            key.append(mix64(s))
        return cls(key)

    @staticmethod
    def _absorb_word(k, w):
        x = w ^ k[3]
        for i in range(4):
            k[i] = mix64(k[i] ^ ((x + PHI * (i + 1)) & MASK))
            x = k[i]

    def stream(self, name):
        k = list(self.key)
        for comp in name.encode("utf-8").split(b"/"):
            if not comp:
                continue
            self._absorb_word(k, len(comp) ^ 0x4C61625374726561)
            for off in range(0, len(comp), 8):
                chunk = comp[off:off + 8].ljust(8, b"\0")
                self._absorb_word(k, int.from_bytes(chunk, "little"))
            self._absorb_word(k, 0x2F2F2F2F2F2F2F2F)
        return Generator(k)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def next_double(self):
        return (self.next() >> 11) * 2.0 ** -53

    def next_float(self):
        return (self.next() >> 40) * 2.0 ** -24  # exact in binary32

    def next_int(self, bound):
        m = self.next() * bound
        if (m & MASK) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & MASK) < threshold:
                m = self.next() * bound
        return m >> 64

    def next_normal(self):
        u1 = 1.0 - self.next_double()
        u2 = self.next_double()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def next_bernoulli(self, p):
        return self.next_double() < p

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.next_int(i + 1)
            items[i], items[j] = items[j], items[i]

    def permutation(self, n):
        items = list(range(n))
        self.shuffle(items)
        return items

    def sample_without_replacement(self, k, n):
        moved = {}
        out = []
        for i in range(k):
            j = i + self.next_int(n - i)
            at_j, at_i = moved.get(j, j), moved.get(i, i)
            moved[j], moved[i] = at_i, at_j
            out.append(at_j)
        return out

    def fill_uniform(self, n, low, high):
        low, high = f32(low), f32(high)
        scale = f32(f32(high - low) * 2.0 ** -24)
        out = []
        while len(out) < n:
            w = self.next()
            for a in (w >> 40, (w >> 8) & 0xFFFFFF):
                if len(out) < n:
                    out.append(f32(low + f32(a * scale)))
        return out

    def fill_normal(self, n, mean, sd):
        mean, sd = f32(mean), f32(sd)
        angle_scale = f32(2 * math.pi * 2.0 ** -32)
        out = []
        while len(out) < n:
            w = self.next()
            u1 = f32(float((w >> 32) + 1)) * 2.0 ** -32
            theta = f32(f32(float(w & 0xFFFFFFFF)) * angle_scale)
            r = f32(sd * f32(math.sqrt(f32(-2.0 * logf(u1)))))
            out.append(f32(mean + f32(r * cosf(theta))))
            if len(out) < n:
                out.append(f32(mean + f32(r * sinf(theta))))
        return out


def hex64(x):
    return "%016x" % x


def self_check():
    """Anchor the reference on published xoshiro256** and SplitMix64 outputs."""
    g = Generator([1, 2, 3, 4])
    expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                607988272756665600, 16172922978634559625, 8476171486693032832]
    assert [g.next() for _ in range(8)] == expected, "xoshiro256** reference vector mismatch"
    assert Generator.root(0).key[0] == 0xE220A8397B1DCDAF, "SplitMix64 reference vector mismatch"


def main():
    self_check()
    vectors = {"algorithm": "LabRandom", "version": 1,
               "note": "generated by scripts/labrandom_reference.py; integers and IEEE bit patterns in hex"}

    raw = []
    for seed in (0, 1, 42, 0x0123456789ABCDEF, MASK):
        g = Generator.root(seed)
        raw.append({"seed": hex64(seed), "path": None, "next": [hex64(g.next()) for _ in range(8)]})
    for seed, path in ((42, "target/train"), (42, "shadow/3/init"), (7, "client/12/batches"),
                       (42, "x"), (0, "exactly8"), (0, "a-name-longer-than-16-bytes/ünïcödé/🎲")):
        g = Generator.root(seed).stream(path)
        raw.append({"seed": hex64(seed), "path": path, "next": [hex64(g.next()) for _ in range(8)]})
    vectors["next"] = raw

    seed = 2026
    root = Generator.root(seed)
    g = root.stream("kat/double")
    vectors["double"] = {"seed": hex64(seed), "path": "kat/double",
                         "bits": [hex64(f64_bits(g.next_double())) for _ in range(8)]}
    g = root.stream("kat/float")
    vectors["float"] = {"seed": hex64(seed), "path": "kat/float",
                        "bits": ["%08x" % f32_bits(g.next_float()) for _ in range(8)]}
    g = root.stream("kat/int")
    bounds = [1, 2, 3, 7, 10, 100, 1000, 6, 2**31 - 1, 2**32 + 1, 2**62 + 1, 2**63 - 1] * 2
    vectors["int"] = {"seed": hex64(seed), "path": "kat/int", "bounds": [hex64(b) for b in bounds],
                      "values": [hex64(g.next_int(b)) for b in bounds]}
    g = root.stream("kat/normal")
    vectors["normal"] = {"seed": hex64(seed), "path": "kat/normal",
                         "bits": [hex64(f64_bits(g.next_normal())) for _ in range(8)]}
    g = root.stream("kat/bernoulli")
    vectors["bernoulli"] = {"seed": hex64(seed), "path": "kat/bernoulli", "p": 0.3,
                            "values": [g.next_bernoulli(0.3) for _ in range(24)]}
    g = root.stream("kat/permutation")
    vectors["permutation"] = {"seed": hex64(seed), "path": "kat/permutation", "n": 12,
                              "values": g.permutation(12)}
    samples = []
    for k, n in ((5, 20), (20, 20), (7, 4096), (10, 5000), (6, 1_000_000), (3, 2**40)):
        g = root.stream("kat/sample")
        samples.append({"k": k, "n": n, "values": g.sample_without_replacement(k, n)})
    vectors["sample"] = {"seed": hex64(seed), "path": "kat/sample", "cases": samples}
    g = root.stream("kat/fill-uniform")
    vectors["fillUniform"] = {"seed": hex64(seed), "path": "kat/fill-uniform", "low": -0.5, "high": 0.25,
                              "bits": ["%08x" % f32_bits(x) for x in g.fill_uniform(7, -0.5, 0.25)]}
    g = root.stream("kat/fill-normal")
    vectors["fillNormal"] = {"seed": hex64(seed), "path": "kat/fill-normal", "mean": 0.5,
                             "standardDeviation": 2.0,
                             "bits": ["%08x" % f32_bits(x) for x in g.fill_normal(7, 0.5, 2.0)]}

    json.dump(vectors, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
