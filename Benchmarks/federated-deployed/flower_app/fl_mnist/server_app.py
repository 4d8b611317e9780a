"""ServerApp: FedAvg over every node each round, the global model evaluated on the 10k test
images after every round (server side, as PrivacyLab's server does)."""
import json
import os
import time

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from fl_mnist.task import images, init_mlp, labels, logits

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    rounds = int(cfg["num-server-rounds"])
    nodes = int(os.environ.get("FL_BENCH_NODES", "10"))
    x_test = images("test").astype(np.float32) / 255.0
    y_test = labels("test")
    initial = init_mlp(np.random.default_rng(int(cfg["seed"])), int(cfg["hidden"]))
    stamps = []

    def evaluate(server_round, arrays):
        params = arrays.to_numpy_ndarrays()
        accuracy = float((logits(params, x_test).argmax(axis=1) == y_test).mean())
        stamps.append({"round": server_round, "time": time.time(), "accuracy": accuracy})
        return MetricRecord({"accuracy": accuracy})

    strategy = FedAvg(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=nodes, min_available_nodes=nodes,
                      min_evaluate_nodes=0)
    strategy.start(grid=grid, initial_arrays=ArrayRecord(initial), num_rounds=rounds,
                   train_config=ConfigRecord({}), evaluate_fn=evaluate)
    out = os.environ.get("FL_BENCH_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(stamps, f)
