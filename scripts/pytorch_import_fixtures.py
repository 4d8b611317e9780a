#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for PrivacyLab's ModelImport tests.

Run with the project's torch venv (seeds are fixed; the output is the same on every run of the
same torch build):
    /work/venv-torch/bin/python scripts/pytorch_import_fixtures.py Tests/ModelImportTests/Fixtures

Two small nn.Sequential classifiers are built, their batch-norm running statistics moved away
from (0, 1) by a few training-mode forward passes, and their batch-norm affine parameters
randomised, then:

- mlp.safetensors, cnn.safetensors: `safetensors.torch.save_file(model.state_dict(), path)`
  (F32 tensors, `num_batches_tracked` as I64);
- mlp.json, cnn.json: the architecture as PrivacyLab's layer list, generated from the modules;
- mlp_f64 / mlp_f16 / mlp_bf16.safetensors: the MLP's state dict in other dtypes;
- mlp.pt: the same state dict written by `torch.save` (a file ModelImport must reject);
- mlp_reference.safetensors, cnn_reference.safetensors: inputs, integer labels, PyTorch's
  eval-mode logits, the input gradient of the summed cross-entropy (= each example's own
  gradient in eval mode), and for the MLP the eval-mode logits of the f64, f16 and bf16 models
  (the f64 model evaluated in float64, the f16/bf16 ones after rounding the parameters and
  evaluating in float32);
- cnn_train_reference.safetensors: one training-mode step of the CNN: inputs, labels, the
  training-mode logits, the gradient of the mean cross-entropy with respect to every parameter
  (named `grad.<key>`) and the running statistics after the forward (named `after.<key>`);
- manifest.json: the torch and safetensors versions that wrote the files.
"""
import json
import sys
from pathlib import Path

import safetensors
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

out = Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/ModelImportTests/Fixtures")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(20260518)
torch.use_deterministic_algorithms(True)


def pair(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def describe(module):
    """A module as one entry of PrivacyLab's layer list (PyTorch's constructor argument names)."""
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return {"type": kind, "in_features": module.in_features, "out_features": module.out_features,
                "bias": module.bias is not None}
    if isinstance(module, nn.Conv2d):
        return {"type": kind, "in_channels": module.in_channels, "out_channels": module.out_channels,
                "kernel_size": pair(module.kernel_size), "stride": pair(module.stride),
                "padding": pair(module.padding), "bias": module.bias is not None}
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return {"type": kind, "num_features": module.num_features, "eps": module.eps,
                "momentum": module.momentum, "affine": module.affine}
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return {"type": kind, "kernel_size": module.kernel_size, "stride": module.stride}
    if isinstance(module, nn.Dropout):
        return {"type": kind, "p": module.p}
    if isinstance(module, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Flatten)):
        return {"type": kind}
    raise ValueError(f"no layer-list entry for {kind}")


def prepare(model, input_shape):
    """Moves the running statistics and randomises the batch-norm affine parameters."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, *input_shape) * 1.5 + 0.3)
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    model.eval()


def eval_reference(model, inputs, labels):
    x = inputs.clone().requires_grad_(True)
    logits = model(x)
    F.cross_entropy(logits, labels, reduction="sum").backward()
    return logits.detach(), x.grad.detach()


def write(name, model, input_shape):
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / f"{name}.safetensors"))
    layers = ",\n  ".join(json.dumps(describe(m)) for m in model)
    (out / f"{name}.json").write_text(f'{{"input_shape": {json.dumps(list(input_shape))},\n "layers": [\n  {layers}]}}\n')


# An MLP with BatchNorm1d, Dropout, a bias-free Linear and Tanh.
mlp_shape = (20,)


def make_mlp():
    return nn.Sequential(
        nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(32, 16, bias=False), nn.Tanh(), nn.Linear(16, 5))


mlp = make_mlp()
prepare(mlp, mlp_shape)
write("mlp", mlp, mlp_shape)
mlp_inputs = torch.randn(8, *mlp_shape)
mlp_labels = torch.randint(0, 5, (8,))
mlp_logits, mlp_gradients = eval_reference(mlp, mlp_inputs, mlp_labels)

reference = {"inputs": mlp_inputs, "labels": mlp_labels, "logits": mlp_logits, "input_gradients": mlp_gradients}
state = {k: v.detach().clone() for k, v in mlp.state_dict().items()}
save_file({k: (v.double() if v.is_floating_point() else v) for k, v in state.items()}, str(out / "mlp_f64.safetensors"))
with torch.no_grad():
    reference["logits_f64"] = mlp.double()(mlp_inputs.double()).detach()
    mlp.float()
for dtype, tag in [(torch.float16, "f16"), (torch.bfloat16, "bf16")]:
    rounded = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}
    save_file(rounded, str(out / f"mlp_{tag}.safetensors"))
    twin = make_mlp()
    twin.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in rounded.items()})
    twin.eval()
    with torch.no_grad():
        reference[f"logits_{tag}"] = twin(mlp_inputs).detach()
save_file({k: v.contiguous() for k, v in reference.items()}, str(out / "mlp_reference.safetensors"))
torch.save(state, str(out / "mlp.pt"))

# A CNN on non-square-friendly shapes: a bias-free strided convolution, BatchNorm2d, a square
# convolution with bias, MaxPool2d, a convolution with a (3, 2) kernel, (1, 2) stride and (1, 0)
# padding, Sigmoid, AvgPool2d, Flatten, Linear.
cnn_shape = (3, 16, 16)
cnn = nn.Sequential(
    nn.Conv2d(3, 6, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
    nn.Conv2d(6, 8, 3, padding=1), nn.MaxPool2d(2),
    nn.Conv2d(8, 8, kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)), nn.Sigmoid(),
    nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16, 4))
prepare(cnn, cnn_shape)
write("cnn", cnn, cnn_shape)
cnn_inputs = torch.randn(6, *cnn_shape)
cnn_labels = torch.randint(0, 4, (6,))
cnn_logits, cnn_gradients = eval_reference(cnn, cnn_inputs, cnn_labels)
save_file({"inputs": cnn_inputs, "labels": cnn_labels, "logits": cnn_logits, "input_gradients": cnn_gradients},
          str(out / "cnn_reference.safetensors"))

# One training-mode step of the CNN (no dropout in it, so the step is deterministic).
train_inputs = torch.randn(5, *cnn_shape)
train_labels = torch.randint(0, 4, (5,))
cnn.train()
cnn.zero_grad()
train_logits = cnn(train_inputs)
F.cross_entropy(train_logits, train_labels).backward()
train = {"inputs": train_inputs, "labels": train_labels, "logits": train_logits.detach()}
for key, parameter in cnn.named_parameters():
    train[f"grad.{key}"] = parameter.grad.detach().clone()
for key, buffer in cnn.named_buffers():
    if buffer.is_floating_point():
        train[f"after.{key}"] = buffer.detach().clone()
save_file(train, str(out / "cnn_train_reference.safetensors"))

(out / "manifest.json").write_text(json.dumps(
    {"torch": torch.__version__, "safetensors": safetensors.__version__,
     "script": "scripts/pytorch_import_fixtures.py"}, indent=1) + "\n")
