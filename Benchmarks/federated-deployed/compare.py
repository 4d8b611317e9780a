#!/usr/bin/env python3
"""Deployed federated learning, PrivacyLab against Flower's deployment engine, in one run.

PrivacyLab: `privacy-lab fl server` and one `privacy-lab fl client` process per client over
mutual TLS 1.3, first with plaintext FedAvg, then with pairwise-masking secure aggregation.
Flower 1.42: `flower-superlink`, one `flower-supernode` per client (each launching its ClientApp
processes), and `flwr run` of the app in flower_app/ (FedAvg of a NumPy MLP).

The workload (both sides): MNIST, N clients with Dirichlet(alpha = 0.5) label skew, every client
in every round, MLP 784-128-10 (ReLU), one local epoch of plain SGD (batch 32, lr 0.05), the
global model evaluated by the server on the 10,000 test images after every round.

End to end: from starting the first process of a side to the server's end (ours: the server
process exits with its outcome; Flower: `flwr run --stream` returns after the last round).
Memory: a sampler reads /proc every 0.1 s for every process below this script; per side it
reports the peak of the summed RSS of the side's live processes, and the sum over processes of
each one's peak RSS (VmHWM; for our processes exactly, from wait4's ru_maxrss). Bytes a client
sends: ours from the server's secure-aggregation cost (`secagg_client_bytes_sent`) and, for
both sides, the bytes written by the client's processes (/proc/PID/io wchar, last sample: TLS
or gRPC frames, plus logs).

    python3 Benchmarks/federated-deployed/compare.py [--rounds 20] [--flower-rounds 20] [--clients 10]

Writes results.md beside this script (or --out). Needs PRIVACY_LAB_DATA, a release build of
privacy-lab (--binary) and Flower in --flower-venv (default /work/venv-flower).
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# MARK: - Process-tree sampling

def read_proc(pid):
    """(ppid, name, rss kB, hwm kB, wchar bytes) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    wchar = 0
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    wchar = int(line.split()[1])
    except OSError:
        pass
    kb = lambda k: int(fields.get(k, "0 kB").split()[0])
    return int(fields.get("PPid", "0")), fields.get("Name", "?"), kb("VmRSS"), kb("VmHWM"), wchar


