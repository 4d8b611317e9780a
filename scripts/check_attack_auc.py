#!/usr/bin/env python3
"""Recomputes membership-inference AUCs of a stored run with scikit-learn, independently of
PrivacyLab's AttackMetrics, from the score arrays the run saved (.npy artifacts).

    python3 scripts/check_attack_auc.py runs/privacy-lab.sqlite RUN_ID [attack ...]

For each trial and attack (default: every attack with saved scores) it prints PrivacyLab's
`<attack>.auc`, scikit-learn's roc_auc_score on the same scores, and their difference; it exits
1 if any differs by more than 1e-9. Needs numpy and scikit-learn.
"""
import sqlite3
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

store = Path(sys.argv[1])
run = sys.argv[2]
wanted = set(sys.argv[3:])
db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
run_id = db.execute("SELECT id FROM runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 1", (run, run + "%")).fetchone()
if run_id is None:
    sys.exit(f"{store}: no run {run}")
run_id = run_id[0]
rows = db.execute(
    "SELECT t.trial_index, t.role, a.path FROM trial_artifacts t JOIN artifacts a ON a.key = t.artifact_key "
    "WHERE t.run_id = ? AND t.role LIKE 'scores-%' ORDER BY t.trial_index, t.role", (run_id,)).fetchall()
worst = 0.0
for trial, role, path in rows:
    attack = role[len("scores-"):]
    if wanted and attack not in wanted:
        continue
    scores, member = np.load(store.parent / "artifacts" / path)
    ours = db.execute("SELECT value FROM metrics WHERE run_id = ? AND trial_index = ? AND name = ?",
                      (run_id, trial, f"{attack}.auc")).fetchone()[0]
    theirs = roc_auc_score(member.astype(int), scores.astype(np.float64))
    worst = max(worst, abs(ours - theirs))
    print(f"trial {trial} {attack}: privacy-lab AUC {ours:.12f}  scikit-learn {theirs:.12f}  |diff| {abs(ours - theirs):.2e}")
print(f"largest difference {worst:.2e}")
sys.exit(0 if worst <= 1e-9 else 1)
