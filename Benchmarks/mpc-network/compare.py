"""Networked MPC, side by side with CrypTen (issue #22, item 5), in one invocation.

Two network namespaces joined by a veth pair (made here, removed at the end; needs root and
iproute2), one party in each. At each added round-trip latency (0, 1 and 10 ms by default: `tc
netem` delays each end's egress by half of it) and for each workload (100×100 matmul, ReLU on
10k values, logistic-regression training), it runs, alternating:

- ours: two `privacy-lab mpc run SPEC --party ID` processes over mutual TLS 1.3, with
  `insecure-shared-seed` correlations (each party derives its correlations locally, as CrypTen's
  trusted-first-party provider does), and again with a dealer process (`--dealer`, in alice's
  namespace) serving them over TLS;
- CrypTen 0.4.1: two processes over TCP (gloo), `crypten_party.py`.

Both sides time the same scope: share each party's input, the operation, reveal to party 0. Ours
is the job time each party prints (after the TLS connections are up; the slower party's);
CrypTen's is party 0's. Each side runs two process pairs per figure, each pair running the workload
`--repetitions` times over its connections (a barrier before each run); a figure is the median
over the warm runs (the first run of each pair, cold, is dropped on both sides). Ours also runs
logistic regression with `sigmoid: exp` (the exp route), for its rounds and bytes. The predicted time at
latency L is the cost model's: the 0 ms time plus one one-way delay (L/2) per counted round —
the rounds being those `SecretSharing.CostModel`'s formulas give (the tests check the channels'
counts against them), or CrypTen's communicator's count. Everything in the written table comes
from this run.

Usage (as root): python3 compare.py --privacy-lab .build/release/privacy-lab \\
    --crypten-python /work/venv-crypten/bin/python [--repetitions 4] [--out Benchmarks/mpc-network.md]
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

NS = ["plbench-a", "plbench-b"]
ENDS = ["plbencha", "plbenchb"]
ADDR = ["10.78.0.1", "10.78.0.2"]
LINE = re.compile(r"party (\w+): (\d+) rounds, (\d+) bytes sent, (\d+) offline bytes, ([0-9.]+) s")


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


class Link:
    """The two namespaces and the link between them at one added round-trip time: a veth pair
    with `tc netem` on both ends when the kernel has sch_netem, otherwise the user-space delay
    link (`delay_link.py`, TUN devices); `None` = a plain veth pair, no delay, no relay."""

    def __init__(self, rtt_ms):
        self.relay = None
        for n in NS:
            sh("ip", "netns", "del", n, check=False)
        sh("ip", "netns", "add", NS[0])
        sh("ip", "netns", "add", NS[1])
        if rtt_ms is None or NETEM:
            sh("ip", "link", "add", ENDS[0], "type", "veth", "peer", "name", ENDS[1])
            for i in (0, 1):
                sh("ip", "link", "set", ENDS[i], "netns", NS[i])
                sh("ip", "-n", NS[i], "addr", "add", ADDR[i] + "/24", "dev", ENDS[i])
                sh("ip", "-n", NS[i], "link", "set", ENDS[i], "up")
                sh("ip", "-n", NS[i], "link", "set", "lo", "up")
                if rtt_ms:
                    sh("ip", "netns", "exec", NS[i], "tc", "qdisc", "add", "dev", ENDS[i], "root", "netem",
                       "delay", f"{rtt_ms / 2}ms")
            self.kind = "veth" if not rtt_ms else "veth + tc netem"
            self.interfaces = ENDS
        else:
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delay_link.py")
            # Real-time scheduling: on a loaded machine a sleeping relay otherwise wakes
            # milliseconds late, and the delay would be the load, not the setting.
            self.relay = subprocess.Popen(["chrt", "-f", "50", sys.executable, script, NS[0], ADDR[0], NS[1], ADDR[1], str(rtt_ms / 2)],
                                          stdout=subprocess.PIPE, text=True)
            if self.relay.stdout.readline().strip() != "ready":
                raise RuntimeError("the delay link did not start")
            self.kind = "TUN delay link"
            self.interfaces = ["pltun" + NS[0][-1], "pltun" + NS[1][-1]]
        ping = sh("ip", "netns", "exec", NS[0], "ping", "-c", "5", "-i", "0.2", "-q", ADDR[1], check=False).stdout
        m = re.search(r"= [0-9.]+/([0-9.]+)/", ping)
        self.ping_ms = float(m.group(1)) if m else float("nan")

    def close(self):
        if self.relay is not None:
            self.relay.terminate()
            self.relay.wait()
        for n in NS:
            sh("ip", "netns", "del", n, check=False)


def netem_available():
    probe = "plbench-probe"
    sh("ip", "netns", "add", probe, check=False)
    r = sh("ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", check=False)
    sh("ip", "netns", "del", probe, check=False)
    return r.returncode == 0


NETEM = False
WORKLOADS = ("matmul", "relu", "lr", "lr-exp")


def write_csv(path, columns, rows):
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for r in rows:
            f.write(",".join(repr(float(v)) for v in r) + "\n")


def make_data(folder, lr_rows, lr_features):
    """Seeded inputs; float32-representable values so both sides read the same numbers."""
    g = random.Random(22)

    def f32(v):
        import struct
        return struct.unpack("f", struct.pack("f", v))[0]

    def matrix(rows, cols, lo, hi):
        return [[f32(g.uniform(lo, hi)) for _ in range(cols)] for _ in range(rows)]

    write_csv(f"{folder}/matmul-alice.csv", [f"a{j}" for j in range(100)], matrix(100, 100, -1, 1))
    write_csv(f"{folder}/matmul-bob.csv", [f"b{j}" for j in range(100)], matrix(100, 100, -1, 1))
    for p in ("alice", "bob"):
        write_csv(f"{folder}/relu-{p}.csv", [f"c{j}" for j in range(100)], matrix(50, 100, -10, 10))
    # Logistic regression: a noisy linear rule over standard-normal-ish features.
    direction = [g.gauss(0, 1) for _ in range(lr_features)]
    rows = []
    for _ in range(lr_rows):
        x = [f32(g.gauss(0, 1)) for _ in range(lr_features)]
        s = sum(a * b for a, b in zip(x, direction)) + g.gauss(0, 1.5)
        rows.append(x + [1.0 if s > 0 else 0.0])
    cols = [f"x{j}" for j in range(lr_features)] + ["label"]
    half = lr_rows // 2
    write_csv(f"{folder}/lr-alice.csv", cols, rows[:half])
    write_csv(f"{folder}/lr-bob.csv", cols, rows[half:])


def spec_text(workload, dealer, epochs, port):
    task = {
        "matmul": "{kind: matmul}",
        "relu": "{kind: relu, split: rows}",
        "lr": f"{{kind: logistic-regression, split: rows, label: label, epochs: {epochs}, batch-size: 50, learning-rate: 0.5}}",
        "lr-exp": f"{{kind: logistic-regression, split: rows, label: label, epochs: {epochs}, batch-size: 50, learning-rate: 0.5, sigmoid: exp}}",
    }[workload]
    data = "lr" if workload.startswith("lr") else workload
    if dealer:
        corr = ("correlations: {source: dealer, dealer: {id: dealer, address: \"%s:%d\", "
                "certificate: certs/dealer.pem, key: certs/dealer-key.pem}}" % (ADDR[0], port + 2))
    else:
        corr = "correlations: {source: insecure-shared-seed, seed: 22}"
    return (f"version: 1\nca: certs/ca.pem\nparties:\n"
            f"  - {{id: alice, address: \"{ADDR[0]}:{port}\", certificate: certs/alice.pem, key: certs/alice-key.pem, input: {data}-alice.csv}}\n"
            f"  - {{id: bob, address: \"{ADDR[1]}:{port + 1}\", certificate: certs/bob.pem, key: certs/bob-key.pem, input: {data}-bob.csv}}\n"
            f"task: {task}\noutput: [alice]\n{corr}\n"
            f"limits: {{connect-timeout: 30, receive-timeout: 120}}\n")


def run_ours(binary, folder, workload, dealer, epochs, port, repetitions):
    spec = f"{folder}/spec-{workload}-{'dealer' if dealer else 'seed'}.yaml"
    with open(spec, "w") as f:
        f.write(spec_text(workload, dealer, epochs, port))
    procs = []
    if dealer:
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS[0], binary, "mpc", "run", spec, "--dealer"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for i, party in enumerate(("alice", "bob")):
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS[i], binary, "mpc", "run", spec, "--party", party,
                                       "--output", f"{folder}/out-{party}.csv", "--repetitions", str(repetitions)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    reports = {}
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"mpc run failed: {err}")
        for m in LINE.finditer(err):
            reports.setdefault(m.group(1), []).append(
                {"rounds": int(m.group(2)), "bytes": int(m.group(3)), "seconds": float(m.group(5))})
    # One entry per repetition after the first (cold: lazy initialisation, first page faults),
    # which is dropped as on CrypTen's side: the slower party's time; party 0's rounds and bytes.
    return [{"seconds": max(a["seconds"], b["seconds"]), "rounds": a["rounds"], "bytes": a["bytes"]}
            for a, b in zip(reports["alice"], reports["bob"])][1:]


def run_crypten(python, folder, repetitions, epochs, port, interfaces):
    out = f"{folder}/crypten.json"
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crypten_party.py")
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, MASTER_ADDR=ADDR[0], MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
                   RENDEZVOUS="env://", DISTRIBUTED_BACKEND="gloo", OMP_NUM_THREADS="1",
                   GLOO_SOCKET_IFNAME=interfaces[rank])
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS[rank], python, script, folder, out,
                                       str(repetitions), str(epochs)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    failures = []
    for p in procs:
        _, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            failures.append(err[-2000:])
    if failures:
        raise RuntimeError("CrypTen party failed: " + " / ".join(failures))
    with open(out) as f:
        return json.load(f)


def run_crypten_retrying(*args):
    """CrypTen's start-up over gloo fails now and then on a loaded machine; one retry, logged."""
    try:
        return run_crypten(*args)
    except RuntimeError as error:
        print(f"retrying CrypTen after: {str(error)[:300]}", file=sys.stderr)
        return run_crypten(*args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--privacy-lab", default=".build/release/privacy-lab")
    parser.add_argument("--crypten-python", default="/work/venv-crypten/bin/python")
    parser.add_argument("--repetitions", type=int, default=6,
                        help="runs of each workload in each process pair (the first, cold one is not counted)")
    parser.add_argument("--latencies", default="veth,0,1,10",
                        help="added round-trip times in ms; 'veth' = a plain veth pair (no delay, no relay)")
    parser.add_argument("--lr-rows", type=int, default=500)
    parser.add_argument("--lr-features", type=int, default=30)
    parser.add_argument("--lr-epochs", type=int, default=1)
    parser.add_argument("--out", default="Benchmarks/mpc-network.md")
    args = parser.parse_args()
    binary = os.path.abspath(args.privacy_lab)
    latencies = [None if v == "veth" else float(v) for v in args.latencies.split(",")]
    global NETEM
    NETEM = netem_available()
    folder = tempfile.mkdtemp(prefix="mpcnet-bench-")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_start = os.getloadavg()
    make_data(folder, args.lr_rows, args.lr_features)
    sh(binary, "mpc", "certs", "--names", "alice,bob", "--with-dealer", "--out", f"{folder}/certs")
    results = {}
    port = 7300
    for rtt in latencies:
        link = Link(rtt)
        try:
            load_before = os.getloadavg()[0]
            ours = {(w, d): [] for w in WORKLOADS for d in (False, True)}
            crypten_runs = []
            # Both sides: two process pairs per figure, each running the workload `per_pair` times
            # (warm after the first; a barrier before each), alternating ours and CrypTen.
            per_pair = args.repetitions
            for _ in range(2):
                for w in WORKLOADS:
                    for d in (False, True):
                        if w == "lr-exp" and d:
                            continue  # the exp sigmoid is shown for its rounds and bytes, with seed correlations
                        port += 3
                        ours[(w, d)] += run_ours(binary, folder, w, d, args.lr_epochs, port, per_pair)
                port += 3
                crypten_runs.append(run_crypten_retrying(args.crypten_python, folder, per_pair,
                                                         args.lr_epochs, port, link.interfaces))
            results[rtt] = {"ping_ms": link.ping_ms, "link": link.kind, "ours": ours, "crypten": crypten_runs,
                            "load": (load_before, os.getloadavg()[0])}
            print(f"latency {rtt} ms done over {link.kind} (ping {link.ping_ms} ms)", file=sys.stderr)
        finally:
            link.close()
    load_end = os.getloadavg()
    write_report(args, results, started, load_start, load_end, folder)
    shutil.rmtree(folder, ignore_errors=True)


def med(values):
    return statistics.median(values)


def write_report(args, results, started, load_start, load_end, folder):
    names = {"matmul": "matmul 100×100", "relu": "ReLU, 10k values",
             "lr": f"LR training, {args.lr_rows}×{args.lr_features}, {args.lr_epochs} epoch(s), batch 50",
             "lr-exp": "the same, `sigmoid: exp` (ours only)"}
    lines = []
    add = lines.append
    add("# Networked MPC against CrypTen: two processes, two network namespaces")
    add("")
    add(f"Written by `Benchmarks/mpc-network/compare.py` on {started}; every number below comes from that run "
        f"(each side: two process pairs per figure, each running the workload {args.repetitions} times "
        f"after a barrier, ours with `mpc run --repetitions`; medians over the warm runs: the first, cold one of each "
        f"pair is dropped on both sides). Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f} at the start, "
        f"{load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} at the end (other jobs shared the machine). "
        "OpenBLAS is used by neither side here (our ring kernels are integer C code; CrypTen's are PyTorch's own).")
    add("")
    add("Ours: two `privacy-lab mpc run` processes over mutual TLS 1.3, one per namespace; *seed* = "
        "`insecure-shared-seed` correlations (derived locally by each party, like CrypTen's trusted first party), "
        "*dealer* = a `--dealer` process in alice's namespace serving both over TLS. CrypTen 0.4.1: two processes "
        "over TCP (gloo). Scope on both sides: share the inputs, run the operation, reveal to party 0; connection "
        "set-up excluded. Rounds and bytes sent are party 0's. *Predicted* = the time at 0 ms over the same kind "
        "of link + rounds × the added one-way delay (RTT/2).")
    add("")
    kinds = sorted({r["link"] for r in results.values()})
    add("Links: " + "; ".join(kinds) + (". This kernel has no `sch_netem`, so added latency comes from "
        "`delay_link.py` (TUN devices and a user-space relay delaying each packet), whose own cost is in its rows, "
        "0 ms included; the plain veth rows have no relay." if "TUN delay link" in kinds else "."))
    add("")
    add("*Load* is the 1-minute load average when the link's block started and ended: above 2, other "
        "processes competed for the 2 cores and every time in that block is inflated by waiting for a core.")
    add("")
    add("| link, added RTT (ping) | load | workload | ours seed (ms) | predicted | rounds | bytes | ours dealer (ms) "
        "| CrypTen (ms) | predicted | rounds | bytes | CrypTen ÷ ours (seed) |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    zero = results.get(0.0)
    summary = {}

    def ours_s(r, w, d=False):
        return med([x["seconds"] for x in r["ours"][(w, d)]])

    def cr_s(r, w):
        return med([v for c in r["crypten"] for v in c[w]["all_seconds"][1:]])

    for rtt, r in results.items():
        label = f"veth, none ({r['ping_ms']:.3f})" if rtt is None else f"{r['link']}, {rtt:g} ms ({r['ping_ms']:.2f})"
        load = f"{r['load'][0]:.1f}–{r['load'][1]:.1f}"
        for w in WORKLOADS:
            seed = r["ours"][(w, False)]
            if w == "lr-exp":
                rounds, nbytes = seed[0]["rounds"], seed[0]["bytes"]
                pred = f"{1000 * (ours_s(zero, w) + rounds * rtt / 2000):.2f}" if zero is not None and rtt is not None else "–"
                add(f"| {label} | {load} | {names[w]} | {1000 * ours_s(r, w):.2f} | {pred} | {rounds} | {nbytes} | – | – | – | – | – | – |")
                continue
            cr = r["crypten"][0][w]
            rounds, nbytes = seed[0]["rounds"], seed[0]["bytes"]
            if zero is not None and rtt is not None:
                pred = f"{1000 * (ours_s(zero, w) + rounds * rtt / 2000):.2f}"
                pred_cr = f"{1000 * (cr_s(zero, w) + cr['rounds'] * rtt / 2000):.1f}"
            else:
                pred = pred_cr = "–"
            ratio = cr_s(r, w) / ours_s(r, w)
            summary[(rtt, w)] = ratio
            add(f"| {label} | {load} | {names[w]} | {1000 * ours_s(r, w):.2f} | {pred} | {rounds} | {nbytes} | "
                f"{1000 * ours_s(r, w, True):.2f} | {1000 * cr_s(r, w):.1f} | {pred_cr} | {int(cr['rounds'])} | "
                f"{int(cr['bytes'])} | {ratio:.1f}× |")
    add("")
    base_key = None if None in results else (0.0 if 0.0 in results else None)
    if base_key in results:
        base = results[base_key]
        plain = med([c["plaintext_lr_seconds"] for c in base["crypten"]])
        lr_ours, lr_dealer, lr_cr = ours_s(base, "lr"), ours_s(base, "lr", True), cr_s(base, "lr")
        where = "over the plain veth pair" if base_key is None else "at 0 ms over the delay link"
        add(f"Plaintext PyTorch (float32, one thread) runs the same training in {1000 * plain:.3f} ms. {where.capitalize()}, "
            f"ours takes {lr_ours / plain:.0f}× that with seed correlations, {lr_dealer / plain:.0f}× with the dealer "
            f"process; CrypTen {lr_cr / plain:.0f}×.")
        add("")
        add(f"Against issue #22's targets ({where}): matmul {summary[(base_key, 'matmul')]:.1f}× faster than CrypTen "
            f"(target ≥ 10×), ReLU {summary[(base_key, 'relu')]:.1f}× (target ≥ 10×), LR training "
            f"{lr_ours / plain:.0f}× plaintext (target ≤ 20×).")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
