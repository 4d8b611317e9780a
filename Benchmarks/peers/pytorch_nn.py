#!/usr/bin/env python3
"""PyTorch side of PrivacyLab's neural-network benchmark (issue #2, item 6).

Measures, on the CPU with a fixed thread count, the three workloads that PrivacyLab's own
`privacy-lab-bench nn` measures, on the real MNIST files:

  (a) MLP 784-256-10 (ReLU), Adam lr 1e-3, batch 128, one shuffled epoch of the 60k training
      images: training samples/s;
  (b) CNN conv5x5x16 (padding 2) -> ReLU -> maxpool 2 -> conv5x5x32 (padding 2) -> ReLU ->
      maxpool 2 -> flatten -> dense 10, batch 64, Adam lr 1e-3 (or SGD), over the first N shuffled
      training images (default 10k): training samples/s;
  (c) per-example cross-entropy losses of the MLP trained in (a), eval mode, no grad, on the 10k
      test images: samples/s.

Each timed quantity is the median over repeats, after warm-up iterations that are not timed.
Training repeats start from a fresh model each time. The data are loaded (gzip + numpy) and
converted to float32 tensors in [0, 1] before any timing. The epoch loop includes the shuffle and
the batch gathers, as a training loop has to do them.

Prints ONE JSON object on stdout and nothing else there (diagnostics go to stderr).

    python pytorch_nn.py --threads 1 [--data-dir DIR] [--repeats 3] [--only mlp,cnn,loss]
"""
import argparse
import gzip
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class DataError(Exception):
    pass


def read_idx(path, expected_magic, expected_dims):
    """Reads a gzip-compressed IDX file (uint8 payload) into a numpy array, checking its header."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: not found (set --data-dir or PRIVACY_LAB_DATA to the folder holding mnist/)")
    except OSError as e:
        raise DataError(f"{path}: not a readable gzip file ({e})")
    if len(raw) < 4 + 4 * expected_dims:
        raise DataError(f"{path}: header: expected {4 + 4 * expected_dims} bytes, file has {len(raw)}")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: magic: expected {expected_magic}, found {magic}")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(expected_dims)]
    offset = 4 + 4 * expected_dims
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise DataError(f"{path}: payload: expected {count} bytes for shape {dims}, found {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def load_mnist(data_dir):
    d = os.path.join(data_dir, "mnist")
    xs, ys = {}, {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"), 2051, 3)
        labels = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"), 2049, 1)
        if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
            raise DataError(f"{d}: {split}: images {images.shape} do not match labels {labels.shape}")
        if labels.max() > 9:
            raise DataError(f"{d}: {prefix}-labels: expected labels 0...9, found {labels.max()}")
        # uint8 -> float32 in place of one copy: no float64 temporaries inflate the peak RSS.
        xs[split] = torch.from_numpy(images.copy()).reshape(-1, 1, 28, 28).float().div_(255.0)
        ys[split] = torch.from_numpy(labels.astype(np.int64))
    return xs, ys


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def make_optimizer(name, params, lr):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def train_epoch(model, opt, x, y, batch, order):
    """One pass over x in the order given, in mini-batches; returns the last batch's loss."""
    model.train()
    loss = None
    n = order.numel()
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    return float(loss.detach())


