#!/usr/bin/env python3
"""An independent numpy implementation of the membership-inference attacks and metrics of
PrivacyLab's `audit` experiment kind, run on the same `.npy` signals, to check the lab's figures
and to time the lab against plain numpy (issue #18).

Written from the papers and from the doc comments of Sources/MembershipInference and
Sources/AttackMetrics, with numpy and Python's standard library only.

Inputs (a folder, as written by train_location.py): labels.npy (N,) int, members.npy (N,) 0/1,
target_logits.npy (N, C), reference_logits.npy (K, N, C), reference_members.npy (K, N) 0/1.
Logits of any float dtype are widened to float64 before anything is computed.

Signals, from a row z of logits and the true label y, with lse = log sum_j exp z_j computed as
m + log1p(sum_{j != top} exp(z_j - m)) (m the largest logit, so small losses keep their digits):
  loss              lse - z_y                                          (Yeom et al. 2018)
  confidence        p_y = 1 / (1 + exp(-phi)), phi the scaled logit below (Song & Mittal 2021)
  entropy           -sum_j p_j log p_j, log p_j = (z_j - m) - log1p(rest) (not z_j - lse, which
                    rounds log p_top to 0 once lse rounds to m)
  modified entropy  -(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j), where 1 - p_y and
                    1 - p_j (when p_j > 1/2) are exp(logsumexp of the other logits - lse)
  scaled logit      phi = log(p_y / (1 - p_y)) = z_y - logsumexp_{j != y} z_j   (LiRA)
Threshold attacks score -loss, confidence, -entropy, -modified entropy (higher = member).

LiRA (Carlini et al., S&P 2022), on phi of the target and the K references:
  per record, mu/sigma IN over the references with the record IN, OUT over the others (sample
  mean, population standard deviation); for the *_global methods, or for a side with fewer than
  two models, sigma is the side's pooled within-record spread sqrt(sum of squared deviations
  from each record's own mean / count); sigma floored at 1e-6.
  lira, lira_global                  log N(phi; mu_in, sigma_in^2) - log N(phi; mu_out, sigma_out^2)
  lira_offline, lira_offline_global  log Phi((phi - mu_out) / sigma_out)
RMIA (Zarifzadeh et al., ICML 2024), on the confidences p_y:
  Pr(x) online  = mean of p_y over all K references;
        offline = ((1 + a) * mean over the OUT references + (1 - a)) / 2   (a = --rmia-a, 0.3)
  ratio(x) = p_y(target) / Pr(x); score(x) = #{z in Z : ratio(z) < ratio(x) / gamma} / |Z|
  Z is the population records when the folder has population_labels.npy,
  population_target_logits.npy (Z, C), population_reference_logits.npy (K, Z, C) and optionally
  population_reference_members.npy (K, Z; default all OUT), else the audited records themselves
  (x included: with gamma >= 1 it never counts itself); --rmia-population P keeps the first P.

Metrics per attack, from the exact ROC curve (one point per distinct score, ties together,
predict member when score >= threshold): auc (trapezoids over the exact points, checked against
the Mann-Whitney rank statistic), tpr@t for t in 0.1, 0.01, 0.001, 0.0001, 0 (the largest TPR
among points with FP <= floor(t * non-members), no interpolation), advantage = max(TPR - FPR),
balanced_accuracy = (1 + advantage) / 2, ppv at the first threshold reaching the advantage.
Names as the lab writes them: `lira.auc`, `loss.tpr@0.001`, ... (the lab's epsilon and bootstrap
intervals are not recomputed here).

    numpy_audit.py SIGNALS_DIR [--methods loss,lira,...] [--rmia-gamma 1] [--rmia-a 0.3]
                   [--rmia-population P] [--scores-out DIR]
                   [--store STORE --run ID | --compare EXPORT_DIR [--lab-metrics FILE]]

Prints one JSON object: {"metrics": {...}, "seconds": {...}, "inputs": {...}} (and "compare").
Comparison with the lab: --store/--run read a run's `scores-<attack>` arrays and metrics from its
SQLite store; --compare reads what `privacy-lab runs export ID --scores EXPORT_DIR` writes
(<attack>.npy scores, members.npy, indices.npy into the audited records; the metrics from
--lab-metrics, a JSON file). Either way it asserts that the lab's scores equal ours to 1e-9
relative (--tolerance), that every metric computed here on the lab's scores equals the lab's
to 1e-9, and that the membership agrees; exits 1 on any mismatch.
"""
import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_T_IMPORTED = time.perf_counter()

