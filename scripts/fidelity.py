#!/usr/bin/env python3
"""The fidelity suite: does dipaco-sim reproduce the papers' trends at its own scale?

    scripts/fidelity.py [-j 2] [--seeds 5] [--only T03 T08] > reports/fidelity.md   (after scripts/setup.sh)
    scripts/fidelity.py --only T34 T35 --out runs/fidelity-18 > reports/fidelity-scaling.md   (v7 alone)
    scripts/fidelity.py --smoke                                                      (the CI test: machinery only)

Each trend is a few arms (a scenario of scenarios/fidelity/ plus --set overrides), each run with the
same seeds 1..N, and a stated relation between the arms' final validation perplexities, next to the
paper's figure. Arms are paired by seed (one warm start, shared by every seed and arm), so a
relation is judged on the per-seed differences: their mean and 95 % confidence interval (Student's t)
decide the verdict:
- reproduced: the interval lies entirely on the paper's side;
- contradicted: it lies entirely on the other side;
- inconclusive: it contains the boundary.
An "equivalent" relation (the paper reports no difference) is reproduced when the interval of the
relative difference lies within ±margin, contradicted when it lies entirely outside.

A tuned arm (v7 on) first runs each of its alternatives (learning rates) once on seed 0, never a
verdict seed, and keeps the one with the lowest final validation perplexity; a best alternative on
the grid's edge adds the next one past it (v8); an arm tuned after another takes that one's choice first. The report's "Tuning" table shows every alternative's value.

Runs go to runs/fidelity/<arm>/seed-<s>/ (build/dipaco-sim run ... --threads 1, -j at a time) and
are resumable: a run whose summary.json exists is not run again. The report is written to stdout.
Settings were chosen before reading any verdict; SETTINGS_TRIED below lists every family of
settings tried, and the report prints it.
"""
import argparse
import concurrent.futures
import copy
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DILOCO = "scenarios/fidelity/diloco.yaml"
DIPACO = "scenarios/fidelity/dipaco.yaml"

# Every family of settings tried, in the order tried, with what came of it. Append; never rewrite.
SETTINGS_TRIED = [
    "2026-11-30, v1 (chosen before any verdict): quickstart model (d_model 64, 2 blocks, seq_len 128, "
    "SentencePiece 4096 on the Debian texts), warm start of 200 steps (seed 1000) shared by all arms and seeds, "
    "τ = 25, 8 outer steps (200 inner steps per worker), 4 workers, inner AdamW lr 3e-3, outer Nesterov lr 0.7 "
    "momentum 0.9, outer Adam lr 0.01, 256 validation sequences; model sizes d_model 32/64/128.",
    "2026-11-30, v2 (issue 18; chosen before any verdict): T18-T20, the outer-gradient formats fp4, int8 and bf16 "
    "against fp32 on the v1 DiLoCo arm (k = 4, tau = 25), equivalent within +-2 %.",
    "2026-11-30, v3 (issue 18; chosen before any verdict): T21-T23, Streaming DiLoCo on the v1 DiLoCo setting with "
    "H = 40 and 5 rounds (the same 200 inner steps; tau = 25 does not split into 2 fragments), F = 2 fragments (the "
    "model's 2 blocks), mix 0.5 (the paper's alpha), against DiLoCo at H = 40; overlap 2 steps against none; "
    "equivalent within +-2 %; peak upload from timing-only runs of the same arms.",
    "2026-11-30, v4 (issue 19; chosen before any verdict): T24-T26, asynchronous DiLoCo. T24: naive (Nesterov on "
    "every arrival, the v1 outer lr 0.7) against the v1 DiLoCo k=4 arm at equal outer updates (4 x 8). T25-T26: on "
    "platforms/heterogeneous.xml (workers on an H100-, two A100- (one a straggler) and a V100-like host, outer on "
    "another H100), Delayed Nesterov with N = 4 and DyLU against synchronous DiLoCo, same tau = 25 and 32 outer "
    "updates: final perplexity equivalent within +-2 % (T25), simulated wall clock lower (T26).",
    "2026-11-30, v5 (issue 19; chosen before any verdict): T27-T28, HALoS with its own example settings "
    "(scenarios/README.md halos: defaults, DyLU) against synchronous DiLoCo on platforms/halos-4x4.xml (HALoS's "
    "environment, 16 workers, outer on a4), H = 8 (HALoS's), 16 x 16 = 256 worker outer gradients, the v1 model "
    "and warm start: final perplexity equivalent within +-2 % (T27), simulated wall clock lower (T28). Equal "
    "updates, not HALoS's time-to-target: the suite compares final values.",
    "2026-11-30, v6 (issue 19; chosen before any Decoupled DiLoCo run and before reading T29-T33; T25 and T27 were "
    "known: DN+DyLU and HALoS end above synchronous DiLoCo at equal updates): time to a target. The target is the "
    "synchronous arm's mean final perplexity; an arm reaches it at the first evaluated row at or below it, and the "
    "relation compares that time with the synchronous arm's whole run, per seed (never reached: contradicted on every "
    "seed, inconclusive on some). T29-T31: Decoupled DiLoCo on the heterogeneous platform, H = 40 x 5 rounds (tau 25 "
    "does not split into 2 fragments), F = 2, quorum 0.5 (2 of 4 learners), grace 0, mix 0.5, against synchronous "
    "DiLoCo at H = 40: final perplexity equivalent within +-2 % (T29), simulated wall clock lower (T30), target "
    "sooner (T31). T32: DN+DyLU given 4x the updates (32 rounds' worth) against T25's synchronous arm; T33: HALoS "
    "given 4x the updates (64 rounds' worth) against T27's synchronous arm: each reaches the target sooner.",
    "2026-12-01, v7 (issue 16; chosen before any v7 run; T02 and T03 were known to be contradicted under v1): T34-T35, "
    "the scaling-laws paper's protocol (Charles et al., 2025) at our sizes: d_model 32/64/128 (2 blocks), from "
    "scratch (no warm start), H = 30 (the paper's) x 20 outer steps = 600 inner steps per worker, batch 16 per "
    "worker, each arm's learning rates tuned on seed 0 (never a verdict seed) by one rule, the lowest final "
    "validation perplexity: DP and DP4 (4x batch) over inner lr {1e-3, 3e-3, 1e-2}; DiLoCo M=1 and M=4 take the "
    "inner lr chosen for DP at the same per-worker batch and tune the outer Nesterov lr over {0.4, 0.7, 1.0}. T34: "
    "M=1 beats DP at each size; T35: the M=4 gap to DP4 shrinks from d32 to d128.",
    "2026-12-01, v8 (issue 16; v7 stopped after its DP tuning runs, before any DiLoCo run finished and before any "
    "verdict: 4 of its 6 DP arms had their best inner lr on the grid's edge): v7 with growing grids. A tuned arm "
    "whose best alternative lies on its grid's edge adds the next one past that edge and runs it, until the best is "
    "inside or the extension runs out: inner lr down to 3e-4 then 1e-4, up to 3e-2 then 1e-1; outer lr down to 0.2 "
    "then 0.1, up to 1.4. T34-T35 are judged under v8; v7's own verdicts were never computed.",
]