def accuracy(model, x, y, batch=1000):
    """Test accuracy, in chunks so that the CNN's activations do not set the peak RSS."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            correct += int((model(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum())
    return correct / x.shape[0]


def current_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def bench_training(build, x, y, batch, images, optimizer, lr, repeats, warmup_batches, seed):
    """Median seconds to train a fresh model over `images` shuffled samples; also the last model."""
    times, model = [], None
    gen = torch.Generator().manual_seed(seed)
    # Warm-up: a throwaway model, a few batches (allocator, kernels, thread pool).
    torch.manual_seed(seed)
    warm = build()
    warm_opt = make_optimizer(optimizer, warm.parameters(), lr)
    train_epoch(warm, warm_opt, x, y, batch, torch.randperm(x.shape[0], generator=gen)[:warmup_batches * batch])
    last_loss = None
    for r in range(repeats):
        torch.manual_seed(seed + 1 + r)
        model = build()
        opt = make_optimizer(optimizer, model.parameters(), lr)
        t0 = time.perf_counter()
        order = torch.randperm(x.shape[0], generator=gen)[:images]
        last_loss = train_epoch(model, opt, x, y, batch, order)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, model, last_loss


def bench_losses(model, x, y, batch, repeats, warmup):
    model.eval()

    def run():
        with torch.no_grad():
            out = []
            for start in range(0, x.shape[0], batch):
                logits = model(x[start:start + batch])
                out.append(F.cross_entropy(logits, y[start:start + batch], reduction="none"))
            return torch.cat(out)

    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        losses = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, losses


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "/work/shared/data"),
                   help="folder holding mnist/ (default $PRIVACY_LAB_DATA, else /work/shared/data)")
    p.add_argument("--only", default="mlp,cnn,loss", help="comma-separated subset of mlp,cnn,loss")
    p.add_argument("--repeats", type=int, default=3, help="timed training repeats (median reported)")
    p.add_argument("--loss-repeats", type=int, default=15, help="timed per-example-loss repeats")
    p.add_argument("--warmup-batches", type=int, default=20)
    p.add_argument("--cnn-images", type=int, default=10_000)
    p.add_argument("--cnn-optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--cnn-lr", type=float, default=None, help="default 1e-3 for adam, 0.05 for sgd")
    p.add_argument("--loss-batch", type=int, default=10_000, help="images per forward pass in (c)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    only = set(args.only.split(","))
    if not only <= {"mlp", "cnn", "loss"} or args.threads < 1:
        p.error("--only takes a subset of mlp,cnn,loss; --threads must be ≥ 1")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    rss_after_import = current_rss_mb()
    try:
        xs, ys = load_mnist(args.data_dir)
    except DataError as e:
        print(f"pytorch_nn.py: {e}", file=sys.stderr)
        return 2

    result = {
        "tool": "pytorch",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "mkldnn": torch.backends.mkldnn.is_available(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "openblas_l2_size_env": os.environ.get("OPENBLAS_L2_SIZE"),
        "repeats": args.repeats,
        "rss_after_import_mb": rss_after_import,
    }
    trained_mlp = None
    if "mlp" in only or "loss" in only:
        median, times, trained_mlp, last = bench_training(
            mlp, xs["train"], ys["train"], 128, xs["train"].shape[0], "adam", 1e-3,
            args.repeats if "mlp" in only else 1, args.warmup_batches, args.seed)
        if "mlp" in only:
            result.update({
                "mlp_train_samples_per_s": xs["train"].shape[0] / median,
                "mlp_train_epoch_seconds": median,
                "mlp_train_epoch_seconds_all": times,
                "mlp_final_batch_loss": last,
                "mlp_test_accuracy": accuracy(trained_mlp, xs["test"], ys["test"]),
            })
    if "cnn" in only:
        lr = args.cnn_lr if args.cnn_lr is not None else (1e-3 if args.cnn_optimizer == "adam" else 0.05)
        images = min(args.cnn_images, xs["train"].shape[0])
        median, times, model, last = bench_training(
            cnn, xs["train"], ys["train"], 64, images, args.cnn_optimizer, lr,
            args.repeats, max(1, args.warmup_batches // 2), args.seed + 100)
        result.update({
            "cnn_train_samples_per_s": images / median,
            "cnn_train_seconds": median,
            "cnn_train_seconds_all": times,
            "cnn_images": images,
            "cnn_optimizer": args.cnn_optimizer,
            "cnn_learning_rate": lr,
            "cnn_final_batch_loss": last,
            "cnn_test_accuracy": accuracy(model, xs["test"], ys["test"]),
        })
    if "loss" in only:
        median, times, losses = bench_losses(trained_mlp, xs["test"], ys["test"], args.loss_batch,
                                             args.loss_repeats, 3)
        result.update({
            "per_example_loss_samples_per_s": xs["test"].shape[0] / median,
            "per_example_loss_seconds": median,
            "per_example_loss_mean": float(losses.mean()),
            "per_example_loss_batch": args.loss_batch,
        })
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
