#!/usr/bin/env python3
"""PyTorch side of PrivacyLab's membership-inference pipeline benchmark (issue #7, item 8).

The same pipeline as `privacy-lab run experiments/membership/location-lira-64.yaml`, written the
way a PyTorch user would write it: online LiRA (Carlini et al., "Membership Inference Attacks From
First Principles", IEEE S&P 2022) with 64 reference MLPs on Location (Foursquare Bangkok, Shokri
et al. 2017), the whole pipeline timed: load, train, score, attack.

  data     `location/bangkok` (5010 rows: a quoted label "1".."30" -> 0..29, 446 binary
           features); a stratified 10% test split (501 rows); the population is the other 4509.
  design   a random permutation of the population: 2000 target members, 2000 non-members (the
           4000 audited examples), the rest (509) a pool; online masks over the whole population:
           every example is IN for exactly 32 of the 64 reference models, so each reference trains
           on a random half (~2254 examples).
  models   MLP 446-128-30, tanh, PyTorch's default initialisation, Adam (lr 1e-3, betas 0.9/0.999,
           eps 1e-8), mean cross-entropy, batch 64 (the last, smaller batch kept), a fresh shuffle
           every epoch, 40 epochs; the target trains on its 2000 members.
  score    every model's logits on the 4000 audited examples (eval mode, no grad).
  attack   phi = log(p_y / (1 - p_y)) = z_y - logsumexp_{j != y} z_j in float64; per example, the
           IN and OUT Gaussians (sample mean, population standard deviation floored at 1e-6) of
           the reference models' phi; score = log N(phi_target; IN) - log N(phi_target; OUT). The
           loss attack scores -cross-entropy of the target. Metrics: AUC, TPR at FPR <= 0.1% and
           1% (the largest TPR whose FPR is at most the target, no interpolation); the target's
           train and test accuracy.

Parallelism: `--workers W` (W >= 2) trains and scores the 65 models in W processes
(multiprocessing, each with `torch.set_num_threads(--threads)`, default 1) — the counterpart of
`privacy-lab run --jobs W`; `--workers 1` runs everything in this process with
`torch.set_num_threads(--threads)` (intra-op parallelism).

Prints ONE JSON object on stdout (diagnostics go to stderr): total and per-phase seconds, the
attack metrics, the conditions of the run.

    pytorch_lira_location.py --workers 2 [--data-dir DIR] [--seed 7]
    pytorch_lira_location.py --workers 1 --threads 2
"""
import time

_T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from scipy.special import logsumexp  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

_T_IMPORTED = time.perf_counter()

FEATURES = 446
CLASSES = 30
HIDDEN = 128


class DataError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Data and design


def load_location(path):
    """`bangkok`: rows of a quoted label "1".."30" and 446 binary features -> (x float32, y 0..29)."""
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


def stratified_split(labels, test_fraction, rng):
    """Train/test indices, the test part of round(n * fraction) rows apportioned over the classes
    by largest remainders (each class within one row of its share)."""
    n = labels.size
    n_test = int(np.floor(n * test_fraction + 0.5))
    counts = np.bincount(labels, minlength=CLASSES)
    exact = counts * test_fraction
    parts = np.floor(exact).astype(np.int64)
    missing = n_test - int(parts.sum())
    order = np.lexsort((np.arange(CLASSES), -(exact - np.floor(exact))))
    parts[order[:missing]] += 1
    test = []
    for c in range(CLASSES):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        test.append(members[:parts[c]])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(n), test)
    return train, test


def online_design(population, members, non_members, references, rng):
    """Target members, non-members, and a references × population IN mask with every example IN
    for ⌊M/2⌋ models (⌈M/2⌉ by coin flip when M is odd)."""
    order = rng.permutation(population)
    target_members = np.sort(order[:members])
    target_non_members = np.sort(order[members:members + non_members])
    in_count = np.full(population, references // 2)
    if references % 2:
        in_count += rng.random(population) < 0.5
    ranks = np.argsort(rng.random((population, references)), axis=1)
    position = np.empty_like(ranks)
    position[np.arange(population)[:, None], ranks] = np.arange(references)
    masks = (position < in_count[:, None]).T.copy()  # [M, population]
    return target_members, target_non_members, masks


# ---------------------------------------------------------------------------------------------
# Models (run in the worker processes; the data reach them through the pool initialiser)

_X = None        # population features, torch float32 [N, 446]
_Y = None        # population labels, torch int64 [N]
_QUERY = None    # the audited examples' features, torch float32 [4000, 446]
_CONFIG = None   # dict(epochs, batch, lr)


def _init_worker(x, y, query, config, threads):
    global _X, _Y, _QUERY, _CONFIG
    torch.set_num_threads(threads)
    _X, _Y = torch.from_numpy(x), torch.from_numpy(y)
    _QUERY = torch.from_numpy(query)
    _CONFIG = config


def mlp():
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES))