ALL_METHODS = ["loss", "confidence", "entropy", "modified_entropy", "lira", "lira_offline", "lira_global",
               "lira_offline_global", "rmia", "rmia_offline"]
FPR_TARGETS = [0.1, 0.01, 0.001, 0.0001, 0.0]
SIGMA_FLOOR = 1e-6


class InputError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Signals


class Rows:
    """Per-row quantities of logits [..., N, C] against labels [N], in float64, each computed on
    first use (the references need only phi and p_y, both from one pass over their logits)."""

    def __init__(self, logits, labels):
        z = np.asarray(logits, dtype=np.float64)
        self.z = z
        self.labels = labels
        self.zy = np.take_along_axis(z, np.broadcast_to(labels[:, None], z.shape[:-1] + (1,)), axis=-1)[..., 0]
        self._lse = None
        self._phi = None

    def _lse_parts(self):
        """(top class, its logit m, log1p(sum_{j != top} exp(z_j - m)))."""
        if self._lse is None:
            top = self.z.argmax(axis=-1)
            m = np.take_along_axis(self.z, top[..., None], axis=-1)[..., 0]
            m = np.where(np.isfinite(m), m, 0.0)
            e = np.exp(self.z - m[..., None])
            np.put_along_axis(e, top[..., None], 0.0, axis=-1)
            self._lse = (top, m, np.log1p(e.sum(axis=-1)))
        return self._lse

    @property
    def top(self):
        return self._lse_parts()[0]

    @property
    def m(self):
        return self._lse_parts()[1]

    @property
    def log1p_rest(self):
        return self._lse_parts()[2]

    @property
    def lse(self):
        return self.m + self.log1p_rest

    def loss(self):
        return (self.m - self.zy) + self.log1p_rest

    def confidence(self):
        """p_y = 1 / (1 + exp(-phi)): the logistic of the scaled logit, accurate at both ends."""
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-self.scaled_logit()))

    def log_sum_exp_excluding(self, k):
        """log sum_{j != k[row]} exp z_j per row."""
        masked = self.z.copy()
        np.put_along_axis(masked, k[..., None], -np.inf, axis=-1)
        mm = masked.max(axis=-1)
        safe = np.where(np.isfinite(mm), mm, 0.0)
        with np.errstate(divide="ignore"):
            return safe + np.log(np.exp(masked - safe[..., None]).sum(axis=-1))

    def scaled_logit(self):
        if self._phi is None:
            self._phi = self.zy - self.log_sum_exp_excluding(np.broadcast_to(self.labels, self.zy.shape))
        return self._phi

    def log_p(self):
        """log p_j = (z_j - m) - log1p(rest): exact for the top class even when lse rounds to m."""
        return (self.z - self.m[..., None]) - self.log1p_rest[..., None]

    def entropy(self):
        log_p = self.log_p()
        p = np.exp(log_p)
        return -np.where(p > 0, p * log_p, 0.0).sum(axis=-1)

    def modified_entropy(self):
        log_p = self.log_p()
        p = np.exp(log_p)
        y = np.broadcast_to(self.labels, self.zy.shape)
        log_py = (self.zy - self.m) - self.log1p_rest
        one_minus_py = np.exp(self.log_sum_exp_excluding(y) - self.lse)
        with np.errstate(divide="ignore"):
            log_one_minus_p = np.log1p(-p)
        # Only the top class can have p > 1/2: there, log(1 - p) from the other classes.
        big = np.take_along_axis(p, self.top[..., None], axis=-1)[..., 0] > 0.5
        exact_top = self.log_sum_exp_excluding(self.top) - self.lse
        top_values = np.where(big, exact_top, np.take_along_axis(log_one_minus_p, self.top[..., None], axis=-1)[..., 0])
        np.put_along_axis(log_one_minus_p, self.top[..., None], top_values[..., None], axis=-1)
        terms = np.where(p > 0, p * log_one_minus_p, 0.0)
        np.put_along_axis(terms, y[..., None], 0.0, axis=-1)
        return -one_minus_py * log_py - terms.sum(axis=-1)


