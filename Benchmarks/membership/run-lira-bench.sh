#!/usr/bin/env bash
# Membership-inference pipeline benchmark (issue #7, item 8): online LiRA with 64 reference MLPs
# on Location, the whole pipeline (load, train the target and 64 references, score, attack),
# PrivacyLab side by side with the same pipeline written with PyTorch
# (Benchmarks/peers/pytorch_lira_location.py).
#
#   ours     .build/release/privacy-lab run experiments/membership/location-lira-64.yaml
#              --data-dir DATA --store <a fresh temporary store every run: nothing cached>
#              --jobs $JOBS --json
#   pytorch  $TORCH_PYTHON Benchmarks/peers/pytorch_lira_location.py --workers $JOBS
#              --data-dir DATA   (one process per worker, torch.set_num_threads(1) in each)
#
# Both are timed by wall clock from outside (process start to exit: interpreter start and
# `import torch` on one side, loading the binary and writing the 65 model checkpoints, the score
# arrays and the run record into the store on the other). For each round and each OpenBLAS
# configuration — "unset" (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE both removed: OpenBLAS picks its
# kernel from the CPU) and "haswell" (OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE removed) — it
# runs the two tools one after the other, the order flipping every round so that drift in the
# machine's load hits both alike. PyTorch uses its own MKL/oneDNN kernels, so the OpenBLAS
# variables change only our side; it is still run in both configurations (more samples, and the
# same neighbourhood in time as our run it is compared with).
#
# Recorded for every run: wall seconds, CPU seconds (user + system of the process and its
# children, from /usr/bin/time: less sensitive to other people's load than wall time, though
# not immune to it), /proc/loadavg and the CPU pressure (PSI) before and after, the OpenBLAS variables,
# the OpenBLAS kernel our binary's libopenblas selects under them (probed with
# openblas_get_corename() through ctypes, as `privacy-lab run` does not print it), our progress
# lines with timestamps (phases: load, target, references, audit+store), the PyTorch JSON
# (phases, metrics). combine_lira.py turns them into Markdown tables (medians, ratio, load).
#
#   Benchmarks/membership/run-lira-bench.sh                  # ROUNDS=3 JOBS=2 CONFIGS="unset haswell"
#   ROUNDS=5 Benchmarks/membership/run-lira-bench.sh > lira-bench.md
#
# Environment:
#   ROUNDS            rounds (default 3)
#   JOBS              --jobs for ours, --workers for PyTorch (default 2)
#   CONFIGS           OpenBLAS configurations, from "unset haswell" (default both)
#   TORCH_PYTHON      a Python with torch, numpy, scipy, scikit-learn (default /work/venvs/torch/bin/python)
#   PRIVACY_LAB_DATA  folder holding location/bangkok (default ../shared/data beside the repository,
#                     else /work/shared/data)
#   OUT_DIR           where the raw results and logs go (default a new temporary folder)
#   PYTORCH_ARGS      extra flags for the PyTorch pipeline
#   SKIP_BUILD=1      use the existing .build/release/privacy-lab
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(dirname "$HERE")"
REPO="$(dirname "$BENCH")"

ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-2}"
CONFIGS="${CONFIGS:-unset haswell}"
TORCH_PYTHON="${TORCH_PYTHON:-/work/venvs/torch/bin/python}"
if [ -z "${PRIVACY_LAB_DATA:-}" ]; then
    if [ -d "$REPO/../shared/data" ]; then PRIVACY_LAB_DATA="$(cd "$REPO/../shared/data" && pwd)"
    else PRIVACY_LAB_DATA=/work/shared/data; fi
fi
OUT_DIR="${OUT_DIR:-$(mktemp -d -t privacy-lab-lira-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
SPEC="experiments/membership/location-lira-64.yaml"

log() { echo "run-lira-bench: $*" >&2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building: swift build -c release --product privacy-lab"
    (cd "$REPO" && swift build -c release --product privacy-lab) >"$OUT_DIR/build.log" 2>&1 || {
        log "build failed (see $OUT_DIR/build.log)"; exit 1; }
fi
BIN="$(cd "$REPO" && swift build -c release --show-bin-path)/privacy-lab"
[ -x "$BIN" ] || { log "no binary at $BIN"; exit 1; }
"$TORCH_PYTHON" -c 'import torch, numpy, scipy, sklearn' 2>/dev/null || {
    log "$TORCH_PYTHON lacks torch, numpy, scipy or scikit-learn (set TORCH_PYTHON)"; exit 1; }

# The libopenblas our binary loads, to ask it which kernel it picks under each configuration.
OPENBLAS_LIB="$(ldd "$BIN" 2>/dev/null | awk '/libopenblas/ {print $3; exit}')"
# Prints the kernel OpenBLAS selects in the environment it runs in.
PROBE='import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())'

config_env() {  # the env(1) arguments of a configuration
    case "$1" in
        unset) echo "-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" ;;
        haswell) echo "-u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Haswell" ;;
        *) log "unknown configuration '$1' (expected unset or haswell)"; exit 1 ;;
    esac
}

