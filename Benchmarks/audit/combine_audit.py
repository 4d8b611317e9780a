#!/usr/bin/env python3
"""Turns the raw files of run-audit-bench.sh into Markdown tables: wall and CPU seconds of the
lab and of numpy (medians and ranges over the timed rounds; round 0 is the warm-up, left out),
the ratio numpy / lab per round (both runs of a round are back to back), the machine's load, and
the numpy side's in-process phases.

    python3 Benchmarks/audit/combine_audit.py OUT_DIR
"""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
runs = {}
for meta in sorted(out.glob("*.meta")):
    m = json.loads(meta.read_text())
    m["wall"] = m["end"] - m["start"]
    base = meta.with_suffix("")
    try:
        m["output"] = json.loads(Path(f"{base}.json").read_text())
    except (OSError, ValueError):
        m["output"] = None
    runs[(m["tool"], m["round"])] = m

rounds = sorted({r for (_, r) in runs if r > 0})
TOOLS = [t for t in ("lab", "lab-nb", "numpy") if any(k[0] == t for k in runs)]
NAMES = {"lab": "privacy-lab run (bootstrap 200)", "lab-nb": "privacy-lab run (bootstrap 0)", "numpy": "numpy_audit.py"}
ok = [r for r in rounds if all(runs.get((t, r), {}).get("status") == 0 for t in TOOLS)]
failed = [r for r in rounds if r not in ok]


def med(values):
    return statistics.median(values) if values else float("nan")


def span(values):
    return f"{min(values):.3f}–{max(values):.3f}" if values else "–"


print("```text")
print((out / "conditions.txt").read_text().rstrip())
print("```")
print()
if failed:
    print(f"**Rounds with a failed run (left out): {failed}** — see the .log files in {out}.\n")
if not ok:
    sys.exit("combine_audit.py: no round where every run succeeded")

print(f"### Wall and CPU seconds, {len(ok)} rounds (process start to exit)")
print()
print("| | wall s (median) | wall s (range) | CPU s (median) | load before (median, range) | CPU pressure before (median %) |")
print("|---|---|---|---|---|---|")
for tool in TOOLS:
    wall = [runs[(tool, r)]["wall"] for r in ok]
    cpu = [runs[(tool, r)]["cpu_seconds"] for r in ok if runs[(tool, r)]["cpu_seconds"] is not None]
    load = [float(runs[(tool, r)]["load_before"].split()[0]) for r in ok]
    psi = [runs[(tool, r)]["cpu_pressure_before"] for r in ok if runs[(tool, r)]["cpu_pressure_before"] is not None]
    name = NAMES[tool]
    print(f"| {name} | **{med(wall):.3f}** | {span(wall)} | {med(cpu):.3f} | {med(load):.2f} ({min(load):.2f}–{max(load):.2f}) | {med(psi):.1f} |")
print()
for lab in [t for t in TOOLS if t != "numpy"]:
    ratios = [runs[("numpy", r)]["wall"] / runs[(lab, r)]["wall"] for r in ok]
    cpu_ratios = [runs[("numpy", r)]["cpu_seconds"] / runs[(lab, r)]["cpu_seconds"] for r in ok
                  if runs[("numpy", r)]["cpu_seconds"] and runs[(lab, r)]["cpu_seconds"]]
    under = sum(1 for r in ok if runs[(lab, r)]["wall"] < 2.0)
    print(f"- numpy / {NAMES[lab]}, wall, per round: {', '.join(f'{x:.2f}' for x in ratios)} — median **{med(ratios):.2f}×**; "
          f"CPU: median {med(cpu_ratios):.2f}×; under 2 s end to end in {under} of {len(ok)} rounds")
print()
phases = {}
for r in ok:
    o = runs[("numpy", r)]["output"]
    if o and "seconds" in o:
        for k, v in o["seconds"].items():
            phases.setdefault(k, []).append(v)
if phases:
    print("numpy_audit.py in-process phases (median s): " + ", ".join(f"{k} {med(v):.3f}" for k, v in phases.items()))
