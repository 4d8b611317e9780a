#!/usr/bin/env python3
"""Checks numpy_audit.py against slow, obviously-correct versions of the same definitions:
signals against 60-digit mpmath arithmetic (including logits so confident that 1 - p_y rounds to
0 in float64), the ROC metrics against a brute-force count over every threshold, LiRA against a
per-record loop, RMIA against a double loop over records and population, and bad inputs against
their error messages.

    python3 scripts/audit_example/test_numpy_audit.py

Needs numpy and mpmath. Prints one line per check and
"N passed, N failed"; exits 1 on a failure.
"""
import math
import sys
import tempfile
from pathlib import Path

import mpmath
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_audit as na  # noqa: E402

mpmath.mp.dps = 60
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")


def close(a, b, rtol, atol=0.0):
    a, b = float(a), float(b)
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def exact_signals(row, y):
    z = [mpmath.mpf(float(v)) for v in row]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))
    p = [mpmath.exp(v - lse) for v in z]
    one_minus = [mpmath.fsum(p[j] for j in range(len(z)) if j != k) for k in range(len(z))]
    loss = lse - z[y]
    h = -mpmath.fsum(pj * mpmath.log(pj) for pj in p if pj > 0)
    me = -one_minus[y] * mpmath.log(p[y]) - mpmath.fsum(p[j] * mpmath.log(one_minus[j]) for j in range(len(z)) if j != y)
    phi = mpmath.log(p[y]) - mpmath.log(one_minus[y])
    return {"loss": loss, "confidence": p[y], "entropy": h, "modified_entropy": me, "scaled_logit": phi}


def test_signals():
    rng = np.random.default_rng(1)
    rows = [rng.normal(0, 3, 10) for _ in range(40)]
    confident = np.zeros(10)
    confident[3] = 45.0  # p_3 = 1 - 9e-20: 1 - p rounds to 0 in float64
    rows += [confident, -confident, np.full(10, 2.0), np.linspace(-30, 30, 10)]
    labels = [int(rng.integers(10)) for _ in range(40)] + [3, 3, 0, 9]
    logits = np.array(rows)
    labels = np.array(labels)
    ours = na.Rows(logits, labels)
    got = {"loss": ours.loss(), "confidence": ours.confidence(), "entropy": ours.entropy(),
           "modified_entropy": ours.modified_entropy(), "scaled_logit": ours.scaled_logit()}
    for name in got:
        worst = 0.0
        for i, (row, y) in enumerate(zip(rows, labels)):
            exact = float(exact_signals(row, int(y))[name])
            value = float(got[name][i])
            err = 0.0 if exact == value else abs(value - exact) / max(abs(exact), 1e-300)
            worst = max(worst, err)
        check(f"signal {name} within 1e-12 relative of 60-digit arithmetic", worst <= 1e-12, f"worst {worst:.2e}")
    # Confident row: the loss is tiny but not zero, phi is large and finite.
    check("confident row keeps a non-zero loss", 0 < got["loss"][40] < 1e-18)
    check("confident row keeps a finite scaled logit", math.isfinite(got["scaled_logit"][40]) and got["scaled_logit"][40] > 40)
    # Batched rows [K, N, C] give the same as row by row.
    batch = np.stack([logits, logits[::-1]])
    b = na.Rows(batch, labels).scaled_logit()
    check("batched scaled logit equals per-matrix", np.array_equal(b[0], got["scaled_logit"])
          and np.array_equal(b[1], na.Rows(logits[::-1], labels).scaled_logit()))


def brute_metrics(scores, members):
    p, q = members.sum(), (~members).sum()
    thresholds = [math.inf] + sorted(set(scores.tolist()), reverse=True)
    pts = [(int((members & (scores >= t)).sum()), int((~members & (scores >= t)).sum())) for t in thresholds]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in scores[members] for b in scores[~members])
    out = {"auc": wins / (p * q)}
    for t in na.FPR_TARGETS:
        # FP/q <= t, written with integers so 0.001 * 1000 is not lost to rounding.
        out[f"tpr@{t if t else 0}"] = max(tp for tp, fp in pts if fp <= math.floor(t * q + 1e-9 * max(1, t * q))) / p
    out["advantage"] = max(tp / p - fp / q for tp, fp in pts)
    return out


def test_metrics():
    rng = np.random.default_rng(2)
    cases = []
    for n, grid in [(60, 4), (200, 0), (1000, 30), (1000, 0)]:
        members = rng.random(n) < 0.4
        s = rng.normal(size=n) + members * 0.8
        if grid:
            s = np.round(s * grid / 4) / grid  # heavy ties
        cases.append((s, members))
    cases.append((np.ones(50), np.arange(50) % 2 == 0))  # all tied
    cases.append((np.arange(40.0), np.arange(40) >= 20))  # perfect
    cases.append((-np.arange(40.0), np.arange(40) >= 20))  # inverted
    for k, (s, m) in enumerate(cases):
        ours = na.metrics("x", s, m)
        ref = brute_metrics(s, m)
        bad = [key for key in ref if not close(ours[f"x.{key}"], ref[key], 1e-12, 1e-15)]
        check(f"metrics case {k} (n={s.size}, {len(set(s.tolist()))} distinct) equal brute force", not bad, ", ".join(bad))
    s, m = cases[-2]
    check("perfect scores: AUC 1, TPR@0 1", na.metrics("x", s, m)["x.auc"] == 1.0 and na.metrics("x", s, m)["x.tpr@0"] == 1.0)
    s, m = cases[-3]
    check("all tied: AUC 1/2, advantage 0", na.metrics("x", s, m)["x.auc"] == 0.5 and na.metrics("x", s, m)["x.advantage"] == 0.0)
    # 1000 non-members, target 0.001: exactly one false positive allowed.
    m = np.array([True] * 10 + [False] * 1000)
    s = np.concatenate([np.full(10, 5.0), [6.0], np.zeros(999)])
    check("tpr@0.001 with 1000 non-members allows one false positive", na.metrics("x", s, m)["x.tpr@0.001"] == 1.0
          and na.metrics("x", s, m)["x.tpr@0"] == 0.0)


