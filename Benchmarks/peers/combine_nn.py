#!/usr/bin/env python3
"""Combines the JSON results of Benchmarks/run-nn-bench.sh into Markdown tables on stdout.

Reads OUT_DIR/CONFIG__tTHREADS__TOOL__rROUND.json (TOOL is `ours` or `pytorch`), takes the median
of each metric over rounds, and reports samples/s, the ratio ours / PyTorch, the issue's target
(checked in the "unset" configuration, as on a user's machine) and peak RSS.

A result file may hold log lines before its JSON: the last line that parses as a JSON object is
used. Metric names are matched after flattening nested objects (a "trials[0].metrics" object as
in PrivacyLab's `--json` shape included) and treating '.', '-' and '_' alike, by suffix.
Standard library only.
"""
import argparse
import json
import os
import re
import statistics
import sys

WORKLOADS = [
    ("mlp_train_samples_per_s", "MLP 784-256-10 train (Adam, batch 128, 1 epoch)", 1.5),
    ("cnn_train_samples_per_s", "CNN 2×conv5×5 train (batch 64)", 1.0),
    ("per_example_loss_samples_per_s", "per-example losses, trained MLP, 10k test", 1.5),
]
MEMORY = "peak_rss_mb"
NAME = re.compile(r"^(?P<config>[a-z]+)__t(?P<threads>\d+)__(?P<tool>ours|pytorch)__r(?P<round>\d+)\.json$")


def normalise(key):
    return re.sub(r"[.\-]", "_", key.lower())


def flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}_"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}_"))
    else:
        out[normalise(prefix[:-1])] = obj
    return out


def load(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    try:
        return json.loads("\n".join(lines))
    except json.JSONDecodeError:
        return None


def lookup(flat, metric):
    """The value of the shortest key that is `metric` or ends with `_metric`."""
    hits = [(len(k), v) for k, v in flat.items()
            if (k == metric or k.endswith("_" + metric)) and isinstance(v, (int, float))
            and not isinstance(v, bool)]
    return min(hits)[1] if hits else None


def text_field(flat, suffixes):
    for k, v in sorted(flat.items()):
        if isinstance(v, str) and any(k == s or k.endswith("_" + s) for s in suffixes):
            return v
    return None


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--preset", default="OPENBLAS_CORETYPE=Haswell", help="how the preset configuration was set")
    args = p.parse_args()

    results = {}  # (config, threads, tool) -> list of flattened results
    failures = []
    for name in sorted(os.listdir(args.out_dir)):
        if name.endswith(".failed"):
            failures.append(name)
            continue
        m = NAME.match(name)
        if not m:
            continue
        data = load(os.path.join(args.out_dir, name))
        if data is None:
            failures.append(name)
            continue
        key = (m["config"], int(m["threads"]), m["tool"])
        results.setdefault(key, []).append(flatten(data))
    if not results:
        print(f"combine_nn.py: no results in {args.out_dir}", file=sys.stderr)
        return 1

    def median(config, threads, tool, metric):
        values = [v for v in (lookup(f, metric) for f in results.get((config, threads, tool), [])) if v is not None]
        return (statistics.median(values), len(values)) if values else (None, 0)

    configs = [c for c in ("preset", "unset") if any(k[0] == c for k in results)]
    threads_list = sorted({k[1] for k in results})
    labels = {"preset": f"preset ({args.preset})", "unset": "unset (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE)"}

    print("## Neural networks on the CPU: PrivacyLab vs PyTorch\n")
    print("Median samples/s over rounds (n = rounds with a result); ratio = PrivacyLab / PyTorch. "
          "Targets (issue #2) apply to the unset configuration.\n")
    print("| OpenBLAS env | threads | workload | PrivacyLab | PyTorch | ratio | target | n |")
    print("|---|---:|---|---:|---:|---:|---|---|")
    for config in configs:
        for t in threads_list:
            for metric, label, target in WORKLOADS:
                ours, n_ours = median(config, t, "ours", metric)
                torch_, n_torch = median(config, t, "pytorch", metric)
                ratio = ours / torch_ if ours and torch_ else None
                if config == "unset" and ratio is not None:
                    verdict = f"≥ {target:g}× {'met' if ratio >= target else 'NOT met'}"
                else:
                    verdict = f"(≥ {target:g}×)"
                print(f"| {config} | {t} | {label} | {fmt(ours)} | {fmt(torch_)} | "
                      f"{fmt(ratio, 2)}{'×' if ratio else ''} | {verdict} | {n_ours}/{n_torch} |")

    print("\n### Peak memory (resident set, MB, median over rounds; whole process)\n")
    print("| OpenBLAS env | threads | PrivacyLab | PyTorch | PyTorch after `import torch` |")
    print("|---|---:|---:|---:|---:|")
    for config in configs:
        for t in threads_list:
            ours, _ = median(config, t, "ours", MEMORY)
            torch_, _ = median(config, t, "pytorch", MEMORY)
            base, _ = median(config, t, "pytorch", "rss_after_import_mb")
            print(f"| {config} | {t} | {fmt(ours)} | {fmt(torch_)} | {fmt(base)} |")

    print()
    for config in configs:
        any_torch = next((f for (c, _, tool), fs in results.items() if c == config and tool == "pytorch" for f in fs), None)
        any_ours = next((f for (c, _, tool), fs in results.items() if c == config and tool == "ours" for f in fs), None)
        notes = [labels[config] + ":"]
        if any_ours:
            core = text_field(any_ours, ["openblas_core", "openblas_corename", "blas_core"])
            notes.append(f"PrivacyLab OpenBLAS core {core or 'not reported'};")
        if any_torch:
            notes.append(f"PyTorch {any_torch.get('torch_version')} ({any_torch.get('blas')}, "
                         f"CPU capability {any_torch.get('cpu_capability')}), CNN optimizer "
                         f"{any_torch.get('cnn_optimizer', 'n/a')}.")
        print("- " + " ".join(notes))
    loads = []
    for name in os.listdir(args.out_dir):
        if name.endswith(".load"):
            with open(os.path.join(args.out_dir, name)) as f:
                loads += [float(x) for x in f.read().split() if re.fullmatch(r"[0-9.]+", x)]
    if loads:
        print(f"- Machine load (1-minute load average around the runs, {os.cpu_count()} CPUs): "
              f"median {statistics.median(loads):.1f}, max {max(loads):.1f}. Timings taken under "
              f"a load above the thread count are unreliable, two-thread ones most of all.")
    if failures:
        print(f"- Runs without a result: {', '.join(failures)} (logs in {args.out_dir}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
