#!/usr/bin/python3
"""Does bf16 mixed precision train as well as fp32? Runs scenarios at several seeds in each precision
and compares final validation perplexities (README "Precision").

  scripts/precision_quality.py [--seeds 1,2,3] [--scenarios scenarios/quickstart.yaml,...] [--out runs/precision]

Resumable: a run whose summary.json exists is not run again. Prints a markdown table to stdout.

The verdict was fixed before any run was read: bf16 passes on a scenario if the mean of its final
perplexities lies inside the range (min to max) of fp32's over the same seeds, the seed-to-seed
spread the issue asks for. The table also gives each mean with a 95 % Student-t interval, the
difference of means with Welch's 95 % interval, and the per-seed (paired) relative difference with
its 95 % interval, so that a reader can judge with more than a range.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Two-sided 95 % Student-t quantiles by degrees of freedom (1..10; beyond, 1.96 is close enough).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def t95(df):
    return T95.get(max(1, int(round(df))), 1.96)


def run(sim, scenario, seed, precision, out_root, threads):
    name = "%s-seed%d-%s" % (os.path.splitext(os.path.basename(scenario))[0], seed, precision)
    out = os.path.join(out_root, name)
    summary = os.path.join(out, "summary.json")
    if not os.path.exists(summary):
        print("precision: running %s" % name, file=sys.stderr, flush=True)
        subprocess.run([sim, "run", scenario, "--set", "seed=%d" % seed, "--set", "precision=" + precision, "--threads",
                        str(threads), "--no-report", "--out", out], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    with open(summary) as f:
        return json.load(f)


def mean_ci(values):
    m = statistics.mean(values)
    if len(values) < 2:
        return m, float("nan"), float("nan")
    sd = statistics.stdev(values)
    return m, sd, t95(len(values) - 1) * sd / math.sqrt(len(values))


def welch(a, b):
    """Difference of means b - a with Welch's 95 % interval half-width."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else 1
    return statistics.mean(b) - statistics.mean(a), t95(df) * math.sqrt(va + vb)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--scenarios", default="scenarios/quickstart.yaml,scenarios/dipaco-2x2.yaml")
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "precision"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    cfg = ap.parse_args()
    seeds = [int(s) for s in cfg.seeds.split(",")]
    sim = os.path.join(os.path.abspath(cfg.build), "dipaco-sim")
    rows = []
    compute = None
    for scenario in cfg.scenarios.split(","):
        ppl, real = {}, {}
        for precision in ("fp32", "bf16"):
            runs = [run(sim, scenario, s, precision, cfg.out, cfg.threads) for s in seeds]
            ppl[precision] = [r["final_val_perplexity"] for r in runs]
            real[precision] = [r["real_seconds"] for r in runs]
            compute = runs[-1].get("compute", compute)
        rows.append((scenario, ppl, real))

    print("CPU %s (%s), OpenBLAS kernel %s (%s), %d threads; seeds %s." % (
        compute["cpu"], compute["cpu_features"], compute["blas_kernel"], compute["blas_kernel_set_by"], cfg.threads,
        ", ".join(map(str, seeds))))
    print("")
    print("| scenario | precision | final val. perplexity per seed | mean ± 95 % CI | real time (mean) |")
    print("|---|---|---|---|---|")
    for scenario, ppl, real in rows:
        for precision in ("fp32", "bf16"):
            m, _, h = mean_ci(ppl[precision])
            print("| %s | %s | %s | %.2f ± %.2f | %.0f s |" % (os.path.basename(scenario), precision,
                                                              ", ".join("%.2f" % v for v in ppl[precision]), m, h,
                                                              statistics.mean(real[precision])))
    print("")
    # Paired by seed as well: a seed fixes the data, the shards and the initial parameters, so the
    # per-seed difference removes most of the seed-to-seed spread that the unpaired interval carries.
    print("| scenario | bf16 − fp32 (Welch 95 % CI) | paired by seed: bf16 / fp32 − 1 (95 % CI) | fp32 range | bf16 mean inside it |")
    print("|---|---|---|---|---|")
    for scenario, ppl, _ in rows:
        d, h = welch(ppl["fp32"], ppl["bf16"])
        paired = [b / a - 1 for a, b in zip(ppl["fp32"], ppl["bf16"])]
        pm, _, ph = mean_ci(paired)
        lo, hi = min(ppl["fp32"]), max(ppl["fp32"])
        inside = lo <= statistics.mean(ppl["bf16"]) <= hi
        print("| %s | %+.2f ± %.2f (%+.1f %%) | %+.1f %% ± %.1f %% (%s) | %.2f – %.2f | %s |" % (
            os.path.basename(scenario), d, h, 100 * d / statistics.mean(ppl["fp32"]), 100 * pm, 100 * ph,
            ", ".join("%+.1f %%" % (100 * p) for p in paired), lo, hi, "**yes**" if inside else "**no**"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
