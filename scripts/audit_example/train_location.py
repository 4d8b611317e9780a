#!/usr/bin/env python3
"""Trains, in PyTorch, a target model and K reference models on Location, and writes the
membership-inference signals that `privacy-lab`'s `audit` experiment kind reads, and the target
itself (state dict and layer list) for the `membership-inference` kind.

This is the PyTorch user's side of issue #18: the models are trained elsewhere (here), and the
lab audits them from their logits (experiments/audit/location-pytorch.yaml) or loads the target
and trains its own reference models around it (experiments/audit/location-pytorch-target.yaml).
Nothing of PrivacyLab is used.

  data       `$PRIVACY_LAB_DATA/location/bangkok` (Foursquare Bangkok check-ins, Shokri et al.,
             S&P 2017): 5010 rows, a quoted label "1".."30" (-> 0..29) then 446 binary features.
             Every one of the N = 5010 records is audited.
  target     trained on a random half of the records (N // 2 = 2505, a permutation of a numpy
             generator seeded with --seed); `members.npy` says which.
  references K models (--references, default 64), online design: every record is IN for exactly
             K // 2 of them (each record picks its K // 2 models at random; with K odd, one more
             on a coin flip), so each reference trains on about half of the records, and every
             record has IN and OUT models for online LiRA and RMIA.
  models     the lab's Location recipe (experiments/membership/location-*.yaml): MLP 446-128-30
             with tanh, PyTorch's default initialisation, Adam (lr 1e-3), mean cross-entropy,
             batch 64 (last partial batch kept), reshuffled every epoch, 40 epochs.
  seeds      model k (0 = target, 1..K = references) initialises from torch.manual_seed(seed*1000
             + k) and shuffles with a generator seeded seed*1000 + k + 500; the design from
             numpy's default_rng(seed). Results are bit-identical for the same --threads on the
             same machine and torch build (float reductions may change with the thread count).
  output     into --out (default experiments/audit/location-pytorch/, git-ignored):
               labels.npy             (N,)       int64, 0..29
               members.npy            (N,)       int64, 1 = in the target's training set
               target_logits.npy      (N, C)     float32
               reference_logits.npy   (K, N, C)  float32
               reference_members.npy  (K, N)     int64, 1 = in reference k's training set
               target.safetensors                the target's state dict,
                                                 safetensors.torch.save_file(model.state_dict(), ...)
               target_layers.json                its nn.Sequential as a layer list (input_shape, layers)
             and `train_location.json` (the conditions, the models' accuracies, seconds).
             --logits-dtype float16 halves the logits files. --target-only trains and writes the
             target alone (labels, members, target logits, state dict, layer list; the same target
             as a full run, seconds instead of minutes) and leaves reference files as they are.

Parallelism: --workers W trains W models at a time in forked processes, each with
torch.set_num_threads(--threads) (default 1); --workers 1 trains in this process.

    python3 scripts/audit_example/train_location.py \
        [--data-dir DIR] [--out DIR] [--references 64] [--seed 7] [--workers 2] [--threads 1]
"""
import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

FEATURES = 446
CLASSES = 30
HIDDEN = 128
RECORDS = 5010


class DataError(Exception):
    pass


def load_location(path):
    """`bangkok` -> (features float32 [N, 446], labels int64 [N] in 0..29)."""
    try:
        raw = np.loadtxt(path, delimiter=",", quotechar='"', dtype=np.float32)
    except FileNotFoundError:
        raise DataError(f"{path}: not found (set --data-dir or PRIVACY_LAB_DATA to the folder holding location/)")
    except ValueError as e:
        raise DataError(f"{path}: expected rows of a quoted label and {FEATURES} binary features: {e}")
    if raw.ndim != 2 or raw.shape[1] != FEATURES + 1:
        raise DataError(f"{path}: expected {FEATURES + 1} columns per row, found shape {raw.shape}")
    labels = raw[:, 0]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 1) | (labels > CLASSES))
    if bad.size:
        raise DataError(f"{path}: line {bad[0] + 1}, column 1: expected a label 1..{CLASSES}, found {labels[bad[0]]}")
    x = np.ascontiguousarray(raw[:, 1:])
    bad = np.flatnonzero(((x != 0) & (x != 1)).any(axis=1))
    if bad.size:
        raise DataError(f"{path}: line {bad[0] + 1}: expected binary features 0 or 1")
    return x, labels.astype(np.int64) - 1


def design(n, references, seed):
    """The target's IN mask [n] and the references' IN masks [K, n] (each record IN for K // 2)."""
    rng = np.random.default_rng(seed)
    target = np.zeros(n, dtype=np.int64)
    target[rng.permutation(n)[: n // 2]] = 1
    in_count = np.full(n, references // 2)
    if references % 2:
        in_count += rng.random(n) < 0.5
    # Each record's models in a random order; the first in_count of them have it IN.
    ranks = np.argsort(rng.random((n, references)), axis=1)
    position = np.empty_like(ranks)
    position[np.arange(n)[:, None], ranks] = np.arange(references)
    masks = (position < in_count[:, None]).T.astype(np.int64)
    return target, np.ascontiguousarray(masks)


_X = None
_Y = None
_CONFIG = None


def _init_worker(x, y, config, threads):
    global _X, _Y, _CONFIG
    torch.set_num_threads(threads)
    _X, _Y, _CONFIG = torch.from_numpy(x), torch.from_numpy(y), config


def mlp():
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES))


def layer_list(model, input_shape):
    """The layer list PrivacyLab reads beside a state dict: the per-sample input shape and each
    module of the nn.Sequential with PyTorch's class name and constructor arguments."""
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            layers.append({"type": "Linear", "in_features": m.in_features, "out_features": m.out_features,
                           "bias": m.bias is not None})
        elif isinstance(m, nn.Conv2d):
            layers.append({"type": "Conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                           "kernel_size": list(m.kernel_size), "stride": list(m.stride), "padding": list(m.padding),
                           "bias": m.bias is not None})
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            layers.append({"type": type(m).__name__, "num_features": m.num_features, "eps": m.eps,
                           "momentum": m.momentum, "affine": m.affine})
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append({"type": type(m).__name__, "kernel_size": m.kernel_size, "stride": m.stride})
        elif isinstance(m, nn.Dropout):
            layers.append({"type": "Dropout", "p": m.p})
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Flatten)):
            layers.append({"type": type(m).__name__})
        else:
            raise ValueError(f"no layer-list entry for {type(m).__name__}")
    return {"input_shape": list(input_shape), "layers": layers}


