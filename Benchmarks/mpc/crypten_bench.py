"""CrypTen side of the PrivacyLab MPC benchmark (issue #5).

Runs the same workloads as `privacy-lab mpc bench` with CrypTen 0.4.1, two parties as processes
(`crypten.mpc.run_multiprocess`), CrypTen's default trusted-first-party provider, one thread per
party, and prints one JSON object: {"<workload>.seconds": median, "<workload>.rounds": ..., ...}.
Also times the plaintext PyTorch logistic-regression epoch that CrypTen's training is compared to.

Usage: python crypten_bench.py [--repetitions N] [--parties N]
"""

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time

import torch

# CrypTen 0.4.1 imports torch.onnx._internal.registration, which moved in torch >= 2.9.
try:
    import torch.onnx._internal.registration  # noqa: F401
except ImportError:
    sys.modules["torch.onnx._internal.registration"] = importlib.import_module(
        "torch.onnx._internal.torchscript_exporter.registration")

import crypten  # noqa: E402
import crypten.communicator as comm  # noqa: E402
import crypten.mpc as mpc  # noqa: E402


def inputs(count, low, high, seed):
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(count, generator=g, dtype=torch.float64)


def logistic_data():
    g = torch.Generator().manual_seed(500)
    y = (torch.rand(500, generator=g) < 0.4).double()
    x = torch.randn(500, 30, generator=g, dtype=torch.float64)
    x[:, :10] += (y.unsqueeze(1) - 0.5) * 0.8
    return x.float(), y.float().unsqueeze(1)


def plaintext_epoch(x, y, lr=0.5, batch=50):
    w = torch.zeros(30, 1)
    b = torch.zeros(1)
    for start in range(0, x.shape[0], batch):
        xb, yb = x[start:start + batch], y[start:start + batch]
        p = torch.sigmoid(xb @ w + b)
        e = p - yb
        w -= lr / xb.shape[0] * (xb.t() @ e)
        b -= lr / xb.shape[0] * e.sum()
    return w, b


def secure_epoch(X, Y, n, lr=0.5, batch=50):
    w = crypten.cryptensor(torch.zeros(30, 1))
    b = crypten.cryptensor(torch.zeros(1))
    for start in range(0, n, batch):
        xb, yb = X[start:start + batch], Y[start:start + batch]
        p = (xb.matmul(w) + b).sigmoid()
        e = p - yb
        w = w - xb.t().matmul(e) * (lr / xb.shape[0])
        b = b - e.sum() * (lr / xb.shape[0])
    return w, b


def workloads():
    a10k, b10k = inputs(10_000, -10, 10, 1).float(), inputs(10_000, -10, 10, 2).float()
    a100, b100 = inputs(10_000, -1, 1, 3).float().view(100, 100), inputs(10_000, -1, 1, 4).float().view(100, 100)
    relu_in = inputs(10_000, -100, 100, 5).float()
    sig_in = inputs(10_000, -10, 10, 6).float()
    exp_in = inputs(10_000, -4, 4, 7).float()
    rec_in = inputs(10_000, 1, 10, 8).float()
    arg_in = inputs(10_000, -10, 10, 9).float().view(1000, 10)
    x, y = logistic_data()
    return {
        "multiply10k": (lambda: (crypten.cryptensor(a10k, src=0), crypten.cryptensor(b10k, src=1)),
                        lambda t: t[0] * t[1], a10k * b10k),
        "matmul100": (lambda: (crypten.cryptensor(a100, src=0), crypten.cryptensor(b100, src=1)),
                      lambda t: t[0].matmul(t[1]), a100 @ b100),
        "relu10k": (lambda: crypten.cryptensor(relu_in, src=0), lambda t: t.relu(), relu_in.relu()),
        "sigmoid10k": (lambda: crypten.cryptensor(sig_in, src=0), lambda t: t.sigmoid(), sig_in.sigmoid()),
        "exp10k": (lambda: crypten.cryptensor(exp_in, src=0), lambda t: t.exp(), exp_in.exp()),
        "reciprocal10k": (lambda: crypten.cryptensor(rec_in, src=0), lambda t: t.reciprocal(), rec_in.reciprocal()),
        "argmax1000x10": (lambda: crypten.cryptensor(arg_in, src=0),
                          lambda t: t.argmax(dim=1, one_hot=False), arg_in.argmax(dim=1).float()),
        "logreg-train": (lambda: (crypten.cryptensor(x, src=0), crypten.cryptensor(y, src=1)),
                         lambda t: crypten.cat([v.flatten() for v in secure_epoch(t[0], t[1], 500)]),
                         torch.cat([v.flatten() for v in plaintext_epoch(x, y)])),
    }


def run_party(repetitions, out_path):
    torch.set_num_threads(1)
    crypten.cfg.communicator.verbose = True
    rank = comm.get().get_rank()
    results = {}
    for name, (make, op, expected) in workloads().items():
        times = []
        for _ in range(repetitions):
            data = make()
            comm.get().barrier()
            comm.get().reset_communication_stats()
            t0 = time.perf_counter()
            out = op(data)
            comm.get().barrier()
            times.append(time.perf_counter() - t0)
            stats = comm.get().get_communication_stats()
        plain = out.get_plain_text().double()
        err = (plain.flatten() - expected.double().flatten()).abs().max().item()
        results[f"{name}.seconds"] = statistics.median(times)
        # CrypTen counts bytes per party; the barrier adds one round, which we subtract.
        results[f"{name}.rounds"] = stats["rounds"] - 1
        results[f"{name}.bytes_party0"] = stats["bytes"]
        results[f"{name}.max_error"] = err
    if rank == 0:
        x, y = logistic_data()
        times = []
        for _ in range(max(repetitions, 20)):
            t0 = time.perf_counter()
            plaintext_epoch(x, y)
            times.append(time.perf_counter() - t0)
        results["logreg-train.plaintext_seconds"] = statistics.median(times)
        with open(out_path, "w") as f:
            json.dump(results, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--parties", type=int, default=2)
    args = parser.parse_args()
    out_path = os.path.join(tempfile.mkdtemp(), "crypten.json")
    launcher = mpc.run_multiprocess(world_size=args.parties)(run_party)
    launcher(args.repetitions, out_path)
    with open(out_path) as f:
        results = json.load(f)
    results["crypten.version"] = "0.4.1"
    results["torch.version"] = torch.__version__
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