def train_job(job):
    """Trains one model on population rows `indices`; returns (k, parameters, seconds)."""
    k, indices, seed = job
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed + 1)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=_CONFIG["lr"])
    idx = torch.from_numpy(indices)
    x, y = _X.index_select(0, idx), _Y.index_select(0, idx)
    n, batch = x.shape[0], _CONFIG["batch"]
    model.train()
    for _ in range(_CONFIG["epochs"]):
        order = torch.randperm(n, generator=shuffle)
        for start in range(0, n, batch):
            b = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x.index_select(0, b)), y.index_select(0, b))
            loss.backward()
            opt.step()
    params = [p.detach().numpy().copy() for p in model.parameters()]
    return k, params, time.perf_counter() - t0


def _model_from(params):
    model = mlp()
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value))
    model.eval()
    return model


def score_job(job):
    """Logits of one model on the audited examples; returns (k, logits float32 [4000, 30], seconds)."""
    k, params = job
    t0 = time.perf_counter()
    model = _model_from(params)
    with torch.no_grad():
        logits = model(_QUERY).numpy()
    return k, logits, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Attack


def scaled_logit(logits, labels):
    """phi = z_y - logsumexp_{j != y} z_j per row, in float64 ([..., n, C] -> [..., n])."""
    z = logits.astype(np.float64)
    rows = np.arange(labels.size)
    z_y = z[..., rows, labels]
    others = z.copy()
    others[..., rows, labels] = -np.inf
    return z_y - logsumexp(others, axis=-1)


def cross_entropy(logits, labels):
    z = logits.astype(np.float64)
    return logsumexp(z, axis=-1) - z[np.arange(labels.size), labels]


def lira_online(target_phi, reference_phi, is_in, floor=1e-6):
    """Online LiRA scores: per-example IN/OUT Gaussians over the reference models.

    target_phi [n], reference_phi [M, n], is_in [M, n] bool. Means are sample means, standard
    deviations population ones floored at `floor`; an example with fewer than two models on one
    side uses the pooled within-example deviation of that side.
    """
    n_in = is_in.sum(axis=0)
    n_out = is_in.shape[0] - n_in
    if (n_in < 1).any() or (n_out < 1).any():
        raise ValueError("online LiRA needs at least one IN and one OUT model per example")
    mean_in = np.where(is_in, reference_phi, 0).sum(axis=0) / n_in
    mean_out = np.where(is_in, 0, reference_phi).sum(axis=0) / n_out
    ss_in = np.where(is_in, (reference_phi - mean_in) ** 2, 0).sum(axis=0)
    ss_out = np.where(is_in, 0, (reference_phi - mean_out) ** 2).sum(axis=0)
    global_in = max(floor, np.sqrt(ss_in.sum() / n_in.sum()))
    global_out = max(floor, np.sqrt(ss_out.sum() / n_out.sum()))
    sd_in = np.where(n_in >= 2, np.maximum(floor, np.sqrt(ss_in / n_in)), global_in)
    sd_out = np.where(n_out >= 2, np.maximum(floor, np.sqrt(ss_out / n_out)), global_out)
    return norm.logpdf(target_phi, mean_in, sd_in) - norm.logpdf(target_phi, mean_out, sd_out)


def attack_metrics(scores, is_member):
    fpr, tpr, _ = roc_curve(is_member, scores, drop_intermediate=False)

    def tpr_at(target):
        return float(tpr[fpr <= target].max())

    return {"auc": float(roc_auc_score(is_member, scores)),
            "tpr@0.001": tpr_at(0.001), "tpr@0.01": tpr_at(0.01), "tpr@0.1": tpr_at(0.1)}


# ---------------------------------------------------------------------------------------------


