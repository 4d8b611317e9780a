#!/usr/bin/env bash
# Issue #9's gradient-inversion benchmark: DLG (300 L-BFGS iterations with strong-Wolfe line
# search, one MNIST test image, DLG's sigmoid LeNet) in PrivacyLab and in the reference PyTorch
# formulation (Benchmarks/peers/pytorch_dlg.py), on the *same* problem: our side exports the
# weights, the image, its label and the dummy start, and PyTorch reads them.
#
# Two OpenBLAS configurations, as Benchmarks/run-nn-bench.sh does it: "preset" (OPENBLAS_CORETYPE /
# OPENBLAS_L2_SIZE as the machine presets them, else OPENBLAS_CORETYPE=Haswell) and "unset" (both
# removed). In each, ROUNDS rounds alternate the two tools (order flipped every round), one
# thread each; the load average is logged around every run and the BLAS core our side chose.
# Prints one JSON line per run, then a summary per configuration: median seconds, the speed ratio
# PyTorch seconds / PrivacyLab seconds (> 1: PrivacyLab is faster) and both PSNRs.
#
#   Benchmarks/inversion/run.sh [ROUNDS] [DATA_DIR]      (SKIP_BUILD=1 uses the existing release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
data=${2:-${PRIVACY_LAB_DATA:-../shared/data}}
python=${TORCH_PYTHON:-/work/venvs/torch/bin/python}
iterations=${ITERATIONS:-300}
if [ "${SKIP_BUILD:-0}" != 1 ]; then swift build --package-path Benchmarks -c release --product privacy-lab-inversion-bench >&2; fi
bench=Benchmarks/.build/release/privacy-lab-inversion-bench
problem=$(mktemp -d)
out=$(mktemp)
preset=("OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}")
if [ -n "${OPENBLAS_L2_SIZE:-}" ]; then preset+=("OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE"); fi
"$bench" dlg --json --iterations "$iterations" --data-dir "$data" --export "$problem" >/dev/null
for config in preset unset; do
  envs=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
  if [ "$config" = preset ]; then envs+=("${preset[@]}"); fi
  for i in $(seq 1 "$rounds"); do
    if [ $((i % 2)) = 1 ]; then order="ours pytorch"; else order="pytorch ours"; fi
    for tool in $order; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      if [ "$tool" = ours ]; then
        line=$(env "${envs[@]}" "$bench" dlg --json --iterations "$iterations" --data-dir "$data")
      else
        line=$(env "${envs[@]}" "$python" Benchmarks/peers/pytorch_dlg.py --problem "$problem" --iterations "$iterations" --threads 1)
      fi
      echo "{\"config\": \"$config\", \"round\": $i, \"loadavg_before\": $load, \"loadavg_after\": $(cut -d' ' -f1 /proc/loadavg), \"result\": $line}" | tee -a "$out"
    done
  done
done
"$python" - "$out" "${preset[*]}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for config in ("preset", "unset"):
    ours = [r["result"] for r in rows if r["config"] == config and r["result"]["tool"] == "privacy-lab"]
    torch = [r["result"] for r in rows if r["config"] == config and r["result"]["tool"] == "pytorch"]
    loads = [r["loadavg_before"] for r in rows if r["config"] == config] + [r["loadavg_after"] for r in rows if r["config"] == config]
    m = lambda rs, k: statistics.median(r[k] for r in rs)
    print(json.dumps({"summary": {
        "config": config, "env": sys.argv[2] if config == "preset" else "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset",
        "openblas_core": ours[0]["openblas_core"], "rounds": len(ours),
        "privacylab_seconds": m(ours, "seconds"), "pytorch_seconds": m(torch, "seconds"),
        "speed_ratio_pytorch_over_privacylab": m(torch, "seconds") / m(ours, "seconds"),
        "per_round_ratio": [t["seconds"] / o["seconds"] for o, t in zip(ours, torch)],
        "privacylab_psnr_db": m(ours, "psnr_db"), "pytorch_psnr_db": m(torch, "psnr_db"),
        "privacylab_evaluations": m(ours, "evaluations"), "pytorch_evaluations": m(torch, "evaluations"),
        "loadavg_1min_range": [min(loads), max(loads)],
    }}, sort_keys=True))
PY
rm -rf "$problem" "$out"