# ---------------------------------------------------------------------------------------------
# Attacks


def log_normal_pdf(x, mean, sd):
    d = (x - mean) / sd
    return -0.5 * d * d - np.log(sd) - 0.5 * math.log(2 * math.pi)


def _log_ndtr_scalar(x):
    """log Phi(x) for one float: erfc where it does not underflow, else the asymptotic series
    log phi(x) - log(-x) + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8)."""
    if x > 0:
        return math.log1p(-0.5 * math.erfc(x / math.sqrt(2)))
    if x > -30:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2)))
    u = 1 / (x * x)
    series = 1 - u + 3 * u * u - 15 * u ** 3 + 105 * u ** 4
    return -0.5 * x * x - 0.5 * math.log(2 * math.pi) - math.log(-x) + math.log(series)


log_ndtr = np.frompyfunc(_log_ndtr_scalar, 1, 1)


def lira(target_phi, reference_phi, reference_in, online, global_variance):
    """LiRA scores [N] from phi of the target [N] and references [K, N], IN masks [K, N] bool."""
    is_in = reference_in
    is_out = ~reference_in
    n_in = is_in.sum(axis=0)
    n_out = is_out.sum(axis=0)
    if (n_out < 1).any():
        raise InputError(f"record {int(np.flatnonzero(n_out < 1)[0])} has no OUT reference model; LiRA needs one")
    if online and (n_in < 1).any():
        raise InputError(f"record {int(np.flatnonzero(n_in < 1)[0])} has no IN reference model; online LiRA needs one")
    mean_in = np.where(is_in, reference_phi, 0.0).sum(axis=0) / np.maximum(n_in, 1)
    mean_out = np.where(is_out, reference_phi, 0.0).sum(axis=0) / n_out
    ss_in = np.where(is_in, (reference_phi - mean_in) ** 2, 0.0).sum(axis=0)
    ss_out = np.where(is_out, (reference_phi - mean_out) ** 2, 0.0).sum(axis=0)
    global_in = max(SIGMA_FLOOR, math.sqrt(ss_in.sum() / n_in.sum()) if n_in.sum() > 0 else 0.0)
    global_out = max(SIGMA_FLOOR, math.sqrt(ss_out.sum() / n_out.sum()))
    if global_variance:
        sd_in = np.full(n_in.shape, global_in)
        sd_out = np.full(n_out.shape, global_out)
    else:
        sd_in = np.where(n_in < 2, global_in, np.maximum(SIGMA_FLOOR, np.sqrt(ss_in / np.maximum(n_in, 1))))
        sd_out = np.where(n_out < 2, global_out, np.maximum(SIGMA_FLOOR, np.sqrt(ss_out / n_out)))
    if online:
        return log_normal_pdf(target_phi, mean_in, sd_in) - log_normal_pdf(target_phi, mean_out, sd_out)
    return log_ndtr((target_phi - mean_out) / sd_out).astype(np.float64)


def rmia_marginal(reference_conf, reference_in, online, a):
    if online:
        return reference_conf.mean(axis=0)
    is_out = ~reference_in
    n_out = is_out.sum(axis=0)
    if (n_out < 1).any():
        raise InputError(f"record {int(np.flatnonzero(n_out < 1)[0])} has no OUT reference model; offline RMIA needs one")
    mean_out = np.where(is_out, reference_conf, 0.0).sum(axis=0) / n_out
    return ((1 + a) * mean_out + (1 - a)) / 2


