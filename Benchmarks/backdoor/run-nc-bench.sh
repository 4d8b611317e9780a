#!/usr/bin/env bash
# Neural Cleanse over all 10 MNIST labels: PrivacyLab side by side with ART's NeuralCleanse
# (Keras), in the same run, on BadNets-backdoored CNNs of the same architecture (issue #10, item 6).
#
# Each side first trains its own victim once (same architecture, data, trigger and poison rate)
# and keeps it (MODEL_DIR), so that only the Neural Cleanse scan is timed. Then, for each
# OpenBLAS configuration — "preset" (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as these machines
# preset them, else OPENBLAS_CORETYPE=Haswell) and "unset" (both removed) — it runs ours and ART
# alternately ROUNDS times with the same step count, one thread each, and prints a Markdown
# table: seconds for the 10-label scan, the ratio ART / ours, the target's anomaly index and the
# flagged labels of each side, with the BLAS core our side reports.
#
#   STEPS=20 ROUNDS=1 Benchmarks/backdoor/run-nc-bench.sh > nc-bench.md
#
# Environment:
#   STEPS        optimisation steps per label on both sides (ART's default is 1000; each step is
#                one pass over CLEAN images in mini-batches of 32). Default 20.
#   CLEAN        clean test images the search uses (default 1000)
#   ROUNDS       alternating rounds per configuration (default 1)
#   TF_PYTHON    a Python with tensorflow-cpu 2.18, keras and adversarial-robustness-toolbox
#                (default /work/venvs/tf/bin/python)
#   PRIVACY_LAB_DATA  folder holding mnist/ (default /work/shared/data)
#   OUT_DIR      raw JSON and logs (default a new temporary folder)
#   MODEL_DIR    where the two victims are kept between runs (default OUT_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$(dirname "$HERE")")"
STEPS="${STEPS:-20}"
CLEAN="${CLEAN:-1000}"
ROUNDS="${ROUNDS:-1}"
TF_PYTHON="${TF_PYTHON:-/work/venvs/tf/bin/python}"
export PRIVACY_LAB_DATA="${PRIVACY_LAB_DATA:-/work/shared/data}"
OUT_DIR="${OUT_DIR:-$(mktemp -d -t nc-bench-XXXX)}"
MODEL_DIR="${MODEL_DIR:-$OUT_DIR}"
mkdir -p "$OUT_DIR" "$MODEL_DIR"
echo "results in $OUT_DIR" >&2

(cd "$REPO" && swift build --package-path Benchmarks -c release --product privacy-lab-backdoor-bench >&2)
OURS="$REPO/Benchmarks/.build/release/privacy-lab-backdoor-bench"
PRESET_ENV=("OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}")
if [ -n "${OPENBLAS_L2_SIZE:-}" ]; then PRESET_ENV+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE"); fi

run_side() {   # side config round
    local side="$1" config="$2" round="$3" envs
    if [ "$config" = preset ]; then envs=("${PRESET_ENV[@]}"); else envs=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); fi
    local base="$OUT_DIR/${config}__${side}__r${round}"
    uptime > "$base.load"
    if [ "$side" = ours ]; then
        env "${envs[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$OURS" --steps "$STEPS" --clean "$CLEAN" \
            --model "$MODEL_DIR/ours-victim.safetensors" > "$base.json" 2> "$base.log"
    else
        env "${envs[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2 "$TF_PYTHON" "$REPO/Benchmarks/peers/art_neural_cleanse.py" \
            --steps "$STEPS" --clean "$CLEAN" --threads 1 --model "$MODEL_DIR/art-victim.keras" > "$base.json" 2> "$base.log"
    fi
    echo "$config $side round $round: $(python3 -c "import json,sys; d=json.load(open('$base.json')); print(round(d['neural_cleanse_seconds'],1), 's, flagged', d['flagged_labels'])")" >&2
}

# Train both victims first (not timed in the comparison).
[ -f "$MODEL_DIR/ours-victim.safetensors" ] || run_side ours preset 0
[ -f "$MODEL_DIR/art-victim.keras" ] || run_side art preset 0

for config in preset unset; do
    for round in $(seq 1 "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then run_side ours "$config" "$round"; run_side art "$config" "$round"
        else run_side art "$config" "$round"; run_side ours "$config" "$round"; fi
    done
done

python3 - "$OUT_DIR" "$STEPS" "$CLEAN" <<'PY'
import glob, json, os, statistics, sys
out, steps, clean = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"Neural Cleanse, 10 MNIST labels, {steps} steps × {int(clean)//32} mini-batches of 32 per label, one thread\n")
print("| OpenBLAS | BLAS core (ours) | ours s | ART s | ART / ours | ours: target index, flagged | ART: target index, flagged | victims CA / ASR (ours; ART) |")
print("|---|---|---|---|---|---|---|---|")
for config in ["preset", "unset"]:
    runs = {side: [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, f"{config}__{side}__r[1-9]*.json")))] for side in ["ours", "art"]}
    if not runs["ours"] or not runs["art"]:
        continue
    o = statistics.median(r["neural_cleanse_seconds"] for r in runs["ours"])
    a = statistics.median(r["neural_cleanse_seconds"] for r in runs["art"])
    ro, ra = runs["ours"][0], runs["art"][0]
    print(f"| {config} | {ro['blas_core']} | {o:.1f} | {a:.1f} | {a / o:.2f}× | {ro['target_anomaly_index']:.2f}, {ro['flagged_labels']} | "
          f"{ra['target_anomaly_index']:.2f}, {ra['flagged_labels']} | {ro['clean_accuracy']:.4f} / {ro['attack_success_rate']:.4f}; "
          f"{ra['clean_accuracy']:.4f} / {ra['attack_success_rate']:.4f} |")
loads = [open(f).read().strip().split("load average:")[-1] for f in sorted(glob.glob(os.path.join(out, "*__r[1-9]*.load")))]
print("\nLoad averages before each timed run:", "; ".join(loads))
PY