# The seed every tuning run uses; verdicts use seeds 1..N, so no verdict is chosen on its own seeds.
TUNE_SEED = 0

# Student's t, two-sided 95 %, for 1..30 degrees of freedom (reports/statistics.cpp has the same table).
T975 = [12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600, 2.26216, 2.22814, 2.20099, 2.17881,
        2.16037, 2.14479, 2.13145, 2.11991, 2.10982, 2.10092, 2.09302, 2.08596, 2.07961, 2.07387, 2.06866, 2.06390,
        2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227]


def t975(df):
    return T975[min(df, 30) - 1] if df >= 1 else math.inf


def summary(values):
    """(n, mean, 95 % CI half-width) of a list."""
    n = len(values)
    if n == 0:
        return 0, math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return n, mean, math.inf
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return n, mean, t975(n - 1) * sd / math.sqrt(n)


# ------------------------------------------------------------------------------------------ trends

def arm(scenario, *sets, metric="final_val_perplexity", tune=None, after=None, judged=True):
    """tune: (grid, below, above), each a list of alternative lists of sets, low to high: the grid runs on
    TUNE_SEED and the arm keeps the alternative with the lowest metric; an optimum on the grid's edge adds
    the next alternative past it (tune()).
    after: another arm of the trend whose chosen alternative this arm takes too (before its own).
    judged: False for an arm that exists only to be tuned (it runs no verdict seeds)."""
    return {"scenario": scenario, "sets": list(sets), "metric": metric, "tune": tune, "after": after, "judged": judged}


def size(d_model, heads):
    return ("model.d_model=%d" % d_model, "model.heads=%d" % heads)


ONE = "placement.workers={count: 1}"
SYNC = "algorithm.name=sync"
H40 = ["algorithm.tau=40", "algorithm.outer_steps=5", "algorithm.eval_every=5"]
HETERO = ["platform=../../platforms/heterogeneous.xml", "placement.outer=h100-0", "placement.workers=[h100-1, a100-1, a100-3, v100-1]"]
DN_DYLU = ["algorithm.name=async-diloco", "async.delay=4", "async.dylu=on"]
ON_HALOS = ["platform=../../platforms/halos-4x4.xml", "placement.outer=a4",
            "placement.workers=[a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3]",
            "algorithm.tau=8", "algorithm.outer_steps=16", "algorithm.eval_every=16"]
STREAMING = ["algorithm.name=streaming-diloco", "streaming.fragments=2"] + H40
DECOUPLED = ["algorithm.name=decoupled-diloco", "decoupled.fragments=2", "decoupled.quorum=0.5", "decoupled.grace_s=0",
             "decoupled.mix=0.5"] + H40 + ["algorithm.eval_every=1"]
CURVE = "metrics.csv"  # an arm whose value is its run's curve of validation perplexity against time
# The sync baseline's interval is τ steps like DiLoCo's: the same 200 steps in 8 intervals.

