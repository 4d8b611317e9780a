"""Load test of `privacy-lab serve` with wrk: requests/s and latency percentiles at 1, 16 and 64
connections, for an MNIST-shaped MLP and CNN, one row and 32 rows a request, beside a minimal
PyTorch + ThreadingHTTPServer peer serving the same weights, in one run. Writes results.json and
results.md next to this script; every figure there is written here.

    PRIVACY_LAB_BIN=.build/release/privacy-lab PEER_PYTHON=/path/to/python-with-torch python3 Benchmarks/serving/run.py

Environment: DURATION (seconds per wrk run, default 10), CONNECTIONS (default "1 16 64"),
BATCHES (rows per request, default "1 32"), PEER=0 to skip the peer.
"""
import json
import os
import pathlib
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = os.environ.get("PRIVACY_LAB_BIN", str(ROOT / ".build/release/privacy-lab"))
PEER_PYTHON = os.environ.get("PEER_PYTHON", sys.executable)
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = [int(c) for c in os.environ.get("CONNECTIONS", "1 16 64").split()]
BATCHES = [int(b) for b in os.environ.get("BATCHES", "1 32").split()]
PEER = os.environ.get("PEER", "1") != "0"

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def load():
    return [float(x) for x in pathlib.Path("/proc/loadavg").read_text().split()[:3]]


def start(command, env, pattern):
    """Starts a server and waits for the line naming its address; returns (process, base URL)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(pattern, line)
        if match:
            return process, match.group(1)
    process.kill()
    raise SystemExit(f"{command[0]} did not start")


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def seconds(text):
    """wrk's latency text (850.00us, 1.20ms, 2.00s) in seconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url, connections, env, lua):
    threads = min(2, connections)
    before = load()
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}s", "--latency", "--timeout", "10s", "-s", lua,
                          url + "/v1/predict"], capture_output=True, text=True, env=env, check=True).stdout
    after = load()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {p: seconds(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"threads": threads, "connections": connections, "requests_per_second": rps, "requests": total,
            "p50_ms": percentiles["50"] * 1e3, "p99_ms": percentiles["99"] * 1e3,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": sum(map(int, errors.groups())) if errors else 0,
            "load_before": before, "load_after": after}


def main():
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = pathlib.Path(tempfile.mkdtemp(prefix="serving-bench-"))
    try:
        subprocess.run([PEER_PYTHON, str(HERE / "make_models.py"), str(work)], check=True)
        token = subprocess.run([BIN, "serve", "token", "--tokens", str(work / "tokens.json"), "--id", "bench", "--rate", "1000000",
                                "--burst", "1000000", "--budget", str(10**15)], capture_output=True, text=True, check=True).stdout.split()[0]
        env = dict(os.environ, BENCH_TOKEN=token)
        lua = work / "post.lua"
        lua.write_text(LUA)
        rng = random.Random(0)
        bodies = {}
        for batch in BATCHES:
            path = work / f"body-{batch}.json"
            path.write_text(json.dumps({"inputs": [[round(rng.random(), 4) for _ in range(784)] for _ in range(batch)]}))
            bodies[batch] = path
        runs = []
        for model in ["mlp", "cnn"]:
            weights, layers = str(work / f"{model}.safetensors"), str(work / f"{model}.json")
            servers = [("privacy-lab", [BIN, "serve", weights, "--layers", layers, "--tokens", str(work / "tokens.json"),
                                        "--log", str(work / f"{model}.log"), "--port", "0"], r"at (http://[\d.]+:\d+)/v1/predict")]
            if PEER:
                servers.append(("pytorch-http.server", [PEER_PYTHON, str(HERE / "peer_server.py"), weights, layers, "0"],
                                r"peer at (http://[\d.]+:\d+)"))
            for tool, command, pattern in servers:
                process, url = start(command, env, pattern)
                try:
                    for batch in BATCHES:
                        for connections in CONNECTIONS:
                            result = wrk(url, connections, dict(env, BENCH_BODY=str(bodies[batch])), str(lua))
                            result.update(tool=tool, model=model, rows_per_request=batch)
                            runs.append(result)
                            print(json.dumps(result), flush=True)
                finally:
                    stop(process)
        machine = {"nproc": os.cpu_count(), "load_at_end": load(), "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
                   "duration_s": DURATION}
        (HERE / "results.json").write_text(json.dumps({"machine": machine, "runs": runs}, indent=1) + "\n")
        write_markdown(machine, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_markdown(machine, runs):
    def find(tool, model, batch, connections):
        return next((r for r in runs if (r["tool"], r["model"], r["rows_per_request"], r["connections"]) == (tool, model, batch, connections)), None)

    lines = ["# Serving load test (written by `run.py`; do not edit by hand)", "",
             f"- date: {machine['date']}, commit {machine['commit']}; {machine['nproc']} cores; {machine['wrk']}",
             f"- each cell: `wrk -t min(2, c) -c c -d {machine['duration_s']}s --latency`, one POST /v1/predict body repeated "
             "(rows of 784 values), a token of unlimited rate and budget; privacy-lab serve with its query log and monitoring on",
             f"- load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in machine['load_at_end'])}; "
             "each row gives the 1-minute load before and after its run", "",
             "| model | rows/request | connections | privacy-lab req/s | p50 ms | p99 ms | peer req/s | peer p99 ms | req/s ratio | load before → after | non-2xx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for model in ["mlp", "cnn"]:
        for batch in sorted({r["rows_per_request"] for r in runs}):
            for connections in sorted({r["connections"] for r in runs}):
                ours, peer = find("privacy-lab", model, batch, connections), find("pytorch-http.server", model, batch, connections)
                if not ours:
                    continue
                ratio = f"{ours['requests_per_second'] / peer['requests_per_second']:.2f}×" if peer else "—"
                lines.append(f"| {model.upper()} | {batch} | {connections} | {ours['requests_per_second']:,.0f} | {ours['p50_ms']:.2f} | "
                             f"{ours['p99_ms']:.2f} | {peer['requests_per_second']:,.0f} | {peer['p99_ms']:.2f} | {ratio} | "
                             f"{ours['load_before'][0]:.2f} → {ours['load_after'][0]:.2f} | {ours['non_2xx'] + (peer['non_2xx'] if peer else 0)} |"
                             if peer else
                             f"| {model.upper()} | {batch} | {connections} | {ours['requests_per_second']:,.0f} | {ours['p50_ms']:.2f} | "
                             f"{ours['p99_ms']:.2f} | — | — | — | {ours['load_before'][0]:.2f} → {ours['load_after'][0]:.2f} | {ours['non_2xx']} |")
    lines += ["", "The ratio is privacy-lab's requests/s over the peer's in the same cell (above 1: privacy-lab answers more). "
              "The peer is PyTorch (1 thread) behind Python's ThreadingHTTPServer with the same JSON in and out and a bearer "
              "token compared in constant time, but no rate limit, budget, query log or monitoring.", ""]
    (HERE / "results.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
