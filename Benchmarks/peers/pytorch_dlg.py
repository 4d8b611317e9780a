#!/usr/bin/env python3
"""DLG (Zhu, Liu, Han, NeurIPS 2019) in PyTorch: the reference formulation, on the exact problem
that `privacy-lab-inversion-bench dlg --export DIR` wrote (LeNet weights, the MNIST image, its
label and the dummy start), so both tools solve the same problem.

As in the DLG paper's code: the victim's gradient is taken of the cross-entropy of the true
label; the dummy data and dummy label logits are optimised with torch.optim.LBFGS on
sum((dummy_grad - true_grad) ** 2), the dummy gradient taken with create_graph=True, the
dummy loss being the soft-label cross-entropy -sum(softmax(dummy_label) * log_softmax(pred)).
Unlike the paper's loop of 300 `step` calls of up to 20 inner iterations each, here one `step`
runs exactly --iterations L-BFGS iterations (history 100, strong-Wolfe line search unless
--no-line-search), which is what PrivacyLab's side runs.

Prints one JSON object: seconds (the attack alone), evaluations, PSNR, SSIM (Wang et al. 2004,
11x11 Gaussian window, sigma 1.5, valid windows), final loss, threads, torch version.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(directory, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(directory, name + ".f32"), dtype="<f4").reshape(shape).copy())


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        act = nn.Sigmoid
        self.body = nn.Sequential(
            nn.Conv2d(1, 12, kernel_size=5, padding=2, stride=2), act(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=2), act(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=1), act(),
        )
        self.fc = nn.Linear(588, 10)

    def forward(self, x):
        out = self.body(x)
        return self.fc(out.view(out.size(0), -1))


def ssim(a, b):
    size, sigma = 11, 1.5
    w = np.exp(-((np.arange(size) - 5.0) ** 2) / (2 * sigma * sigma))
    w /= w.sum()

    def filt(img):
        rows = np.stack([np.convolve(r, w[::-1], mode="valid") for r in img])
        return np.stack([np.convolve(c, w[::-1], mode="valid") for c in rows.T]).T

    a = a.astype(np.float64); b = b.astype(np.float64)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = filt(a), filt(b)
    vx, vy, cov = filt(a * a) - mx * mx, filt(b * b) - my * my, filt(a * b) - mx * my
    return float(np.mean(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", required=True, help="folder written by privacy-lab-inversion-bench dlg --export")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-line-search", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta = json.load(open(os.path.join(args.problem, "problem.json")))
    model = LeNet()
    params = [model.body[0].weight, model.body[0].bias, model.body[2].weight, model.body[2].bias,
              model.body[4].weight, model.body[4].bias, model.fc.weight, model.fc.bias]
    with torch.no_grad():
        for name, p in zip(meta["parameters"], params):
            p.copy_(load(args.problem, name, meta["shapes"][name]))
    image = load(args.problem, "image", (1, 1, 28, 28))
    label = torch.tensor([meta["label"]])
    true_grad = [g.detach() for g in torch.autograd.grad(F.cross_entropy(model(image), label), params)]

    dummy_data = load(args.problem, "dummy_data", (1, 1, 28, 28)).requires_grad_(True)
    dummy_label = load(args.problem, "dummy_labels", (1, 10)).requires_grad_(True)
    optimizer = torch.optim.LBFGS([dummy_data, dummy_label], lr=1, max_iter=args.iterations,
                                  max_eval=args.iterations * 25, history_size=100, tolerance_grad=1e-7,
                                  tolerance_change=1e-9, line_search_fn=None if args.no_line_search else "strong_wolfe")
    evaluations = [0]

    def closure():
        evaluations[0] += 1
        optimizer.zero_grad()
        pred = model(dummy_data)
        dummy_loss = torch.mean(torch.sum(-F.softmax(dummy_label, dim=-1) * F.log_softmax(pred, dim=-1), dim=-1))
        dummy_grad = torch.autograd.grad(dummy_loss, params, create_graph=True)
        diff = sum(((dg - tg) ** 2).sum() for dg, tg in zip(dummy_grad, true_grad))
        diff.backward()
        return diff

    start = time.perf_counter()
    optimizer.step(closure)
    seconds = time.perf_counter() - start
    state = optimizer.state[optimizer._params[0]]
    final = closure().item()
    evaluations[0] -= 1
    recon = dummy_data.detach().clamp(0, 1).numpy().reshape(28, 28)
    truth = image.numpy().reshape(28, 28)
    mse = float(np.mean((recon.astype(np.float64) - truth) ** 2))
    print(json.dumps({
        "tool": "pytorch", "attack": "dlg", "seconds": seconds, "evaluations": evaluations[0] - 0,
        "iterations": state.get("n_iter", 0), "psnr_db": 10 * np.log10(1 / mse) if mse > 0 else float("inf"),
        "ssim": ssim(recon, truth), "final_loss": final, "recovered_label": int(dummy_label.argmax().item()),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "line_search": not args.no_line_search,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