TRENDS = [
    {"id": "T01", "title": "DiLoCo's Table 2 ordering at equal data per worker",
     "paper": "8× updates 14.72 < DiLoCo k=8 15.02 < 8× batch (DP) 15.30 < 1 worker 16.23 (150 M, k = 8)",
     "arms": {"1 worker, 4× steps": arm(DILOCO, SYNC, ONE, "algorithm.outer_steps=32", "algorithm.eval_every=32"),
              "DiLoCo k=4": arm(DILOCO),
              "sync DP, 4× batch": arm(DILOCO, SYNC),
              "1 worker": arm(DILOCO, SYNC, ONE)},
     "relation": ("chain", ["1 worker, 4× steps", "DiLoCo k=4", "sync DP, 4× batch", "1 worker"])},
    {"id": "T02", "title": "DiLoCo with one replica beats data parallelism at every size",
     "paper": "M = 1 DiLoCo beats DP even at small sizes (35 M to 2.4 B)",
     "arms": {**{"M=1 d%d" % d: arm(DILOCO, ONE, *size(d, h)) for d, h in ((32, 2), (64, 4), (128, 4))},
              **{"DP d%d" % d: arm(DILOCO, SYNC, ONE, *size(d, h)) for d, h in ((32, 2), (64, 4), (128, 4))}},
     "relation": ("all_less", [("M=1 d32", "DP d32"), ("M=1 d64", "DP d64"), ("M=1 d128", "DP d128")])},
    {"id": "T03", "title": "DiLoCo (M = 4) against DP: the gap shrinks as the model grows",
     "paper": "with several replicas DiLoCo trails DP at small sizes; the gap shrinks with size",
     "arms": {**{"M=4 d%d" % d: arm(DILOCO, *size(d, h)) for d, h in ((32, 2), (64, 4), (128, 4))},
              **{"DP4 d%d" % d: arm(DILOCO, SYNC, *size(d, h)) for d, h in ((32, 2), (64, 4), (128, 4))}},
     "relation": ("gap_shrinks", [("M=4 d32", "DP4 d32"), ("M=4 d128", "DP4 d128")])},
    {"id": "T04", "title": "Perplexity against H at equal compute (200 inner steps)",
     "paper": "rises gently: H = 1000 is +2.9 % over H = 50, flat up to ~500",
     "arms": {"H=10": arm(DILOCO, "algorithm.tau=10", "algorithm.outer_steps=20", "algorithm.eval_every=20"),
              "H=25": arm(DILOCO),
              "H=50": arm(DILOCO, "algorithm.tau=50", "algorithm.outer_steps=4", "algorithm.eval_every=4")},
     "relation": ("less", "H=10", "H=50")},
    {"id": "T05", "title": "More replicas, diminishing returns",
     "paper": "k = 4/8/16/64: 15.18/15.02/14.91/14.96 (non-i.i.d.)",
     "arms": {"k=1": arm(DILOCO, ONE), "k=2": arm(DILOCO, "placement.workers={count: 2}"), "k=4": arm(DILOCO),
              "k=8": arm(DILOCO, "placement.workers={count: 8}")},
     "relation": ("diminishing", ["k=1", "k=2", "k=4", "k=8"])},
    {"id": "T06", "title": "i.i.d. against non-i.i.d. shards: similar at the end",
     "paper": "i.i.d. converges faster early, similar final perplexity",
     "arms": {"i.i.d.": arm(DILOCO), "non-i.i.d. (by domain)": arm(DILOCO, "data.sharding=domain")},
     "relation": ("equivalent", "non-i.i.d. (by domain)", "i.i.d.", 0.05)},
    {"id": "T07", "title": "Dropped outer gradients cost little",
     "paper": "drop probability 50 %: +2.1 % final perplexity",
     "arms": {"DiPaCo-path DiLoCo, drop 0": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 1}]", "algorithm.replicas_per_path=4"),
              "drop 0.5": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 1}]", "algorithm.replicas_per_path=4",
                              "failures.drop_probability=0.5")},
     "relation": ("less", "DiPaCo-path DiLoCo, drop 0", "drop 0.5")},
    {"id": "T08", "title": "Compute schedules: total compute decides, not its schedule",
     "paper": "constant / doubling / halving / ramp up / ramp down end alike at equal total compute",
     "arms": {"ramp up": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 1}]", "algorithm.replicas_per_path=4",
                             "dipaco.compute_schedule=ramp_up"),
              "ramp down": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 1}]", "algorithm.replicas_per_path=4",
                               "dipaco.compute_schedule=ramp_down")},
     "relation": ("equivalent", "ramp up", "ramp down", 0.05)},
    {"id": "T09", "title": "Outer optimizer: Nesterov beats SGD (FedAvg) and Adam",
     "paper": "Nesterov beats outer SGD and outer Adam",
     "arms": {"Nesterov": arm(DILOCO), "FedAvg (SGD lr 1)": arm(DILOCO, "outer_optimizer.name=sgd", "outer_optimizer.lr=1"),
              "Adam (lr 0.01)": arm(DILOCO, "outer_optimizer.name=adam", "outer_optimizer.lr=0.01")},
     "relation": ("all_less", [("Nesterov", "FedAvg (SGD lr 1)"), ("Nesterov", "Adam (lr 0.01)")])},
    {"id": "T10", "title": "DiPaCo 2×2 beats the dense path at equal steps per path",
     "paper": "DiPaCo 2×4 14.86 against the dense 150 M 16.23",
     "arms": {"DiPaCo 2×2": arm(DIPACO), "dense": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 1}]", "placement.workers={count: 1}")},
     "relation": ("less", "DiPaCo 2×2", "dense")},
    {"id": "T11", "title": "More paths: 4×4 beats 2×2",
     "paper": "perplexity falls as paths increase (2×4 14.86, 8×8 13.37, 16×16 12.39)",
     "arms": {"DiPaCo 4×4": arm(DIPACO, "dipaco.levels=[{blocks: 1, modules: 4}, {blocks: 1, modules: 4}]",
                                "placement.workers={count: 8}"),
              "DiPaCo 2×2": arm(DIPACO)},
     "relation": ("less", "DiPaCo 4×4", "DiPaCo 2×2")},
    {"id": "T12", "title": "DiPaCo against DiLoCo at equal compute (4 paths against 4 replicas)",
     "paper": "DiPaCo 2×4 14.86 < DiLoCo P = 8 15.02 at 8× compute",
     "arms": {"DiPaCo 2×2": arm(DIPACO), "DiLoCo k=4": arm(DILOCO)},
     "relation": ("less", "DiPaCo 2×2", "DiLoCo k=4")},
    {"id": "T13", "title": "Flat MoE (P = 4) beats DiLoCo at equal compute",
     "paper": "flat MoE P = 8 14.62 < DiLoCo P = 8 15.02",
     "arms": {"flat MoE P=4": arm(DIPACO, "dipaco.levels=[{blocks: 2, modules: 4}]", "dipaco.share_embeddings=false"),
              "DiLoCo k=4": arm(DILOCO)},
     "relation": ("less", "flat MoE P=4", "DiLoCo k=4")},
    {"id": "T14", "title": "Routing: product k-means and discriminative beat k-means",
     "paper": "8×8: k-means 17.2, product k-means 16.8, discriminative 16.5",
     "arms": {"k-means": arm(DIPACO), "product k-means": arm(DIPACO, "dipaco.routing=product-kmeans"),
              "discriminative (EM after phase 4)": arm(DIPACO, "dipaco.discriminative_after=4")},
     "relation": ("all_less", [("product k-means", "k-means"), ("discriminative (EM after phase 4)", "k-means")])},
    {"id": "T15", "title": "Re-routing every 32 tokens at test time beats routing once",
     "paper": "16×16: once 12.39; every 128/64/32/16 tokens 11.48/11.38/11.31/11.26",
     "arms": {"every 32 tokens": arm(DIPACO, "dipaco.reroute_every=32", metric="val_perplexity_rerouted"),
              "once": arm(DIPACO, "dipaco.reroute_every=32", metric="val_perplexity_routed_once")},
     "relation": ("less", "every 32 tokens", "once")},
    {"id": "T16", "title": "√P outer-gradient rescaling helps",
     "paper": "the paper rescales each module's outer gradient by √(paths through it)",
     "arms": {"rescaled": arm(DIPACO, "dipaco.rescale_outer_gradient=true"), "plain": arm(DIPACO)},
     "relation": ("less", "rescaled", "plain")},
    {"id": "T17", "title": "Sync DP against DiLoCo in simulated wall-clock (timing, shipped platform)",
     "paper": "DiLoCo communicates H× less and so finishes sooner on a WAN",
     "arms": {"DiLoCo": arm(DILOCO, "training=off", metric="simulated_wall_clock_s"),
              "sync DP": arm(DILOCO, "training=off", SYNC, metric="simulated_wall_clock_s")},
     "relation": ("less", "DiLoCo", "sync DP")},
    {"id": "T18", "title": "4-bit (E2M1) outer gradients reach fp32's quality (DiLoCo)",
     "paper": "Streaming DiLoCo sends outer gradients in E2M1 with no measured loss",
     "arms": {"fp32": arm(DILOCO), "fp4": arm(DILOCO, "communication.outer_gradient=fp4")},
     "relation": ("equivalent", "fp4", "fp32", 0.02)},
    {"id": "T19", "title": "int8 outer gradients reach fp32's quality (DiLoCo)",
     "paper": "INTELLECT-1 all-reduces outer gradients in int8",
     "arms": {"fp32": arm(DILOCO), "int8": arm(DILOCO, "communication.outer_gradient=int8")},
     "relation": ("equivalent", "int8", "fp32", 0.02)},
    {"id": "T20", "title": "bf16 outer gradients reach fp32's quality (DiLoCo)",
     "paper": "low-precision outer gradients cost no quality (Streaming DiLoCo, torchft, INTELLECT-1)",
     "arms": {"fp32": arm(DILOCO), "bf16": arm(DILOCO, "communication.outer_gradient=bf16")},
     "relation": ("equivalent", "bf16", "fp32", 0.02)},
    {"id": "T21", "title": "Streaming DiLoCo (F = 2, no overlap) reaches DiLoCo's quality at the same H",
     "paper": "Streaming DiLoCo matches DiLoCo and data-parallel quality (Douillard et al., 2025)",
     "arms": {"Streaming F=2": arm(DILOCO, *STREAMING), "DiLoCo H=40": arm(DILOCO, *H40)},
     "relation": ("equivalent", "Streaming F=2", "DiLoCo H=40", 0.02)},
    {"id": "T22", "title": "Streaming DiLoCo's peak upload is below DiLoCo's (timing)",
     "paper": "about two orders of magnitude less peak bandwidth with fragments, overlap and fp4",
     "arms": {"Streaming F=2": arm(DILOCO, "training=off", *STREAMING, metric="peak_upload_bytes"),
              "DiLoCo H=40": arm(DILOCO, "training=off", *H40, metric="peak_upload_bytes")},
     "relation": ("less", "Streaming F=2", "DiLoCo H=40")},
    {"id": "T23", "title": "Overlapping 2 steps costs Streaming DiLoCo little quality",
     "paper": "an overlap of a few steps costs little (Douillard et al., 2025)",
     "arms": {"overlap 2": arm(DILOCO, *STREAMING, "streaming.overlap_steps=2"), "no overlap": arm(DILOCO, *STREAMING)},
     "relation": ("equivalent", "overlap 2", "no overlap", 0.02)},
    {"id": "T24", "title": "Naive asynchronous DiLoCo is worse than synchronous DiLoCo at equal updates",
     "paper": "20 M model: synchronous 41.35, naive async 44.3 (Liu et al., 2024)",
     "arms": {"naive async": arm(DILOCO, "algorithm.name=async-diloco", "async.delay=1"), "DiLoCo k=4": arm(DILOCO)},
     "relation": ("less", "DiLoCo k=4", "naive async")},
    {"id": "T25", "title": "Delayed Nesterov + DyLU reach synchronous DiLoCo's quality (heterogeneous platform)",
     "paper": "20 M model: synchronous 41.35, DN + DyLU 41.1-41.3 (Liu et al., 2024)",
     "arms": {"DN+DyLU": arm(DILOCO, *HETERO, *DN_DYLU), "sync DiLoCo": arm(DILOCO, *HETERO)},
     "relation": ("equivalent", "DN+DyLU", "sync DiLoCo", 0.02)},
    {"id": "T26", "title": "Delayed Nesterov + DyLU finish the same updates sooner (heterogeneous platform, timing)",
     "paper": "asynchronous training does not wait for the slowest worker (Liu et al., 2024)",
     "arms": {"DN+DyLU": arm(DILOCO, *HETERO, *DN_DYLU, metric="simulated_wall_clock_s"),
              "sync DiLoCo": arm(DILOCO, *HETERO, metric="simulated_wall_clock_s")},
     "relation": ("less", "DN+DyLU", "sync DiLoCo")},
    {"id": "T27", "title": "HALoS reaches synchronous DiLoCo's quality at equal updates (HALoS's platform)",
     "paper": "HALoS matches or exceeds fully synchronous quality (Kim et al., 2025)",
     "arms": {"HALoS": arm(DILOCO, *ON_HALOS, "algorithm.name=halos"), "sync DiLoCo": arm(DILOCO, *ON_HALOS)},
     "relation": ("equivalent", "HALoS", "sync DiLoCo", 0.02)},
    {"id": "T28", "title": "HALoS finishes the same updates sooner than synchronous DiLoCo (HALoS's platform, timing)",
     "paper": "up to 7.5x faster convergence than synchronous baselines (Kim et al., 2025)",
     "arms": {"HALoS": arm(DILOCO, *ON_HALOS, "algorithm.name=halos", metric="simulated_wall_clock_s"),
              "sync DiLoCo": arm(DILOCO, *ON_HALOS, metric="simulated_wall_clock_s")},
     "relation": ("less", "HALoS", "sync DiLoCo")},
    {"id": "T29", "title": "Decoupled DiLoCo reaches synchronous DiLoCo's quality at equal inner steps (heterogeneous platform)",
     "paper": "competitive model quality with zero global downtime (Douillard et al., 2026)",
     "arms": {"Decoupled": arm(DILOCO, *HETERO, *DECOUPLED), "sync DiLoCo H=40": arm(DILOCO, *HETERO, *H40)},
     "relation": ("equivalent", "Decoupled", "sync DiLoCo H=40", 0.02)},
    {"id": "T30", "title": "Decoupled DiLoCo finishes the same inner steps sooner (heterogeneous platform, timing)",
     "paper": "learners never wait for failed or straggling ones (Douillard et al., 2026)",
     "arms": {"Decoupled": arm(DILOCO, *HETERO, *DECOUPLED, metric="simulated_wall_clock_s"),
              "sync DiLoCo H=40": arm(DILOCO, *HETERO, *H40, metric="simulated_wall_clock_s")},
     "relation": ("less", "Decoupled", "sync DiLoCo H=40")},
    {"id": "T31", "title": "Decoupled DiLoCo reaches synchronous DiLoCo's final perplexity sooner (heterogeneous platform)",
     "paper": "higher goodput at equal quality (Douillard et al., 2026)",
     "arms": {"Decoupled": arm(DILOCO, *HETERO, *DECOUPLED, metric=CURVE), "sync DiLoCo H=40": arm(DILOCO, *HETERO, *H40),
              "sync DiLoCo H=40 time": arm(DILOCO, *HETERO, *H40, metric="simulated_wall_clock_s")},
     "relation": ("sooner_to_target", "Decoupled", "sync DiLoCo H=40", "sync DiLoCo H=40 time")},
    {"id": "T32", "title": "DN + DyLU, run 4x as long, reach synchronous DiLoCo's final perplexity sooner (heterogeneous platform)",
     "paper": "asynchronous DiLoCo with DN + DyLU converges faster in wall clock on heterogeneous workers (Liu et al., 2024)",
     "arms": {"DN+DyLU 4x": arm(DILOCO, *HETERO, *DN_DYLU, "algorithm.outer_steps=32", "algorithm.eval_every=1", metric=CURVE),
              "sync DiLoCo": arm(DILOCO, *HETERO),
              "sync DiLoCo time": arm(DILOCO, *HETERO, metric="simulated_wall_clock_s")},
     "relation": ("sooner_to_target", "DN+DyLU 4x", "sync DiLoCo", "sync DiLoCo time")},
    {"id": "T33", "title": "HALoS, run 4x as long, reaches synchronous DiLoCo's final perplexity sooner (HALoS's platform)",
     "paper": "up to 7.5x faster convergence to a target loss than synchronous baselines (Kim et al., 2025)",
     "arms": {"HALoS 4x": arm(DILOCO, *ON_HALOS, "algorithm.name=halos", "algorithm.outer_steps=64", "algorithm.eval_every=4",
                              metric=CURVE),
              "sync DiLoCo": arm(DILOCO, *ON_HALOS),
              "sync DiLoCo time": arm(DILOCO, *ON_HALOS, metric="simulated_wall_clock_s")},
     "relation": ("sooner_to_target", "HALoS 4x", "sync DiLoCo", "sync DiLoCo time")},
]

