#!/usr/bin/env bash
# Runs the training runs behind the README's figures, two at a time with one training thread each
# (results do not depend on the thread count), into runs/readme/NAME. Resumable: a run whose
# summary.json exists is skipped. Pass names to run only those (default: all, in the order below,
# most-cited first). Prints each run's final perplexity, simulated wall-clock and WAN bytes.
#
#   scripts/readme_runs.sh [NAME...]
#
# DIPACO_SIM names the binary (default build/dipaco-sim): a copy keeps a long batch on one build
# while the tree is rebuilt.
# Like bench.py, it drops a preset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so that dipaco chooses the
# kernel as it would for a fresh user; the summary.json of each run names the CPU, kernel and precision.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/readme
bin=${DIPACO_SIM:-build/dipaco-sim}
mkdir -p "$out"

runs=(
  "quickstart-diloco|scenarios/quickstart.yaml"
  "quickstart-sync|scenarios/quickstart.yaml --set algorithm.name=sync"
  "dense|scenarios/dense.yaml"
  "diloco-4|scenarios/diloco-4.yaml"
  "flat-moe-4|scenarios/flat-moe-4.yaml"
  "dipaco-2x2|scenarios/dipaco-2x2.yaml"
  "dipaco-4x4|scenarios/dipaco-4x4.yaml"
  "preemptions|scenarios/preemptions.yaml"
  "preemptions-none|scenarios/preemptions.yaml --set failures.preemption.mtbf_hours=inf"
  "schedule-doubling|scenarios/diloco-4.yaml --set dipaco.compute_schedule=doubling"
  "schedule-halving|scenarios/diloco-4.yaml --set dipaco.compute_schedule=halving"
  "schedule-ramp_up|scenarios/diloco-4.yaml --set dipaco.compute_schedule=ramp_up"
  "schedule-ramp_down|scenarios/diloco-4.yaml --set dipaco.compute_schedule=ramp_down"
  "drop-0.1|scenarios/diloco-4.yaml --set failures.drop_probability=0.1"
  "drop-0.3|scenarios/diloco-4.yaml --set failures.drop_probability=0.3"
  "drop-0.5|scenarios/diloco-4.yaml --set failures.drop_probability=0.5"
  "reroute-64|scenarios/dipaco-2x2.yaml --set dipaco.reroute_every=64"
  "em5-2048|scenarios/dipaco-2x2.yaml --set dipaco.discriminative_after=5"
  "em5-8192|scenarios/dipaco-2x2.yaml --set dipaco.discriminative_after=5 --set dipaco.router_split_sequences=8192"
  "em2-8192|scenarios/dipaco-2x2.yaml --set dipaco.discriminative_after=2 --set dipaco.router_split_sequences=8192"
  "em5-8192-margin|scenarios/dipaco-2x2.yaml --set dipaco.discriminative_after=5 --set dipaco.router_split_sequences=8192 --set dipaco.relabel_margin=0.1"
  "em5-2048-margin|scenarios/dipaco-2x2.yaml --set dipaco.discriminative_after=5 --set dipaco.relabel_margin=0.1"
  "rescale-2x2|scenarios/dipaco-2x2.yaml --set dipaco.rescale_outer_gradient=true"
  "executors-every-1|scenarios/preemptions.yaml --set failures.preemption.mtbf_hours=1 --set failures.seed=3 --set dipaco.executors=us-gpu4 --set failures.executors_fail=true --set checkpoints.storage=us-gpu5 --set checkpoints.module_every_phases=1"
  "executors-every-5|scenarios/preemptions.yaml --set failures.preemption.mtbf_hours=1 --set failures.seed=3 --set dipaco.executors=us-gpu4 --set failures.executors_fail=true --set checkpoints.storage=us-gpu5 --set checkpoints.module_every_phases=5"
  "dipaco-16x16|scenarios/dipaco-16x16.yaml"
  "flaky-wan|scenarios/flaky-wan.yaml"
)

selected=()
for entry in "${runs[@]}"; do
  name=${entry%%|*}
  if (($# == 0)); then selected+=("$entry"); continue; fi
  for want in "$@"; do [[ $want == "$name" ]] && selected+=("$entry"); done
done

one() {
  local name=${1%%|*} args=${1#*|}
  [[ -f $out/$name/summary.json ]] && return 0
  echo "readme_runs: $name" >&2
  # shellcheck disable=SC2086  # args is a list of words by design
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin" run $args --threads 1 --no-report --out "$out/$name.tmp" \
    >"$out/$name.log" 2>&1 && rm -rf "$out/$name" && mv "$out/$name.tmp" "$out/$name"
}
export -f one
export out bin
printf '%s\n' "${selected[@]}" | xargs -P 2 -I{} bash -c 'one "$@"' _ {}

for entry in "${selected[@]}"; do
  name=${entry%%|*}
  f=$out/$name/summary.json
  [[ -f $f ]] || { echo "$name: not run"; continue; }
  python3 - "$name" "$f" <<'EOF'
import json, sys
s = json.load(open(sys.argv[2]))
c = s.get("compute", {})
print("%-18s ppl %s -> %s  wall %.1f s  WAN %.3g B  %s %s" % (
    sys.argv[1], s.get("initial_val_perplexity"), s.get("final_val_perplexity"), s["simulated_wall_clock_s"], s["wan_bytes"],
    c.get("precision"), c.get("blas_kernel")))
EOF
done
