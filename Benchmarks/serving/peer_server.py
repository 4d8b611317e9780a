"""The peer of the serving benchmark: the same model in PyTorch behind Python's own
ThreadingHTTPServer, answering the same request ({"inputs": [[...], ...]} with a bearer token) with
the same JSON (a label and the 10 probabilities per row). No rate limits, budgets, query log or
monitoring: it is the floor a minimal Python server gives, not a like-for-like service.

    python peer_server.py MODEL.safetensors LAYERS.json PORT
"""
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models  # noqa: E402

torch.set_num_threads(1)
weights, architecture, port = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
model = (make_models.mlp if architecture["input_shape"] == [784] else make_models.cnn)()[0]
model.load_state_dict(load_file(weights))
model.eval()
shape = architecture["input_shape"]
token = os.environ["BENCH_TOKEN"].encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), b"Bearer " + token):
            return self.answer(401, {"error": "token"})
        rows = json.loads(body)["inputs"]
        with torch.no_grad():
            p = torch.softmax(model(torch.tensor(rows, dtype=torch.float32).reshape([len(rows)] + shape)), dim=1)
        labels = p.argmax(dim=1).tolist()
        self.answer(200, {"predictions": [{"label": l, "probabilities": q} for l, q in zip(labels, p.tolist())], "output": "full"})


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"peer at http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