# v7: the scaling-laws protocol (SETTINGS_TRIED v7). Each arm's learning rates are tuned on TUNE_SEED.
SCALING = ["init.pretrain_steps=0", "algorithm.tau=30", "algorithm.outer_steps=20", "algorithm.eval_every=20"]
INNER = "inner_optimizer.lr=%g"
OUTER = "outer_optimizer.lr=%g"
# (grid, below it, above it), each low to high; v8: an optimum on the edge grows the grid by a half-decade
INNER_LRS = ([[INNER % lr] for lr in (1e-3, 3e-3, 1e-2)], [[INNER % 3e-4], [INNER % 1e-4]], [[INNER % 3e-2], [INNER % 1e-1]])
OUTER_LRS = ([[OUTER % lr] for lr in (0.4, 0.7, 1.0)], [[OUTER % 0.2], [OUTER % 0.1]], [[OUTER % 1.4]])
SIZES = ((32, 2), (64, 4), (128, 4))


def scaling_arms(m):
    """DiLoCo with m replicas against DP at the same global batch, per size, each with tuned learning rates."""
    dp, diloco = ("DP", "M=1") if m == 1 else ("DP4", "M=4")
    workers = ONE if m == 1 else "placement.workers={count: 4}"
    arms = {}
    for d, h in SIZES:
        arms["%s d%d" % (diloco, d)] = arm(DILOCO, workers, *size(d, h), *SCALING, tune=OUTER_LRS, after="DP d%d" % d)
    for d, h in SIZES:
        arms["%s d%d" % (dp, d)] = arm(DILOCO, SYNC, workers, *size(d, h), *SCALING, tune=INNER_LRS)
    if m != 1:  # the inner lr comes from DP at the same per-worker batch (16): tuned, not judged
        for d, h in SIZES:
            arms["DP d%d" % d] = arm(DILOCO, SYNC, ONE, *size(d, h), *SCALING, tune=INNER_LRS, judged=False)
    return arms


