"""PrivacyLab MPC vs CrypTen, side by side in one run (issue #5).

Alternates `privacy-lab mpc bench --json` and `crypten_bench.py` (CrypTen 0.4.1, two parties as
processes) `--alternations` times, takes the median of each metric, and prints the ratios the
issue asks for: 2-party 100x100 private matmul, ReLU on 10k values, and logistic-regression
training time relative to plaintext.

Usage (from the repository root, after `swift build -c release --product privacy-lab`):
    /work/venvs/torch/bin/python Benchmarks/mpc/compare.py [--binary PATH] [--json]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["multiply10k", "matmul100", "relu10k", "sigmoid10k", "exp10k", "reciprocal10k",
             "argmax1000x10", "logreg-train"]


def run_ours(binary, parties, repetitions, transport, truncation="dealer"):
    cmd = [binary, "mpc", "bench", "--json", "--parties", str(parties),
           "--repetitions", str(repetitions), "--transport", transport, "--truncation", truncation]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["trials"][0]["metrics"]


def run_crypten(parties, repetitions):
    cmd = [sys.executable, os.path.join(HERE, "crypten_bench.py"),
           "--parties", str(parties), "--repetitions", str(repetitions)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_metrics(runs):
    keys = set().union(*[r.keys() for r in runs])
    result = {}
    for k in keys:
        values = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if values:
            result[k] = statistics.median(values)
        else:
            result[k] = runs[0].get(k)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(HERE, "..", "..", ".build", "release", "privacy-lab"))
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # "local": sockets with SecureML local truncation (two parties only), CrypTen's own protocol.
    ours = {"memory": [], "socket": []}
    if args.parties == 2:
        ours["local"] = []
    theirs = []
    for _ in range(args.alternations):
        for config in ours:
            transport = "memory" if config == "memory" else "socket"
            truncation = "local" if config == "local" else "dealer"
            ours[config].append(run_ours(args.binary, args.parties, args.repetitions, transport, truncation))
        theirs.append(run_crypten(args.parties, args.repetitions))
    mem = median_metrics(ours["memory"])
    sock = median_metrics(ours["socket"])
    local = median_metrics(ours["local"]) if "local" in ours else None
    cr = median_metrics(theirs)

    metrics = {}
    rows = []
    for w in WORKLOADS:
        o_mem, o_sock, c = mem[f"{w}.seconds"], sock[f"{w}.seconds"], cr[f"{w}.seconds"]
        metrics[f"{w}.seconds"] = o_sock
        metrics[f"{w}.seconds_in_memory"] = o_mem
        metrics[f"{w}.online_seconds"] = sock[f"{w}.online_seconds"]
        metrics[f"{w}.online_speedup_vs_crypten"] = c / sock[f"{w}.online_seconds"]
        metrics[f"crypten.{w}.seconds"] = c
        metrics[f"{w}.speedup_vs_crypten"] = c / o_sock
        metrics[f"{w}.rounds"] = mem[f"{w}.rounds"]
        metrics[f"crypten.{w}.rounds"] = cr[f"{w}.rounds"]
        metrics[f"{w}.bytes_per_party"] = mem[f"{w}.bytes"] / args.parties
        metrics[f"crypten.{w}.bytes_per_party"] = cr[f"{w}.bytes_party0"]
        metrics[f"{w}.max_error"] = mem[f"{w}.max_error"]
        if local is not None:
            metrics[f"{w}.seconds_local_truncation"] = local[f"{w}.seconds"]
            metrics[f"{w}.online_seconds_local_truncation"] = local[f"{w}.online_seconds"]
            metrics[f"{w}.speedup_vs_crypten_local_truncation"] = c / local[f"{w}.seconds"]
            metrics[f"{w}.rounds_local_truncation"] = local[f"{w}.rounds"]
            metrics[f"{w}.max_error_local_truncation"] = local[f"{w}.max_error"]
        metrics[f"crypten.{w}.max_error"] = cr[f"{w}.max_error"]
        rows.append((w, o_sock, o_mem, c, c / o_sock, sock[f"{w}.online_seconds"], mem[f"{w}.rounds"], cr[f"{w}.rounds"],
                     mem[f"{w}.bytes"] / args.parties, cr[f"{w}.bytes_party0"],
                     mem[f"{w}.max_error"], cr[f"{w}.max_error"]))
    torch_plain = cr["logreg-train.plaintext_seconds"]
    swift_plain = mem["logreg-train.plaintext_seconds"]
    metrics["logreg-train.pytorch_plaintext_seconds"] = torch_plain
    metrics["logreg-train.swift_plaintext_seconds"] = swift_plain
    metrics["logreg-train.ratio_to_pytorch_plaintext"] = sock["logreg-train.seconds"] / torch_plain
    metrics["logreg-train.in_memory_ratio_to_pytorch_plaintext"] = mem["logreg-train.seconds"] / torch_plain
    metrics["logreg-train.ratio_to_swift_plaintext"] = sock["logreg-train.seconds"] / swift_plain
    metrics["crypten.logreg-train.ratio_to_pytorch_plaintext"] = cr["logreg-train.seconds"] / torch_plain
    if local is not None:
        metrics["logreg-train.local_truncation_ratio_to_pytorch_plaintext"] = local["logreg-train.seconds"] / torch_plain

    if args.json:
        print(json.dumps({
            "run": "bench-mpc-vs-crypten", "name": "mpc-vs-crypten", "kind": "benchmark", "seed": 0,
            "trials": [{"params": {"parties": args.parties, "repetitions": args.repetitions,
                                   "alternations": args.alternations,
                                   "crypten": cr.get("crypten.version"), "torch": cr.get("torch.version"),
                                   "machine": platform.processor() or platform.machine()},
                        "metrics": metrics}]}, sort_keys=True))
        return
    print(f"{args.parties} parties, median of {args.alternations} alternations x {args.repetitions} repetitions")
    print(f"{'workload':15} {'ours s(sock)':>12} {'ours s(mem)':>11} {'CrypTen s':>10} {'speedup':>8} "
          f"{'online s':>9} {'rounds':>7} {'CT rnds':>7} {'bytes/party':>12} {'CT bytes':>10} {'max err':>9} {'CT err':>9}")
    for r in rows:
        print(f"{r[0]:15} {r[1]:12.6f} {r[2]:11.6f} {r[3]:10.6f} {r[4]:7.1f}x {r[5]:9.6f} {r[6]:7.0f} {r[7]:7.0f} "
              f"{r[8]:12.0f} {r[9]:10.0f} {r[10]:9.1e} {r[11]:9.1e}")
    if local is not None:
        print("with SecureML local truncation (CrypTen's protocol), sockets:")
        print(f"{'workload':15} {'ours s':>12} {'online s':>11} {'CrypTen s':>10} {'speedup':>8} {'rounds':>7} {'max err':>9}")
        for w in WORKLOADS:
            print(f"{w:15} {local[f'{w}.seconds']:12.6f} {local[f'{w}.online_seconds']:11.6f} {cr[f'{w}.seconds']:10.6f} "
                  f"{cr[f'{w}.seconds'] / local[f'{w}.seconds']:7.1f}x {local[f'{w}.rounds']:7.0f} {local[f'{w}.max_error']:9.1e}")
    print(f"logistic regression, one epoch of 500x30, batch 50: plaintext PyTorch {torch_plain * 1e3:.3f} ms, "
          f"plaintext Swift {swift_plain * 1e3:.3f} ms")
    print(f"  PrivacyLab MPC / PyTorch plaintext: {metrics['logreg-train.ratio_to_pytorch_plaintext']:.1f}x; "
          f"/ Swift plaintext: {metrics['logreg-train.ratio_to_swift_plaintext']:.0f}x; "
          f"CrypTen / PyTorch plaintext: {metrics['crypten.logreg-train.ratio_to_pytorch_plaintext']:.0f}x")
    if local is not None:
        print(f"  PrivacyLab MPC with local truncation / PyTorch plaintext: "
              f"{metrics['logreg-train.local_truncation_ratio_to_pytorch_plaintext']:.1f}x")


if __name__ == "__main__":
    main()
