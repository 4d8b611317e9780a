#!/usr/bin/env python3
"""Writes the scikit-learn / SciPy reference vectors for PrivacyLab's AttackMetrics tests.

Run with a Python that has scikit-learn, numpy and scipy (e.g. a venv under /work/venvs/sk):
    python3 scripts/attack_metrics_reference.py Tests/AttackMetricsTests/Fixtures

Output: attack-metrics-v1.json with
- "roc": score vectors (with and without ties, balanced and imbalanced, perfect, inverted,
  constant) and what scikit-learn says of them: roc_curve(drop_intermediate=False) rates and
  thresholds (the leading +inf threshold left out: JSON has no infinity), roc_auc_score, the
  largest TPR with FPR <= target for the standard targets (no interpolation), floor(target * N),
  and max(TPR - FPR);
- "clopper_pearson": one-sided bounds from scipy.stats.beta.ppf;
- "epsilon": Jagielski et al. (2020) lower bounds from Clopper-Pearson upper bounds on FPR and
  FNR, each at 1 - alpha/2.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import beta
from sklearn.metrics import roc_auc_score, roc_curve

out = Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/AttackMetricsTests/Fixtures")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(20260507)
TARGETS = [0.1, 0.01, 0.001, 0.0001, 0.0]


def case(name, scores, labels):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    negatives = int((~labels).sum())
    points = []
    for t in TARGETS:
        ok = fpr <= t
        points.append({
            "target": t,
            "tpr": float(tpr[ok].max()),
            "allowed_false_positives": int(math.floor(t * negatives + 1e-9)),
        })
    return {
        "name": name,
        "scores": [float(s) for s in scores],
        "is_member": [bool(b) for b in labels],
        "fpr": [float(v) for v in fpr],
        "tpr": [float(v) for v in tpr],
        "thresholds_after_infinity": [float(v) for v in thr[1:]],
        "auc": float(roc_auc_score(labels, scores)),
        "operating_points": points,
        "advantage": float(np.max(tpr - fpr)),
    }


cases = []
# Small, heavy ties: scores on a coarse grid.
labels = rng.random(60) < 0.5
scores = np.round(rng.normal(size=60) + 0.8 * labels, 0)
cases.append(case("ties-small", scores, labels))
# Continuous, balanced, 2000 examples.
labels = rng.random(2000) < 0.5
scores = rng.normal(size=2000) + 1.0 * labels
cases.append(case("continuous-2000", scores, labels))
# Imbalanced with ties: 50 members, 1500 non-members, one decimal.
labels = np.array([True] * 50 + [False] * 1500)
scores = np.round(rng.normal(size=1550) + 1.5 * labels, 1)
perm = rng.permutation(1550)
cases.append(case("imbalanced-ties", scores[perm], labels[perm]))
# Heavy-tailed members: a few members far above every non-member (TPR at FPR 0 > 0).
labels = rng.random(3000) < 0.5
scores = rng.normal(size=3000) + labels * np.where(rng.random(3000) < 0.05, 8.0, 0.2)
cases.append(case("tail-3000", scores, labels))
# Perfect separation, inverted separation, all scores equal.
cases.append(case("perfect", [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], [True, True, True, False, False, False]))
cases.append(case("inverted", [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [True, True, True, False, False, False]))
cases.append(case("constant", [0.5] * 8, [True, False, True, False, False, True, True, False]))

cp = []
for k, n, conf in [(0, 10, 0.95), (3, 10, 0.95), (10, 10, 0.95), (1, 1000, 0.975), (500, 1000, 0.99),
                   (0, 5000, 0.975), (4990, 5000, 0.975), (17, 64, 0.9), (1, 2, 0.5)]:
    upper = 1.0 if k == n else float(beta.ppf(conf, k + 1, n - k))
    lower = 0.0 if k == 0 else float(beta.ppf(1 - conf, k, n - k + 1))
    cp.append({"successes": k, "trials": n, "confidence": conf, "upper": upper, "lower": lower})


def epsilon_lower_bound(tp, p, fp, n, confidence, delta):
    side = 1 - (1 - confidence) / 2
    fpr_hi = 1.0 if fp == n else float(beta.ppf(side, fp + 1, n - fp))
    fn = p - tp
    fnr_hi = 1.0 if fn == p else float(beta.ppf(side, fn + 1, p - fn))
    eps = 0.0
    for num, den in [(1 - delta - fpr_hi, fnr_hi), (1 - delta - fnr_hi, fpr_hi)]:
        if den > 0 and num / den > 1:
            eps = max(eps, math.log(num / den))
    return eps, fpr_hi, fnr_hi


eps = []
for tp, p, fp, n, conf, delta in [(500, 1000, 5, 1000, 0.95, 0.0), (990, 1000, 10, 1000, 0.95, 1e-5),
                                  (1000, 1000, 0, 1000, 0.95, 0.0), (50, 100, 50, 100, 0.95, 0.0),
                                  (30, 1000, 0, 1000, 0.99, 0.0), (700, 1000, 300, 1000, 0.9, 0.01)]:
    value, fpr_hi, fnr_hi = epsilon_lower_bound(tp, p, fp, n, conf, delta)
    eps.append({"true_positives": tp, "members": p, "false_positives": fp, "non_members": n,
                "confidence": conf, "delta": delta, "epsilon": value,
                "fpr_upper": fpr_hi, "fnr_upper": fnr_hi})

import sklearn
document = {"format": "privacylab.attack-metrics-vectors", "version": 1,
            "generator": f"scripts/attack_metrics_reference.py (scikit-learn {sklearn.__version__}, numpy {np.__version__})",
            "roc": cases, "clopper_pearson": cp, "epsilon": eps}
(out / "attack-metrics-v1.json").write_text(json.dumps(document, indent=None, separators=(",", ":")) + "\n")
print("wrote", out / "attack-metrics-v1.json")
