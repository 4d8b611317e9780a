#!/usr/bin/env python3
"""Drift detection side by side: PrivacyLab's DriftDetection against Alibi Detect (KSDrift, MMDDrift
with the PyTorch backend) on the same data, in one run. Writes Benchmarks/drift/drift.md.

    swift build --package-path Benchmarks -c release --product privacy-lab-drift-bench
    ALIBI_PYTHON=/path/to/venv/bin/python python3 Benchmarks/drift/compare.py

ALIBI_PYTHON names a Python with alibi-detect 0.13 and torch (see ../../../shared/peers/README.md
or the README beside this script). Every figure in drift.md is written by this script.
"""
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BENCH = ROOT / "Benchmarks" / ".build" / "release" / "privacy-lab-drift-bench"
PERMUTATIONS = 100
REPEATS = 3

# (name, reference rows, tested rows, features, how the tested data differs)
CASES = [
    ("no drift", 1000, 1000, 10, "same distribution"),
    ("mean shift", 1000, 1000, 10, "+0.2 in every feature"),
    ("one feature scaled", 1000, 500, 20, "feature 7 ×1.3"),
    ("small samples", 60, 40, 5, "+0.5 in feature 0"),
]

PEER = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[5]))
from alibi_detect.cd import KSDrift, MMDDrift
ref = np.fromfile(sys.argv[1]).reshape(-1, int(sys.argv[3]))
x = np.fromfile(sys.argv[2]).reshape(-1, int(sys.argv[3]))
perms, repeats = int(sys.argv[4]), int(sys.argv[6])
def timed(f):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter(); out = f(); times.append(time.perf_counter() - t)
    return out, sorted(times)[len(times) // 2]
ks, ks_s = timed(lambda: KSDrift(ref, p_val=0.05).predict(x, return_p_val=True, return_distance=True))
torch.manual_seed(0)
mmd, mmd_s = timed(lambda: MMDDrift(ref, backend="pytorch", p_val=0.05, n_permutations=perms).predict(x, return_p_val=True, return_distance=True))
print(json.dumps({"ks_p_values": [float(v) for v in ks["data"]["p_val"]], "ks_statistics": [float(v) for v in ks["data"]["distance"]],
                  "ks_drift": bool(ks["data"]["is_drift"]), "ks_seconds": ks_s,
                  "mmd2": float(mmd["data"]["distance"]), "mmd_p_value": float(mmd["data"]["p_val"]), "mmd_drift": bool(mmd["data"]["is_drift"]),
                  "mmd_seconds": mmd_s}))
"""


def make_case(index, rows_ref, rows_x, features, seed=2026):
    import numpy as np  # the peer's Python is not needed to write the data: numpy from this one or the peer's
    rng = np.random.default_rng(seed + index)
    ref = rng.standard_normal((rows_ref, features))
    x = rng.standard_normal((rows_x, features))
    if index == 1:
        x += 0.2
    elif index == 2:
        x[:, 7] *= 1.3
    elif index == 3:
        x[:, 0] += 0.5
    return ref, x


def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    peer = os.environ.get("ALIBI_PYTHON")
    if not peer or not BENCH.exists():
        sys.exit("set ALIBI_PYTHON and build privacy-lab-drift-bench first (see the docstring)")
    core = subprocess.run([peer, "-c", "import numpy; c = numpy.show_config(mode='dicts'); print(c.get('Build Dependencies', {}).get('blas', {}).get('name', '?'))"],
                          capture_output=True, text=True).stdout.strip()
    rows = []
    loads = [load()]
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, n, m, f, change) in enumerate(CASES):
            ref, x = make_case(index, n, m, f)
            rp, xp = pathlib.Path(tmp, f"ref{index}.bin"), pathlib.Path(tmp, f"x{index}.bin")
            ref.astype("<f8").tofile(rp)
            x.astype("<f8").tofile(xp)
            ours = json.loads(subprocess.run([str(BENCH), "--reference", str(rp), "--tested", str(xp), "--features", str(f),
                                              "--permutations", str(PERMUTATIONS), "--repeats", str(REPEATS)],
                                             check=True, capture_output=True, text=True).stdout)
            theirs = json.loads(subprocess.run([peer, "-c", PEER, str(rp), str(xp), str(f), str(PERMUTATIONS), "1", str(REPEATS)],
                                               check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            loads.append(load())
            ks_gap = max(abs(a - b) for a, b in zip(ours["ks_p_values"], theirs["ks_p_values"]))
            d_gap = max(abs(a - b) for a, b in zip(ours["ks_statistics"], theirs["ks_statistics"]))
            rows.append((name, n, m, f, change, ours, theirs, ks_gap, d_gap))

    out = []
    out.append("# Drift detection: PrivacyLab against Alibi Detect\n")
    out.append(f"Written by `Benchmarks/drift/compare.py` on {platform.node()} ({os.cpu_count()} cores); load average "
               f"{', '.join(loads)} across the run; Alibi Detect 0.13 with PyTorch at 1 thread, NumPy BLAS `{core}`; "
               f"PrivacyLab single-threaded. {PERMUTATIONS} permutations for MMD; medians of {REPEATS} repeats, each "
               "building the detector and testing one batch. Data: standard normal rows from NumPy's PCG64, seed "
               "2026 + case, written once and read by both.\n")
    out.append("## Same answers\n")
    out.append("KS p-values are deterministic: the largest difference over every feature. MMD p-values come from "
               "random permutations (each tool its own), so they agree within Monte-Carlo error: with 100 "
               "permutations a p-value's standard error is at most 0.05.\n")
    out.append("| case | rows (ref / tested × features) | change | max \\|Δ KS p\\| | max \\|Δ KS D\\| | KS drift (ours / Alibi) | MMD² ours | MMD² Alibi | MMD p ours | MMD p Alibi | MMD drift (ours / Alibi) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, m, f, change, o, t, ks_gap, d_gap in rows:
        out.append(f"| {name} | {n} / {m} × {f} | {change} | {ks_gap:.1e} | {d_gap:.1e} | {o['ks_drift']} / {t['ks_drift']} | "
                   f"{o['mmd2']:.6f} | {t['mmd2']:.6f} | {o['mmd_p_value']:.2f} | {t['mmd_p_value']:.2f} | {o['mmd_drift']} / {t['mmd_drift']} |")
    out.append("\n## Time\n")
    out.append("| case | KS ours (ms) | KS Alibi (ms) | ratio | MMD ours (ms) | MMD Alibi (ms) | ratio |")
    out.append("|---|---|---|---|---|---|---|")
    for name, n, m, f, change, o, t, _, _ in rows:
        out.append(f"| {name} | {o['ks_seconds'] * 1e3:.2f} | {t['ks_seconds'] * 1e3:.2f} | {t['ks_seconds'] / o['ks_seconds']:.1f}× | "
                   f"{o['mmd_seconds'] * 1e3:.1f} | {t['mmd_seconds'] * 1e3:.1f} | {t['mmd_seconds'] / o['mmd_seconds']:.1f}× |")
    out.append("\nA ratio above 1 means PrivacyLab is faster.\n")
    (HERE / "drift.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
