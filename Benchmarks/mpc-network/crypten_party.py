"""One CrypTen 0.4.1 party of the networked MPC benchmark (issue #22), run by compare.py.

Each party is its own process, started inside its own network namespace; the two meet over TCP
(gloo) at MASTER_ADDR:MASTER_PORT (RANK, WORLD_SIZE=2, RENDEZVOUS=env://). Every workload runs
with the same scope as one `privacy-lab mpc run` job: each party secret-shares its own input
(`crypten.cryptensor(..., src=rank)`), the operation runs, and the result is revealed to party 0
(`get_plain_text(dst=0)`). A barrier precedes each timed repetition; party 0's time is reported,
with the rounds and bytes CrypTen's communicator counted during it.

Usage: python crypten_party.py DATA_DIR OUT_JSON REPETITIONS LR_EPOCHS
"""

import importlib
import json
import os
import statistics
import sys
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


def load(path):
    """A CSV written by compare.py (header row, numbers) as a float32 tensor."""
    with open(path) as f:
        next(f)
        return torch.tensor([[float(v) for v in line.split(",")] for line in f if line.strip()], dtype=torch.float32)


def secure_lr(x, y, n, epochs, lr, batch):
    d = x.shape[1]
    w = crypten.cryptensor(torch.zeros(d, 1))
    b = crypten.cryptensor(torch.zeros(1))
    for _ in range(epochs):
        for start in range(0, n, batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            e = (xb.matmul(w) + b).sigmoid() - yb
            w = w - xb.t().matmul(e) * (lr / xb.shape[0])
            b = b - e.sum() * (lr / xb.shape[0])
    return crypten.cat([w.flatten(), b.flatten()])


def main():
    data_dir, out_path, repetitions, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    crypten.init()
    crypten.cfg.communicator.verbose = True
    rank = comm.get().get_rank()
    me = "alice" if rank == 0 else "bob"
    inputs = {w: load(f"{data_dir}/{w}-{me}.csv") for w in ("matmul", "relu", "lr")}
    lr_rows = load(f"{data_dir}/lr-alice.csv").shape[0] + load(f"{data_dir}/lr-bob.csv").shape[0]
    relu_shapes = [load(f"{data_dir}/relu-{p}.csv").shape for p in ("alice", "bob")]
    lr_shapes = [load(f"{data_dir}/lr-{p}.csv").shape for p in ("alice", "bob")]
    matmul_shapes = [load(f"{data_dir}/matmul-{p}.csv").shape for p in ("alice", "bob")]

    def share(name, shapes):
        # Each party passes its own values; the other's tensor is a placeholder of its shape.
        return [crypten.cryptensor(inputs[name] if p == rank else torch.zeros(shapes[p]), src=p) for p in (0, 1)]

    def matmul():
        a, b = share("matmul", matmul_shapes)
        return a.matmul(b).get_plain_text(dst=0)

    def relu():
        a, b = share("relu", relu_shapes)
        return crypten.cat([a, b]).relu().get_plain_text(dst=0)

    def lr():
        a, b = share("lr", lr_shapes)
        t = crypten.cat([a, b])
        x, y = t[:, :-1], t[:, -1:]
        return secure_lr(x, y, lr_rows, epochs, 0.5, 50).get_plain_text(dst=0)

    results = {}
    for name, op in (("matmul", matmul), ("relu", relu), ("lr", lr)):
        times, stats = [], None
        for _ in range(repetitions):
            comm.get().barrier()
            comm.get().reset_communication_stats()
            t0 = time.perf_counter()
            out = op()
            times.append(time.perf_counter() - t0)
            stats = comm.get().get_communication_stats()
        results[name] = {"seconds": statistics.median(times), "all_seconds": times,
                         "rounds": stats["rounds"], "bytes": stats["bytes"]}
        if rank == 0:
            results[name]["output_head"] = [float(v) for v in out.flatten()[:3]]
    if rank == 0:
        # Plaintext PyTorch: the same training loop on the same rows (float32, one thread).
        t = torch.cat([inputs["lr"], load(f"{data_dir}/lr-bob.csv")])
        x, y = t[:, :-1], t[:, -1:]
        times = []
        for _ in range(max(21, repetitions)):
            t0 = time.perf_counter()
            w, b = torch.zeros(x.shape[1], 1), torch.zeros(1)
            for _ in range(epochs):
                for s in range(0, x.shape[0], 50):
                    xb, yb = x[s:s + 50], y[s:s + 50]
                    e = torch.sigmoid(xb @ w + b) - yb
                    w -= 0.5 / xb.shape[0] * (xb.t() @ e)
                    b -= 0.5 / xb.shape[0] * e.sum()
            times.append(time.perf_counter() - t0)
        results["plaintext_lr_seconds"] = statistics.median(times)
        results["versions"] = {"crypten": crypten.__version__ if hasattr(crypten, "__version__") else "0.4.1",
                               "torch": torch.__version__}
        with open(out_path, "w") as f:
            json.dump(results, f)
    comm.get().barrier()
    # Leave without running gloo's destructors: at interpreter exit they sometimes abort
    # ("terminate called without an active exception") after all the work is done.
    os._exit(0)


if __name__ == "__main__":
    main()
