#!/usr/bin/env python3
"""ART's side of the black-box evasion cross-check (see Benchmarks/blackbox-evasion/README.md).

Loads a PrivacyLab MLP checkpoint (safetensors; "layers.1.*" and "layers.3.*" are the two dense
layers of flatten -> 784x128 -> ReLU -> 128x10) into the identical PyTorch network ending in a
softmax (so ART's margin loss reads probabilities, as ours does), wraps it in ART's
PyTorchClassifier (clip values [0, 1]) and runs one of ART's SquareAttack, HopSkipJump or
BoundaryAttack on the first --examples MNIST test images, fed as (N, 1, 28, 28). ART reports no
query counts: every row given to the classifier's predict is counted here. Prints one JSON object
with the same fields as privacy-lab-blackbox-bench.

    art_blackbox.py --model mlp.safetensors --attack square|hop_skip_jump|boundary --norm linf|l2
                    [--examples 100] [--epsilon 0.3] [--iterations 100] [--p-init 0.05]
                    [--max-eval 1000] [--init-eval 100] [--seed 1] [--square-l2-rescale art|paper]

--square-l2-rescale paper is a diagnosis, not the comparison: ART 1.20.1's L2 Square Attack divides the
new window by (eps_unused^2/c + |delta_W|^2)^(1/2) where the paper (and its authors' code) multiplies
by it. With `paper`, ART's own `generate` is recompiled from its installed source with that one
expression turned around (the rewrite must match exactly twice, else the script stops), so the
effect of this one difference on ART's success rate can be measured.
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


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))

    def forward(self, x):
        # ART's HopSkipJump hands float64 rows to predict under NumPy 2.
        return torch.softmax(self.body(x.float()), dim=1)


def paper_rescaled_square_attack():
    """ART's SquareAttack with its L2 window rescaled as in the paper (see the docstring above)."""
    import inspect
    import re
    import textwrap

    import art.attacks.evasion.square_attack as module

    source = textwrap.dedent(inspect.getsource(module.SquareAttack.generate))
    divided = (r"delta_new /= (np\.sqrt\(np\.sum\(delta_new\*\*2, axis=\((?:2, 3|1, 2)\), keepdims=True\)\)) \* "
               r"(np\.sqrt\(\s*diff_norm / channels \+ w_norm\*\*2\s*\))")
    patched, count = re.subn(divided, r"delta_new *= \2 / \1", source)
    if count != 2:
        raise SystemExit(f"--square-l2-rescale paper: expected the L2 rescaling twice in ART's SquareAttack.generate, found {count}")
    namespace = dict(vars(module))
    exec(compile(patched, module.__file__, "exec"), namespace)
    return type("PaperRescaledSquareAttack", (module.SquareAttack,), {"generate": namespace["generate"]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "../shared/data"))
    parser.add_argument("--attack", default="square")
    parser.add_argument("--norm", default="linf")
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--epsilon", type=float, default=0.3)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--p-init", type=float, default=0.05)
    parser.add_argument("--max-eval", type=int, default=1000)
    parser.add_argument("--init-eval", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=0, help="unused: ART has no query budget")
    parser.add_argument("--square-l2-rescale", choices=["art", "paper"], default="art")
    args = parser.parse_args()
    torch.set_num_threads(1)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    import art
    from art.attacks.evasion import BoundaryAttack, HopSkipJump, SquareAttack
    from art.estimators.classification import PyTorchClassifier

    net = Net()
    tensors = load_file(args.model)
    net.body.load_state_dict({name[len("layers."):]: torch.from_numpy(value.copy()) for name, value in tensors.items()})
    net.eval()
    images = read_idx(os.path.join(args.data_dir, "mnist", "t10k-images-idx3-ubyte.gz"))[: args.examples]
    labels = read_idx(os.path.join(args.data_dir, "mnist", "t10k-labels-idx1-ubyte.gz"))[: args.examples].astype(np.int64)
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)

    classifier = PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                                   clip_values=(0.0, 1.0), device_type="cpu")
    clean = classifier.predict(x).argmax(1)
    correct = clean == labels
    counted = [0]
    predict = classifier.predict

    def counting_predict(rows, *a, **k):
        counted[0] += len(rows)
        return predict(rows, *a, **k)

    classifier.predict = counting_predict
    norm = np.inf if args.norm == "linf" else 2
    if args.attack == "square":
        square = paper_rescaled_square_attack() if args.square_l2_rescale == "paper" else SquareAttack
        attack = square(classifier, norm=norm, max_iter=args.iterations, eps=args.epsilon, p_init=args.p_init, nb_restarts=1,
                              verbose=False)
    elif args.attack == "hop_skip_jump":
        attack = HopSkipJump(classifier, targeted=False, norm=norm, max_iter=args.iterations, max_eval=args.max_eval,
                             init_eval=args.init_eval, verbose=False)
    elif args.attack == "boundary":
        attack = BoundaryAttack(classifier, targeted=False, max_iter=args.iterations, verbose=False)
    else:
        raise SystemExit(f"unknown --attack {args.attack}")
    start, cpu = time.perf_counter(), time.process_time()
    x_adv = attack.generate(x, y=labels) if args.attack == "square" else attack.generate(x)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    queries = counted[0]
    classifier.predict = predict
    predicted = classifier.predict(x_adv.astype(np.float32)).argmax(1)
    delta = (x_adv - x).reshape(len(x), -1)
    distances = np.abs(delta).max(1) if args.norm == "linf" else np.sqrt((delta.astype(np.float64) ** 2).sum(1))
    fooled = correct & (predicted != labels)
    within = fooled & ((distances <= args.epsilon + 1e-6) | (args.attack == "square"))
    found = np.sort(distances[fooled])
    print(json.dumps({"tool": "art", "art_version": art.__version__, "torch": torch.__version__, "attack": args.attack, "norm": args.norm,
                      "epsilon": args.epsilon, "examples": int(len(x)), "clean_correct": int(correct.sum()),
                      "success_rate": float(fooled.sum() / max(1, correct.sum())),
                      "success_rate_within_epsilon": float(within.sum() / max(1, correct.sum())), "square_l2_rescale": args.square_l2_rescale,
                      "median_perturbation": float(found[len(found) // 2]) if len(found) else 0.0,
                      "not_fooled": [int(i) for i in np.flatnonzero(correct & ~fooled)], "queries": int(queries), "queries_per_image": queries / len(x), "seconds": seconds, "cpu_seconds": cpu_seconds},
                     sort_keys=True))


if __name__ == "__main__":
    main()
