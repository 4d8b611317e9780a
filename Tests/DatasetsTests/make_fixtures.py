"""Writes the fixtures of DatasetsTests: PNG images with pypng (an encoder independent of ours)
and .npz archives with NumPy.

Every image is 13 x 9 pixels (odd sizes leave some Adam7 passes short) and sample (x, y, c)
holds `value(x, y, c, depth)` below, which the Swift tests recompute. Each colour type and bit
depth is written plain and Adam7-interlaced; palette images use `palette_entry(i)`.

The archives hold features `feature(i, j)` (sample i, flat index j) and labels `i % 3`:
`keras.npz` (compressed) has x_train (6, 2, 2, 3) in channels-last order, y_train, x_test
(2, 2, 2, 3), y_test; `named.npz` (stored) has features (5, 4) and labels (5, 1).

    /work/venv-torch/bin/pip install pypng
    /work/venv-torch/bin/python Tests/DatasetsTests/make_fixtures.py
"""
import os

import numpy as np
import png

WIDTH, HEIGHT = 13, 9
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Fixtures")
HERE = os.path.join(FIXTURES, "png")


def value(x, y, c, depth):
    if depth == 16:
        return (x * 7919 + y * 104729 + c * 31337 + x * y * 7) % 65536
    return (x * 7 + y * 13 + c * 29 + x * y) % (1 << depth)


def palette_entry(i, alpha):
    rgb = ((i * 37) % 256, (i * 91) % 256, (i * 173) % 256)
    return rgb + ((i * 53) % 256,) if alpha else rgb


def write(name, channels, depth, interlace, palette=None):
    rows = [[value(x, y, c, depth) for x in range(WIDTH) for c in range(channels)] for y in range(HEIGHT)]
    kwargs = dict(bitdepth=depth, interlace=interlace)
    if palette is not None:
        kwargs["palette"] = palette
    else:
        kwargs["greyscale"] = channels in (1, 2)
        kwargs["alpha"] = channels in (2, 4)
    with open(os.path.join(HERE, name + ("i" if interlace else "") + ".png"), "wb") as f:
        png.Writer(WIDTH, HEIGHT, **kwargs).write(f, rows)


os.makedirs(HERE, exist_ok=True)
for interlace in (False, True):
    for depth in (1, 2, 4, 8, 16):
        write(f"g{depth}", 1, depth, interlace)
    for depth in (8, 16):
        write(f"ga{depth}", 2, depth, interlace)
        write(f"rgb{depth}", 3, depth, interlace)
        write(f"rgba{depth}", 4, depth, interlace)
    for depth in (1, 2, 4, 8):
        write(f"p{depth}", 1, depth, interlace, [palette_entry(i, False) for i in range(1 << depth)])
    write("pa8", 1, 8, interlace, [palette_entry(i, True) for i in range(256)])


def features(count, shape):
    width = int(np.prod(shape))
    flat = np.array([[(i * 31 + j * 7) % 97 / 8.0 for j in range(width)] for i in range(count)], dtype=np.float32)
    return flat.reshape((count,) + shape)


np.savez_compressed(os.path.join(FIXTURES, "keras.npz"),
                    x_train=features(6, (2, 2, 3)), y_train=np.arange(6) % 3,
                    x_test=features(2, (2, 2, 3)), y_test=np.arange(2) % 3)
np.savez(os.path.join(FIXTURES, "named.npz"),
         features=features(5, (4,)).astype(np.float64), labels=(np.arange(5) % 3).reshape(5, 1).astype(np.int32))
