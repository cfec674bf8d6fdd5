#!/usr/bin/env python3
"""Bandwidth for compute utilisation: how much WAN bandwidth each algorithm needs.

    scripts/bandwidth_utilisation.py [--build build] > reports/bandwidth.md

It also draws reports/figures/bandwidth-utilisation.png (--plot; gnuplot): the simulated compute
utilisation of each algorithm at 41 bandwidths from 1 Gbit/s to 100 Tbit/s, log-spaced.

Timing only (scenarios/bandwidth.yaml): a 1 B-parameter as-if model in fp32 (N = 4 GB), 0.1 s per
inner step, R = 4 workers in the 4 datacentres of platforms/bandwidth-4dc.xml, each datacentre
behind its own WAN uplink of bandwidth W (network.wan_bandwidth_scale; the uplinks' latency of
10 ms stays, 20 ms between datacentres; host links are 1 Pbit/s). For each algorithm and each target compute utilisation (compute seconds over
wall-clock seconds times workers, summary.json's compute_utilisation), the script bisects W, in
log space, to 0.5 %, running the simulator at each step, and sets the result beside two closed
forms (T = step time, k = steps between exchanges, f = upload bytes / N):

- the DiLoCo scaling-laws paper's appendix (Charles et al., 2025): a ring all-reduce of N bytes
  every k steps over full-duplex links, T_comm = (2N/W)(1 - 1/R), so W = 2N(1 - 1/R) / (kT(1/u - 1));
- this simulator's topology, with L = 20 ms between datacentres (two uplinks of 10 ms):
  - sync (a ring over the uplinks, whose one capacity carries both directions: each uplink moves a
    chunk out and a chunk in at every ring step, and each of the 2(R - 1) ring steps pays L):
    W = 4N(1 - 1/R) / (T(1/u - 1) - 2(R - 1)L);
  - DiLoCo (a parameter server: the outer optimizer on a host of the first datacentre sends θ to
    the R - 1 remote workers and receives their outer gradients, one after the other, through its
    uplink, paying L each way): W = (R - 1)N(1 + f) / (HT(1/u - 1) - 2L).
  - Streaming DiLoCo (F = 4 fragments of 16 as-if layers, H = 100: a phase of H/F = 25 steps
    uploads one fragment and then downloads it, each through the outer optimizer's uplink; the
    first phase downloads all of θ): the timeline of tests/e2e/closed_form_test.cpp's
    streaming_wall_clock, over 10 rounds (40 phases, so that the first full download weighs as
    little as it would in a long run), with W bisected on it. With overlap o, a phase's first o
    steps hide its fragment's round trip.
  Where the denominator is not positive, latency alone exceeds the budget: no bandwidth reaches u.
  The paper's form for Streaming DiLoCo is its DiLoCo form with N/F bytes every H/F steps: the
  same bandwidth as DiLoCo's; it does not model the overlap.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity import cpu_name  # noqa: E402  (one reader of the CPU's name)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "scenarios", "bandwidth.yaml")
BASE_GBPS = 100.0  # the uplinks' bandwidth in the platform file
N = 1e9 * 4        # bytes of the model
T = 0.1            # seconds per inner step
R = 4
H = 100
L = 0.020          # seconds between two datacentres
TARGETS = [0.5, 0.8, 0.9, 0.95, 0.99]
FP4 = 0.53125 / 4  # fp4 bytes per value over fp32's

# Streaming DiLoCo on scenarios/bandwidth.yaml: fragment 0 holds the embeddings and 4 of the 16
# blocks; each block is 12·2048²·16 / 16 of the 1e9 as-if parameters.
F = 4
BLOCK = 12 * 2048 ** 2 * 16 / 16 / 1e9
FRAGMENTS = [N * (1 - 16 * BLOCK + 4 * BLOCK)] + [N * 4 * BLOCK] * 3
STREAM_ROUNDS = 10
STREAMING = ["algorithm.name=streaming-diloco", "streaming.fragments=%d" % F, "algorithm.outer_steps=%d" % STREAM_ROUNDS]


def streaming_utilisation(w, overlap, wire):
    """Compute utilisation of Streaming DiLoCo at uplink bandwidth w (bytes/s), in closed form."""
    k = H // F
    phases = STREAM_ROUNDS * F
    computed = L + (R - 1) * N / w + k * T
    for j in range(1, phases + 1):
        fragment = FRAGMENTS[(j - 1) % F]
        uploaded = computed + L + (R - 1) * fragment * wire / w
        if j == phases:
            return phases * k * T / uploaded
        downloaded = uploaded + L + (R - 1) * fragment / w
        computed = downloaded + k * T if overlap == 0 else max(computed + overlap * T, downloaded) + (k - overlap) * T


def streaming_needed(target, overlap, wire, lo=1e-2, hi=1e6):
    """Gbit/s at which the closed form reaches `target`, to 0.5 %."""
    if streaming_utilisation(hi * 1e9 / 8, overlap, wire) < target:
        return None
    while hi / lo > 1.005:
        mid = math.sqrt(lo * hi)
        if streaming_utilisation(mid * 1e9 / 8, overlap, wire) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# name: (sets, k (steps between exchanges), our closed form: bytes through the busiest uplink and
# latency per exchange, or (overlap, wire factor) of Streaming DiLoCo's timeline)
VARIANTS = [
    ("DP (sync), every step", ["algorithm.name=sync", "algorithm.tau=10", "algorithm.outer_steps=1"], 1, 4 * N * (1 - 1 / R), 2 * (R - 1) * L),
    ("DP (sync), every step, WAN latency 0", ["algorithm.name=sync", "algorithm.tau=10", "algorithm.outer_steps=1",
                                               "network.wan_latency_scale=0"], 1, 4 * N * (1 - 1 / R), 0.0),
    ("DiLoCo, H = 100", [], H, (R - 1) * N * 2, 2 * L),
    ("DiLoCo, H = 100, fp4 outer gradients", ["communication.outer_gradient=fp4"], H, (R - 1) * N * (1 + FP4), 2 * L),
    ("Streaming DiLoCo, H = 100, F = 4", STREAMING, H // F, None, (0, 1.0)),
    ("Streaming DiLoCo, H = 100, F = 4, overlap 5 steps", STREAMING + ["streaming.overlap_steps=5"], H // F, None, (5, 1.0)),
    ("Streaming DiLoCo, H = 100, F = 4, overlap 5 steps, fp4", STREAMING + ["streaming.overlap_steps=5", "communication.outer_gradient=fp4"],
     H // F, None, (5, FP4)),
]


def utilisation(binary, sets, gbps):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", SCENARIO, "--set", "network.wan_bandwidth_scale=%r" % (gbps / BASE_GBPS)]
        for s in sets:
            cmd += ["--set", s]
        cmd += ["--no-report", "--out", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("run failed: %s\n%s" % (" ".join(cmd), r.stdout[-2000:] + r.stderr[-2000:]))
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)["compute_utilisation"]


def needed(binary, sets, target, lo=1e-2, hi=1e6):
    """The bandwidth (Gbit/s) at which utilisation reaches `target`, to 0.5 %; None if even `hi` does not."""
    if utilisation(binary, sets, hi) < target:
        return None
    while hi / lo > 1.005:
        mid = math.sqrt(lo * hi)
        if utilisation(binary, sets, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def gbps(bytes_per_second):
    return bytes_per_second * 8 / 1e9


def fmt(x):
    if x is None:
        return "not reached"
    return "%.3g" % x


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--plot", default=os.path.join(ROOT, "reports", "figures", "bandwidth-utilisation.png"))
    args = p.parse_args()
    binary = os.path.join(args.build, "dipaco-sim")
    out = sys.stdout
    print("# Bandwidth for compute utilisation\n", file=out)
    print("Generated by `scripts/bandwidth_utilisation.py` (its docstring has the setting and the closed forms) "
          "on %s. Uplink bandwidth W in Gbit/s needed for each compute utilisation; each cell: simulated / this "
          "simulator's topology in closed form / the paper's ring all-reduce (without latency).\n" % cpu_name(), file=out)
    print("| algorithm | " + " | ".join("%d %%" % round(100 * u) for u in TARGETS) + " |", file=out)
    print("|---|" + "---|" * len(TARGETS), file=out)
    for name, sets, k, busiest, latency in VARIANTS:
        cells = []
        for u in TARGETS:
            sim = needed(binary, sets, u)
            if busiest is None:  # Streaming DiLoCo: its timeline in closed form; the paper's N/F every k steps
                ours = streaming_needed(u, *latency)
                paper = gbps(2 * N / F * (1 - 1 / R) / (k * T * (1 / u - 1)))
            else:
                budget = k * T * (1 / u - 1) - latency
                ours = gbps(busiest / budget) if budget > 0 else None
                paper = gbps(2 * N * (1 - 1 / R) / (k * T * (1 / u - 1)))
            cells.append("%s / %s / %s" % (fmt(sim), fmt(ours), fmt(paper)))
            print("%s, u = %.2f: simulated %s Gbit/s" % (name, u, fmt(sim)), file=sys.stderr, flush=True)
        print("| %s | %s |" % (name, " | ".join(cells)), file=out)
    print("\nNot reached: latency alone exceeds the budget. Sync DP's ring pays 2(R - 1) = 6 WAN latencies of 20 ms "
          "every 0.1 s step, so it stays below 0.1 / (0.1 + 0.12) = 45 % at any bandwidth; DiLoCo pays 2 per round of "
          "H steps. Streaming DiLoCo's rows run 10 rounds (40 phases) rather than 3, so that the first phase's download "
          "of all of θ weighs as it would in a long run (DiLoCo's rounds are all alike: their number does not matter). "
          "Its fragments are not equal: fragment 0 carries the embeddings (19 % of θ) besides its 4 blocks (20 %), so "
          "its peak upload is 40 % of θ, not 25 %.", file=out)
    plot(binary, args.plot)
    print("\n![compute utilisation against uplink bandwidth](figures/%s)" % os.path.basename(args.plot), file=out)


def plot(binary, png):
    """Simulated utilisation against bandwidth, one line per algorithm, drawn with gnuplot into `png`."""
    points = [10 ** (e / 8) for e in range(0, 41)]  # 1 Gbit/s .. 100 Tbit/s
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "u.dat")
        with open(data, "w") as f:
            for name, sets, *_ in VARIANTS:
                f.write("\"%s\"\n" % name)
                for g in points:
                    f.write("%g %g\n" % (g, utilisation(binary, sets, g)))
                f.write("\n\n")
        script = os.path.join(work, "u.gp")
        tmp = png + ".tmp"  # written whole, then renamed: never a half-drawn figure
        with open(script, "w") as f:
            f.write("set terminal pngcairo size 1000,720 font ',11'\nset output '%s'\n" % tmp.replace("'", "''"))
            f.write("set logscale x\nset format x '10^{%L}'\nset xlabel 'uplink bandwidth (Gbit/s)'\n")
            f.write("set ylabel 'compute utilisation'\nset yrange [0:1]\nset grid\nset key outside below maxrows 4\n")
            f.write("set title '1 B-parameter as-if model, 0.1 s steps, 4 datacentres (scenarios/bandwidth.yaml)'\n")
            f.write("plot for [i=0:%d] '%s' index i using 1:2 with linespoints pt 7 ps 0.5 title columnheader(1)\n"
                    % (len(VARIANTS) - 1, data))
        r = subprocess.run(["gnuplot", script], capture_output=True, text=True, cwd=work)
        if r.returncode != 0:
            sys.exit("gnuplot failed: %s" % r.stderr[-2000:])
        os.replace(tmp, png)


if __name__ == "__main__":
    main()