TRENDS += [
    {"id": "T34", "title": "Tuned DiLoCo with one replica beats data parallelism at every size (600 steps from scratch)",
     "paper": "M = 1 DiLoCo beats DP even at small sizes (35 M to 2.4 B), each tuned",
     "arms": scaling_arms(1),
     "relation": ("all_less", [("M=1 d%d" % d, "DP d%d" % d) for d, _ in SIZES])},
    {"id": "T35", "title": "Tuned DiLoCo (M = 4) against DP: the gap shrinks as the model grows (600 steps from scratch)",
     "paper": "with several replicas DiLoCo trails DP at small sizes; the gap shrinks with size",
     "arms": scaling_arms(4),
     "relation": ("gap_shrinks", [("M=4 d32", "DP4 d32"), ("M=4 d128", "DP4 d128")])},
]

# The smoke profile (--smoke): the machinery on tiny runs, not the verdicts.
SMOKE_SETS = ["data.source=synthetic", "data.tokenizer={kind: byte}", "data.documents=300", "data.doc_bytes=400",
              "data.prefix_tokens=8", "data.eval_sequences=16", "model.d_model=16", "model.heads=2", "model.blocks=1",
              "model.seq_len=32", "init.pretrain_steps=10", "inner_optimizer.batch_size=4"]
SMOKE_TRENDS = ["T04", "T17", "T34"]  # T34: the tuning stage too


# ------------------------------------------------------------------------------------------ runs

def run_key(a, extra):
    return (a["scenario"], tuple(a["sets"]) + tuple(extra))


def run_dir(out, key, seed):
    """runs/fidelity/<family>-<hash of scenario and sets>/seed-<s>; arm.txt there names the sets."""
    scenario, sets = key
    family = os.path.splitext(os.path.basename(scenario))[0]
    return os.path.join(out, "%s-%08x" % (family, hash_text(repr(key)) & 0xffffffff), "seed-%d" % seed)


