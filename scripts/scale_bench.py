#!/usr/bin/env python3
"""Scale benchmark of network.coarse (issue "Scale and real engines"; reports/benchmarks.md section 7).

Timing-only runs of scenarios/scale-1k.yaml's DiPaCo 16x16 grid, one process at a time:
- exact (network.coarse: off) against coarse at 1 024 workers x 100 phases: the simulated
  wall-clock must agree within 1 %;
- coarse at 1 024, 2 048, 4 096 and 10 240 workers x 10 phases: the fitted exponent of the wall
  time (less start-up) over workers x phases;
- coarse at 10 240 workers x 100 phases (scenarios/scale-10k.yaml): the < 10 min target;
- scenarios/scale-100k.yaml: 100 352 workers x 10 phases.

Each run's figures are kept in OUT/<name>.json, so an interrupted benchmark resumes where it
stopped. Prints the markdown of reports/benchmarks.md section 7's coarse table.

    scripts/scale_bench.py [--out runs/scale-bench] [--sim build/dipaco-sim] [--only NAME ...]
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def runs():
    """(name, scenario, sets): every run of the benchmark, in the order they are made."""
    out = []
    for coarse in ("off", "on"):
        out.append(("1024x100-%s" % coarse, "scenarios/scale-1k.yaml", ["network.coarse=" + coarse]))
    for n in (1024, 2048, 4096, 10240):
        out.append(("%dx10-on" % n, "scenarios/scale-1k.yaml",
                    ["network.coarse=on", "placement.workers.count=%d" % n, "algorithm.replicas_per_path=%d" % (n // 256),
                     "algorithm.outer_steps=10"]))
    out.append(("10240x100-on", "scenarios/scale-10k.yaml", []))
    out.append(("100352x10-on", "scenarios/scale-100k.yaml", []))
    return out


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def one(sim, out, name, scenario, sets):
    path = os.path.join(out, name + ".json")
    if os.path.exists(path):
        return json.load(open(path))
    run_dir = os.path.join(out, name)
    cmd = ["/usr/bin/time", "-f", "TIME %e %M", sim, "run", scenario, "--no-report", "--out", run_dir]
    for s in sets:
        cmd += ["--set", s]
    print("running %s: %s" % (name, " ".join(cmd[3:])), file=sys.stderr, flush=True)
    started = time.time()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    r = dict(name=name, command=" ".join([os.path.relpath(sim, ROOT)] + cmd[4:]), rc=p.returncode, cpu=cpu_model())
    for line in p.stderr.splitlines():
        if line.startswith("TIME "):
            _, wall, rss = line.split()
            r["wall_s"], r["peak_rss_mb"] = float(wall), int(rss) / 1024.0
        if "network.coarse:" in line:
            r["coarse"] = line.split("network.coarse: ", 1)[1]
    r.setdefault("wall_s", time.time() - started)
    if p.returncode == 0:
        summary = json.load(open(os.path.join(run_dir, "summary.json")))
        r["simulated_s"] = summary["simulated_wall_clock_s"]
        r["events"] = summary["simulated_events"]
        r["wan_bytes"] = summary["wan_bytes"]
    else:
        r["error"] = (p.stderr.strip().splitlines() or ["?"])[-1]
    with open(path + ".tmp", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(path + ".tmp", path)
    print("  %s: %.1f s, exit %d" % (name, r["wall_s"], r["rc"]), file=sys.stderr, flush=True)
    return r


def fit_exponent(xs, ys):
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def report(res):
    rows = ["| run | workers × phases | network.coarse | wall | peak RSS | simulated wall-clock | shared flows | exit |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        wp = name.split("-")[0].replace("x", " × ")
        rows.append("| `%s` | %s | %s | %.1f s | %.0f MB | %s | %s | %d |" % (
            name, wp, name.rsplit("-", 1)[1], r["wall_s"], r.get("peak_rss_mb", float("nan")),
            "%.3f s" % r["simulated_s"] if "simulated_s" in r else r.get("error", "—"),
            r.get("coarse", "—").replace("|", "/"), r["rc"]))
    print("\n".join(rows))
    print()
    cpu = next(iter(res.values()))["cpu"]
    print("CPU: %s. Each run's command is in OUT/<run>.json (`command`), run from the repository root under "
          "`/usr/bin/time -f '%%e %%M'`." % cpu)
    ex, co = res.get("1024x100-off"), res.get("1024x100-on")
    if ex and co and "simulated_s" in ex and "simulated_s" in co:
        print("Exact against coarse, 1 024 × 100: %.6f s against %.6f s, %+.2e relative; WAN bytes %s." % (
            ex["simulated_s"], co["simulated_s"], co["simulated_s"] / ex["simulated_s"] - 1,
            "equal" if ex["wan_bytes"] == co["wan_bytes"] else "differ"))
    scaling = [res.get("%dx10-on" % n) for n in (1024, 2048, 4096, 10240)]
    if all(r and r["rc"] == 0 for r in scaling):
        xs = [n * 10 for n in (1024, 2048, 4096, 10240)]
        print("Fitted exponent of the wall time over workers × phases (1 024 to 10 240 workers, 10 phases, least squares "
              "in log-log): %.2f." % fit_exponent(xs, [r["wall_s"] for r in scaling]))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "scale-bench"))
    ap.add_argument("--sim", default=os.path.join(ROOT, "build", "dipaco-sim"))
    ap.add_argument("--only", nargs="*", help="run only these (names as in the table)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    res = {}
    for name, scenario, sets in runs():
        if a.only and name not in a.only:
            path = os.path.join(a.out, name + ".json")
            if os.path.exists(path):
                res[name] = json.load(open(path))
            continue
        res[name] = one(a.sim, a.out, name, scenario, sets)
    report(res)


if __name__ == "__main__":
    main()