def rmia_ratio(target_conf, reference_conf, reference_in, online, a):
    """p_y(target) / Pr(x) per record."""
    return target_conf / rmia_marginal(reference_conf, reference_in, online, a)


def rmia(ratio_x, ratio_z, gamma):
    """RMIA scores: the fraction of population ratios below ratio(x) / gamma."""
    z = np.sort(ratio_z)
    return np.searchsorted(z, ratio_x / gamma, side="left") / z.size


# ---------------------------------------------------------------------------------------------
# Metrics


def roc(scores, members):
    """Exact ROC: (thresholds, TP, FP) with a leading (+inf, 0, 0) point, one point per distinct score."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise InputError(f"score {int(np.flatnonzero(np.isnan(scores))[0])} is NaN")
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    m = members[order]
    tp = np.cumsum(m)
    fp = np.cumsum(~m)
    last = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    return (np.concatenate([[np.inf], s[last]]), np.concatenate([[0], tp[last]]), np.concatenate([[0], fp[last]]))


def mann_whitney_auc(scores, members):
    """P(member outscores non-member) + P(tie)/2 from mid-ranks."""
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_s[1:] != sorted_s[:-1]]))
    ends = np.append(starts[1:], s.size)
    mid = (starts + ends + 1) / 2.0
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(mid, ends - starts)
    p = int(members.sum())
    q = s.size - p
    return (ranks[members].sum() - p * (p + 1) / 2) / (p * q)


def metrics(name, scores, members):
    _, tp, fp = roc(scores, members)
    p, q = int(members.sum()), int((~members).sum())
    if p == 0 or q == 0:
        raise InputError(f"members.npy: {p} members and {q} non-members; both are needed")
    auc = float(((fp[1:] - fp[:-1]).astype(np.float64) * (tp[1:] + tp[:-1])).sum() / (2.0 * p * q))
    check = mann_whitney_auc(scores, members)
    if abs(auc - check) > 1e-12:
        raise AssertionError(f"{name}: trapezoid AUC {auc} and Mann-Whitney {check} disagree")
    out = {f"{name}.auc": auc}
    for t in FPR_TARGETS:
        product = t * q
        allowed = math.floor(product + 1e-9 * max(1.0, product))
        out[f"{name}.tpr@{t if t else 0}"] = float(tp[fp <= allowed].max()) / p
    gap = tp / p - fp / q
    best = int(np.argmax(gap))
    out[f"{name}.advantage"] = float(gap[best])
    out[f"{name}.balanced_accuracy"] = (1 + float(gap[best])) / 2
    predicted = tp[best] + fp[best]
    out[f"{name}.ppv"] = float(tp[best]) / predicted if predicted else 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Input


def load(path, name, shape=None, kind="f"):
    file = path / name
    try:
        a = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{file}: not found")
    except ValueError as e:
        raise InputError(f"{file}: not a .npy array: {e}")
    if kind == "f" and a.dtype.kind != "f":
        raise InputError(f"{file}: expected floats, found dtype {a.dtype}")
    if kind == "i" and a.dtype.kind not in "iub" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
        raise InputError(f"{file}: expected integers, found dtype {a.dtype}")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise InputError(f"{file}: expected shape {tuple(shape)}, found {a.shape}")
    return a


def load_signals(folder):
    folder = Path(folder)
    target_logits = load(folder, "target_logits.npy")
    if target_logits.ndim != 2:
        raise InputError(f"{folder / 'target_logits.npy'}: expected (N, C), found {target_logits.shape}")
    n, c = target_logits.shape
    labels = load(folder, "labels.npy", (n,), "i").astype(np.int64)
    if ((labels < 0) | (labels >= c)).any():
        bad = int(np.flatnonzero((labels < 0) | (labels >= c))[0])
        raise InputError(f"{folder / 'labels.npy'}: entry {bad} is {labels[bad]}, outside 0..{c - 1}")
    members = load(folder, "members.npy", (n,), "i")
    if not np.isin(members, (0, 1)).all():
        raise InputError(f"{folder / 'members.npy'}: expected 0/1 entries")
    reference_logits = load(folder, "reference_logits.npy")
    if reference_logits.ndim != 3 or reference_logits.shape[1:] != (n, c):
        raise InputError(f"{folder / 'reference_logits.npy'}: expected (K, {n}, {c}), found {reference_logits.shape}")
    k = reference_logits.shape[0]
    reference_members = load(folder, "reference_members.npy", (k, n), "i")
    if not np.isin(reference_members, (0, 1)).all():
        raise InputError(f"{folder / 'reference_members.npy'}: expected 0/1 entries")
    return labels, members.astype(bool), target_logits, reference_logits, reference_members.astype(bool)


def load_population(folder, classes, references):
    """(labels, target logits, reference logits, reference IN masks) of the population records
    when the folder has population_*.npy files, else None (RMIA then compares with the audited
    records). population_reference_members.npy is optional: no reference model trained on them."""
    folder = Path(folder)
    if not (folder / "population_labels.npy").exists():
        return None
    labels = load(folder, "population_labels.npy", kind="i").astype(np.int64)
    z = labels.size
    if labels.ndim != 1 or ((labels < 0) | (labels >= classes)).any():
        raise InputError(f"{folder / 'population_labels.npy'}: expected (Z,) labels in 0..{classes - 1}")
    target = load(folder, "population_target_logits.npy", (z, classes))
    refs = load(folder, "population_reference_logits.npy", (references, z, classes))
    if (folder / "population_reference_members.npy").exists():
        inside = load(folder, "population_reference_members.npy", (references, z), "i")
        if not np.isin(inside, (0, 1)).all():
            raise InputError(f"{folder / 'population_reference_members.npy'}: expected 0/1 entries")
        inside = inside.astype(bool)
    else:
        inside = np.zeros((references, z), dtype=bool)
    return labels, target, refs, inside


# ---------------------------------------------------------------------------------------------
# Comparison with the lab's export


def relative_error(ours, theirs):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    same = (ours == theirs)  # also equal infinities
    scale = np.maximum(np.abs(ours), np.abs(theirs))
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(same, 0.0, np.abs(ours - theirs) / scale)
    return np.nan_to_num(err, nan=np.inf)


def read_lab_metrics(path):
    data = json.loads(Path(path).read_text())
    found = {}

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("name"), str) and isinstance(x.get("value"), (int, float)):
                found[x["name"]] = float(x["value"])
            for key, value in x.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and "." in key:
                    found[key] = float(value)
                else:
                    walk(value)
        elif isinstance(x, list):
            for item in x:
                walk(item)

    walk(data)
    return found


def lab_from_export(export_dir, lab_metrics_file, n):
    """What `privacy-lab runs export ID --scores DIR` wrote: (indices, members, {attack: scores},
    {metric: value})."""
    export_dir = Path(export_dir)
    indices = load(export_dir, "indices.npy", kind="i").astype(np.int64)
    members = load(export_dir, "members.npy", indices.shape, kind="i").astype(bool)
    scores = {f.stem: load(export_dir, f.name, indices.shape).astype(np.float64)
              for f in sorted(export_dir.glob("*.npy")) if f.stem not in ("indices", "members")}
    return indices, members, scores, (read_lab_metrics(lab_metrics_file) if lab_metrics_file else {})


def lab_from_store(store, run, trial=0):
    """The same, read from a run's SQLite store: the `scores-<attack>` artifacts ([2, N]: scores,
    then 1 = member), `record-indices`, and the trial's metrics."""
    import sqlite3

    store = Path(store)
    if not store.exists():
        raise InputError(f"{store}: no such store")
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    row = db.execute("SELECT id FROM runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 1",
                     (run, run + "%")).fetchone()
    if row is None:
        raise InputError(f"{store}: no run {run}")
    run_id = row[0]
    rows = db.execute("SELECT t.role, a.path FROM trial_artifacts t JOIN artifacts a ON a.key = t.artifact_key "
                      "WHERE t.run_id = ? AND t.trial_index = ?", (run_id, trial)).fetchall()
    folder = store.parent / "artifacts"
    indices, members, scores = None, None, {}
    for role, path in rows:
        if role == "record-indices":
            indices = np.load(folder / path).astype(np.int64)
        elif role.startswith("scores-"):
            pair = np.load(folder / path)
            scores[role[len("scores-"):]] = pair[0].astype(np.float64)
            members = pair[1].astype(bool)
    if members is None:
        raise InputError(f"{store}: run {run_id} trial {trial} has no scores-* artifacts")
    if indices is None:
        indices = np.arange(members.size)
    metrics_rows = db.execute("SELECT name, value FROM metrics WHERE run_id = ? AND trial_index = ?", (run_id, trial)).fetchall()
    return indices, members, scores, dict(metrics_rows)


