#!/usr/bin/env bash
# Audit benchmark (issue #18): `privacy-lab run` of an `audit` spec end to end — load the .npy
# signals of 65 models (a target and 64 references) × 5010 records × 30 classes, run every attack
# (loss, confidence, entropy, modified entropy, LiRA online/offline, RMIA online/offline), compute
# the metrics, store the run — beside an independent numpy computation of the same attacks and
# metrics on the same files (scripts/audit_example/numpy_audit.py), in the same session.
#
#   lab     .build/release/privacy-lab run $SPEC --store <a fresh temporary store every run> --json
#           (the spec as a user runs it: 200 bootstrap replicates per attack, the kind's default)
#   lab-nb  the same with --set attack.bootstrap=0 (no intervals: the work numpy does, plus the
#           empirical epsilon, the ROC series and the store)
#   numpy   $PY scripts/audit_example/numpy_audit.py $SIGNALS --scores-out <a fresh folder>
#
# Both are timed by wall clock from outside, process start to exit (the binary's start, reading
# 38 MB of logits and writing the SQLite run record on one side; the interpreter's start,
# `import numpy`, reading the same files and writing the score arrays on the other). Each round
# runs the three one after the other, the order rotating every round, after one untimed warm-up
# of each (page cache). Recorded for every run: wall seconds, CPU seconds (user + system, from
# /usr/bin/time), /proc/loadavg and the CPU pressure (PSI "some avg10") before and after, and once
# the kernel OpenBLAS picks in the binary's libopenblas (openblas_get_corename(), probed through
# ctypes). combine_audit.py prints the Markdown tables (medians, per-round ratios, load).
#
#   Benchmarks/audit/run-audit-bench.sh                  # ROUNDS=10
#   ROUNDS=20 SKIP_BUILD=1 Benchmarks/audit/run-audit-bench.sh > audit-bench.md
#
# Environment:
#   ROUNDS            timed rounds (default 10)
#   PY                a Python with numpy (default python3; torch is needed only
#                     to regenerate missing signals)
#   SIGNALS           the signals folder (default experiments/audit/location-pytorch); generated with
#                     scripts/audit_example/train_location.py --workers 2 when its files are missing
#   SPEC              the audit spec (default experiments/audit/location-pytorch.yaml)
#   PRIVACY_LAB_DATA  folder holding location/bangkok, to regenerate the signals (default
#                     ../shared/data beside the repository, else $PRIVACY_LAB_DATA)
#   OUT_DIR           raw results and logs (default a new temporary folder)
#   SKIP_BUILD=1      use the existing release binary
#   BIN               a privacy-lab binary to time instead of this checkout's (implies SKIP_BUILD)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$(dirname "$HERE")")"

ROUNDS="${ROUNDS:-10}"
PY="${PY:-python3}"
SIGNALS="${SIGNALS:-experiments/audit/location-pytorch}"
SPEC="${SPEC:-experiments/audit/location-pytorch.yaml}"
if [ -z "${PRIVACY_LAB_DATA:-}" ]; then
    if [ -d "$REPO/../shared/data" ]; then PRIVACY_LAB_DATA="$(cd "$REPO/../shared/data" && pwd)"
    else PRIVACY_LAB_DATA=/work/shared/data; fi
fi
OUT_DIR="${OUT_DIR:-$(mktemp -d -t privacy-lab-audit-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

log() { echo "run-audit-bench: $*" >&2; }

cd "$REPO"
if [ -n "${BIN:-}" ]; then SKIP_BUILD=1; fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building: swift build -c release --product privacy-lab"
    swift build -c release --product privacy-lab >"$OUT_DIR/build.log" 2>&1 || { log "build failed (see $OUT_DIR/build.log)"; exit 1; }
fi
BIN="${BIN:-$(swift build -c release --show-bin-path)/privacy-lab}"
[ -x "$BIN" ] || { log "no binary at $BIN"; exit 1; }
[ -f "$SPEC" ] || { log "no spec at $SPEC"; exit 1; }
"$PY" -c 'import numpy' 2>/dev/null || { log "$PY has no numpy (set PY)"; exit 1; }

