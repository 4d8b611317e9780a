#!/usr/bin/env bash
# Runs the audit spec with privacy-lab into a fresh store, exports the run
# (`privacy-lab runs export ID --scores DIR` and `--format json`), then runs numpy_audit.py on the
# same .npy signals against that export: every attack's scores must agree to 1e-9 relative and every metric
# numpy computes (AUC, TPR at the five FPR targets, advantage, balanced accuracy, PPV) on the
# lab's scores must equal the lab's to 1e-9. Writes numpy's report (with the comparison) to
# $REPORT and exits 1 on any mismatch.
#
#   scripts/audit_example/check_agreement.sh
#
# Environment: SPEC (experiments/audit/location-pytorch.yaml), SIGNALS (its signals folder,
# experiments/audit/location-pytorch; generated with train_location.py when missing), PY
# (python3 with torch and numpy), BIN (the release privacy-lab; built when missing), REPORT
# (experiments/audit/location-pytorch-agreement.json), PRIVACY_LAB_DATA (to regenerate the signals).
set -euo pipefail
cd "$(dirname "$0")/../.."

SPEC="${SPEC:-experiments/audit/location-pytorch.yaml}"
SIGNALS="${SIGNALS:-experiments/audit/location-pytorch}"
PY="${PY:-python3}"
REPORT="${REPORT:-experiments/audit/location-pytorch-agreement.json}"
PRIVACY_LAB_DATA="${PRIVACY_LAB_DATA:-../shared/data}"
if [ -z "${BIN:-}" ]; then
    BIN="$(swift build -c release --show-bin-path)/privacy-lab"
    [ -x "$BIN" ] || swift build -c release --product privacy-lab >&2
fi

for f in labels members target_logits reference_logits reference_members; do
    if [ ! -f "$SIGNALS/$f.npy" ]; then
        echo "check_agreement: $SIGNALS/$f.npy missing: training the models (train_location.py --workers 2)" >&2
        "$PY" scripts/audit_example/train_location.py --data-dir "$PRIVACY_LAB_DATA" --out "$SIGNALS" --workers 2 >/dev/null
        break
    fi
done

scratch="$(mktemp -d -t privacy-lab-audit-agreement.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
"$BIN" run "$SPEC" --store "$scratch/store.sqlite" --json >"$scratch/run.json"
run_id="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["run"])' "$scratch/run.json")"
status=0
"$BIN" runs export "$run_id" --store "$scratch/store.sqlite" --scores "$scratch/export" >/dev/null
"$BIN" runs export "$run_id" --store "$scratch/store.sqlite" --format json >"$scratch/metrics.json"
"$PY" scripts/audit_example/numpy_audit.py "$SIGNALS" --compare "$scratch/export" --lab-metrics "$scratch/metrics.json" \
    >"$scratch/numpy.json" || status=$?
# The report without the machine's timings, so that it changes only when a result does.
python3 - "$scratch/numpy.json" "$REPORT" "$SPEC" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
report.pop("seconds", None)
report["spec"] = sys.argv[3]
compare = report.get("compare", {})
worst_scores = max((v["max_relative_error"] for v in compare.get("scores", {}).values()), default=None)
worst_metric = max((v["abs_diff"] for v in compare.get("metrics", {}).values()), default=None)
report["summary"] = {"attacks_compared": len(compare.get("scores", {})), "metrics_compared": len(compare.get("metrics", {})),
                     "largest_score_relative_error": worst_scores, "largest_metric_difference": worst_metric,
                     "failures": len(compare.get("failures", []))}
with open(sys.argv[2], "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
print(json.dumps(report["summary"]))
EOF
exit "$status"
