"""Data, partition and model of the workload, shared with the simulation benchmark's peer
(Benchmarks/peers/flower_fedavg.py: IDX reading, Dirichlet partition, NumPy MLP, SGD epoch)."""
import os
import sys

import numpy as np

_PEERS = os.environ.get("FL_BENCH_PEERS")
if _PEERS and _PEERS not in sys.path:
    sys.path.insert(0, _PEERS)

from flower_fedavg import dirichlet_partition, init_mlp, logits, read_idx, sgd_epoch  # noqa: E402


def data_dir():
    return os.environ["PRIVACY_LAB_DATA"]


def labels(part):
    name = "train-labels-idx1-ubyte.gz" if part == "train" else "t10k-labels-idx1-ubyte.gz"
    return read_idx(os.path.join(data_dir(), "mnist", name)).astype(np.int64)


def images(part):
    name = "train-images-idx3-ubyte.gz" if part == "train" else "t10k-images-idx3-ubyte.gz"
    return read_idx(os.path.join(data_dir(), "mnist", name)).reshape(-1, 784)


def client_data(partition_id, num_partitions, alpha, seed):
    """Client k's examples only: the partition from the labels, then its rows as floats."""
    y = labels("train")
    parts = dirichlet_partition(y, num_partitions, alpha, np.random.default_rng(seed))
    rows = parts[partition_id]
    x = images("train")[rows].astype(np.float32) / 255.0
    return x, y[rows]


__all__ = ["client_data", "images", "init_mlp", "labels", "logits", "sgd_epoch"]