def hash_text(text):  # stable across processes (Python's hash() is salted)
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def run_one(binary, key, seed, directory):
    if os.path.exists(os.path.join(directory, "summary.json")):
        return directory, 0.0, True
    scenario, sets = key
    tmp = directory + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [binary, "run", os.path.join(ROOT, scenario), "--set", "seed=%d" % seed]
    for s in sets:
        cmd += ["--set", s]
    cmd += ["--threads", "1", "--no-report", "--out", tmp]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    with open(os.path.join(os.path.dirname(directory), "arm.txt"), "w") as f:
        f.write(" ".join([scenario] + ["--set " + s for s in sets]) + "\n")
    start = time.time()
    with open(directory + ".log", "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        raise RuntimeError("run failed (exit %d): %s; see %s.log" % (rc, " ".join(cmd), directory))
    shutil.rmtree(directory, ignore_errors=True)
    os.rename(tmp, directory)
    return directory, time.time() - start, False


def time_to(directory, target):
    """Simulated time of the run's first evaluated row at or below `target` perplexity (inf: none)."""
    with open(os.path.join(directory, "metrics.csv")) as f:
        header = f.readline().strip().split(",")
        time_col, ppl_col = header.index("sim_time_s"), header.index("val_perplexity")
        for line in f:
            cells = line.strip().split(",")
            if cells[ppl_col] and float(cells[ppl_col]) <= target:
                return float(cells[time_col])
    return math.inf


def target_cells(dirs, target):
    """A table row's cells for finished runs: final perplexity, time to `target`, how many reached it,
    simulated wall clock, WAN GB (each mean ± 95 % CI)."""
    def cell(stats, digits):
        n, mean, ci = stats
        if n == 0:
            return "—"
        text = ("%.3g" if abs(mean) >= 1e6 else "%%.%df" % digits) % mean
        return text if n == 1 else text + (" ± %.3g" if ci >= 1e6 else " ± %%.%df" % digits) % ci

    final = summary([metric_of(d, "final_val_perplexity") for d in dirs])
    wall = summary([metric_of(d, "simulated_wall_clock_s") for d in dirs])
    wan = summary([metric_of(d, "wan_bytes") / 1e9 for d in dirs])
    reached = summary([x for x in (time_to(d, target) for d in dirs) if not math.isinf(x)])
    return cell(final, 1), cell(reached, 0), reached[0], cell(wall, 0), cell(wan, 1)


def metric_of(directory, metric):
    if not os.path.exists(os.path.join(directory, "summary.json")):
        return math.nan  # the run failed
    if metric == CURVE:
        return directory  # judged against a target that other arms set (judge: sooner_to_target)
    with open(os.path.join(directory, "summary.json")) as f:
        value = json.load(f).get(metric)
    return float(value) if isinstance(value, (int, float)) else math.nan


def run_all(binary, items, jobs, out):
    """Runs [(key, seed, dir)] -j at a time; returns (failed errors, runs run now, their seconds)."""
    failed, ran, spent = [], 0, 0.0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_one, binary, key, s, d) for key, s, d in sorted(items, key=lambda i: i[2])]
        for f in concurrent.futures.as_completed(futures):
            try:
                d, seconds, skipped = f.result()
            except RuntimeError as e:  # counted as missing: its trend can only be inconclusive
                failed.append(str(e))
                print("fidelity: %s" % e, file=sys.stderr)
                continue
            if not skipped:
                ran += 1
                spent += seconds
                print("fidelity: %s (%.0f s)" % (os.path.relpath(d, out), seconds), file=sys.stderr)
    return failed, ran, spent


def tune(trends, extra, out, binary, jobs, report_only):
    """Gives every tuned arm its chosen sets, in place: its alternatives run on TUNE_SEED, stage by stage
    (an arm tuned `after` another waits for that one's choice), and the lowest metric wins. A grid whose
    best alternative lies on its edge grows past that edge (the arm's `below` or `above` alternatives, one
    at a time) until the best is inside or those run out. An arm whose alternatives have not all finished
    stays unchosen (arm["unchosen"]): it runs no verdict seeds.
    Returns (table rows (trend id, arm, inherited sets, [(alternative, value, run dir)], chosen alternative or None),
    failed, ran, spent)."""
    chosen, table, failed, ran, spent = {}, [], [], 0, 0.0
    pending = [(t, name) for t in trends for name, a in t["arms"].items() if a["tune"]]
    while pending:
        ready = [(t, n) for t, n in pending
                 if not t["arms"][n]["after"] or (t["id"], t["arms"][n]["after"]) in chosen]
        if not ready:
            sys.exit("fidelity: an arm is tuned after an arm that is not tuned: %s" % [(t["id"], n) for t, n in pending])
        grids = {(t["id"], n): (list(t["arms"][n]["tune"][0]), list(t["arms"][n]["tune"][1]), list(t["arms"][n]["tune"][2]))
                 for t, n in ready}
        # what each arm takes from the arm it follows (None: that arm could not be chosen, so neither can this one)
        inherit = {(t["id"], n): chosen[(t["id"], t["arms"][n]["after"])] if t["arms"][n]["after"] else [] for t, n in ready}
        growing = list(ready)
        while growing:  # one round: every growing arm's grid as it stands now
            dirs = {}
            for t, n in growing:
                a = t["arms"][n]
                inherited = inherit[(t["id"], n)]
                if inherited is None:
                    continue
                for alternative in grids[(t["id"], n)][0]:
                    key = (a["scenario"], tuple(a["sets"]) + tuple(inherited) + tuple(alternative) + tuple(extra))
                    dirs[(t["id"], n, tuple(alternative))] = (key, run_dir(out, key, TUNE_SEED))
            if not report_only:
                unique = {d: (key, TUNE_SEED, d) for key, d in dirs.values()}
                f, r, sp = run_all(binary, unique.values(), jobs, out)
                failed, ran, spent = failed + f, ran + r, spent + sp
            still = []
            for t, n in growing:
                a = t["arms"][n]
                grid, below, above = grids[(t["id"], n)]
                inherited = inherit[(t["id"], n)]
                tried = [] if inherited is None else [
                    (alt, metric_of(dirs[(t["id"], n, tuple(alt))][1], a["metric"]), dirs[(t["id"], n, tuple(alt))][1]) for alt in grid]
                best = None
                if inherited is not None and not any(math.isnan(v) for _, v, _ in tried):
                    best = min(range(len(tried)), key=lambda i: tried[i][1])
                    if best == 0 and below:
                        grid.insert(0, below.pop(0))
                        still.append((t, n))
                        continue
                    if best == len(grid) - 1 and above:
                        grid.append(above.pop(0))
                        still.append((t, n))
                        continue
                if best is None:
                    a["unchosen"] = True
                else:
                    a["sets"] = a["sets"] + list(inherited) + list(grid[best])
                chosen[(t["id"], n)] = None if best is None else list(inherited) + list(grid[best])
                table.append((t["id"], n, inherited, tried, None if best is None else grid[best]))
            growing = still
        pending = [p for p in pending if p not in ready]
    return table, failed, ran, spent


# ------------------------------------------------------------------------------------------ verdicts

def paired(values, a, b, f):
    """Per-seed f(a_s, b_s) over the seeds both arms have."""
    return [f(x, y) for x, y in zip(values[a], values[b]) if not (math.isnan(x) or math.isnan(y))]


