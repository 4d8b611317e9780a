#!/usr/bin/env python3
"""Markdown summary of a Benchmarks/federated/run.sh output folder (standard library only)."""
import glob
import json
import os
import statistics
import sys


def load(folder, pattern):
    out = []
    for path in sorted(glob.glob(os.path.join(folder, pattern + ".json"))):
        with open(path) as f:
            text = f.read().strip().splitlines()
        if text:
            result = json.loads(text[-1])
            load_path = path[:-5] + ".load"
            result["_load"] = open(load_path).read().split() if os.path.exists(load_path) else []
            out.append(result)
    return out


def accuracies(runs):
    return ", ".join("%.4f" % r["final_accuracy"] for r in runs)


def loads(runs):
    return "; ".join("→".join(r["_load"]) for r in runs)


def med(values):
    return statistics.median(values) if values else float("nan")


def main(folder):
    preset, unset, flower = load(folder, "ours-preset-r*"), load(folder, "ours-unset-r*"), load(folder, "flower-r*")
    print("## Federated benchmark: FedAvg, 100 MNIST clients (Dirichlet 0.5), 10 per round, 50 rounds\n")
    print("| run | OpenBLAS core | seconds (median) | final accuracy | peak memory (MB) | load before→after |")
    print("|---|---|---|---|---|---|")
    for name, runs in (("PrivacyLab, preset BLAS env", preset), ("PrivacyLab, BLAS env unset", unset)):
        if runs:
            print(f"| {name} | {runs[0].get('openblas_core')} | {med([r['seconds'] for r in runs]):.2f} | "
                  f"{accuracies(runs)} | {med([r['peak_rss_mb'] for r in runs]):.0f} (RSS) | {loads(runs)} |")
    if flower:
        print(f"| Flower {flower[0].get('flwr')} simulation (Ray, NumPy MLP) | — | {med([r['seconds'] for r in flower]):.2f} | "
              f"{accuracies(flower)} | {med([r['peak_tree_rss_mb'] for r in flower]):.0f} (tree RSS), "
              f"{med([r['peak_tree_pss_mb'] for r in flower]):.0f} (tree PSS) | {loads(flower)} |")
    if flower and (preset or unset):
        print("\n| ratio | preset | unset | target |")
        print("|---|---|---|---|")
        fs = med([r["seconds"] for r in flower])
        frss = med([r["peak_tree_rss_mb"] for r in flower])
        fpss = med([r["peak_tree_pss_mb"] for r in flower])
        facc = med([r["final_accuracy"] for r in flower])
        cells = {}
        for name, runs in (("preset", preset), ("unset", unset)):
            if not runs:
                cells[name] = ("—",) * 4
                continue
            s = med([r["seconds"] for r in runs])
            m = med([r["peak_rss_mb"] for r in runs])
            a = med([r["final_accuracy"] for r in runs])
            cells[name] = (f"{fs / s:.1f}×", f"{m / frss:.3f} ({m / fpss:.3f} of PSS)", f"{100 * (a - facc):+.2f} points", "")
        print(f"| speed (Flower seconds / ours) | {cells['preset'][0]} | {cells['unset'][0]} | ≥ 3× |")
        print(f"| peak memory (ours / Flower tree RSS) | {cells['preset'][1]} | {cells['unset'][1]} | ≤ 0.1 |")
        print(f"| final accuracy (ours − Flower) | {cells['preset'][2]} | {cells['unset'][2]} | within ±1 point |")
    secure = {name: load(folder, f"ours-{name}") for name in ("masking", "additive", "plaintext-short", "paillier-short")}
    if any(secure.values()):
        print("\n### Secure aggregation overhead (ours, preset BLAS env)\n")
        print("| aggregation | rounds | seconds | seconds/round | overhead/round vs plaintext | final accuracy | client bytes sent/round | client secagg s/round | server secagg s/round |")
        print("|---|---|---|---|---|---|---|---|---|")
        plain50 = preset[0] if preset else None
        for name, runs in secure.items():
            for r in runs:
                base = plain50 if r["rounds"] == (plain50 or {}).get("rounds") else (secure["plaintext-short"] or [None])[0]
                per = r["seconds"] / r["rounds"]
                over = f"{per - base['seconds'] / base['rounds']:+.3f} s ({(per / (base['seconds'] / base['rounds']) - 1) * 100:+.0f}%)" if base else "—"
                print(f"| {r['aggregation']} | {r['rounds']} | {r['seconds']:.2f} | {per:.3f} | {over} | {r['final_accuracy']:.4f} | "
                      f"{r.get('secagg_client_bytes_sent_mean', 0) / 1e6:.2f} MB | {r.get('secagg_client_seconds_mean', 0):.3f} | "
                      f"{r.get('secagg_server_seconds_per_round', 0):.3f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