# /proc/pressure/cpu "some avg10": the share of the last 10 s in which a runnable task waited for a
# CPU (null where the kernel has no PSI).
cpu_pressure() { awk '/^some/ {sub("avg10=", "", $2); print $2; found = 1} END {if (!found) print "null"}' /proc/pressure/cpu 2>/dev/null || echo null; }

# Prefixes every line read with the wall-clock time (seconds since the epoch).
stamp() { local line; while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

# run CONFIG TOOL ROUND: one measurement; files CONFIG__TOOL__rROUND.{json,log,meta}.
run() {
    local config="$1" tool="$2" round="$3" status=0 store t0 t1 core
    local base="$OUT_DIR/${config}__${tool}__r${round}"
    core=unknown
    # shellcheck disable=SC2046
    if [ -n "$OPENBLAS_LIB" ]; then core="$(env $(config_env "$config") python3 -c "$PROBE" "$OPENBLAS_LIB" 2>/dev/null || echo unknown)"; fi
    local load_before load_after pressure_before pressure_after
    load_before="$(cat /proc/loadavg)"
    pressure_before="$(cpu_pressure)"
    log "round $round $config $tool (load ${load_before%% *})"
    t0="$EPOCHREALTIME"
    if [ "$tool" = ours ]; then
        store="$(mktemp -d -t privacy-lab-lira-store.XXXXXX)"
        # shellcheck disable=SC2046
        (cd "$REPO" && env $(config_env "$config") /usr/bin/time -f '%e %U %S' -o "$base.time" "$BIN" run "$SPEC" --data-dir "$PRIVACY_LAB_DATA" \
            --store "$store/store.sqlite" --jobs "$JOBS" --json) >"$base.json" 2> >(stamp >"$base.log") || status=$?
        t1="$EPOCHREALTIME"
        rm -rf "$store"
    else
        # shellcheck disable=SC2046,SC2086
        (cd "$REPO" && env $(config_env "$config") /usr/bin/time -f '%e %U %S' -o "$base.time" "$TORCH_PYTHON" "$BENCH/peers/pytorch_lira_location.py" \
            --workers "$JOBS" --data-dir "$PRIVACY_LAB_DATA" ${PYTORCH_ARGS:-}) >"$base.json" 2>"$base.log" || status=$?
        t1="$EPOCHREALTIME"
    fi
    sleep 0.2  # let the stderr time-stamper finish
    load_after="$(cat /proc/loadavg)"
    pressure_after="$(cpu_pressure)"
    local cpu="null"
    if [ -s "$base.time" ]; then cpu="$(awk 'END {print $2 + $3}' "$base.time")"; fi
    printf '{"config":"%s","tool":"%s","round":%d,"start":%s,"end":%s,"status":%d,"cpu_seconds":%s,"cpu_pressure_before":%s,"cpu_pressure_after":%s,"load_before":"%s","load_after":"%s","openblas_coretype":"%s","openblas_l2_size":"%s","openblas_core":"%s"}\n' \
        "$config" "$tool" "$round" "$t0" "$t1" "$status" "$cpu" "$pressure_before" "$pressure_after" "$load_before" "$load_after" \
        "$( [ "$config" = haswell ] && echo Haswell || echo '')" "" "$core" >"$base.meta"
    if [ "$status" != 0 ]; then log "  failed (exit $status): see $base.log"; fi
    log "  $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f s", b - a}')"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "binary: $BIN"
    echo "libopenblas: ${OPENBLAS_LIB:-not found}"
    echo "commit: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "torch: $("$TORCH_PYTHON" -c 'import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())')"
    echo "rounds: $ROUNDS, jobs/workers: $JOBS, configs: $CONFIGS"
} >"$OUT_DIR/conditions.txt"
log "results in $OUT_DIR"
for ((round = 1; round <= ROUNDS; round++)); do
    for config in $CONFIGS; do
        if [ $((round % 2)) = 1 ]; then order="ours pytorch"; else order="pytorch ours"; fi
        for tool in $order; do run "$config" "$tool" "$round"; done
    done
done

python3 "$HERE/combine_lira.py" "$OUT_DIR"