def side(diffs):
    """reproduced if the CI of the mean lies below 0, contradicted if above, else inconclusive."""
    n, mean, ci = summary(diffs)
    if n < 2 or math.isnan(mean):
        return "inconclusive", mean, ci
    if mean + ci < 0:
        return "reproduced", mean, ci
    if mean - ci > 0:
        return "contradicted", mean, ci
    return "inconclusive", mean, ci


def combine(verdicts):
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if any(v == "contradicted" for v in verdicts):
        return "contradicted"
    return "inconclusive"


def judge(trend, values):
    """(verdict, [lines explaining each comparison])."""
    kind = trend["relation"][0]
    rel = lambda x, y: x / y - 1.0
    lines, verdicts = [], []

    def compare(a, b, text=None):
        v, mean, ci = side(paired(values, a, b, rel))
        lines.append("%s: %s − 1 = %+.2f %% ± %.2f %%: %s" % (text or "%s < %s" % (a, b), "%s / %s" % (a, b),
                                                                 100 * mean, 100 * ci, v))
        verdicts.append(v)

    if kind == "less":
        compare(trend["relation"][1], trend["relation"][2])
    elif kind in ("chain", "all_less"):
        pairs = list(zip(trend["relation"][1], trend["relation"][1][1:])) if kind == "chain" else trend["relation"][1]
        for a, b in pairs:
            compare(a, b)
    elif kind == "equivalent":
        _, a, b, margin = trend["relation"]
        n, mean, ci = summary(paired(values, a, b, rel))
        if n >= 2 and -margin < mean - ci and mean + ci < margin:
            v = "reproduced"
        elif n >= 2 and (mean - ci > margin or mean + ci < -margin):
            v = "contradicted"
        else:
            v = "inconclusive"
        lines.append("%s / %s − 1 = %+.2f %% ± %.2f %% (equivalent within ±%g %%): %s" % (a, b, 100 * mean, 100 * ci, 100 * margin, v))
        verdicts.append(v)
    elif kind == "sooner_to_target":
        _, a, b, b_time = trend["relation"]
        _, target, _ = summary([x for x in values[b] if not math.isnan(x)])
        runs = [d for d in values[a] if isinstance(d, str)]
        times = [time_to(d, target) for d in runs]
        values[a] = times  # what the report shows for this arm: its time to the target
        reached = [t for t in times if not math.isinf(t)]
        if len(runs) < 2:
            v, text = "inconclusive", "too few runs"
        elif not reached:
            v, text = "contradicted", "never reached within its budget on any of %d seeds" % len(runs)
        elif len(reached) < len(runs):
            v, text = "inconclusive", "reached on %d of %d seeds" % (len(reached), len(runs))
        else:
            v, mean, ci = side(paired({a: times, b_time: values[b_time]}, a, b_time, rel))
            text = "time to target / %s − 1 = %+.2f %% ± %.2f %%" % (b_time, 100 * mean, 100 * ci)
        lines.append("target: perplexity %.2f (%s's mean final); %s: %s" % (target, b, text, v))
        verdicts.append(v)
    elif kind == "diminishing":
        k = trend["relation"][1]  # gain(k0 -> k1) > gain(k2 -> k3), gains relative per seed
        gains = [rel(w, x) - rel(y, z) for w, x, y, z in zip(values[k[1]], values[k[0]], values[k[3]], values[k[2]])]
        v, mean, ci = side(gains)
        lines.append("(%s/%s − 1) − (%s/%s − 1) = %+.2f %% ± %.2f %% (negative: the first doubling gains more): %s"
                     % (k[1], k[0], k[3], k[2], 100 * mean, 100 * ci, v))
        verdicts.append(v)
    elif kind == "gap_shrinks":
        (a0, b0), (a1, b1) = trend["relation"][1]
        diffs = [rel(y0, y1) - rel(x0, x1) for x0, x1, y0, y1 in zip(values[a1], values[b1], values[a0], values[b0])]
        v, mean, ci = side([-d for d in diffs])
        lines.append("gap(%s) − gap(%s), gap = DiLoCo / DP − 1: %+.2f %% ± %.2f %% (negative: it shrinks): %s"
                     % (a1, a0, 100 * mean, 100 * ci, v))
        verdicts.append(v)
    return combine(verdicts), lines


# ------------------------------------------------------------------------------------------ main

