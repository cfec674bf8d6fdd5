#!/usr/bin/env bash
# Fuzzing (issue 20): builds the libFuzzer targets of tests/fuzz/ with clang, ASan and UBSan in
# build-fuzz/, seeds each corpus from the project's own files, runs each target for a fixed budget
# and prints a Markdown table of executions, coverage and findings (reports/fuzzing.md has the last
# one). A crash, leak or sanitizer report leaves its input as build-fuzz/findings/<target>/crash-*.
#
#   scripts/fuzz.sh [seconds per target, default 300] [target ...] > reports/fuzzing.md
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
budget=${1:-300}
build=$root/build-fuzz
all=(fuzz_scenario fuzz_grid fuzz_trace_profile fuzz_platform_scan fuzz_token_cache fuzz_metrics_csv fuzz_run_dir)
shift || true
targets=("${@:-${all[@]}}")

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIPACO_FUZZ=ON \
    -DBUILD_TESTING=OFF >&2
fi
cmake --build "$build" --target "${all[@]}" >&2

# Seed corpora: what the project itself reads and writes.
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{fuzz_scenario,fuzz_grid,fuzz_trace_profile,fuzz_platform_scan,fuzz_token_cache,fuzz_metrics_csv,fuzz_run_dir}
cp "$root"/scenarios/*.yaml "$root"/tests/scenarios/*.yaml "$root"/tests/bad_inputs/*.yaml "$seeds/fuzz_scenario/"
printf '#set algorithm.tau=7\n#set placement.workers={count: 3}\n' | cat - "$root/scenarios/quickstart.yaml" > "$seeds/fuzz_scenario/with-sets.yaml"
for g in 'algorithm.tau=10,25,50' 'failures.preemptions_per_hour=0,0.1' 'placement.workers=[a0,b0],[a1]' \
         "data.sharding=iid,domain" 'x="a,b",c' 'k=[1,[2,3]],{a: 1}'; do
  printf '%s' "$g" > "$seeds/fuzz_grid/$(printf '%s' "$g" | md5sum | cut -c1-8)"
done
find "$root/platforms" "$root/tests/platforms" -path '*traces*' -type f -exec cp {} "$seeds/fuzz_trace_profile/" \;
# A small valid token cache: a byte-tokenized JSON-lines corpus prepared by the regular build.
if [ -x "$root/build/dipaco-sim" ]; then
  python3 -c 'import json
for i in range(60): print(json.dumps({"text": "document %d: " % i + "the quick brown fox jumps over the lazy dog " * (1 + i % 5)}))' \
    > "$seeds/corpus.jsonl"
  "$root/build/dipaco-sim" data prepare "$root/tests/scenarios/tiny-text.yaml" --set data.path="$seeds/corpus.jsonl" \
    --set data.cache_dir="$seeds/cache" --set 'data.tokenizer={kind: byte}' >/dev/null 2>&1 || true
  find "$seeds/cache" -name '*.tokens' -exec cp {} "$seeds/fuzz_token_cache/" \; 2>/dev/null || true
fi
printf 'DIPACOTK' > "$seeds/fuzz_token_cache/magic-only"
cp "$root"/platforms/*.xml "$root"/tests/platforms/*.xml "$root"/tests/bad_inputs/platforms/*.xml "$seeds/fuzz_platform_scan/"
# Run directories: summary.json, metrics.csv and scenario.yaml joined by "=====" lines.
find "$root/runs" -maxdepth 3 -name summary.json -size -64k 2>/dev/null > "$seeds/run-dirs" || true
head -20 "$seeds/run-dirs" | while read -r f; do
  d=$(dirname "$f")
  [ -f "$d/metrics.csv" ] && [ -f "$d/scenario.yaml" ] || continue
  { cat "$d/summary.json"; printf '\n=====\n'; head -c 20000 "$d/metrics.csv"; printf '\n=====\n'; cat "$d/scenario.yaml"; } \
    > "$seeds/fuzz_run_dir/$(echo "$d" | md5sum | cut -c1-8)"
done
find "$root/tests/fixtures" "$root/runs" -maxdepth 4 -name metrics.csv -size -64k 2>/dev/null > "$seeds/metrics-files" || true
head -20 "$seeds/metrics-files" | while read -r f; do cp "$f" "$seeds/fuzz_metrics_csv/$(echo "$f" | md5sum | cut -c1-8).csv"; done

echo "| target | executions | seconds | exec/s | coverage (edges) | features | corpus | findings |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t findings=$build/findings/$t
  mkdir -p "$corpus" "$findings"
  log=$build/$t.log
  # -fork=1: a finding is saved and the run goes on to the budget; findings are counted from the files.
  set +e
  (cd "$findings" && "$build/tests/fuzz/$t" -max_total_time="$budget" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
     -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 "$corpus" "$seeds/$t") > "$log" 2>&1
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  if [ -z "$execs" ]; then execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#'); fi
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  n=$(find "$corpus" -type f | wc -l)
  crashes=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  echo "| $t | $execs | $budget | $(( ${execs:-0} / budget )) | $cov | $ft | $n | $crashes |"
done