FILES="labels.npy members.npy target_logits.npy reference_logits.npy reference_members.npy"
missing=0
for f in $FILES; do [ -f "$SIGNALS/$f" ] || missing=1; done
if [ "$missing" = 1 ]; then
    log "signals missing in $SIGNALS: training the target and 64 references with PyTorch (a few minutes)"
    "$PY" scripts/audit_example/train_location.py --data-dir "$PRIVACY_LAB_DATA" --out "$SIGNALS" --workers 2 \
        >"$OUT_DIR/train.json" 2>"$OUT_DIR/train.log" || { log "training failed (see $OUT_DIR/train.log)"; exit 1; }
fi
SHAPES="$("$PY" -c '
import sys, numpy as np
d = sys.argv[1]
for f in sys.argv[2:]:
    a = np.load(f"{d}/{f}", mmap_mode="r"); print(f"{f} {a.dtype} {tuple(a.shape)}", end="; ")
' "$SIGNALS" $FILES)"

OPENBLAS_LIB="$(ldd "$BIN" 2>/dev/null | awk '/libopenblas/ {print $3; exit}')"
CORE=unknown
if [ -n "$OPENBLAS_LIB" ]; then
    CORE="$(python3 -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' "$OPENBLAS_LIB" 2>/dev/null || echo unknown)"
fi

cpu_pressure() { awk '/^some/ {sub("avg10=", "", $2); print $2; found = 1} END {if (!found) print "null"}' /proc/pressure/cpu 2>/dev/null || echo null; }

# run TOOL ROUND: one measurement; files TOOL__rROUND.{json,log,time,meta}.
run() {
    local tool="$1" round="$2" status=0 t0 t1 scratch
    local base="$OUT_DIR/${tool}__r${round}"
    scratch="$(mktemp -d -t privacy-lab-audit-run.XXXXXX)"
    local load_before pressure_before load_after pressure_after
    load_before="$(cat /proc/loadavg)"
    pressure_before="$(cpu_pressure)"
    t0="$EPOCHREALTIME"
    if [ "$tool" = lab ]; then
        /usr/bin/time -f '%e %U %S' -o "$base.time" "$BIN" run "$SPEC" --store "$scratch/store.sqlite" --json \
            >"$base.json" 2>"$base.log" || status=$?
    elif [ "$tool" = lab-nb ]; then
        /usr/bin/time -f '%e %U %S' -o "$base.time" "$BIN" run "$SPEC" --store "$scratch/store.sqlite" --json \
            --set attack.bootstrap=0 >"$base.json" 2>"$base.log" || status=$?
    else
        /usr/bin/time -f '%e %U %S' -o "$base.time" "$PY" scripts/audit_example/numpy_audit.py "$SIGNALS" \
            --scores-out "$scratch/scores" >"$base.json" 2>"$base.log" || status=$?
    fi
    t1="$EPOCHREALTIME"
    load_after="$(cat /proc/loadavg)"
    pressure_after="$(cpu_pressure)"
    rm -rf "$scratch"
    local cpu=null
    if [ -s "$base.time" ]; then cpu="$(awk 'END {print $2 + $3}' "$base.time")"; fi
    printf '{"tool":"%s","round":%d,"start":%s,"end":%s,"status":%d,"cpu_seconds":%s,"cpu_pressure_before":%s,"cpu_pressure_after":%s,"load_before":"%s","load_after":"%s"}\n' \
        "$tool" "$round" "$t0" "$t1" "$status" "$cpu" "$pressure_before" "$pressure_after" "$load_before" "$load_after" >"$base.meta"
    if [ "$status" != 0 ]; then log "round $round $tool failed (exit $status): see $base.log"; fi
    log "round $round $tool: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f s", b - a}') (load before ${load_before%% *})"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "binary: $BIN"
    echo "libopenblas: ${OPENBLAS_LIB:-not linked}; kernel: $CORE (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
    echo "python: $("$PY" -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"
    echo "spec: $SPEC"
    echo "signals: $SIGNALS: $SHAPES"
    echo "rounds: $ROUNDS (+1 untimed warm-up of each)"
} >"$OUT_DIR/conditions.txt"
log "results in $OUT_DIR"
TOOLS=(lab lab-nb numpy)
for tool in "${TOOLS[@]}"; do run "$tool" 0; done
for ((round = 1; round <= ROUNDS; round++)); do
    for ((i = 0; i < ${#TOOLS[@]}; i++)); do run "${TOOLS[$(((i + round) % ${#TOOLS[@]}))]}" "$round"; done
done

python3 "$HERE/combine_audit.py" "$OUT_DIR"