class TreeSampler(threading.Thread):
    """Every 0.1 s: each process below this one, its RSS, peak RSS and bytes written."""

    def __init__(self, interval=0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.peak_sum_rss = 0
            self.processes = {}   # pid -> {"name", "hwm", "wchar", "cmd"}
            self.max_live = 0

    def sample(self):
        me = os.getpid()
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                info = read_proc(int(entry))
                if info:
                    parents[int(entry)] = info
        below, frontier = set(), [me]
        while frontier:
            p = frontier.pop()
            for pid, info in parents.items():
                if info[0] == p and pid not in below:
                    below.add(pid)
                    frontier.append(pid)
        total = 0
        with self.lock:
            for pid in below:
                _, name, rss, hwm, wchar = parents[pid]
                total += rss
                rec = self.processes.setdefault(pid, {"name": name, "hwm": 0, "wchar": 0, "cmd": cmdline(pid)})
                rec["hwm"] = max(rec["hwm"], hwm)
                rec["wchar"] = max(rec["wchar"], wchar)
            self.peak_sum_rss = max(self.peak_sum_rss, total)
            self.max_live = max(self.max_live, len(below))

    def run(self):
        while not self.stopping.is_set():
            self.sample()
            time.sleep(self.interval)

    def snapshot(self):
        with self.lock:
            return self.peak_sum_rss, dict(self.processes), self.max_live


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def wait_rusage(proc, timeout):
    """Waits for a direct child; returns (exit status, ru_maxrss kB) or (None, None) on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss
        time.sleep(0.05)
    return None, None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# MARK: - PrivacyLab

SPEC = """version: 1
name: fl-deployed-bench
kind: federated
seed: 7
data: {{dataset: mnist}}
model: {{architecture: mlp, hidden: [128]}}
federation: {{clients: {clients}, clients_per_round: {clients}, rounds: {rounds}, partition: dirichlet, alpha: 0.5}}
local: {{epochs: 1, batch_size: 32, learning_rate: 0.05}}
{secure}
deployment:
  ca: certs/ca.pem
  server: {{address: "127.0.0.1:{port}", certificate: certs/server.pem, key: certs/server-key.pem}}
  clients: {{certificates: certs}}
  limits: {{connect_timeout: 120, receive_timeout: 1200, idle_timeout: 1200, max_frame_bytes: 67108864}}
"""


def run_ours(binary, work, clients, rounds, secure, sampler, log):
    spec = os.path.join(work, f"fl-{'masking' if secure else 'plain'}.yaml")
    with open(spec, "w") as f:
        f.write(SPEC.format(clients=clients, rounds=rounds, port=free_port(),
                            secure="secure_aggregation: {protocol: masking}" if secure else ""))
    sampler.reset()
    start = time.perf_counter()
    errors = open(os.path.join(work, f"server-{'masking' if secure else 'plain'}.log"), "w")
    server = subprocess.Popen([binary, "fl", "server", spec, "--json"], cwd=work, stdout=subprocess.PIPE, stderr=errors)
    nodes = [subprocess.Popen([binary, "fl", "client", spec, "--client", str(k)], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=errors) for k in range(clients)]
    output = server.stdout.read()
    status, server_rss = wait_rusage(server, 3600)
    elapsed = time.perf_counter() - start
    client_rss = []
    for node in nodes:
        s, rss = wait_rusage(node, 60)
        if s != 0:
            raise SystemExit(f"privacy-lab client exited with {s}; see {errors.name}")
        client_rss.append(rss)
    time.sleep(0.2)
    peak, procs, live = sampler.snapshot()
    if status != 0:
        raise SystemExit(f"privacy-lab server exited with {status}; see {errors.name}")
    outcome = json.loads(output)
    client_wchar = [p["wchar"] for p in procs.values() if " fl client " in p["cmd"]]
    result = {
        "seconds": elapsed, "final_accuracy": outcome["final_accuracy"], "parameters_sha256": outcome["parameters_sha256"],
        "server_peak_kb": server_rss, "client_peak_kb": client_rss, "sum_peak_kb": server_rss + sum(client_rss),
        "peak_sum_rss_kb": peak, "processes": live, "client_wchar": client_wchar,
        "secagg_client_bytes": [r.get("secagg_client_bytes_sent") for r in outcome["rounds"]],
        "secagg_server_seconds": [r.get("secagg_server_seconds") for r in outcome["rounds"]],
    }
    log(f"ours ({'masking' if secure else 'plain'}): {elapsed:.1f} s, accuracy {outcome['final_accuracy']:.4f}, "
        f"sum of peak RSS {result['sum_peak_kb'] / 1024:.0f} MB")
    return result


# MARK: - Flower

def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_flower(venv, work, clients, rounds, sampler, log):
    home = os.path.join(work, "flwr-home")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write('[superlink]\ndefault = "local-deploy"\n\n[superlink.local-deploy]\naddress = "127.0.0.1:8000"\ninsecure = true\n')
    app = os.path.join(work, "flower_app")
    shutil.copytree(os.path.join(HERE, "flower_app"), app, dirs_exist_ok=True)
    stamps = os.path.join(work, "flower-rounds.json")
    env = dict(os.environ, FLWR_HOME=home, FL_BENCH_PEERS=os.path.join(ROOT, "Benchmarks", "peers"), FL_BENCH_OUT=stamps,
               FL_BENCH_NODES=str(clients), PATH=os.path.join(venv, "bin") + os.pathsep + os.environ["PATH"],
               PYTHONPATH=app)
    bin_ = lambda name: os.path.join(venv, "bin", name)
    logs = open(os.path.join(work, "flower.log"), "w")
    sampler.reset()
    start = time.perf_counter()
    superlink = subprocess.Popen([bin_("flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port", "8000",
                                  "--disable-runtime-dependency-installation",
                                  "--database", os.path.join(work, "superlink.db")], cwd=work, env=env, stdout=logs, stderr=logs)
    started = [superlink]
    try:
        wait_port(8000)   # Flower 1.42 serves its Runtime, Control and Fleet APIs on one HTTP port
        for k in range(clients):
            started.append(subprocess.Popen(
                [bin_("flower-supernode"), "--insecure", "--superlink", "127.0.0.1:8000", "--port", str(9200 + k),
                 "--node-config", f"partition-id={k} num-partitions={clients}"], cwd=work, env=env, stdout=logs, stderr=logs))
        run = subprocess.run([bin_("flwr"), "run", app, "local-deploy", "--stream", "--run-config", f"num-server-rounds={rounds}"],
                             cwd=work, env=env, stdout=logs, stderr=logs, timeout=6 * 3600)
        elapsed = time.perf_counter() - start
        if run.returncode != 0 or not os.path.exists(stamps):
            raise SystemExit(f"flwr run failed ({run.returncode}); see {logs.name}")
        with open(stamps) as f:
            evaluations = json.load(f)
        time.sleep(0.2)
        peak, procs, live = sampler.snapshot()
    finally:
        stop(started[::-1])
    rounds_done = [e for e in evaluations if e["round"] >= 1]
    per_round = None
    if len(rounds_done) >= 2:
        per_round = (rounds_done[-1]["time"] - rounds_done[0]["time"]) / (len(rounds_done) - 1)
    node_wchar = []
    for k in range(clients):
        port = f"--port {9200 + k}"
        node_wchar.append(sum(p["wchar"] for p in procs.values() if port in p["cmd"]))
    result = {
        "seconds": elapsed, "final_accuracy": rounds_done[-1]["accuracy"] if rounds_done else None, "rounds": len(rounds_done),
        "seconds_per_round": per_round, "peak_sum_rss_kb": peak, "sum_peak_kb": sum(p["hwm"] for p in procs.values()),
        "processes_seen": len(procs), "processes": live, "node_wchar": node_wchar,
    }
    log(f"flower: {elapsed:.1f} s for {len(rounds_done)} rounds, accuracy {result['final_accuracy']}, "
        f"peak summed RSS {peak / 1024:.0f} MB over {len(procs)} processes")
    return result


# MARK: - Report

def openblas_core(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except OSError:
        return "?"


def mb(kb):
    return f"{kb / 1024:,.0f}"


def report(args, ours, masked, flower, loads, version, baseline=None):
    rounds = args.rounds
    lines = [
        "# Deployed federated learning: PrivacyLab vs Flower's deployment engine",
        "",
        f"Written by `compare.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({platform.node()}, "
        f"{os.cpu_count()} cores), privacy-lab `{version}`. Load average (1, 5, 15 min): "
        f"{loads[0]} at start, {loads[1]} at the end.",
        "",
        f"Workload: MNIST, {args.clients} clients (Dirichlet alpha = 0.5), all in every round, MLP 784-128-10, one local "
        "epoch of SGD (batch 32, lr 0.05), server-side evaluation on the 10,000 test images after every round. "
        "Every process on 127.0.0.1 of this machine.",
        "",
        "| side | rounds | end to end (s) | s per round | final accuracy | processes | peak of summed RSS (MB) | sum of per-process peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r, n in (("PrivacyLab, plaintext FedAvg", ours, rounds), ("PrivacyLab, masking secure aggregation", masked, rounds)):
        if r:
            lines.append(f"| {name} | {n} | {r['seconds']:.1f} | {r['seconds'] / n:.2f} | {r['final_accuracy']:.4f} | "
                         f"{1 + args.clients} | {mb(r['peak_sum_rss_kb'])} | {mb(r['sum_peak_kb'])} |")
    if flower:
        lines.append(f"| Flower 1.42 deployment, FedAvg | {flower['rounds']} | {flower['seconds']:.1f} | "
                     f"{flower['seconds_per_round']:.2f} | {flower['final_accuracy']:.4f} | {flower['processes']} live, "
                     f"{flower['processes_seen']} over the run | {mb(flower['peak_sum_rss_kb'])} | {mb(flower['sum_peak_kb'])} |")
    lines.append("")
    if ours and flower:
        fr = flower["rounds"]
        scaled = flower["seconds"] if fr == rounds else (flower["seconds"] - fr * flower["seconds_per_round"]) + rounds * flower["seconds_per_round"]
        note = "" if fr == rounds else (f" (Flower ran {fr} rounds; its {rounds}-round time is extrapolated as its measured start-up plus "
                                         f"{rounds} × its measured {flower['seconds_per_round']:.2f} s per round: {scaled:.1f} s)")
        lines += [
            "Ratios (Flower ÷ PrivacyLab plaintext; memory PrivacyLab ÷ Flower):",
            "",
            f"- end to end, {rounds} rounds: **{scaled / ours['seconds']:.1f}×** faster{note}",
            f"- per round: **{flower['seconds_per_round'] / (ours['seconds'] / rounds):.1f}×**",
            f"- peak of summed RSS: **{ours['peak_sum_rss_kb'] / flower['peak_sum_rss_kb']:.3f}** of Flower's "
            f"(sum of per-process peaks: {ours['sum_peak_kb'] / flower['sum_peak_kb']:.3f})",
        ]
        if masked:
            lines.append(f"- with masking secure aggregation on our side: **{scaled / masked['seconds']:.1f}×** faster end to end "
                         f"than Flower's plaintext run, at {masked['peak_sum_rss_kb'] / flower['peak_sum_rss_kb']:.3f} of its memory")
        lines.append("")
    if ours and masked:
        sec = [s for s in masked["secagg_server_seconds"] if s is not None]
        # Per round: the bytes each client sent in the protocol (a list, one per client).
        sent = [b for r in masked["secagg_client_bytes"] if r for b in (r if isinstance(r, list) else [r])]
        lines += [
            "Secure aggregation (PrivacyLab, pairwise masking, Bonawitz et al.'s four steps with the server as relay):",
            "",
            f"- overhead per round, end to end: {(masked['seconds'] - ours['seconds']) / rounds:.3f} s "
            f"({masked['seconds']:.1f} s against {ours['seconds']:.1f} s over {rounds} rounds)",
            f"- server time in the protocol per round (`secagg_server_seconds`, mean): {sum(sec) / max(1, len(sec)):.3f} s",
            f"- bytes a client sends per round in the protocol (`secagg_client_bytes_sent`, mean over clients and rounds): {sum(sent) / max(1, len(sent)):,.0f}",
            f"- same model either way: final accuracy {ours['final_accuracy']:.4f} plaintext, {masked['final_accuracy']:.4f} masked",
            "",
        ]
    if baseline:
        lines += [
            "Per-process peak RSS (wait4 ru_maxrss), this build against the baseline build "
            f"`{baseline['version']}` (2 plaintext rounds):",
            "",
            "| build | server (MB) | client, mean (MB) | client, max (MB) | sum over the processes (MB) |",
            "|---|---|---|---|---|",
        ]
        for name, r in (("this build", ours), ("baseline", baseline)):
            c = r["client_peak_kb"]
            lines.append(f"| {name} | {mb(r['server_peak_kb'])} | {mb(sum(c) / len(c))} | {mb(max(c))} | {mb(r['sum_peak_kb'])} |")
        lines.append("")
    lines += ["Bytes written by each client's processes over the whole run (/proc/PID/io wchar: network frames and logs), mean per round:", ""]
    for name, r, key, n in (("PrivacyLab plaintext", ours, "client_wchar", rounds), ("PrivacyLab masking", masked, "client_wchar", rounds),
                            ("Flower (SuperNode + its ClientApp processes)", flower, "node_wchar", flower and flower["rounds"])):
        if r and r[key]:
            lines.append(f"- {name}: {sum(r[key]) / len(r[key]) / n:,.0f} bytes per client per round")
    lines += ["", "Raw figures: `results.json` beside this file.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--flower-rounds", type=int, default=None, help="rounds for Flower (default: --rounds)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "privacy-lab"))
    parser.add_argument("--flower-venv", default="/work/venv-flower")
    parser.add_argument("--baseline-binary", help="an older privacy-lab to compare per-process memory with (2 plaintext rounds)")
    parser.add_argument("--skip-flower", action="store_true")
    parser.add_argument("--skip-masking", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results.md"))
    args = parser.parse_args()
    if not os.environ.get("PRIVACY_LAB_DATA"):
        raise SystemExit("PRIVACY_LAB_DATA must name the data folder (with mnist/)")
    binary = os.path.abspath(args.binary)
    log = lambda line: print(line, file=sys.stderr, flush=True)
    sampler = TreeSampler()
    sampler.start()
    loads = [load_average()]
    work = tempfile.mkdtemp(prefix="fl-deployed-bench-")
    subprocess.run([binary, "fl", "certs", "--clients", str(args.clients), "--out", os.path.join(work, "certs")],
                   check=True, stdout=subprocess.DEVNULL)
    baseline = None
    if args.baseline_binary:
        baseline = run_ours(os.path.abspath(args.baseline_binary), work, args.clients, 2, False, sampler, log)
        baseline["version"] = openblas_core(os.path.abspath(args.baseline_binary))
    ours = run_ours(binary, work, args.clients, args.rounds, False, sampler, log)
    masked = None if args.skip_masking else run_ours(binary, work, args.clients, args.rounds, True, sampler, log)
    flower = None if args.skip_flower else run_flower(args.flower_venv, work, args.clients, args.flower_rounds or args.rounds, sampler, log)
    loads.append(load_average())
    sampler.stopping.set()
    with open(os.path.join(os.path.dirname(args.out), "results.json"), "w") as f:
        json.dump({"ours": ours, "masked": masked, "flower": flower, "baseline": baseline, "loads": loads, "args": vars(args)}, f, indent=1)
    text = report(args, ours, masked, flower, loads, openblas_core(binary), baseline)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
