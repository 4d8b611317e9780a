#!/usr/bin/env python3
"""Issue #8's DP-SGD benchmark, the Opacus side (PrivacyLab's side: `privacy-lab-bench dp`).

MLP 784-256-10 on MNIST's 60k training images, SGD lr 0.1, one epoch of
(a) non-private PyTorch training, batch 128, shuffled;
(b) Opacus DP-SGD: Poisson sampling with expected batch 128 (469 steps), max_grad_norm 1,
    noise multiplier σ (default 1.0); ε from Opacus's RDP accountant at δ = 1e-5.
Samples/s counts the examples processed. Prints one JSON object.

Usage: python opacus_dp.py [--data-dir DIR] [--threads N] [--repeats R] [--sigma S]
"""
import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory):
    d = os.path.join(directory, "mnist")
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    tx = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    ty = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return (torch.from_numpy(x).reshape(-1, 784), torch.from_numpy(y),
            torch.from_numpy(tx).reshape(-1, 784), torch.from_numpy(ty))


def model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def accuracy(net, x, y):
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "/work/shared/data"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sigma", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import opacus
    from opacus import PrivacyEngine

    x, y, tx, ty = load(args.data_dir)
    dataset = TensorDataset(x, y)
    loss_fn = nn.CrossEntropyLoss()
    plain_rates, dp_rates = [], []
    result = {"tool": "opacus", "opacus_version": opacus.__version__, "torch_version": torch.__version__,
              "threads": args.threads, "noise_multiplier": args.sigma}
    for r in range(args.repeats):
        # (a) non-private
        net = model()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        loader = DataLoader(dataset, batch_size=128, shuffle=True)
        start = time.perf_counter()
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()
        plain_rates.append(len(dataset) / (time.perf_counter() - start))
        result["plain_test_accuracy"] = accuracy(net, tx, ty)

        # (b) Opacus DP-SGD with Poisson sampling
        net = model()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        loader = DataLoader(dataset, batch_size=128, shuffle=True)
        engine = PrivacyEngine(accountant="rdp")
        net, opt, loader = engine.make_private(module=net, optimizer=opt, data_loader=loader,
                                               noise_multiplier=args.sigma, max_grad_norm=1.0, poisson_sampling=True)
        seen = 0
        start = time.perf_counter()
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()
            seen += len(yb)
        dp_rates.append(seen / (time.perf_counter() - start))
        result["dp_test_accuracy"] = accuracy(net, tx, ty)
        result["dp_epsilon"] = engine.get_epsilon(1e-5)
        result["dp_steps"] = len(loader)
    result["plain_train_samples_per_s"] = statistics.median(plain_rates)
    result["plain_train_samples_per_s_all"] = plain_rates
    result["dp_train_samples_per_s"] = statistics.median(dp_rates)
    result["dp_train_samples_per_s_all"] = dp_rates
    result["dp_over_plain"] = result["dp_train_samples_per_s"] / result["plain_train_samples_per_s"]
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
