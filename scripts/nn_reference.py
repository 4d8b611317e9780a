#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for PrivacyLab's NeuralNetworks tests.

Run with a Python that has torch, numpy and safetensors:
    python3 scripts/nn_reference.py Tests/NeuralNetworksTests/Fixtures

Outputs
- reference-cnn.safetensors: a small CNN's parameters under PrivacyLab's names
  ("layers.<i>.weight"/"bias"), the architecture metadata PrivacyLab reads, and, under names
  starting with "fixture.", an input batch, labels, the logits, the mean cross-entropy and the
  gradient of every parameter and of the input, all computed by PyTorch in float64 and stored
  as float32.
- optimizers.json: parameter trajectories of SGD (plain, momentum, Nesterov, weight decay) and
  Adam / AdamW on a fixed quadratic, from torch.optim.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

out = Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/NeuralNetworksTests/Fixtures")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(2026)

# --- A small CNN: conv(1->3, k3, s1, p1) relu maxpool2 conv(3->4, k3, s2, p1) tanh avgpool2 flatten dense(4->5) sigmoid dense(5->3)
torch.set_default_dtype(torch.float64)
conv1 = torch.nn.Conv2d(1, 3, 3, stride=1, padding=1)
conv2 = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
dense1 = torch.nn.Linear(4, 5)
dense2 = torch.nn.Linear(5, 3)
with torch.no_grad():
    for p in [conv1.weight, conv1.bias, conv2.weight, conv2.bias, dense1.weight, dense1.bias, dense2.weight, dense2.bias]:
        p.copy_(p.float().double())  # representable in float32


def net(x):
    h = torch.relu(conv1(x))
    h = torch.nn.functional.max_pool2d(h, 2)
    h = torch.tanh(conv2(h))
    h = torch.nn.functional.avg_pool2d(h, 2)
    h = h.flatten(1)
    h = torch.sigmoid(dense1(h))
    return dense2(h)


x = torch.rand(4, 1, 8, 8).float().double().requires_grad_(True)
labels = torch.tensor([0, 2, 1, 2])
logits = net(x)
loss = torch.nn.functional.cross_entropy(logits, labels)
params = [conv1.weight, conv1.bias, conv2.weight, conv2.bias, dense1.weight, dense1.bias, dense2.weight, dense2.bias]
names = ["layers.0", "layers.0", "layers.3", "layers.3", "layers.7", "layers.7", "layers.9", "layers.9"]
grads = torch.autograd.grad(loss, params + [x])

tensors = {}
for p, n, kind in zip(params, names, ["weight", "bias"] * 4):
    tensors[f"{n}.{kind}"] = p.detach().numpy().astype(np.float32)
tensors["fixture.input"] = x.detach().numpy().astype(np.float32)
tensors["fixture.labels"] = labels.numpy().astype(np.float32)
tensors["fixture.logits"] = logits.detach().numpy().astype(np.float32)
tensors["fixture.loss"] = np.array([loss.item()], dtype=np.float32)
for p, n, kind, g in zip(params, names, ["weight", "bias"] * 4, grads[:-1]):
    tensors[f"fixture.grad.{n}.{kind}"] = g.numpy().astype(np.float32)
tensors["fixture.grad.input"] = grads[-1].numpy().astype(np.float32)

architecture = {
    "inputShape": [1, 8, 8],
    "layers": [
        {"conv2d": {"inChannels": 1, "outChannels": 3, "kernelSize": 3, "stride": 1, "padding": 1}},
        {"relu": {}},
        {"maxPool2d": {"size": 2, "stride": 2}},
        {"conv2d": {"inChannels": 3, "outChannels": 4, "kernelSize": 3, "stride": 2, "padding": 1}},
        {"tanh": {}},
        {"avgPool2d": {"size": 2, "stride": 2}},
        {"flatten": {}},
        {"dense": {"inputs": 4, "outputs": 5}},
        {"sigmoid": {}},
        {"dense": {"inputs": 5, "outputs": 3}},
    ],
}
save_file(tensors, str(out / "reference-cnn.safetensors"),
          metadata={"privacy-lab.format": "1", "privacy-lab.architecture": json.dumps(architecture),
                    "generator": "scripts/nn_reference.py (PyTorch %s)" % torch.__version__})

# --- Optimizer trajectories on f(p) = 0.5 * sum(c * (p - t)^2), gradient c * (p - t).
torch.set_default_dtype(torch.float32)
p0 = [0.5, -1.0, 2.0, 0.25, -0.75]
c = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5])
t = torch.tensor([0.1, 0.2, -0.3, 0.4, -0.5])
configs = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1}),
]
cases = []
for kind, kw in configs:
    p = torch.tensor(p0, requires_grad=True)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([p], **kw)
    trajectory = []
    for _ in range(6):
        opt.zero_grad()
        (0.5 * (c * (p - t) ** 2).sum()).backward()
        opt.step()
        trajectory.append([float(v) for v in p.detach()])
    cases.append({"optimizer": kind, "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
                  "trajectory": trajectory})
json.dump({"initial": p0, "curvature": c.tolist(), "target": t.tolist(), "cases": cases},
          open(out / "optimizers.json", "w"), indent=1)
print("wrote", out)