def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit():
    try:
        return subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="runs at a time (one thread each)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--only", nargs="*", help="trend ids, e.g. T04 T09")
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "fidelity"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--smoke", action="store_true", help="tiny runs of two trends into a temporary folder, twice (resume)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: the report from the finished runs, the others listed as not run (missing)")
    args = p.parse_args()

    binary = os.path.join(args.build, "dipaco-sim")
    trends = TRENDS
    extra = []
    if args.smoke:
        trends = [t for t in TRENDS if t["id"] in SMOKE_TRENDS]
        extra = SMOKE_SETS
        args.seeds = 2
        args.out = tempfile.mkdtemp(prefix="dipaco-fidelity-smoke-")
    elif args.only:
        trends = [t for t in TRENDS if t["id"] in args.only]

    began = time.time()
    failed, fresh, spent = [], 0, 0.0
    for attempt in range(2 if args.smoke else 1):  # smoke: the second pass must run nothing
        if attempt:  # a fresh start, as a rerun of the script would have
            trends = copy.deepcopy(pristine)
        else:
            pristine = copy.deepcopy(trends)
        tuning, f, ran, sp = tune(trends, extra, args.out, binary, args.jobs, args.report_only)
        jobs = {}
        for t in trends:
            for a in t["arms"].values():
                if a["judged"] and not a.get("unchosen"):
                    for s in range(1, args.seeds + 1):
                        key = run_key(a, extra)
                        jobs[(key, s)] = run_dir(args.out, key, s)
        if not args.report_only:
            f2, ran2, sp2 = run_all(binary, [(key, s, d) for (key, s), d in jobs.items()], args.jobs, args.out)
            f, ran, sp = f + f2, ran + ran2, sp + sp2
        if attempt == 0:
            failed, fresh, spent = f, ran, sp
        elif ran != 0:
            sys.exit("fidelity --smoke: the second pass ran %d runs again; a finished run must be skipped" % ran)

    rows, counts = [], {"reproduced": 0, "contradicted": 0, "inconclusive": 0}
    for t in trends:
        values = {}
        for name, a in t["arms"].items():
            if not a["judged"]:
                continue
            key = run_key(a, extra)
            values[name] = [metric_of(jobs[(key, s)], a["metric"]) if (key, s) in jobs else math.nan
                            for s in range(1, args.seeds + 1)]
        verdict, lines = judge(t, values)
        counts[verdict] += 1
        rows.append((t, values, verdict, lines))

    out = sys.stdout
    total = 0.0  # every finished run's own clock (summary.json real_seconds), this pass or earlier ones
    tuning_dirs = sorted({d for row in tuning for _, _, d in row[3]})
    for d in list(jobs.values()) + tuning_dirs:
        if os.path.exists(os.path.join(d, "summary.json")):
            with open(os.path.join(d, "summary.json")) as f:
                total += float(json.load(f).get("real_seconds") or 0.0)
    print("# Fidelity: the papers' trends at dipaco-sim's scale\n", file=out)
    print("Written by `scripts/fidelity.py%s` at commit %s on %s (%d CPUs), %s. %d trends, %d seeds each: "
          "**%d reproduced, %d contradicted, %d inconclusive** (95 %% confidence). %d runs, %d of them run now "
          "(%.0f s of run time, %.0f s wall)%s. All finished runs together took %.1f h of run time at one thread each.\n"
          % (" --smoke" if args.smoke else "", commit(), cpu_name(), os.cpu_count() or 1, time.strftime("%Y-%m-%d"),
             len(trends), args.seeds, counts["reproduced"], counts["contradicted"], counts["inconclusive"],
             len(jobs) + len(tuning_dirs), fresh,
             spent, time.time() - began, "" if args.smoke else "; the others were already in `%s`" % os.path.relpath(args.out, ROOT), total / 3600),
          file=out)
    print("Each arm's value is the mean ± the half-width of its 95 %% confidence interval over seeds 1..%d of the final "
          "validation perplexity (T15: the routed perplexity as named; T17: simulated wall-clock in seconds). Arms share "
          "seeds and one warm start, so each relation is judged on the per-seed relative differences: reproduced when "
          "their 95 %% interval lies on the paper's side, contradicted when on the other, inconclusive otherwise.\n" % args.seeds,
          file=out)
    for e in failed:
        print("- failed: %s\n" % e, file=out)
    for d in sorted(d for d in jobs.values() if not os.path.exists(os.path.join(d, "summary.json"))):
        if any(d in e for e in failed):
            continue
        log_lines = open(d + ".log").read().strip().splitlines() if os.path.exists(d + ".log") else []
        if log_lines:  # it ran in an earlier pass and failed: its last line says why
            print("- failed in an earlier pass: %s: %s\n" % (os.path.relpath(d, args.out), log_lines[-1]), file=out)
        else:
            print("- not run (missing): %s\n" % os.path.relpath(d, args.out), file=out)
    print("| trend | paper | ours (mean ± 95 % CI) | relation | verdict |\n|---|---|---|---|---|", file=out)
    for t, values, verdict, lines in rows:
        def shown(name, v):
            finite = [x for x in v if not (math.isnan(x) or math.isinf(x))]
            if t["arms"][name]["metric"] == CURVE:  # times to the target
                if not finite:
                    return "%s: target not reached" % name
                return "%s: target at %.0f ± %.0f s (%d of %d seeds)" % ((name,) + summary(finite)[1:] + (len(finite), len(v)))
            return "%s: %.2f ± %.2f" % ((name,) + summary(finite)[1:])
        ours = "<br>".join(shown(name, v) for name, v in values.items())
        print("| %s %s | %s | %s | %s | **%s** |" % (t["id"], t["title"], t["paper"], ours, "<br>".join(lines), verdict), file=out)
    targets = [(t, values) for t, values, _, _ in rows if t["relation"][0] == "sooner_to_target"]
    if targets:
        print("\n## Time to a target\n", file=out)
        print("Per trend, the target is the synchronous arm's mean final perplexity; each value is the mean ± 95 %% CI over "
              "seeds 1..%d. Time to target: the first evaluated row at or below it (the synchronous arm's own runs "
              "evaluate only at the end; a run that never gets there is counted in the last column).\n" % args.seeds, file=out)
        print("| trend | arm | final perplexity | time to target (s) | seeds not reaching it | simulated wall clock (s) | WAN GB |\n"
              "|---|---|---|---|---|---|---|", file=out)
        for t, values in targets:
            _, a, b, _ = t["relation"]
            _, target, _ = summary([x for x in values[b] if not math.isnan(x)])
            for name in (a, b):
                dirs = [jobs[(run_key(t["arms"][name], extra), s)] for s in range(1, args.seeds + 1)]
                dirs = [d for d in dirs if os.path.exists(os.path.join(d, "summary.json"))]
                cells = target_cells(dirs, target)
                print("| %s (target %.1f) | %s | %s | %s | %d of %d | %s | %s |"
                      % ((t["id"], target, name, cells[0], cells[1], len(dirs) - cells[2], len(dirs)) + cells[3:]), file=out)
    if tuning:
        print("\n## Tuning\n", file=out)
        print("Each tuned arm ran every alternative once, on seed %d (never a verdict seed), and kept the one with the "
              "lowest final validation perplexity; a best alternative on the grid's edge added the next one past it, "
              "until the best was inside or the extension ran out; an arm tuned after another took that one's choice "
              "first.\n" % TUNE_SEED,
              file=out)
        print("| trend | arm | taken from the arm it follows | alternatives on seed %d | chosen |\n|---|---|---|---|---|"
              % TUNE_SEED, file=out)
        for tid, name, inherited, tried, best in tuning:
            cells = ", ".join("%s: %.2f" % (" ".join(alt), v) for alt, v, _ in tried)
            print("| %s | %s | %s | %s | %s |" % (tid, name, " ".join(inherited or []) or "—", cells,
                                                 " ".join(best) if best else "not chosen (runs missing)"), file=out)
    print("\n## Settings tried\n", file=out)
    for s in SETTINGS_TRIED:
        print("- " + s, file=out)
    print("\n## Arms\n", file=out)
    for t in trends:
        for name, a in t["arms"].items():
            note = "" if a["judged"] else " (tuned only)"
            note += " (learning rate not yet chosen)" if a.get("unchosen") else ""
            print("- %s %s%s: `%s%s`" % (t["id"], name, note, a["scenario"], "".join(" --set " + s for s in a["sets"])),
                  file=out)
    if args.smoke:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