def test_lira():
    rng = np.random.default_rng(3)
    k, n = 12, 30
    ref = rng.normal(size=(k, n)) + np.arange(n) * 0.1
    ins = rng.random((k, n)) < 0.5
    ins[:, 0] = False
    ins[0, 0] = True  # record 0: one IN model -> global sigma IN
    ins[:2, 1] = False
    ins[2:, 1] = True  # record 1: two OUT models
    target = rng.normal(size=n)
    for online in (True, False):
        for global_variance in (False, True):
            got = na.lira(target, ref, ins, online, global_variance)
            res_in = [ref[m, i] - ref[ins[:, i], i].mean() for i in range(n) for m in range(k) if ins[m, i]]
            res_out = [ref[m, i] - ref[~ins[:, i], i].mean() for i in range(n) for m in range(k) if not ins[m, i]]
            g_in = math.sqrt(sum(r * r for r in res_in) / len(res_in))
            g_out = math.sqrt(sum(r * r for r in res_out) / len(res_out))
            worst = 0.0
            for i in range(n):
                a, b = ref[ins[:, i], i], ref[~ins[:, i], i]
                s_in = g_in if (global_variance or a.size < 2) else max(1e-6, a.std())
                s_out = g_out if (global_variance or b.size < 2) else max(1e-6, b.std())
                if online:
                    lp = lambda x, mu, s: float(mpmath.log(mpmath.npdf(x, mu, s)))  # noqa: E731
                    want = lp(target[i], a.mean(), s_in) - lp(target[i], b.mean(), s_out)
                else:
                    want = float(mpmath.log(mpmath.ncdf((target[i] - b.mean()) / s_out)))
                worst = max(worst, abs(got[i] - want) / max(1e-300, abs(want)))
            check(f"LiRA {'online' if online else 'offline'}{' global variance' if global_variance else ''} equals a per-record loop",
                  worst <= 1e-10, f"worst {worst:.2e}")
    # Far tails of the offline score: log Phi stays finite and accurate.
    for x in (-50.0, -35.0, -5.0, 0.0, 5.0, 30.0):
        want = float(mpmath.log(mpmath.ncdf(x)) if x <= 0 else mpmath.log1p(-mpmath.ncdf(-x)))
        got = float(na.log_ndtr(np.array([x]))[0])
        check(f"log Phi({x}) within 1e-10 relative", close(got, want, 1e-10) or (want == 0 and got == 0), f"{got!r} vs {want!r}")


def test_rmia():
    rng = np.random.default_rng(4)
    k, n = 6, 25
    ref = rng.random((k, n))
    ins = rng.random((k, n)) < 0.5
    ins[:, 0] = False
    ins[0, 0] = True
    target = rng.random(n)
    pop = np.arange(5, 25)
    for online in (True, False):
        for gamma in (1.0, 2.0, 0.5):
            got = na.rmia(na.rmia_ratio(target, ref, ins, online, 0.3), na.rmia_ratio(target, ref, ins, online, 0.3)[pop], gamma)

            def pr(i):
                if online:
                    return ref[:, i].mean()
                return ((1.3) * ref[~ins[:, i], i].mean() + 0.7) / 2

            want = [sum(1 for zz in pop if (target[i] / pr(i)) / (target[zz] / pr(zz)) > gamma) / pop.size for i in range(n)]
            # Division order may move a ratio across gamma only at exact equality; none here.
            check(f"RMIA {'online' if online else 'offline'} gamma {gamma} equals the double loop", np.allclose(got, want, rtol=0, atol=0))


def test_inputs():
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        n, c, k = 8, 3, 2
        np.save(d / "labels.npy", np.arange(n) % c)
        np.save(d / "members.npy", np.arange(n) % 2)
        np.save(d / "target_logits.npy", np.zeros((n, c), np.float32))
        np.save(d / "reference_logits.npy", np.zeros((k, n, c), np.float32))
        np.save(d / "reference_members.npy", np.array([np.arange(n) % 2, 1 - np.arange(n) % 2]))
        na.load_signals(d)
        check("a well-formed folder loads", True)

        def expect(name, array, needle):
            good = np.load(d / name)
            np.save(d / name, array)
            try:
                na.load_signals(d)
                check(f"bad {name} is rejected", False, "no error")
            except na.InputError as e:
                check(f"bad {name} is rejected naming the file", name in str(e) and needle in str(e), str(e))
            np.save(d / name, good)

        expect("labels.npy", np.full(n, c), "outside")
        expect("members.npy", np.full(n, 2), "0/1")
        expect("reference_logits.npy", np.zeros((k, n + 1, c), np.float32), "expected")
        expect("reference_members.npy", np.zeros((k + 1, n)), "shape")
        expect("target_logits.npy", np.zeros((n,), np.float32), "(N, C)")


for test in (test_signals, test_metrics, test_lira, test_rmia, test_inputs):
    test()
passed, failed = sum(RESULTS), len(RESULTS) - sum(RESULTS)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
