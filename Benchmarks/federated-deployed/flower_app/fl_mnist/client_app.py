"""ClientApp: one local epoch of plain SGD on the node's Dirichlet part of MNIST."""
import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from fl_mnist.task import client_data, sgd_epoch

app = ClientApp()
_cache = {}


@app.train()
def train(msg: Message, context: Context):
    k = int(context.node_config["partition-id"])
    n = int(context.node_config["num-partitions"])
    cfg = context.run_config
    if k not in _cache:
        _cache[k] = client_data(k, n, float(cfg["alpha"]), int(cfg["seed"]))
    x, y = _cache[k]
    params = msg.content["arrays"].to_numpy_ndarrays()
    rnd = int(msg.content["config"]["server-round"])
    rng = np.random.default_rng([int(cfg["seed"]), rnd, k])
    trained = sgd_epoch(params, x, y, float(cfg["lr"]), int(cfg["batch-size"]), rng)
    content = RecordDict({"arrays": ArrayRecord(trained), "metrics": MetricRecord({"num-examples": len(x)})})
    return Message(content=content, reply_to=msg)
