#!/usr/bin/env python3
"""A plain reference of the ChaCha block function (Bernstein 2008) with 8, 12 or 20 rounds.

Checks itself against RFC 8439 §2.3.2 (20 rounds), then prints the first keystream block for the
key, nonce and counter of RandomnessTests for each round count (the 8-round figure is the test's
known answer).
"""
import struct


def rotl(v, n):
    return ((v << n) & 0xffffffff) | (v >> (32 - n))


def quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)


def block(key, counter, nonce, rounds):
    state = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    state += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    s = state[:]
    for _ in range(rounds // 2):
        quarter(s, 0, 4, 8, 12); quarter(s, 1, 5, 9, 13); quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15)
        quarter(s, 0, 5, 10, 15); quarter(s, 1, 6, 11, 12); quarter(s, 2, 7, 8, 13); quarter(s, 3, 4, 9, 14)
    return struct.pack("<16I", *[(x + y) & 0xffffffff for x, y in zip(s, state)])


key = bytes(range(32))
nonce = bytes([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0])
assert block(key, 1, nonce, 20).hex().startswith("10f1e7e4d13b5915500fdd1fa32071c4"), "RFC 8439 §2.3.2"
for rounds in (8, 12, 20):
    print(rounds, block(key, 1, nonce, rounds).hex())