def train_one(job):
    """Trains model `k` on the records with mask 1; returns (k, logits on all records, train
    accuracy, held-out accuracy, seconds, the state dict for the target k = 0 else None)."""
    k, mask, seed = job
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed + 500)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=_CONFIG["lr"])
    idx = torch.from_numpy(np.flatnonzero(mask))
    x, y = _X.index_select(0, idx), _Y.index_select(0, idx)
    n, batch = x.shape[0], _CONFIG["batch"]
    model.train()
    for _ in range(_CONFIG["epochs"]):
        order = torch.randperm(n, generator=shuffle)
        for start in range(0, n, batch):
            b = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x.index_select(0, b)), y.index_select(0, b)).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(_X).numpy()
    correct = logits.argmax(axis=1) == _Y.numpy()
    inside = mask.astype(bool)
    state = {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()} if k == 0 else None
    return (k, logits, float(correct[inside].mean()), float(correct[~inside].mean()), time.perf_counter() - t0,
            state)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "data"),
                        help="folder holding location/bangkok (default: $PRIVACY_LAB_DATA, else ./data)")
    parser.add_argument("--out", default="experiments/audit/location-pytorch",
                        help="output folder (created)")
    parser.add_argument("--references", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=1, help="models trained at once (processes)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads in each worker")
    parser.add_argument("--logits-dtype", choices=["float32", "float16"], default="float32")
    parser.add_argument("--target-only", action="store_true",
                        help="train and write the target alone (no reference models)")
    args = parser.parse_args(argv)
    if args.references < 2:
        parser.error("--references must be at least 2 (online LiRA needs IN and OUT models for every record)")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")

    t_start = time.perf_counter()
    x, y = load_location(Path(args.data_dir) / "location" / "bangkok")
    if x.shape[0] != RECORDS:
        print(f"note: {x.shape[0]} records, expected {RECORDS}", file=sys.stderr)
    n = x.shape[0]
    target_mask, reference_masks = design(n, args.references, args.seed)
    config = {"epochs": args.epochs, "batch": args.batch_size, "lr": args.learning_rate}
    masks = [target_mask] + ([] if args.target_only else list(reference_masks))
    jobs = [(k, masks[k], args.seed * 1000 + k) for k in range(len(masks))]

    logits = np.empty((len(masks), n, CLASSES), dtype=np.float32)
    accuracy = np.empty((len(masks), 2))
    seconds = np.empty(len(masks))
    target_state = {}

    def collect(result):
        k, z, train_acc, held_out_acc, s, state = result
        if state is not None:
            target_state.update(state)
        logits[k] = z
        accuracy[k] = (train_acc, held_out_acc)
        seconds[k] = s
        print(f"model {k:3d}/{len(masks) - 1}: train acc {train_acc:.3f}, held-out acc {held_out_acc:.3f}, {s:.1f} s",
              file=sys.stderr, flush=True)

    t_train = time.perf_counter()
    if args.workers == 1:
        _init_worker(x, y, config, args.threads)
        for job in jobs:
            collect(train_one(job))
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(args.workers, initializer=_init_worker, initargs=(x, y, config, args.threads)) as pool:
            for result in pool.imap_unordered(train_one, jobs):
                collect(result)
    t_trained = time.perf_counter()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = np.float16 if args.logits_dtype == "float16" else np.float32
    np.save(out / "labels.npy", y.astype(np.int64))
    np.save(out / "members.npy", target_mask)
    np.save(out / "target_logits.npy", logits[0].astype(dtype))
    save_file(target_state, str(out / "target.safetensors"))
    (out / "target_layers.json").write_text(json.dumps(layer_list(mlp(), [FEATURES]), indent=2) + "\n")
    if not args.target_only:
        np.save(out / "reference_logits.npy", logits[1:].astype(dtype))
        np.save(out / "reference_members.npy", reference_masks)
    summary = {
        "records": n, "classes": CLASSES, "references": 0 if args.target_only else args.references, "seed": args.seed,
        "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "architecture": f"MLP {FEATURES}-{HIDDEN}-{CLASSES} tanh", "workers": args.workers, "threads": args.threads,
        "logits_dtype": args.logits_dtype, "torch": torch.__version__, "numpy": np.__version__,
        "target_train_accuracy": accuracy[0, 0], "target_held_out_accuracy": accuracy[0, 1],
        "train_seconds": round(t_trained - t_train, 2), "total_seconds": round(time.perf_counter() - t_start, 2),
    }
    if not args.target_only:
        summary["reference_train_accuracy_mean"] = float(accuracy[1:, 0].mean())
        summary["reference_held_out_accuracy_mean"] = float(accuracy[1:, 1].mean())
    # A target-only run keeps the full run's summary (it describes the reference files left in place).
    name = "train_location_target.json" if args.target_only else "train_location.json"
    (out / name).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DataError as e:
        sys.exit(f"train_location.py: {e}")
