#!/usr/bin/env bash
# Neural-network benchmark, PrivacyLab side by side with PyTorch on the CPU (issue #2, item 6).
#
# For each OpenBLAS configuration — (1) "preset": OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as these CI
# machines preset them (taken from the environment when set, else OPENBLAS_CORETYPE=Haswell), and
# (2) "unset": both variables removed together, as on a user's machine — and for each thread
# count, it runs our benchmark and the PyTorch peer alternately, ROUNDS times (the order flips
# every round so that drift in machine load hits both sides alike), keeps every JSON result, and
# prints a Markdown table of median samples/s, ratios (ours / PyTorch) and peak memory on stdout.
# Progress and logs go to stderr and to OUT_DIR.
#
# Run it on an otherwise idle machine: with more runnable processes than cores, multi-threaded
# runs collapse (PyTorch's OpenMP threads spin-wait at every barrier: one measured MLP epoch went
# from ~1 s to 30–60 s at two threads under a load of 10 on 2 cores; OMP_WAIT_POLICY=PASSIVE
# softens it but is not what a user gets by default). The load around each run is recorded and
# reported with the tables.
#
#   Benchmarks/run-nn-bench.sh                      # ROUNDS=3 THREADS="1 2"
#   ROUNDS=5 THREADS=1 Benchmarks/run-nn-bench.sh > nn-bench.md
#
# Environment:
#   ROUNDS            rounds per configuration and thread count (default 3)
#   THREADS           thread counts to measure, space-separated (default "1 2")
#   TORCH_PYTHON      a Python with torch and numpy (default /work/venvs/torch/bin/python)
#   PRIVACY_LAB_DATA  folder holding mnist/ (default ../shared/data beside the repository, else
#                     /work/shared/data)
#   OUT_DIR           where the raw JSON and logs go (default a new temporary folder)
#   PYTORCH_ARGS      extra flags for peers/pytorch_nn.py (e.g. "--repeats 5 --cnn-optimizer sgd")
#   SKIP_OURS=1       run only the PyTorch side (to test it, or before our benchmark exists)
#   OURS_BUILD_CMD, OURS_CMD  see below
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"

ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-1 2}"
TORCH_PYTHON="${TORCH_PYTHON:-/work/venvs/torch/bin/python}"
if [ -z "${PRIVACY_LAB_DATA:-}" ]; then
    if [ -d "$REPO/../shared/data" ]; then PRIVACY_LAB_DATA="$(cd "$REPO/../shared/data" && pwd)"
    else PRIVACY_LAB_DATA=/work/shared/data; fi
fi
export PRIVACY_LAB_DATA
OUT_DIR="${OUT_DIR:-$(mktemp -d -t privacy-lab-nn-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"

# ============================================================================================
# OUR BENCHMARK COMMAND — the privacy-lab-bench executable (Benchmarks/Sources/privacy-lab-bench).
# It must print one JSON object on stdout with (top level, or inside "metrics"; '.' or '_'
# separators both work): mlp_train_samples_per_s, cnn_train_samples_per_s,
# per_example_loss_samples_per_s, peak_rss_mb, and preferably threads and openblas_core.
# "{threads}" is replaced by the thread count; OPENBLAS_NUM_THREADS is also set to it.
OURS_BUILD_CMD="${OURS_BUILD_CMD:-swift build --package-path Benchmarks -c release --product privacy-lab-bench}"
DEFAULT_OURS_CMD="$REPO/Benchmarks/.build/release/privacy-lab-bench nn --json --threads {threads}"
OURS_CMD="${OURS_CMD:-$DEFAULT_OURS_CMD}"
# ============================================================================================
PYTORCH_CMD="$TORCH_PYTHON $HERE/peers/pytorch_nn.py --threads {threads} ${PYTORCH_ARGS:-}"

log() { echo "run-nn-bench: $*" >&2; }

if [ "${SKIP_OURS:-0}" != 1 ]; then
    log "building our benchmark: $OURS_BUILD_CMD"
    (cd "$REPO" && $OURS_BUILD_CMD) >"$OUT_DIR/build.log" 2>&1 || {
        log "build failed (see $OUT_DIR/build.log)"; exit 1; }
fi
"$TORCH_PYTHON" -c 'import torch, numpy' 2>/dev/null || {
    log "no torch/numpy in $TORCH_PYTHON (set TORCH_PYTHON)"; exit 1; }

# The preset configuration: the machine's own values when it has them, else Haswell.
PRESET_ENV=("OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}")
if [ -n "${OPENBLAS_L2_SIZE:-}" ]; then PRESET_ENV+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE"); fi

# run CONFIG TOOL THREADS ROUND: one measurement, JSON kept as CONFIG__tTHREADS__TOOL__rROUND.json.
run() {
    local config="$1" tool="$2" threads="$3" round="$4" template cmd status placeholder='{threads}'
    if [ "$tool" = ours ]; then template="$OURS_CMD"; else template="$PYTORCH_CMD"; fi
    cmd="${template//"$placeholder"/$threads}"
    local base="$OUT_DIR/${config}__t${threads}__${tool}__r${round}"
    local envs=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads")
    if [ "$config" = preset ]; then envs+=("${PRESET_ENV[@]}"); fi
    log "$config threads=$threads round=$round $tool"
    # The machine's load before and after the run (other work on a 2-core machine skews timings).
    cut -d' ' -f1 /proc/loadavg >"$base.load" 2>/dev/null || true
    status=0
    (cd "$REPO" && env "${envs[@]}" $cmd) >"$base.json" 2>"$base.log" || status=$?
    cut -d' ' -f1 /proc/loadavg >>"$base.load" 2>/dev/null || true
    if [ "$status" != 0 ]; then
        log "  failed (exit $status): see $base.log"
        mv "$base.json" "$base.failed" 2>/dev/null || true
    fi
}

log "results in $OUT_DIR; preset = ${PRESET_ENV[*]}"
for config in preset unset; do
    for ((round = 1; round <= ROUNDS; round++)); do
        for threads in $THREADS; do
            if [ $((round % 2)) = 1 ]; then order="ours pytorch"; else order="pytorch ours"; fi
            for tool in $order; do
                if [ "$tool" = ours ] && [ "${SKIP_OURS:-0}" = 1 ]; then continue; fi
                run "$config" "$tool" "$threads" "$round"
            done
        done
    done
done

python3 "$HERE/peers/combine_nn.py" --preset "${PRESET_ENV[*]}" "$OUT_DIR"