def compare(lab, our_scores, members, tolerance):
    """Asserts the lab's scores equal ours (relative `tolerance`), the metrics computed here on the
    lab's scores equal the lab's metrics (absolute `tolerance`), and the membership agrees."""
    indices, lab_members, lab_scores, lab_metrics = lab
    report = {"scores": {}, "metrics": {}, "failures": []}
    if (indices < 0).any() or (indices >= members.size).any():
        report["failures"].append("the lab's record indices point outside the audited records")
        return report
    if not np.array_equal(lab_members, members[indices]):
        report["failures"].append("the lab's membership differs from members.npy")
    for name, ours in our_scores.items():
        if name not in lab_scores:
            report["failures"].append(f"{name}: the lab has no scores for it")
            continue
        theirs = lab_scores[name]
        err = relative_error(ours[indices], theirs)
        worst = float(err.max())
        where = int(indices[int(err.argmax())])
        report["scores"][name] = {"max_relative_error": worst, "worst_record": where,
                                  "numpy": float(ours[where]), "lab": float(theirs[int(err.argmax())])}
        if not worst <= tolerance:
            report["failures"].append(f"{name}: scores differ by {worst:.3e} relative (record {where})")
        for metric, value in metrics(name, theirs, lab_members).items():
            if metric in lab_metrics:
                diff = abs(value - lab_metrics[metric])
                report["metrics"][metric] = {"numpy_on_lab_scores": value, "lab": lab_metrics[metric], "abs_diff": diff}
                if not diff <= tolerance:
                    report["failures"].append(f"{metric}: numpy {value!r} on the lab's scores, lab {lab_metrics[metric]!r}")
            else:
                report["failures"].append(f"{metric}: not among the lab's metrics")
    return report