def run_jobs(fn, jobs, workers, initargs, start_method):
    """fn over jobs, in this process (workers == 1) or in a pool; results in job order."""
    if workers == 1:
        results = [fn(job) for job in jobs]
    else:
        context = multiprocessing.get_context(start_method)
        with context.Pool(workers, initializer=_init_worker, initargs=initargs) as pool:
            results = list(pool.imap_unordered(fn, jobs, chunksize=1))
    return sorted(results, key=lambda r: r[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "/work/shared/data"),
                   help="folder holding location/bangkok (default $PRIVACY_LAB_DATA, else /work/shared/data)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that train and score models (1: this process, intra-op threads only)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads per process (default 1 with --workers >= 2, else torch's default)")
    p.add_argument("--start-method", default="fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn",
                   choices=multiprocessing.get_all_start_methods())
    p.add_argument("--references", type=int, default=64)
    p.add_argument("--members", type=int, default=2000)
    p.add_argument("--non-members", type=int, default=2000)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    if args.workers < 1 or (args.threads is not None and args.threads < 1) or args.references < 2:
        p.error("--workers and --threads must be >= 1, --references >= 2")
    threads = args.threads if args.threads is not None else (1 if args.workers > 1 else torch.get_num_threads())
    torch.set_num_interop_threads(1)
    if args.workers == 1:
        torch.set_num_threads(threads)

    rng = np.random.default_rng(args.seed)
    phases = {"import": _T_IMPORTED - _T_START}

    # Load: read and check the file, split, draw the design.
    t0 = time.perf_counter()
    try:
        x_all, y_all = load_location(os.path.join(args.data_dir, "location", "bangkok"))
    except DataError as e:
        print(f"pytorch_lira_location.py: {e}", file=sys.stderr)
        return 2
    train_rows, test_rows = stratified_split(y_all, args.test_fraction, rng)
    x, y = x_all[train_rows], y_all[train_rows]
    x_test, y_test = x_all[test_rows], y_all[test_rows]
    population = x.shape[0]
    if args.members + args.non_members > population:
        p.error(f"--members + --non-members exceed the population of {population}")
    members, non_members, masks = online_design(population, args.members, args.non_members, args.references, rng)
    audited = np.concatenate([members, non_members])
    is_member = np.concatenate([np.ones(members.size, bool), np.zeros(non_members.size, bool)])
    query = np.ascontiguousarray(x[audited])
    config = {"epochs": args.epochs, "batch": args.batch_size, "lr": args.learning_rate}
    initargs = (x, y, query, config, threads)
    if args.workers == 1:
        _init_worker(*initargs)
    seeds = rng.integers(0, 2**62, size=args.references + 1)
    # Job 0 is the target (on its members), jobs 1..M the references (on their halves).
    train_jobs = [(0, members, int(seeds[0]))] + [
        (k + 1, np.flatnonzero(masks[k]), int(seeds[k + 1])) for k in range(args.references)]
    phases["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    trained = run_jobs(train_job, train_jobs, args.workers, initargs, args.start_method)
    phases["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scored = run_jobs(score_job, [(k, params) for k, params, _ in trained], args.workers, initargs, args.start_method)
    phases["score"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    labels = y[audited]
    logits = np.stack([lg for _, lg, _ in scored])           # [1 + M, 4000, 30]
    phi = scaled_logit(logits, labels)                        # [1 + M, 4000]
    ref_in = masks[:, audited]                                # [M, 4000]
    lira = attack_metrics(lira_online(phi[0], phi[1:], ref_in), is_member)
    loss = attack_metrics(-cross_entropy(logits[0], labels), is_member)
    target = _model_from(trained[0][1])
    with torch.no_grad():
        train_acc = float((target(torch.from_numpy(x[members])).argmax(1).numpy() == y[members]).mean())
        test_acc = float((target(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())
    phases["attack"] = time.perf_counter() - t0

    total = time.perf_counter() - _T_START
    train_seconds = [s for _, _, s in trained]
    result = {
        "tool": "pytorch",
        "total_seconds": total,
        "phase_seconds": phases,
        "train_seconds_per_model_median": float(np.median(train_seconds)),
        "train_seconds_per_model_sum": float(np.sum(train_seconds)),
        "score_seconds_sum": float(np.sum([s for _, _, s in scored])),
        "lira": lira,
        "loss": loss,
        "target": {"train_accuracy": train_acc, "test_accuracy": test_acc},
        "sizes": {"rows": int(y_all.size), "population": int(population), "test": int(test_rows.size),
                  "members": int(members.size), "non_members": int(non_members.size),
                  "pool": int(population - audited.size), "references": args.references,
                  "reference_train_size_mean": float(masks.sum(axis=1).mean()),
                  "in_models_per_example": [int(masks.sum(axis=0).min()), int(masks.sum(axis=0).max())]},
        "config": {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                   "seed": args.seed},
        "workers": args.workers,
        "threads_per_process": threads,
        "start_method": args.start_method if args.workers > 1 else None,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        # ru_maxrss is in KiB on Linux; for children, the largest child.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
