#!/usr/bin/env python3
"""Every DiLoCo variant on platforms/heterogeneous.xml: time to a target perplexity, final perplexity
and WAN bytes (README "Asynchronous DiLoCo"; issue 19).

    scripts/heterogeneous_comparison.py [-j 2] [--seeds 3] > reports/heterogeneous.md   (after scripts/setup.sh)

Each arm is scenarios/async-heterogeneous.yaml (the quickstart's model and data; workers on an
H100-, two A100- (one a straggler) and a V100-like host; 10 rounds of H = 50, 40 outer gradients)
with the algorithm's keys set, evaluated after every round's worth of outer gradients, with seeds
1..N. The target is synchronous DiLoCo's mean final perplexity; an arm reaches it at its first
evaluated row at or below it. Runs go to runs/heterogeneous/<arm>/seed-<s>/ and are resumable.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity import ROOT, cpu_name, commit, summary, target_cells  # noqa: E402  (one place for the statistics)

SCENARIO = "scenarios/async-heterogeneous.yaml"
ARMS = [
    ("synchronous DiLoCo", ["algorithm.name=diloco"]),
    ("Streaming DiLoCo, F = 2", ["algorithm.name=streaming-diloco", "streaming.fragments=2"]),
    ("asynchronous, naive", ["async.delay=1", "async.dylu=off"]),
    ("asynchronous, DN N = 4 + DyLU", []),
    ("HALoS (its example settings)", ["algorithm.name=halos"]),
    ("Decoupled DiLoCo (scenarios/decoupled.yaml)", ["algorithm.name=decoupled-diloco", "decoupled.fragments=2",
                                                      "decoupled.quorum=0.5", "decoupled.grace_s=0", "decoupled.mix=0.5"]),
]


def run_one(binary, out, index, sets, seed):
    directory = os.path.join(out, "arm-%d" % index, "seed-%d" % seed)
    if os.path.exists(os.path.join(directory, "summary.json")):
        return directory, 0.0
    tmp = directory + ".tmp"
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    cmd = [binary, "run", os.path.join(ROOT, SCENARIO), "--set", "seed=%d" % seed, "--set", "algorithm.eval_every=1",
           "--set", "trace=off"]
    for s in sets:
        cmd += ["--set", s]
    cmd += ["--threads", "1", "--no-report", "--out", tmp]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    start = time.time()
    with open(directory + ".log", "w") as log:
        if subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env) != 0:
            raise RuntimeError("run failed: %s; see %s.log" % (" ".join(cmd), directory))
    os.rename(tmp, directory)
    return directory, time.time() - start


def value(directory, key):
    with open(os.path.join(directory, "summary.json")) as f:
        return float(json.load(f)[key])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "heterogeneous"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    binary = os.path.join(args.build, "dipaco-sim")
    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {(i, s): pool.submit(run_one, binary, args.out, i, sets, s)
                   for i, (_, sets) in enumerate(ARMS) for s in range(1, args.seeds + 1)}
        dirs = {k: f.result()[0] for k, f in futures.items()}
    real = sum(value(d, "real_seconds") for d in dirs.values())
    seeds = range(1, args.seeds + 1)
    _, target, _ = summary([value(dirs[(0, s)], "final_val_perplexity") for s in seeds])
    print("# Every DiLoCo variant on the heterogeneous platform\n")
    print("Written by `scripts/heterogeneous_comparison.py` at commit %s on %s, %s: %d arms × %d seeds (%.1f min of "
          "run time at one thread each; %.1f min wall now). `%s` with each arm's keys, evaluated after every round's "
          "worth of outer gradients (40 outer gradients in all, synchronous DiLoCo's count). Mean ± 95 %% CI over seeds "
          "1..%d. Target: synchronous DiLoCo's mean final perplexity, **%.1f**.\n"
          % (commit(), cpu_name(), time.strftime("%Y-%m-%d"), len(ARMS), args.seeds, real / 60, (time.time() - began) / 60,
             SCENARIO, args.seeds, target))
    print("| algorithm | final perplexity | time to target (s) | seeds reaching it | simulated wall clock (s) | WAN GB |")
    print("|---|---|---|---|---|---|")
    for i, (name, sets) in enumerate(ARMS):
        cells = target_cells([dirs[(i, s)] for s in seeds], target)
        print("| %s | %s | %s | %d of %d | %s | %s |" % ((name,) + cells[:3] + (len(seeds),) + cells[3:]))
    print("\nArms (each with `--set algorithm.eval_every=1 --set trace=off --set seed=S`):\n")
    for name, sets in ARMS:
        print("- %s: `%s%s`" % (name, SCENARIO, "".join(" --set " + s for s in sets)))


if __name__ == "__main__":
    main()
