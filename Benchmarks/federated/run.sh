#!/usr/bin/env bash
# Federated benchmark, PrivacyLab side by side with Flower's simulation engine (issue #11, item 7).
#
# Workload (both sides): FedAvg, 100 MNIST clients with Dirichlet(0.5) label skew, 10 clients per
# round, 50 rounds, an MLP 784-128-10 trained one local epoch of SGD (batch 32, lr 0.05) by each
# client, the global model evaluated on the 10k test images after every round; end to end from
# the IDX files. Ours runs 2 clients at once (--jobs 2), Flower gets 2 CPUs for Ray (one client
# per CPU).
#
# For ROUNDS repeats it runs, in alternating order: ours with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
# as preset on these machines (the environment's values, else OPENBLAS_CORETYPE=Haswell), ours
# with both unset, and Flower. Then ours with each secure-aggregation protocol: pairwise masking
# and 2-server additive sharing for all 50 rounds, packed Paillier (2048-bit key) for
# PAILLIER_ROUNDS rounds (its per-round overhead is what is reported). Every JSON result is kept
# in OUT_DIR; a Markdown table goes to stdout (combine.py).
#
#   Benchmarks/federated/run.sh > federated-bench.md
#   ROUNDS=3 PAILLIER_ROUNDS=3 Benchmarks/federated/run.sh
#
# Environment: ROUNDS (default 1), PAILLIER_ROUNDS (default 3), FLOWER_PYTHON (default
# /work/venvs/flower/bin/python, a venv with `pip install "flwr[simulation]" numpy psutil`),
# PRIVACY_LAB_DATA (folder holding mnist/), OUT_DIR, SKIP_FLOWER=1, SKIP_SECURE=1.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$(dirname "$HERE")")"
ROUNDS="${ROUNDS:-1}"
PAILLIER_ROUNDS="${PAILLIER_ROUNDS:-3}"
FLOWER_PYTHON="${FLOWER_PYTHON:-/work/venvs/flower/bin/python}"
if [ -z "${PRIVACY_LAB_DATA:-}" ]; then
    if [ -d "$REPO/../shared/data" ]; then PRIVACY_LAB_DATA="$(cd "$REPO/../shared/data" && pwd)"
    else PRIVACY_LAB_DATA=/work/shared/data; fi
fi
export PRIVACY_LAB_DATA
OUT_DIR="${OUT_DIR:-$(mktemp -d -t privacy-lab-fed-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
log() { echo "federated-bench: $*" >&2; }

log "building privacy-lab-fed-bench (release)"
(cd "$REPO" && swift build --package-path Benchmarks -c release --product privacy-lab-fed-bench) >"$OUT_DIR/build.log" 2>&1 || {
    log "build failed (see $OUT_DIR/build.log)"; exit 1; }
OURS="$REPO/Benchmarks/.build/release/privacy-lab-fed-bench"
PRESET_ENV=("OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}")
if [ -n "${OPENBLAS_L2_SIZE:-}" ]; then PRESET_ENV+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE"); fi

# run NAME CMD...: one measurement, its JSON in OUT_DIR/NAME.json, the load before/after in NAME.load.
run() {
    local name="$1"; shift
    log "$name"
    cut -d' ' -f1 /proc/loadavg >"$OUT_DIR/$name.load" 2>/dev/null || true
    local status=0
    "$@" >"$OUT_DIR/$name.json" 2>"$OUT_DIR/$name.log" || status=$?
    cut -d' ' -f1 /proc/loadavg >>"$OUT_DIR/$name.load" 2>/dev/null || true
    if [ "$status" != 0 ]; then log "  failed (exit $status): see $OUT_DIR/$name.log"; mv "$OUT_DIR/$name.json" "$OUT_DIR/$name.failed"; fi
}

ours() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
for ((r = 1; r <= ROUNDS; r++)); do
    if [ $((r % 2)) = 1 ]; then order="preset unset flower"; else order="flower unset preset"; fi
    for step in $order; do
        case "$step" in
            preset) run "ours-preset-r$r" ours "${PRESET_ENV[@]}" "$OURS" --aggregation plaintext --jobs 2 ;;
            unset) run "ours-unset-r$r" ours "$OURS" --aggregation plaintext --jobs 2 ;;
            flower) if [ "${SKIP_FLOWER:-0}" != 1 ]; then
                        run "flower-r$r" env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$FLOWER_PYTHON" "$REPO/Benchmarks/peers/flower_fedavg.py" --cpus 2
                    fi ;;
        esac
    done
done
if [ "${SKIP_SECURE:-0}" != 1 ]; then
    run "ours-masking" ours "${PRESET_ENV[@]}" "$OURS" --aggregation masking --jobs 2
    run "ours-additive" ours "${PRESET_ENV[@]}" "$OURS" --aggregation additive --jobs 2
    run "ours-plaintext-short" ours "${PRESET_ENV[@]}" "$OURS" --aggregation plaintext --jobs 2 --rounds "$PAILLIER_ROUNDS"
    run "ours-paillier-short" ours "${PRESET_ENV[@]}" "$OURS" --aggregation paillier --jobs 2 --rounds "$PAILLIER_ROUNDS"
fi
log "results in $OUT_DIR"
python3 "$HERE/combine.py" "$OUT_DIR"
