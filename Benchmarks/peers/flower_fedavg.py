#!/usr/bin/env python3
"""Flower side of PrivacyLab's federated benchmark (Benchmarks/federated/README.md).

The same workload as `privacy-lab-fed-bench`: FedAvg over 100 MNIST clients (Dirichlet label
skew, alpha = 0.5), 10 clients per round (fraction_fit = 0.1), 50 rounds, an MLP 784-128-10
(ReLU) trained by each client for one local epoch of plain SGD (batch 32, lr 0.05), weights and
biases initialised uniform in +-1/sqrt(fan_in) as PyTorch does; the global model is evaluated on
the 10k test images after every round by the server (`evaluate_fn`), as ours is.

The client model is a NumPy MLP (forward, backward and SGD written out), so Flower's
simulation engine (Ray actors, one CPU each) carries the whole cost that is not arithmetic.

End to end: the wall time from process start (imports included) to the end of the last round,
and the peak memory of the whole process tree (this process, Ray's GCS, raylet, dashboard and
worker processes), sampled every 0.2 s by a thread: the peak of the summed RSS, and the peak of
the summed PSS (proportional set size, which splits shared pages between the processes that map
them; it does not double-count shared libraries or Ray's object store).

Prints ONE JSON object on stdout; Flower's and Ray's logs go to stderr.

    python flower_fedavg.py [--rounds 50] [--clients 100] [--per-round 10] [--data-dir DIR] [--cpus 2]
"""
import time

START = time.perf_counter()

import argparse
import gzip
import json
import os
import sys
import threading

import numpy as np
import psutil


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(directory):
    d = os.path.join(directory, "mnist")
    x_train = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y_train = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x_test = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y_test = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return x_train, y_train, x_test, y_test


def dirichlet_partition(labels, clients, alpha, rng):
    """Hsu et al.'s label skew: per class, proportions ~ Dir(alpha) over clients (every client
    gets at least one example; redrawn otherwise)."""
    classes = int(labels.max()) + 1
    while True:
        parts = [[] for _ in range(clients)]
        for c in range(classes):
            members = np.flatnonzero(labels == c)
            rng.shuffle(members)
            p = rng.dirichlet([alpha] * clients)
            cuts = (np.cumsum(p) * len(members)).astype(int)[:-1]
            for k, chunk in enumerate(np.split(members, cuts)):
                parts[k].extend(chunk.tolist())
        if all(len(p) >= 1 for p in parts):
            return [np.array(sorted(p)) for p in parts]


def init_mlp(rng, hidden):
    def uniform(shape, fan_in):
        b = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-b, b, size=shape).astype(np.float32)
    return [uniform((hidden, 784), 784), uniform((hidden,), 784), uniform((10, hidden), hidden), uniform((10,), hidden)]


def logits(params, x):
    w1, b1, w2, b2 = params
    h = np.maximum(x @ w1.T + b1, 0)
    return h @ w2.T + b2


def sgd_epoch(params, x, y, lr, batch, rng):
    w1, b1, w2, b2 = [p.copy() for p in params]
    order = rng.permutation(len(x))
    for lo in range(0, len(x), batch):
        idx = order[lo: lo + batch]
        xb, yb = x[idx], y[idx]
        z1 = xb @ w1.T + b1
        h = np.maximum(z1, 0)
        z2 = h @ w2.T + b2
        z2 = z2 - z2.max(axis=1, keepdims=True)
        p = np.exp(z2)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(idx)), yb] -= 1
        g2 = p / len(idx)
        gw2 = g2.T @ h
        gb2 = g2.sum(axis=0)
        gh = g2 @ w2
        gh[z1 <= 0] = 0
        gw1 = gh.T @ xb
        gb1 = gh.sum(axis=0)
        w1 -= lr * gw1; b1 -= lr * gb1; w2 -= lr * gw2; b2 -= lr * gb2
    return [w1, b1, w2, b2]


class TreeMemory(threading.Thread):
    """Peak summed RSS and PSS of this process and all its descendants."""

    def __init__(self, interval=0.2):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_processes = 0
        self.stop = threading.Event()

    def sample(self):
        root = psutil.Process()
        procs = [root] + root.children(recursive=True)
        rss = pss = 0
        for p in procs:
            try:
                info = p.memory_full_info()
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.max_processes = max(self.max_processes, len(procs))

    def run(self):
        while not self.stop.is_set():
            self.sample()
            time.sleep(self.interval)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs given to Ray (one client per CPU)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "/work/shared/data"))
    args = parser.parse_args()

    memory = TreeMemory()
    memory.start()

    import flwr
    from flwr.client import ClientApp, NumPyClient
    from flwr.common import Context, ndarrays_to_parameters
    from flwr.server import ServerApp, ServerAppComponents, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.simulation import run_simulation

    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    rng = np.random.default_rng(args.seed)
    parts = dirichlet_partition(y_train, args.clients, args.alpha, rng)
    initial = init_mlp(rng, args.hidden)
    accuracies = []

    class MnistClient(NumPyClient):
        def __init__(self, cid):
            self.cid = cid

        def fit(self, parameters, config):
            idx = parts[self.cid]
            local_rng = np.random.default_rng([args.seed, int(config.get("round", 0)), self.cid])
            new = sgd_epoch(parameters, x_train[idx], y_train[idx], args.lr, args.batch_size, local_rng)
            return new, len(idx), {}

    def client_fn(context: Context):
        return MnistClient(int(context.node_config["partition-id"])).to_client()

    def evaluate(server_round, parameters, config):
        z = logits(parameters, x_test)
        accuracy = float((z.argmax(axis=1) == y_test).mean())
        if server_round > 0:
            accuracies.append(accuracy)
        return 0.0, {"accuracy": accuracy}

    def server_fn(context: Context):
        strategy = FedAvg(fraction_fit=args.per_round / args.clients, fraction_evaluate=0.0,
                          min_fit_clients=args.per_round, min_evaluate_clients=0, min_available_clients=args.clients,
                          initial_parameters=ndarrays_to_parameters(initial), evaluate_fn=evaluate,
                          on_fit_config_fn=lambda r: {"round": r})
        return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=args.rounds))

    run_simulation(server_app=ServerApp(server_fn=server_fn), client_app=ClientApp(client_fn=client_fn),
                   num_supernodes=args.clients,
                   backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                                   "init_args": {"num_cpus": args.cpus, "include_dashboard": False}})
    seconds = time.perf_counter() - START
    memory.sample()
    memory.stop.set()
    print(json.dumps({
        "tool": "flower", "flwr": flwr.__version__, "rounds": args.rounds, "clients": args.clients,
        "clients_per_round": args.per_round, "alpha": args.alpha, "hidden": args.hidden, "cpus": args.cpus,
        "seconds": seconds, "final_accuracy": accuracies[-1] if accuracies else -1, "accuracy_per_round": accuracies,
        "peak_tree_rss_mb": memory.peak_rss / 2**20, "peak_tree_pss_mb": memory.peak_pss / 2**20,
        "max_processes": memory.max_processes, "numpy": np.__version__,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
