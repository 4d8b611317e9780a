"""Peer for privacy-lab-data-bench: MNIST's training images read the usual numpy way.

Prints one JSON object of best-of-N wall times in seconds (interpreter start-up excluded):
  inflate      gzip.open(...).read()                           (zlib via Python's gzip module)
  idx_uint8    inflate + np.frombuffer(..., offset=16).reshape (the raw uint8 array)
  idx_float    idx_uint8 + .astype(np.float32) / 255           (the floats a model consumes)
  with_labels  idx_float + the label file                       (what a loader returns)
"""
import gzip
import json
import sys
import time

import numpy as np


def images_uint8(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)


def labels(path):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int32)


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    images, label_file, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def inflate():
        with gzip.open(images, "rb") as f:
            return f.read()
    t_inflate, _ = best(inflate, repeats)
    t_uint8, x = best(lambda: images_uint8(images), repeats)
    t_float, xf = best(lambda: images_uint8(images).astype(np.float32) / np.float32(255), repeats)
    t_all, _ = best(lambda: (images_uint8(images).astype(np.float32) / np.float32(255), labels(label_file)), repeats)
    print(json.dumps({
        "numpy_version": np.__version__, "python": sys.version.split()[0],
        "inflate": t_inflate, "idx_uint8": t_uint8, "idx_float": t_float, "with_labels": t_all,
        "shape": list(xf.shape), "checksum": float(xf.sum(dtype=np.float64)),
    }))


if __name__ == "__main__":
    main()
