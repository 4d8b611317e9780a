#!/usr/bin/env bash
# Re-runs every notebook (or those named) from an empty store with `privacy-lab notebook check`
# and fails if any recorded output differs; prints each notebook's wall time and the machine's
# load. CI checks the fast ones (.ci/run); this is the full check, which takes hours on 2 cores
# (the evasion and backdoor notebooks train adversarially on all of MNIST).
#
#   PRIVACY_LAB_DATA=/path/to/data scripts/check_notebooks.sh [notebooks-md/NAME.md ...]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PRIVACY_LAB_DATA:?set PRIVACY_LAB_DATA to the data folder}"
swift build -c release --product privacy-lab >/dev/null
notebooks=("$@")
[ "${#notebooks[@]}" -gt 0 ] || notebooks=(notebooks-md/*.md)
failed=0
for notebook in "${notebooks[@]}"; do
    start=$(date +%s)
    if .build/release/privacy-lab notebook check "$notebook" --jobs 2; then status=ok; else status=FAILED; failed=1; fi
    echo "$status $notebook $(( $(date +%s) - start )) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
exit $failed
