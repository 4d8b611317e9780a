#!/usr/bin/env python3
"""Summarises Benchmarks/evasion/run.sh results as Markdown (medians over rounds)."""
import argparse
import glob
import json
import os
import statistics


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="")
    parser.add_argument("out_dir")
    args = parser.parse_args()
    rows = {}
    for path in sorted(glob.glob(os.path.join(args.out_dir, "*__*__r*.json"))):
        config, tool, _ = os.path.basename(path)[:-5].split("__")
        try:
            with open(path) as f:
                result = json.load(f)
        except (OSError, ValueError):
            continue
        with open(path[:-5] + ".load") as f:
            result["load"] = [float(v) for v in f.read().split()]
        rows.setdefault(config, {}).setdefault(tool, []).append(result)
    print("| BLAS config | tool | core / version | threads | clean acc | FGSM adv acc | PGD adv acc | PGD robust acc | PGD wall s (median) | PGD CPU s (median) | FGSM wall s | rounds | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for config in ("preset", "unset"):
        for tool in ("ours", "art"):
            results = rows.get(config, {}).get(tool, [])
            if not results:
                continue
            r0 = results[0]
            pgd = statistics.median(r["pgd_seconds"] for r in results)
            pgd_cpu = statistics.median(r["pgd_cpu_seconds"] for r in results)
            fgsm = statistics.median(r.get("fgsm_seconds", float("nan")) for r in results)
            ident = r0.get("openblas_core", "") if tool == "ours" else "ART %s, torch %s" % (r0.get("art_version"), r0.get("torch"))
            loads = [l for r in results for l in r["load"]]
            print("| %s | %s | %s | %s | %.4f | %.4f | %.4f | %.4f | %.2f | %.2f | %.2f | %d | %.1f–%.1f |" % (
                config, "PrivacyLab" if tool == "ours" else "ART", ident, r0.get("threads"), r0["clean_accuracy"],
                r0.get("fgsm_adversarial_accuracy", float("nan")), r0["pgd_adversarial_accuracy"], r0["pgd_robust_accuracy"],
                pgd, pgd_cpu, fgsm, len(results), min(loads), max(loads)))
            ratios.setdefault(config, {})[tool] = (pgd, pgd_cpu, r0)
    print()
    for config, tools in ratios.items():
        if "ours" in tools and "art" in tools:
            (ours, ours_cpu, a), (art, art_cpu, b) = tools["ours"], tools["art"]
            agree = sum(x == y for x, y in zip(a["pgd_adversarial_correct"], b["pgd_adversarial_correct"])) / max(1, len(a["pgd_adversarial_correct"]))
            print("- %s: PGD speed ratio ART/ours = %.2f× wall, %.2f× CPU time (target ≥ 2×); |Δ PGD adv acc| = %.2f points, |Δ FGSM adv acc| = %.2f points; "
                  "per-example agreement after PGD %.1f%%" % (
                      config, art / ours, art_cpu / ours_cpu, 100 * abs(a["pgd_adversarial_accuracy"] - b["pgd_adversarial_accuracy"]),
                      100 * abs(a.get("fgsm_adversarial_accuracy", 0) - b.get("fgsm_adversarial_accuracy", 0)), 100 * agree))
    if args.preset:
        print("- preset = %s" % args.preset)


if __name__ == "__main__":
    main()
