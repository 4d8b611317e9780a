#!/usr/bin/env bash
# Issue #8's DP-SGD benchmark: PrivacyLab's `privacy-lab-bench dp` and Opacus (opacus_dp.py), run
# alternately ROUNDS times (one repeat each per round, so that load changes hit both), with the
# load average logged before every run. Prints one JSON line per run and a summary of medians.
#
#   Benchmarks/dp/run.sh [ROUNDS] [DATA_DIR]
#
# Needs: a release build of privacy-lab-bench (swift build --package-path Benchmarks -c release --product privacy-lab-bench)
# and a Python with torch and opacus ($PYTHON, default /work/venvs/torch/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
data=${2:-${PRIVACY_LAB_DATA:-../shared/data}}
python=${PYTHON:-/work/venvs/torch/bin/python}
bench=Benchmarks/.build/release/privacy-lab-bench
out=$(mktemp)
for i in $(seq 1 "$rounds"); do
  echo "{\"round\": $i, \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"tool\": \"load\"}" | tee -a "$out"
  "$bench" dp --json --repeats 1 --data-dir "$data" | tee -a "$out"
  echo "{\"round\": $i, \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"tool\": \"load\"}" | tee -a "$out"
  "$python" Benchmarks/dp/opacus_dp.py --repeats 1 --data-dir "$data" 2>/dev/null | tee -a "$out"
done
"$python" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lab = [r for r in rows if r.get("tool") == "privacy-lab"]
opa = [r for r in rows if r.get("tool") == "opacus"]
loads = [float(r["loadavg"].split()[0]) for r in rows if r.get("tool") == "load"]
m = lambda rs, k: statistics.median(r[k] for r in rs)
summary = {
    "rounds": len(lab), "loadavg_1min_median": statistics.median(loads), "loadavg_1min_range": [min(loads), max(loads)],
    "openblas_core": lab[0]["openblas_core"],
    "privacylab_plain_samples_per_s": m(lab, "plain_train_samples_per_s"),
    "privacylab_dp_samples_per_s": m(lab, "dp_train_samples_per_s"),
    "privacylab_dp_over_plain": m(lab, "dp_over_plain"),
    "privacylab_dp_over_plain_cpu": m(lab, "dp_over_plain_cpu"),
    "privacylab_noise_cpu_ns_per_value": m(lab, "noise_cpu_ns_per_value"),
    "privacylab_epsilon": lab[0]["dp_epsilon"], "privacylab_dp_test_accuracy": m(lab, "dp_test_accuracy"),
    "privacylab_plain_test_accuracy": m(lab, "plain_test_accuracy"),
    "opacus_plain_samples_per_s": m(opa, "plain_train_samples_per_s"),
    "opacus_dp_samples_per_s": m(opa, "dp_train_samples_per_s"),
    "opacus_dp_over_plain": m(opa, "dp_over_plain"),
    "opacus_epsilon": opa[0]["dp_epsilon"], "opacus_dp_test_accuracy": m(opa, "dp_test_accuracy"),
    "dp_privacylab_over_opacus": m(lab, "dp_train_samples_per_s") / m(opa, "dp_train_samples_per_s"),
    "per_round_dp_privacylab_over_opacus": [l["dp_train_samples_per_s"] / o["dp_train_samples_per_s"] for l, o in zip(lab, opa)],
}
print(json.dumps({"summary": summary}, sort_keys=True))
PY
rm -f "$out"
