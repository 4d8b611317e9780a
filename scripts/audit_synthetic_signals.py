#!/usr/bin/env python3
"""Writes plausible synthetic audit signals and an `audit` spec that reads them.

    /work/venv-torch/bin/python scripts/audit_synthetic_signals.py OUT_DIR [--records 5000]
        [--classes 30] [--references 64] [--seed 0]

The target and each reference model "train" on a random half of the records: a model's logit
of a record's true label is a per-record difficulty plus a bonus when the model trained on the
record, plus noise; other classes are noise. Written as NumPy writes them: labels int64,
members bool, logits float32, reference membership bool. For timing the audit kind
(`privacy-lab run OUT_DIR/audit.yaml`), not for science.
"""
import argparse
import os
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--records", type=int, default=5000)
parser.add_argument("--classes", type=int, default=30)
parser.add_argument("--references", type=int, default=64)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
n, c, k = args.records, args.classes, args.references
rng = np.random.default_rng(args.seed)
os.makedirs(args.out, exist_ok=True)

labels = np.arange(n) % c
difficulty = rng.normal(0, 1.5, n)
members = rng.random(n) < 0.5
reference_members = np.zeros((k, n), dtype=bool)
for i in range(n):
    reference_members[rng.choice(k, k // 2, replace=False), i] = True


def logits(trained):
    z = rng.normal(0, 1, (n, c))
    z[np.arange(n), labels] = 2 + difficulty + 1.0 * trained + rng.normal(0, 0.7, n)
    return z.astype(np.float32)


np.save(os.path.join(args.out, "labels.npy"), labels.astype(np.int64))
np.save(os.path.join(args.out, "members.npy"), members)
np.save(os.path.join(args.out, "target_logits.npy"), logits(members))
np.save(os.path.join(args.out, "reference_logits.npy"), np.stack([logits(reference_members[m]) for m in range(k)]))
np.save(os.path.join(args.out, "reference_members.npy"), reference_members)
with open(os.path.join(args.out, "audit.yaml"), "w") as f:
    f.write(f"""version: 1
name: synthetic-audit-{n}x{c}x{k + 1}
kind: audit
seed: 1
signals: {{labels: labels.npy, members: members.npy, target_logits: target_logits.npy,
          reference_logits: reference_logits.npy, reference_members: reference_members.npy}}
""")
print("wrote", args.out)
