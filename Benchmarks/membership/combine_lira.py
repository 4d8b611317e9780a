#!/usr/bin/env python3
"""Markdown tables from a run of run-lira-bench.sh (its OUT_DIR): medians, ratio, phases, metrics,
and every run with the machine's load around it. Standard library only.

    combine_lira.py OUT_DIR
"""
import glob
import json
import os
import statistics
import sys

# Our progress lines that open each phase (TrialContext.progress messages, then the runner's).
OUR_MARKS = [("load", "training the target"), ("target", "reference models"),
             ("references", "running "), ("audit", " done in ")]


def read_json(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text.splitlines()[-1]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def our_phases(log_path, start, end):
    """Seconds per phase from the time-stamped progress lines; None when a mark is missing."""
    stamps = []
    try:
        with open(log_path) as f:
            lines = [line.rstrip("\n").split(" ", 1) for line in f if " " in line]
    except OSError:
        return None
    for _, needle in OUR_MARKS:
        hit = next((float(t) for t, text in lines if needle in text), None)
        if hit is None:
            return None
        stamps.append(hit)
    bounds = [start] + stamps + [end]
    names = [name for name, _ in OUR_MARKS] + ["finish"]
    return {name: bounds[i + 1] - bounds[i] for i, name in enumerate(names)}


def our_metrics(doc):
    metrics = doc["trials"][0]["metrics"]

    def get(*names):
        return next((metrics[n] for n in names if n in metrics), None)

    return {"lira_auc": get("lira.auc"), "lira_tpr@0.001": get("lira.tpr@0.001"), "lira_tpr@0.01": get("lira.tpr@0.01"),
            "loss_auc": get("loss.auc"), "loss_tpr@0.001": get("loss.tpr@0.001"),
            "train_accuracy": get("target.train_accuracy", "train_accuracy"),
            "test_accuracy": get("target.test_accuracy", "test_accuracy")}


def torch_metrics(doc):
    return {"lira_auc": doc["lira"]["auc"], "lira_tpr@0.001": doc["lira"]["tpr@0.001"], "lira_tpr@0.01": doc["lira"]["tpr@0.01"],
            "loss_auc": doc["loss"]["auc"], "loss_tpr@0.001": doc["loss"]["tpr@0.001"],
            "train_accuracy": doc["target"]["train_accuracy"], "test_accuracy": doc["target"]["test_accuracy"]}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    runs = []
    for meta_path in sorted(glob.glob(os.path.join(out, "*.meta"))):
        meta = read_json(meta_path)
        if meta is None:
            continue
        base = meta_path[:-5]
        meta["seconds"] = meta["end"] - meta["start"]
        doc = read_json(base + ".json") if meta["status"] == 0 else None
        meta["ok"] = doc is not None
        if doc is not None:
            if meta["tool"] == "ours":
                meta["phases"] = our_phases(base + ".log", meta["start"], meta["end"])
                meta["metrics"] = our_metrics(doc)
            else:
                meta["phases"] = dict(doc["phase_seconds"])
                meta["phases"]["exit"] = meta["seconds"] - doc["total_seconds"]
                meta["metrics"] = torch_metrics(doc)
        runs.append(meta)
    if not runs:
        print(f"combine_lira.py: no runs in {out}", file=sys.stderr)
        return 1
    conditions = ""
    try:
        with open(os.path.join(out, "conditions.txt")) as f:
            conditions = f.read().strip()
    except OSError:
        pass

    configs = list(dict.fromkeys(r["config"] for r in runs))
    print("### Whole pipeline, wall clock (median over rounds)\n")
    print("| OpenBLAS config | OpenBLAS kernel (ours) | ours s | PyTorch s | PyTorch / ours | ours CPU s | PyTorch CPU s | CPU ratio | rounds ok (ours, PyTorch) | load before runs (1-min avg: median, range) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for config in configs:
        ours = [r for r in runs if r["config"] == config and r["tool"] == "ours" and r["ok"]]
        peer = [r for r in runs if r["config"] == config and r["tool"] == "pytorch" and r["ok"]]
        loads = [float(r["load_before"].split()[0]) for r in runs if r["config"] == config]
        o, p = med([r["seconds"] for r in ours]), med([r["seconds"] for r in peer])
        cores = sorted({r["openblas_core"] for r in runs if r["config"] == config and r["tool"] == "ours"})
        env = "OPENBLAS_CORETYPE=Haswell" if config == "haswell" else "both unset"
        ratio = f"{p / o:.2f}×" if o and p else "—"
        oc, pc = med([r.get("cpu_seconds") for r in ours]), med([r.get("cpu_seconds") for r in peer])
        cpu_ratio = f"{pc / oc:.2f}×" if oc and pc else "—"
        print(f"| {config} ({env}) | {', '.join(cores)} | {fmt(o)} | {fmt(p)} | {ratio} | {fmt(oc)} | {fmt(pc)} | {cpu_ratio} | {len(ours)}, {len(peer)} | "
              f"{fmt(med(loads), 2)} ({fmt(min(loads), 2)}–{fmt(max(loads), 2)}) |")

    print("\n### Phases (median seconds)\n")
    for tool, title in (("ours", "ours (from time-stamped progress lines)"), ("pytorch", "PyTorch (its own timers)")):
        names = []
        for r in runs:
            if r["tool"] == tool and r.get("phases"):
                names += [n for n in r["phases"] if n not in names]
        if not names:
            continue
        print(f"{title}:\n")
        print("| config | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for config in configs:
            sel = [r["phases"] for r in runs if r["config"] == config and r["tool"] == tool and r.get("phases")]
            print(f"| {config} | " + " | ".join(fmt(med([s.get(n) for s in sel])) for n in names) + " |")
        print()

    print("### Attack metrics (median over runs; each side is deterministic for its seed)\n")
    keys = ["lira_auc", "lira_tpr@0.001", "lira_tpr@0.01", "loss_auc", "loss_tpr@0.001", "train_accuracy", "test_accuracy"]
    print("| tool | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for tool in ("ours", "pytorch"):
        sel = [r["metrics"] for r in runs if r["tool"] == tool and r.get("metrics")]
        print(f"| {tool} | " + " | ".join(fmt(med([m.get(k) for m in sel]), 4) for k in keys) + " |")

    print("\n### Every run (in order)\n")
    print("| start (UTC) | round | config | tool | s | CPU s | loadavg before | loadavg after | CPU pressure before/after (PSI some avg10 %) | OPENBLAS_CORETYPE | kernel |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    import datetime
    for r in sorted(runs, key=lambda r: r["start"]):
        when = datetime.datetime.fromtimestamp(r["start"], datetime.timezone.utc).strftime("%H:%M:%S")
        seconds = fmt(r["seconds"]) if r["ok"] else f"failed ({r['status']})"
        pressure = f"{fmt(r.get('cpu_pressure_before'), 0)} / {fmt(r.get('cpu_pressure_after'), 0)}"
        print(f"| {when} | {r['round']} | {r['config']} | {r['tool']} | {seconds} | {fmt(r.get('cpu_seconds'))} | "
              f"{' '.join(r['load_before'].split()[:3])} | {' '.join(r['load_after'].split()[:3])} | {pressure} | "
              f"{r['openblas_coretype'] or '(unset)'} | {r['openblas_core']} |")
    if conditions:
        print("\nConditions:\n\n```\n" + conditions + "\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