# ---------------------------------------------------------------------------------------------


def run(args):
    seconds = {"import": _T_IMPORTED - _T0}
    methods = args.methods
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise InputError(f"--methods: unknown attack {unknown[0]} (known: {', '.join(ALL_METHODS)})")
    t = time.perf_counter()
    labels, members, target_logits, reference_logits, reference_in = load_signals(args.signals)
    seconds["load"] = time.perf_counter() - t

    t = time.perf_counter()
    target = Rows(target_logits, labels)
    scores = {}
    needs_references = any(m.startswith(("lira", "rmia")) for m in methods)
    references = Rows(reference_logits, labels) if needs_references else None
    population = load_population(args.signals, target_logits.shape[1], reference_logits.shape[0]) \
        if any(m.startswith("rmia") for m in methods) else None
    seconds["signals"] = time.perf_counter() - t
    t = time.perf_counter()
    for m in methods:
        if m == "loss":
            scores[m] = -target.loss()
        elif m == "confidence":
            scores[m] = target.confidence()
        elif m == "entropy":
            scores[m] = -target.entropy()
        elif m == "modified_entropy":
            scores[m] = -target.modified_entropy()
        elif m.startswith("lira"):
            scores[m] = lira(target.scaled_logit(), references.scaled_logit(), reference_in,
                             online=not m.startswith("lira_offline"), global_variance=m.endswith("_global"))
        elif m.startswith("rmia"):
            online = m == "rmia"
            ratio_x = rmia_ratio(target.confidence(), references.confidence(), reference_in, online, args.rmia_a)
            if population is None:  # the audited records themselves
                ratio_z = ratio_x
            else:
                p_labels, p_target, p_refs, p_in = population
                ratio_z = rmia_ratio(Rows(p_target, p_labels).confidence(), Rows(p_refs, p_labels).confidence(),
                                     p_in, online, args.rmia_a)
            if args.rmia_population is not None:
                ratio_z = ratio_z[: args.rmia_population]
            scores[m] = rmia(ratio_x, ratio_z, args.rmia_gamma)
    seconds["attacks"] = time.perf_counter() - t
    t = time.perf_counter()
    result = {}
    for m in methods:
        result.update(metrics(m, scores[m], members))
    seconds["metrics"] = time.perf_counter() - t
    if args.scores_out:
        out = Path(args.scores_out)
        out.mkdir(parents=True, exist_ok=True)
        for m, s in scores.items():
            np.save(out / f"{m}.npy", s)
    seconds["total_in_process"] = time.perf_counter() - _T0
    report = {
        "metrics": result,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "inputs": {"records": int(labels.size), "classes": int(target_logits.shape[1]),
                   "references": int(reference_logits.shape[0]), "members": int(members.sum()),
                   "logits_dtype": str(reference_logits.dtype), "rmia_gamma": args.rmia_gamma, "rmia_a": args.rmia_a,
                   "rmia_population": "audited records" if population is None else "population files",
                   "rmia_population_size": args.rmia_population,
                   "numpy": np.__version__},
    }
    status = 0
    if args.compare or args.store:
        lab = lab_from_export(args.compare, args.lab_metrics, labels.size) if args.compare else lab_from_store(args.store, args.run)
        report["compare"] = compare(lab, scores, members, args.tolerance)
        status = 1 if report["compare"]["failures"] else 0
    return report, status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("signals", help="folder with labels.npy, members.npy, target_logits.npy, reference_logits.npy, reference_members.npy")
    parser.add_argument("--methods", type=lambda s: [m.strip() for m in s.split(",") if m.strip()], default=ALL_METHODS)
    parser.add_argument("--rmia-gamma", type=float, default=1.0)
    parser.add_argument("--rmia-a", type=float, default=0.3, help="RMIA offline interpolation factor a in [0, 1]")
    parser.add_argument("--rmia-population", type=int, help="compare with the first P population records only (default: all)")
    parser.add_argument("--scores-out", help="write <attack>.npy score arrays (float64, N) into this folder")
    parser.add_argument("--compare", metavar="EXPORT_DIR", help="the folder of `privacy-lab runs export ID --scores`")
    parser.add_argument("--lab-metrics", metavar="FILE", help="the lab's metrics as JSON (compared on the lab's scores)")
    parser.add_argument("--store", help="compare with a run in this privacy-lab store (runs/privacy-lab.sqlite)")
    parser.add_argument("--run", help="the run ID (or a prefix) with --store")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args(argv)
    if bool(args.store) != bool(args.run):
        parser.error("--store and --run go together")
    if not 0 <= args.rmia_a <= 1:
        parser.error("--rmia-a must lie in [0, 1]")
    if args.rmia_population is not None and args.rmia_population < 1:
        parser.error("--rmia-population must be at least 1")
    if not args.rmia_gamma > 0:
        parser.error("--rmia-gamma must be positive")
    report, status = run(args)
    print(json.dumps(report, indent=1))
    if status:
        for failure in report["compare"]["failures"]:
            print(f"numpy_audit.py: MISMATCH {failure}", file=sys.stderr)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as e:
        sys.exit(f"numpy_audit.py: {e}")
