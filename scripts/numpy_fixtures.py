#!/usr/bin/env python3
"""Writes the NumPy fixtures read by Tests/CodecsTests/NumpyTests.swift.

Run from the repository root with any Python that has NumPy:
    /work/venv-torch/bin/python scripts/numpy_fixtures.py

Every array's values are a function of its index (known answers the tests recompute), written
by NumPy itself in each dtype, byte order, memory order and format version the reader supports,
plus two .npz archives (np.savez, np.savez_compressed).
"""
import os
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "CodecsTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)


def values(shape):
    """k-th element (C order) = (k * 7) % 11 - 3.25 for floats."""
    n = int(np.prod(shape))
    return ((np.arange(n) * 7) % 11 - 3.25).reshape(shape)


def integers(shape):
    """k-th element (C order) = (k * 5) % 13 - 6."""
    n = int(np.prod(shape))
    return ((np.arange(n) * 5) % 13 - 6).reshape(shape)


for order in ("<", ">"):
    end = "le" if order == "<" else "be"
    for code in ("f2", "f4", "f8"):
        save(f"float-{code}-{end}.npy", values((3, 4)).astype(order + code))
    for code in ("i2", "i4", "i8"):
        save(f"int-{code}-{end}.npy", integers((3, 4)).astype(order + code))
    for code in ("u2", "u4", "u8"):
        save(f"uint-{code}-{end}.npy", (integers((3, 4)) + 6).astype(order + code))
save("int-i1.npy", integers((3, 4)).astype("i1"))
save("uint-u1.npy", (integers((3, 4)) + 6).astype("u1"))
save("bool.npy", (np.arange(10) % 3 == 0))
# Fortran order, 2-D and 3-D: the reader returns C order.
save("fortran-2d.npy", np.asfortranarray(values((3, 4)).astype("<f8")))
save("fortran-3d.npy", np.asfortranarray(integers((2, 3, 4)).astype("<i4")))
# Format versions 2.0 and 3.0, a 0-d scalar and an empty array.
save("version2.npy", values((3, 4)).astype("<f4"), version=(2, 0))
save("version3.npy", values((3, 4)).astype("<f4"), version=(3, 0))
save("scalar.npy", np.array(2.5))
save("empty.npy", np.zeros((0, 5), dtype="<f4"))
# Float16 specials: subnormal, infinities, NaN, signed zero, the largest half.
save("float16-special.npy", np.array([6e-8, -np.inf, np.inf, np.nan, -0.0, 65504.0, 1.0 / 3.0], dtype="<f2"))
# Archives as np.savez and np.savez_compressed write them.
np.savez(os.path.join(OUT, "stored.npz"), logits=values((3, 4)).astype("<f4"), labels=np.array([0, 3, 1], dtype="<i8"))
np.savez_compressed(os.path.join(OUT, "deflated.npz"), logits=values((3, 4)).astype("<f4"), labels=np.array([0, 3, 1], dtype="<i8"))
print("wrote", len(os.listdir(OUT)), "fixtures to", os.path.normpath(OUT))
