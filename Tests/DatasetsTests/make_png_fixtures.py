"""Writes the PNG fixtures of DatasetsTests with pypng, an encoder independent of ours.

Every image is 13 x 9 pixels (odd sizes leave some Adam7 passes short) and sample (x, y, c)
holds `value(x, y, c, depth)` below, which the Swift tests recompute. Each colour type and bit
depth is written plain and Adam7-interlaced; palette images use `palette_entry(i)`.

    /work/venv-torch/bin/pip install pypng
    /work/venv-torch/bin/python Tests/DatasetsTests/make_png_fixtures.py
"""
import os

import png

WIDTH, HEIGHT = 13, 9
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "PNGFixtures")


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
