#!/usr/bin/env bash
# Evasion cross-check and benchmark, PrivacyLab side by side with ART (issue #12, items 6 and 7).
#
# 1. Trains the benchmark CNN with PrivacyLab on MNIST (unless MODEL is given) and saves it as
#    safetensors; ART loads the same weights into the identical PyTorch network.
# 2. For each OpenBLAS configuration — "preset" (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the CI
#    machines preset them; OPENBLAS_CORETYPE=Haswell when unset) and "unset" (both removed) — runs
#    ROUNDS rounds of: our FGSM + PGD (L∞, ε = 0.3, 40 steps of 0.01, no random start) on the first
#    EXAMPLES MNIST test images, and ART's FastGradientMethod + ProjectedGradientDescent with the
#    same parameters on the same images (the order flips every round). torch.set_num_threads and
#    OPENBLAS_NUM_THREADS both get THREADS.
# 3. Prints a Markdown table: accuracies (cross-check: ours vs ART within 1 point), per-example
#    agreement, median PGD seconds and the ratio ART / ours, the BLAS core and the load.
#
#   Benchmarks/evasion/run.sh > evasion-bench.md
#
# Environment: ROUNDS (3), THREADS (1), EXAMPLES (1000), OURS_BATCH (32), ART_BATCH (250), TORCH_PYTHON (/work/venvs/torch/bin/python,
# with adversarial-robustness-toolbox and safetensors), PRIVACY_LAB_DATA, OUT_DIR, MODEL.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-1}"
EXAMPLES="${EXAMPLES:-1000}"
TORCH_PYTHON="${TORCH_PYTHON:-/work/venvs/torch/bin/python}"
if [ -z "${PRIVACY_LAB_DATA:-}" ]; then
    if [ -d "$REPO/../shared/data" ]; then PRIVACY_LAB_DATA="$(cd "$REPO/../shared/data" && pwd)"; else PRIVACY_LAB_DATA=/work/shared/data; fi
fi
export PRIVACY_LAB_DATA
OUT_DIR="${OUT_DIR:-$(mktemp -d -t privacy-lab-evasion-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
log() { echo "evasion-bench: $*" >&2; }

(cd "$REPO" && swift build --package-path Benchmarks -c release --product privacy-lab-evasion-bench) >"$OUT_DIR/build.log" 2>&1 || { log "build failed: $OUT_DIR/build.log"; exit 1; }
BIN="$REPO/Benchmarks/.build/release/privacy-lab-evasion-bench"
MODEL="${MODEL:-$OUT_DIR/cnn.safetensors}"
if [ ! -f "$MODEL" ]; then
    log "training the benchmark CNN -> $MODEL"
    "$BIN" train --out "$MODEL" --train 10000 --epochs 3 >"$OUT_DIR/train.json"
fi

PRESET_ENV=("OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}")
if [ -n "${OPENBLAS_L2_SIZE:-}" ]; then PRESET_ENV+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE"); fi
# Each tool at its fastest batch size on these CPUs (measured: ours 25–32, ART 250; see README).
OURS_BATCH="${OURS_BATCH:-32}"
ART_BATCH="${ART_BATCH:-250}"
ARGS=(--model "$MODEL" --examples "$EXAMPLES" --epsilon 0.3 --steps 40 --step-size 0.01 --threads "$THREADS")

run() {
    local config="$1" tool="$2" round="$3" base
    base="$OUT_DIR/${config}__${tool}__r${round}"
    local envs=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS")
    if [ "$config" = preset ]; then envs+=("${PRESET_ENV[@]}"); fi
    log "$config round $round $tool"
    cut -d' ' -f1 /proc/loadavg >"$base.load"
    if [ "$tool" = ours ]; then
        env "${envs[@]}" "$BIN" attack "${ARGS[@]}" --batch "$OURS_BATCH" >"$base.json" 2>"$base.log"
    else
        env "${envs[@]}" "$TORCH_PYTHON" "$HERE/../peers/art_evasion.py" "${ARGS[@]}" --batch "$ART_BATCH" --data-dir "$PRIVACY_LAB_DATA" >"$base.json" 2>"$base.log"
    fi
    cut -d' ' -f1 /proc/loadavg >>"$base.load"
}

log "results in $OUT_DIR; preset = ${PRESET_ENV[*]}"
for config in preset unset; do
    for ((round = 1; round <= ROUNDS; round++)); do
        if [ $((round % 2)) = 1 ]; then order="ours art"; else order="art ours"; fi
        for tool in $order; do run "$config" "$tool" "$round"; done
    done
done
python3 "$HERE/combine.py" --preset "${PRESET_ENV[*]}" "$OUT_DIR"
