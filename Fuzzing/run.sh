#!/usr/bin/env bash
# Builds PrivacyLab's fuzz targets (libFuzzer, with AddressSanitizer) and runs each of them.
#
#   Fuzzing/run.sh [SECONDS | -runs=N] [--max-time S] [--jobs J] [--report | --report-only] [TARGET…]
#
# SECONDS (default 60) is each target's time; -runs=N runs each for N inputs instead, stopping
# after S seconds if --max-time is given (the report then shows how many ran). --jobs J
# runs J targets at once (default 1). --report writes Fuzzing/REPORT.md from the results; every
# run writes Fuzzing/work/summary.md. TARGETs default to all of them (see Package.swift).
# --report-only builds and runs nothing: it writes REPORT.md from each TARGET's last result in
# work/logs/ (targets run by separate invocations, e.g. the slow ones alone and the quick ones two
# at a time); give it the budget those runs had.
#
# Each target starts from its committed seeds (corpus/<target>/), copied into work/<target>/,
# where the corpus libFuzzer grows is kept between runs (git-ignored). Limits: -max_len as set
# below per target (a few KB: the readers' bugs live in headers and structure, and every
# allocation from such an input must stay small), -rss_limit_mb=2048 (also the largest single
# allocation: a reader that allocates 2 GB for a few KB of input has a bug), -timeout=10 s per
# input. A crash, leak, timeout or OOM leaves its input in work/artifacts/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")"

budget=60
jobs=1
max_time=
report=0
report_only=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -runs=*) budget="$1" ;;
        --jobs) jobs="$2"; shift ;;
        --max-time) max_time="$2"; shift ;;
        --report) report=1 ;;
        --report-only) report=1; report_only=1 ;;
        [0-9]*) budget="$1" ;;
        fuzz-*) targets+=("$1") ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
# The slower targets (YAML, planning, bignums) first, so that two jobs finish together.
all=(fuzz-spec fuzz-notebook fuzz-set fuzz-safetensors fuzz-phe fuzz-csv fuzz-npy fuzz-idx fuzz-pgm fuzz-http fuzz-serve)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

max_len() {
    case "$1" in
        fuzz-safetensors) echo 8192 ;;
        fuzz-phe) echo 1024 ;;
        *) echo 4096 ;;
    esac
}

mkdir -p work/artifacts work/logs
if [ "$report_only" -eq 1 ]; then
    for target in "${targets[@]}"; do
        [ -f "work/logs/$target.result" ] || { echo "run.sh: no result of $target in work/logs/" >&2; exit 2; }
    done
    build_seconds=0
else
start=$(date +%s)
# The instrumentation of -sanitize=fuzzer for every Swift target (see Package.swift).
flags=(-c release -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table)
echo "fuzz: building (release, -sanitize=fuzzer,address)"
if [ "${FUZZ_SKIP_BUILD:-0}" = 1 ]; then
    echo "fuzz: FUZZ_SKIP_BUILD=1: using the targets already built"
elif ! swift build "${flags[@]}" > work/logs/build.log 2>&1; then
    tail -40 work/logs/build.log >&2
    exit 1
fi
build_seconds=$(( $(date +%s) - start ))
bin="$(swift build "${flags[@]}" --show-bin-path)"
echo "fuzz: built in ${build_seconds}s"

if [[ "$budget" == -runs=* ]]; then limit=("$budget"); else limit=("-max_total_time=$budget"); fi
if [ -n "$max_time" ]; then limit+=("-max_total_time=$max_time"); fi

run_target() {
    local target="$1"
    mkdir -p "work/$target"
    cp -n "corpus/$target/"* "work/$target/" 2>/dev/null || true
    local log="work/logs/$target.log"
    local t0; t0=$(date +%s)
    set +e
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" \
        "$bin/$target" "work/$target" "${limit[@]}" -max_len="$(max_len "$target")" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="work/artifacts/$target-" >"$log" 2>&1
    local rc=$?
    set -e
    local execs; execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    local rss; rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    local files; files=$(find "work/$target" -type f | wc -l)
    local bytes; bytes=$(du -sb "work/$target" | awk '{print $1}')
    local crashes; crashes=$(find work/artifacts -name "$target-*" -newer "work/logs/.start-$target" -type f | wc -l)
    [ $rc -eq 0 ] || [ "$crashes" -gt 0 ] || crashes=1
    echo "$target|${execs:-0}|$crashes|$files|$bytes|${rss:-?}|$(( $(date +%s) - t0 ))|$rc" > "work/logs/$target.result"
    echo "fuzz: $target: ${execs:-0} executions, $crashes crashes, corpus $files files ($bytes bytes), peak RSS ${rss:-?} MB"
    if [ $rc -ne 0 ]; then grep -E "ERROR|SUMMARY|==[0-9]+==|Fatal error|Test unit written" "$log" | head -20 >&2 || true; fi
}

for target in "${targets[@]}"; do touch "work/logs/.start-$target"; rm -f "work/logs/$target.result"; done
running=0
for target in "${targets[@]}"; do
    run_target "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

fi

# The summary: one row per target, then the totals.
summary=work/summary.md
{
    echo "| target | executions | crashes | corpus files | corpus bytes | peak RSS (MB) | seconds | max_len |"
    echo "|---|---|---|---|---|---|---|---|"
    for target in "${targets[@]}"; do
        IFS='|' read -r name execs crashes files bytes rss seconds rc < "work/logs/$target.result"
        echo "| $name | $execs | $crashes | $files | $bytes | $rss | $seconds | $(max_len "$target") |"
    done
} > "$summary"
cat "$summary"
failed=$(cat work/logs/*.result | awk -F'|' '$3 > 0' | wc -l)

if [ "$report" -eq 1 ]; then
    {
        echo "# Fuzzing report"
        echo
        echo "Written by \`Fuzzing/run.sh --report\`; do not edit by hand. Each target ran $( [[ "$budget" == -runs=* ]] && echo "for ${budget#-runs=} inputs${max_time:+ or $max_time s, whichever came first}" || echo "for $budget s" ) from its committed seeds"
        echo "(plus the corpus of earlier runs in \`work/\`), with -rss_limit_mb=2048, -timeout=10 and the max_len shown."
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- ../Sources 2>/dev/null || echo ' (with uncommitted changes in Sources)')"
        if [ "$report_only" -eq 1 ]; then
            echo "- machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) when the report was written; each target's last run, from work/logs/"
        else
            echo "- machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, $jobs target(s) at a time"
        fi
        echo "- toolchain: $(swift --version 2>/dev/null | head -1)"
        if [ "$report_only" -eq 1 ]; then
            echo "- build of the fuzz package: not part of this report (written by \`run.sh --report-only\` from the results of earlier runs)"
        else
            echo "- build of the fuzz package: ${build_seconds} s (0 when nothing had to be rebuilt)"
        fi
        echo "- targets that crashed, leaked, timed out or ran out of memory: $failed"
        echo
        cat "$summary"
        echo
        echo "What each target reads is written at the top of its source (\`Sources/<target>/\`); the audit of"
        echo "preconditions reachable from input is in \`docs/INPUT-AUDIT.md\`."
    } > REPORT.md
    echo "fuzz: wrote Fuzzing/REPORT.md"
fi
[ "$failed" -eq 0 ] || { echo "fuzz: $failed target(s) failed; inputs in Fuzzing/work/artifacts/" >&2; exit 1; }
