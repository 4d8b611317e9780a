#!/usr/bin/env python3
"""ART's side of the evasion cross-check and benchmark (see Benchmarks/evasion/README.md).

Loads a PrivacyLab CNN checkpoint (safetensors; parameter names "layers.<i>.weight|bias") into
the identical PyTorch network, wraps it in ART's PyTorchClassifier (cross-entropy of the logits,
clip values [0, 1]) and runs ART's FastGradientMethod and ProjectedGradientDescent (L-infinity,
no random start) on the first --examples MNIST test images. Prints one JSON object: clean, FGSM
and PGD accuracies, wall and CPU timings, the torch thread count, and the per-example correctness mask after PGD.

    art_evasion.py --model cnn.safetensors --data-dir ../shared/data [--examples 1000]
                   [--epsilon 0.3] [--steps 40] [--step-size 0.01] [--threads 1] [--batch 250]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from safetensors.numpy import load_file
from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
from art.estimators.classification import PyTorchClassifier


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def network():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "../shared/data"))
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epsilon", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--step-size", type=float, default=0.01)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--skip-fgsm", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    net = network()
    tensors = load_file(args.model)
    state = {name[len("layers."):]: torch.from_numpy(value.copy()) for name, value in tensors.items()}
    net.load_state_dict(state)
    net.eval()

    images = read_idx(os.path.join(args.data_dir, "mnist", "t10k-images-idx3-ubyte.gz"))[: args.examples]
    labels = read_idx(os.path.join(args.data_dir, "mnist", "t10k-labels-idx1-ubyte.gz"))[: args.examples].astype(np.int64)
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)

    classifier = PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                                   clip_values=(0.0, 1.0), device_type="cpu")
    out = {"tool": "art", "art_version": __import__("art").__version__, "torch": torch.__version__,
           "threads": torch.get_num_threads(), "examples": int(len(labels)), "epsilon": args.epsilon, "steps": args.steps,
           "step_size": args.step_size, "batch_size": args.batch}

    start, cpu = time.perf_counter(), time.process_time()
    clean = classifier.predict(x, batch_size=args.batch).argmax(1)
    out["clean_seconds"], out["clean_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    out["clean_accuracy"] = float((clean == labels).mean())

    def score(prefix, x_adv):
        adv = classifier.predict(x_adv, batch_size=args.batch).argmax(1)
        out[prefix + "_adversarial_accuracy"] = float((adv == labels).mean())
        out[prefix + "_robust_accuracy"] = float(((adv == labels) & (clean == labels)).mean())
        return adv

    if not args.skip_fgsm:
        fgsm = FastGradientMethod(classifier, norm=np.inf, eps=args.epsilon, eps_step=args.epsilon, batch_size=args.batch)
        start, cpu = time.perf_counter(), time.process_time()
        x_fgsm = fgsm.generate(x, y=labels)
        out["fgsm_seconds"], out["fgsm_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
        score("fgsm", x_fgsm)

    pgd = ProjectedGradientDescent(classifier, norm=np.inf, eps=args.epsilon, eps_step=args.step_size, max_iter=args.steps,
                                   num_random_init=0, batch_size=args.batch, verbose=False)
    out["pgd_class"] = type(pgd._attack).__name__
    start, cpu = time.perf_counter(), time.process_time()
    x_pgd = pgd.generate(x, y=labels)
    out["pgd_seconds"], out["pgd_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    adv = score("pgd", x_pgd)
    out["pgd_mean_linf"] = float(np.abs(x_pgd - x).reshape(len(x), -1).max(1).mean())
    out["pgd_adversarial_correct"] = "".join("1" if a == y else "0" for a, y in zip(adv, labels))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
