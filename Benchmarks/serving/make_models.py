"""Builds the two served models of the serving benchmark: an MNIST-shaped MLP (784-256-10) and CNN
(two 5x5 convolutions with max-pooling, then a linear layer), as PyTorch state dicts in safetensors
form with the layer lists `privacy-lab serve --layers` reads. The weights are PyTorch's default
initialisation under a fixed seed: serving speed does not depend on what the weights learned.

    python make_models.py OUT_DIR
"""
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file


def mlp():
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    layers = [{"type": "Linear", "in_features": 784, "out_features": 256, "bias": True}, {"type": "ReLU"},
              {"type": "Linear", "in_features": 256, "out_features": 10, "bias": True}]
    return model, {"input_shape": [784], "layers": layers}


def cnn():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10))
    conv = lambda i, o: {"type": "Conv2d", "in_channels": i, "out_channels": o, "kernel_size": [5, 5], "stride": [1, 1],
                         "padding": [2, 2], "bias": True}
    layers = [conv(1, 16), {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2, "stride": 2},
              conv(16, 32), {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2, "stride": 2},
              {"type": "Flatten"}, {"type": "Linear", "in_features": 32 * 7 * 7, "out_features": 10, "bias": True}]
    return model, {"input_shape": [1, 28, 28], "layers": layers}


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name, make in [("mlp", mlp), ("cnn", cnn)]:
        model, architecture = make()
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / f"{name}.safetensors"))
        (out / f"{name}.json").write_text(json.dumps(architecture))


if __name__ == "__main__":
    main()
