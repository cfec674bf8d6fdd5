#!/usr/bin/python3
"""Measures dipaco-sim and writes reports/benchmarks.md to stdout:

    scripts/bench.py > reports/benchmarks.md          (after scripts/setup.sh; progress on stderr)

0. Compute: the CPU, the OpenBLAS kernel in use and who chose it, what `precision: auto` resolves to
   (build/dipaco-bench kernel), and whether the Python peer computes with the same kernel.
1. GEMM: square torch::mm in fp32 (OpenBLAS) and bf16 (oneDNN), 1 thread and all cores
   (build/dipaco-bench gemm --dtype), and fp32 GEMM 1024 with the kernel dipaco chose against each
   OpenBLAS kernel this CPU can run, set by hand.
2. Training steps of the path model through engine::train_inner (build/dipaco-bench serve) at three
   sizes, 1 thread and all cores, in fp32 and bf16 mixed precision, with cost-model FLOPs
   (sim/scenario/cost_model.hpp).
3. The Python peer (scripts/peer_train_step.py, Debian python3-torch 1.13.1): the same model, shapes
   and hyper-parameters, in fp32 and under torch.autocast(bf16), run side by side with 2. (alternating
   chunks of steps, the same warm-up, medians), and a replay of the engine's initial parameters and
   batches that must give its losses, at both precisions.
4. Simulation overhead: timing-only runs (training=off) minus process start-up, per simulated event
   and as a share of the same scenario with real training.
5. Thread pool: the quickstart with --threads 1 and --threads $(nproc).
6. Memory: peak RSS (/usr/bin/time -f %M) of DiPaCo 2x2, 4x4 and 16x16 with training.
7. Scale, timing-only: scenarios/scale-1k.yaml (DiPaCo 16x16, 1 024 workers in eight datacentres,
   100 phases), then 1 024 / 2 048 / 4 096 workers at 10 phases and 1 024 workers at 25 / 50 / 100
   phases for the fitted exponents, and 10 240 workers (at the default max-min precision and at
   1e-4). Events/s and peak RSS for each.
8. The quickstart's wall time (10 outer steps, all cores, caches built) at precision auto and at the
   other precision, and the synchronous data-parallel baseline (algorithm.name=sync) beside DiLoCo.

It measures as a fresh user would run: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the
environment of every process it starts (dipaco then chooses the kernel itself), unless
--keep-openblas-coretype. Only public tools: the project's two binaries, /usr/bin/python3 with
python3-torch, /usr/bin/time. --smoke runs every part in a tiny configuration in seconds (the test
bench.Smoke), without training runs of the scenarios; its figures mean nothing. It exits 1 if the
Python peer does not reproduce the engine's losses or does not compute with the engine's kernel.
"""
import argparse
import datetime
import filecmp
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"  # Debian's, where python3-torch lives (not a pyenv or venv python3 on PATH)
PEER = os.path.join(ROOT, "scripts", "peer_train_step.py")

# chunk: steps per timed sample (about a second of work at one thread).
SIZES = [
    dict(name="tiny", vocab=4096, d_model=64, heads=4, blocks=2, seq_len=128, batch=16, chunk=8),
    dict(name="small", vocab=4096, d_model=128, heads=4, blocks=4, seq_len=128, batch=32, chunk=2),
    dict(name="medium", vocab=4096, d_model=256, heads=4, blocks=4, seq_len=128, batch=32, chunk=1),
]
SMOKE_SIZES = [dict(name="micro", vocab=256, d_model=32, heads=2, blocks=1, seq_len=16, batch=4, chunk=1)]
QUICKSTART = "scenarios/quickstart.yaml"

# What a fresh user's environment lacks: OpenBLAS overrides (a shell profile or a CI harness may set
# them; with OPENBLAS_CORETYPE set, dipaco keeps the user's kernel instead of choosing one) and the
# bookkeeping of dipaco's own re-execution (engine/train/blas_kernel.cpp), which a child must not inherit.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
DIPACO_BLAS_PREFIX = "DIPACO_BLAS_"
# fp32 GEMM is compared against these OpenBLAS kernels set by hand, each where the CPU has what it needs
# (OpenBLAS silently falls back to another kernel otherwise): SkylakeX and Cooperlake are AVX-512
# kernels, Cooperlake's bf16 routines need AVX512_BF16; Haswell is AVX2's.
KERNEL_CANDIDATES = [("SkylakeX", "AVX-512"), ("Cooperlake", "AVX512_BF16"), ("Haswell", "AVX2")]
PRECISIONS = ("fp32", "bf16")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def fmt_s(s):
    return "%.0f ms" % (s * 1e3) if s < 10 else "%.1f s" % s


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def fresh_user_environment(keep_openblas):
    """Makes this process's environment, which every child inherits, a fresh user's: without the
    OpenBLAS overrides (unless keep_openblas) and dipaco's re-execution variables. Returns
    (removed, kept): the overrides taken out and those left in, by name."""
    present = {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ}
    for k in [k for k in os.environ if k.startswith(DIPACO_BLAS_PREFIX)]:
        del os.environ[k]
    if keep_openblas:
        return {}, present
    for k in present:
        del os.environ[k]
    return present, {}


def cpu_has(features, isa):
    """Whether dipaco's cpu_features ("AVX-512, AVX512_BF16, AMX": the widest vector ISA, then extras)
    include isa; the widest ISA implies the narrower ones."""
    implies = {"AVX-512": ("AVX-512", "AVX2", "AVX"), "AVX2": ("AVX2", "AVX"), "AVX": ("AVX",)}
    return any(isa in implies.get(f.strip(), (f.strip(),)) for f in features.split(","))


# ---------------------------------------------------------------------------------------------
# Processes timed with /usr/bin/time


def timed(cmd, cwd=ROOT, allow_failure=False):
    """Runs cmd under /usr/bin/time: wall, user, sys seconds, peak RSS (MB), exit code and the last
    line of stderr (an error). A failing cmd stops the benchmark unless allow_failure."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", f.name] + cmd, cwd=cwd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        fields = f.read().split()[-4:]
    if p.returncode != 0 and not allow_failure:
        raise SystemExit("bench: failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    wall, user, system, rss_kb = fields
    return dict(wall=float(wall), user=float(user), sys=float(system), rss_mb=int(rss_kb) / 1024.0, rc=p.returncode,
                error=p.stderr.strip().splitlines()[-1] if p.returncode and p.stderr.strip() else "")


def simulated_events(run_dir):
    """(count, source). summary.json's own simulated_events when the simulator writes one; else
    trace.json's complete spans ("ph": "X") of compute, network (send and receive) and down, i.e.
    the SimGrid executions, transfers and host-off periods, without the derived idle spans,
    counters and metadata."""
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    if isinstance(summary.get("simulated_events"), int):
        return summary["simulated_events"], "summary"
    with open(os.path.join(run_dir, "trace.json")) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    return sum(1 for e in events if e.get("ph") == "X" and e.get("cat") != "idle"), "trace"


# ---------------------------------------------------------------------------------------------
# 0-1: the BLAS kernel and GEMM


def blas_choice(build, env=None):
    """`dipaco-bench kernel`: the CPU, the OpenBLAS kernel the engine computes with and who chose it,
    and what precision: auto resolves to."""
    return json_lines(sh([os.path.join(build, "dipaco-bench"), "kernel"], env=env))[0]


def gemm(build, threads, sizes, reps, dtype, env=None):
    """`dipaco-bench gemm`: {threads: {n: its JSON line}}."""
    table = {t: {} for t in threads}
    for r in json_lines(sh([os.path.join(build, "dipaco-bench"), "gemm", "--threads", ",".join(map(str, threads)),
                            "--reps", str(reps), "--sizes", ",".join(map(str, sizes)), "--dtype", dtype], env=env)):
        table[r["threads"]][r["n"]] = r
    return table


def kernel_comparison(build, kernel, n, reps, rounds):
    """fp32 GEMM n at 1 thread as dipaco runs it (the environment as it is) and with OPENBLAS_CORETYPE
    set by hand to each candidate kernel the CPU can run. The variants alternate for `rounds` rounds
    (best of all), so a slow patch of the machine does not fall on one of them. Rows: label, the
    kernel that really ran (dipaco-bench kernel under the same environment), GFLOP/s."""
    variants = [("as dipaco runs it", None)] + [
        ("OPENBLAS_CORETYPE=" + name, dict(os.environ, OPENBLAS_CORETYPE=name))
        for name, isa in KERNEL_CANDIDATES if cpu_has(kernel["cpu_features"], isa)]
    rows = [dict(label=label, env=env, kernel=blas_choice(build, env)["kernel"], gflops=0.0) for label, env in variants]
    for _ in range(rounds):
        for r in rows:
            r["gflops"] = max(r["gflops"], gemm(build, [1], [n], reps, "fp32", r["env"])[1][n]["gflops"])
    return rows


# ---------------------------------------------------------------------------------------------
# 2-3: training steps


class Peer:
    """A serving process (dipaco-bench serve or peer_train_step.py serve): 'steps K' -> seconds."""

    def __init__(self, name, cmd, env=None):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        self._ready = None

    @property
    def ready(self):
        if self._ready is None:
            self._ready = self._read()
        return self._ready

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("bench: %s ended early (exit %s)" % (self.name, self.p.wait()))
        return json.loads(line)

    def steps(self, k):
        self.p.stdin.write("steps %d\n" % k)
        return self._read()["seconds"] / k

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


# dipaco-sim and dipaco-bench call engine::keep_freed_memory_for_reuse() (mallopt); these are the
# same two settings for glibc from the environment, which the second Python peer runs with.
GLIBC_LIKE_ENGINE = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_ARENA_MAX": "1"}


def environment(glibc_tuning):
    """This process's environment without glibc malloc settings (a caller's cannot tune a peer behind
    our back), plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(glibc_tuning)
    return env


def peer_environment(kernel, glibc_tuning=None):
    """A Python peer's environment: environment(glibc_tuning), pinned to the engine's OpenBLAS kernel.
    The pin is always set, whoever chose the engine's kernel: when dipaco re-executed itself with a
    better one, Python (which does not) would otherwise compute with OpenBLAS's weaker choice; when
    OpenBLAS or the user chose it, the pin names the kernel the peer would get anyway. Either way the
    comparison is of the code around the same GEMMs, and the peer reports the kernel it got."""
    env = environment(glibc_tuning or {})
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    return env


def have_python_torch():
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def model_args(size):
    return ["--vocab", str(size["vocab"]), "--d-model", str(size["d_model"]), "--heads", str(size["heads"]),
            "--blocks", str(size["blocks"]), "--seq-len", str(size["seq_len"]), "--batch", str(size["batch"])]


def start_engines(cfg, size, threads, precisions):
    bench = os.path.join(cfg.build, "dipaco-bench")
    return [Peer("cpp-" + p, [bench, "serve", "--threads", str(threads), "--precision", p] + model_args(size), environment({}))
            for p in precisions]


def start_python_peers(cfg, threads, precisions, init_dir, kernel):
    """The Python peer at each precision (glibc's defaults), and in fp32 once more with glibc tuned as
    the engine (not in --smoke). That second run separates the allocator's share of the difference
    from the computation's, a question bf16 does not change, so it runs once. The model and the
    optimizer's settings are the dump's (those of `dipaco-bench serve` with the same MODEL), so the
    peers start at the same time as the engines."""
    with open(os.path.join(init_dir, "meta.json")) as f:
        meta = json.load(f)
    cmd = [PYTHON, PEER, "serve", "--threads", str(threads), "--model", json.dumps(meta["model"]), "--opt", json.dumps(meta["opt"]),
           "--init", init_dir]
    peers = [Peer("py-" + p, cmd + ["--precision", p], peer_environment(kernel)) for p in precisions]
    if not cfg.smoke:
        peers.append(Peer("py_tuned-fp32", cmd + ["--precision", "fp32"], peer_environment(kernel, GLIBC_LIKE_ENGINE)))
    return peers


def check_ready(peers, params):
    """Every process trains the model it was asked for: the engine's parameter count, the precision
    in its name (a binary that ignored --precision would otherwise pass for bf16)."""
    for p in peers:
        r = p.ready
        if r["params"] != params:
            raise SystemExit("bench: %s has %d parameters, the engine's %d" % (p.name, r["params"], params))
        if r.get("precision", "fp32") != p.name.rsplit("-", 1)[1]:
            raise SystemExit("bench: %s trains in %s" % (p.name, r.get("precision")))


def step_group(cfg, size, threads, precisions, with_python, init_dir, kernel):
    """The engine at each precision and its Python peers serving side by side; after the same warm-up,
    samples alternate between them (the order rotates), so each runs while the others wait. Returns
    the ready lines and the per-step seconds of each sample (a chunk of steps), by process name:
    cpp-P (the engine), py-P (the peer, glibc's defaults), py_tuned-fp32 (glibc tuned as the engine)."""
    peers = start_engines(cfg, size, threads, precisions)
    if with_python:
        peers += start_python_peers(cfg, threads, precisions, init_dir, kernel)  # all start at once
    check_ready(peers, peers[0].ready["params"])
    k = size["chunk"]
    for p in peers:
        p.steps(max(cfg.warmup, 1))
    samples = {p.name: [] for p in peers}
    for i in range(cfg.samples):
        for j in range(len(peers)):
            p = peers[(i + j) % len(peers)]
            samples[p.name].append(p.steps(k))
    for p in peers:
        p.close()
    return {p.name: p.ready for p in peers}, samples


def run_concurrently(cmds, env=None):
    """Runs untimed commands at once (what they compute does not depend on what else runs); returns
    (exit code, stdout, stderr) of each. Their outputs are a few lines, well under a pipe's buffer, so
    waiting for them one after the other cannot block one that is still writing."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for c in cmds]
    results = []
    for p in procs:
        out, err = p.communicate()
        results.append((p.returncode, out, err))
    return results


def dump_dir(work, size, precision):
    return os.path.join(work, "dump-%s-%s" % (size["name"], precision))


def replay(cfg, size, threads, precisions, work, kernel, with_python):
    """The engine's initial parameters, its batches and per-step losses at each precision (dipaco-bench
    dump), then Python replays each dump (at the dump's precision and its default tolerance, on the
    engine's kernel): the same parameters and batches must give the engine's losses. The dumps run at
    once, then the checks. Returns {precision: the check's JSON} (empty without python3-torch)."""
    bench = os.path.join(cfg.build, "dipaco-bench")
    dumps = [[bench, "dump", "--dir", dump_dir(work, size, p), "--steps", str(cfg.check_steps), "--threads", str(threads),
              "--precision", p] + model_args(size) for p in precisions]
    for cmd, (rc, _, err) in zip(dumps, run_concurrently(dumps)):
        if rc != 0:
            raise SystemExit("bench: failed (%d): %s\n%s" % (rc, " ".join(cmd), err[-2000:]))
    if not with_python:
        return {}
    checks = [[PYTHON, PEER, "check", dump_dir(work, size, p)] for p in precisions]
    results = {}
    for p, (rc, out, err) in zip(precisions, run_concurrently(checks, peer_environment(kernel))):
        if rc not in (0, 1):  # 1: the losses differ, which the report shows
            raise SystemExit("bench: peer check failed:\n" + err[-2000:])
        results[p] = json.loads(out.splitlines()[-1])
    return results


# ---------------------------------------------------------------------------------------------
# 8. The quickstart: precision and the synchronous baseline


def summary_of(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


def quickstart_run(sim, work, label, outer, sets):
    """One timed quickstart run (all cores, dipaco-sim's default): /usr/bin/time's figures, the
    command line and its summary.json."""
    d = os.path.join(work, "quickstart-" + label)
    cmd = [sim, "run", QUICKSTART, "--set", "algorithm.outer_steps=%d" % outer, "--no-report", "--out", d] + list(sets)
    r = timed(cmd)
    log("quickstart %s: %.1f s" % (label, r["wall"]))
    return dict(r, label=label, sets=" ".join(sets), summary=summary_of(d))


def run_quickstarts(sim, work, kernel, smoke):
    """The quickstart as a user runs it (precision auto), at the other precision where the CPU has bf16
    units, and the sync baseline at auto; after one untimed run of one outer step so that the
    tokenizer and data caches exist. --smoke: timing-only runs of one outer step, no cache run."""
    outer = 1 if smoke else 10
    base = ["--set", "training=off"] if smoke else []
    if not smoke:  # a timing-only run reads no data
        quickstart_run(sim, work, "caches", 1, base)
    auto = kernel["auto_precision"]
    others = [p for p in PRECISIONS if p != auto and (p == "fp32" or kernel["bf16_units"])]
    runs = [quickstart_run(sim, work, "auto", outer, base)]
    runs += [quickstart_run(sim, work, p, outer, base + ["--set", "precision=" + p]) for p in others]
    sync = quickstart_run(sim, work, "sync", outer, base + ["--set", "algorithm.name=sync"])
    return dict(outer=outer, timing_only=smoke, by_precision={r["summary"]["compute"]["precision"]: r for r in runs},
                auto=runs[0], sync=sync)


# ---------------------------------------------------------------------------------------------
# 7. Scale

SCALE = "scenarios/scale-1k.yaml"


# The 10 240-worker runs are stopped after this long: one phase slower than this already puts 100
# phases far past the 10-minute target (one such run took 13 min to fail in the solver).
BIG_LIMIT_S = 120


def scale_run(sim, work, workers, phases, extra=(), allow_failure=False, limit_s=None):
    """One timing-only run of the scale scenario: wall, peak RSS, events, exit code (124: stopped at limit_s)."""
    d = os.path.join(work, "scale-%d-%d-%d" % (workers, phases, len(extra)))
    cmd = (["timeout", "-s", "KILL", str(limit_s)] if limit_s else []) + [sim, "run", SCALE, "--set", "placement.workers.count=%d" % workers,
           "--set", "algorithm.replicas_per_path=%d" % (workers // 256), "--set", "algorithm.outer_steps=%d" % phases,
           "--no-report", "--out", d] + list(extra)
    r = dict(timed(cmd, allow_failure=allow_failure), workers=workers, phases=phases, extra=" ".join(extra), events=None)
    if limit_s and r["rc"] in (124, 137):  # timeout(1) with -s KILL exits 137
        r["rc"], r["error"] = 124, "stopped after %d s (BIG_LIMIT_S)" % limit_s
    if r["rc"] == 0:
        with open(os.path.join(d, "summary.json")) as f:
            r["events"] = json.load(f)["simulated_events"]
    shutil.rmtree(d, ignore_errors=True)
    log("scale: %d workers, %d phases %s: %.1f s, exit %d" % (workers, phases, r["extra"], r["wall"], r["rc"]))
    return r


def big_sentence(scale):
    """What the 10 240-worker runs showed, for the paragraph under the scale table."""
    if not scale["big"]:
        return ""
    default, coarse = scale["big"][0], scale["big"][-1]
    said = {0: "completes", 124: "does not finish one phase within %d s" % BIG_LIMIT_S}
    first = (" At %d workers the solver fails numerically at its default `maxmin/precision` (1e-5), which the one-line "
             "error above reports;" % default["workers"]) if default["rc"] not in (0, 124) else \
        " At %d workers the run at the default `maxmin/precision` %s;" % (default["workers"], said[default["rc"]])
    return first + " at 1e-4 it %s." % said.get(coarse["rc"], "fails (exit %d)" % coarse["rc"])


def fit_exponent(xs, ys):
    """Least-squares slope of log y against log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def run_scale(sim, work, smoke):
    if smoke:  # seconds: the shape of the section, not its figures; each run once
        one, target = scale_run(sim, work, 256, 1), scale_run(sim, work, 256, 2)
        return dict(target=target, workers=[one] + [scale_run(sim, work, n, 1) for n in (512, 1024)],
                    phases=[one, target, scale_run(sim, work, 256, 3)], big=[], big_workers=1024)
    target = scale_run(sim, work, 1024, 100)
    by_workers = [scale_run(sim, work, n, 10) for n in (1024, 2048, 4096)]
    by_phases = [scale_run(sim, work, 1024, p) for p in (25, 50)] + [target]
    big = [scale_run(sim, work, 10240, 1, allow_failure=True, limit_s=BIG_LIMIT_S),
           scale_run(sim, work, 10240, 1, ["--cfg=maxmin/precision:1e-4"], allow_failure=True, limit_s=BIG_LIMIT_S)]
    return dict(target=target, workers=by_workers, phases=by_phases, big=big, big_workers=10240)


def write_scale(w, scale, startup_s):
    def own(r):
        return max(r["wall"] - startup_s, 1e-9)

    def row(r):
        if r["rc"] != 0:
            return "| %d | %d | %s | %.1f s | — | — | %.0f MB | exit %d: %s |" % (
                r["workers"], r["phases"], r["extra"] or "—", r["wall"], r["rss_mb"], r["rc"], r["error"][:160])
        return "| %d | %d | %s | %.1f s | %d | %.0f | %.0f MB | ok |" % (
            r["workers"], r["phases"], r["extra"] or "—", r["wall"], r["events"], r["events"] / own(r), r["rss_mb"])

    t = scale["target"]
    ew = fit_exponent([r["workers"] * r["phases"] for r in scale["workers"]], [own(r) for r in scale["workers"]])
    ep = fit_exponent([r["workers"] * r["phases"] for r in scale["phases"]], [own(r) for r in scale["phases"]])
    big_ok = [r for r in scale["big"] if r["rc"] == 0]
    w("## 7. Scale (timing-only)")
    w("")
    w("`%s`: DiPaCo 16×16 (256 paths, 33 modules), `placement.workers: {count: N}` spread over the eight datacentres of "
      "`platforms/eight-datacentres.xml` (1 300 hosts each, 100 Gbps WAN uplinks into a shared core), N / 256 replicas per path "
      "(one task per worker), `training: off`, `trace: off`. Each row is one `/usr/bin/time -f '%%e %%M' build/dipaco-sim run %s "
      "--set placement.workers.count=N --set algorithm.replicas_per_path=N/256 --set algorithm.outer_steps=P --no-report --out DIR`. "
      "Events are summary.json's `simulated_events` (SimGrid communications and executions that ended); events/s divides them by "
      "the wall time minus start-up (%.2f s)." % (SCALE, SCALE, startup_s))
    w("")
    w("| target | figure | met |")
    w("|---|---|---|")
    w("| %d workers, 8 datacentres, 256 paths, %d phases in < 60 s | %.1f s | %s |" % (
        t["workers"], t["phases"], t["wall"], "**met**" if t["rc"] == 0 and t["wall"] < 60 else "**not met**"))
    if big_ok:
        b = big_ok[-1]
        w("| %d workers in < 10 min | one phase in %.1f s (%s), so 100 phases would take about %.0f min | %s |" % (
            b["workers"], b["wall"], b["extra"] or "default precision", 100 * b["wall"] / 60,
            "**met**" if 100 * b["wall"] < 600 else "**not met**"))
    elif scale["big"] and all(r["rc"] == 124 for r in scale["big"]):
        w("| %d workers in < 10 min | one phase does not finish in %d s at either precision, so 100 phases would take more than "
          "%.0f min | **not met** |" % (scale["big"][0]["workers"], BIG_LIMIT_S, 100 * BIG_LIMIT_S / 60))
    elif scale["big"]:
        w("| %d workers in < 10 min | the run fails (exit %d) | **not met** |" % (scale["big"][0]["workers"], scale["big"][0]["rc"]))
    w("| cost linear in workers × phases | exponent %.2f over workers (%s at %d phases), %.2f over phases (%s at %d workers) | %s |" % (
        ew, "/".join(str(r["workers"]) for r in scale["workers"]), scale["workers"][0]["phases"], ep,
        "/".join(str(r["phases"]) for r in scale["phases"]), scale["phases"][0]["workers"],
        "**met**" if max(ew, ep) < 1.15 else "**not met**"))
    w("")
    w("| workers | phases | SimGrid option | wall | events | events/s | peak RSS | result |")
    w("|---|---|---|---|---|---|---|---|")
    seen = set()
    for r in [t] + scale["workers"] + scale["phases"] + scale["big"]:
        key = (r["workers"], r["phases"], r["extra"])
        if key not in seen:
            seen.add(key)
            w(row(r))
    w("")
    w("Fitted exponents: least squares of log(wall − start-up) on log(workers × phases), over the three worker counts at "
      "fixed phases (%.2f) and over the three phase counts at fixed workers (%.2f)." % (ew, ep))
    w("")
    first, last = scale["workers"][0], scale["workers"][-1]
    if first["events"] and last["events"]:
        w("**Why the cost is not linear in workers.** Events per worker-phase stay constant (%.1f at %d workers, %.1f at %d), "
          "but events/s fall from %.0f to %.0f: each event costs more as workers are added, while phases add linearly. The time is "
          "inside SimGrid (README \"Performance\" has the profile): its max-min solver re-shares the bandwidth of every flow "
          "connected through a shared link to one that starts or ends, and every task pulls the shared module from one executor "
          "host, so all concurrent transfers form one connected set; finishing a detached communication also removes it from "
          "SimGrid's one global list of them by a linear search. Both are per-event costs that grow with the workers in flight. "
          "README \"Performance\" (\"Where the time goes\") has the profile at 2 048 workers and the remedies tried: "
          "SimGrid's lazy selective update, maxmin/concurrency-limit, and a courier actor per message; none helped.%s" % (
              first["events"] / (first["workers"] * first["phases"]), first["workers"],
              last["events"] / (last["workers"] * last["phases"]), last["workers"],
              first["events"] / own(first), last["events"] / own(last),
              big_sentence(scale)))
        w("")


# ---------------------------------------------------------------------------------------------
# Report helpers


def med(v):
    return statistics.median(v) if v else None


def kernel_source(k):
    """Who chose the kernel, in words."""
    return {"openblas": "OpenBLAS's own choice", "user": "OPENBLAS_CORETYPE set by the user",
            "dipaco": "set by dipaco, which re-ran itself with it; OpenBLAS had chosen %s" % k.get("kernel_replaced")
            }.get(k["kernel_set_by"], "the BLAS is not OpenBLAS")


def compute_note(summary):
    """Where a dipaco-sim run's training ran, from its summary.json: precision and kernel."""
    if not summary.get("training", True):
        return "timing-only: no training"
    c = summary["compute"]
    return "%s (%s), OpenBLAS kernel %s" % (c["precision"], c["precision_reason"], c["blas_kernel"] or "none")


class Steps:
    """The step timings by (model name, threads) and process name (cpp-P, py-P, py_tuned-fp32)."""

    def __init__(self):
        self.runs = {}

    def add(self, name, threads, ready, samples):
        self.runs[(name, threads)] = dict(ready=ready, samples=samples)

    def has(self, name, threads, proc):
        return proc in self.runs[(name, threads)]["samples"]

    def median(self, name, threads, proc):
        return med(self.runs[(name, threads)]["samples"][proc])

    def samples(self, name, threads, proc):
        return self.runs[(name, threads)]["samples"][proc]

    def ready(self, name, threads, proc="cpp-fp32"):
        return self.runs[(name, threads)]["ready"][proc]

    def gflops(self, name, threads, precision):
        return self.ready(name, threads)["flops_per_step"] / self.median(name, threads, "cpp-" + precision) / 1e9

    def speedup(self, name, threads, precision, peer="py"):
        """The engine's speed over the peer's at one precision: peer step time / engine step time."""
        proc = "%s-%s" % (peer, precision)
        if not self.has(name, threads, proc):
            return None
        return self.median(name, threads, proc) / self.median(name, threads, "cpp-" + precision)

    def bf16_gain(self, name, threads, who="cpp"):
        """fp32 step time / bf16 step time of the engine (who=cpp) or the peer (who=py)."""
        if not self.has(name, threads, who + "-bf16"):
            return None
        return self.median(name, threads, who + "-fp32") / self.median(name, threads, who + "-bf16")


# ---------------------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder with dipaco-sim and dipaco-bench")
    ap.add_argument("--samples", type=int, default=7, help="timed samples per model size, thread count and side")
    ap.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps before the samples")
    ap.add_argument("--scaling-reps", type=int, default=1, help="quickstart runs per thread count")
    ap.add_argument("--keep-openblas-coretype", action="store_true",
                    help="keep the caller's OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (by default every process this "
                         "starts runs without them, as a fresh user's would)")
    ap.add_argument("--smoke", action="store_true", help="everything in a tiny configuration (the test)")
    cfg = ap.parse_args()
    cfg.build = os.path.abspath(cfg.build)
    if cfg.smoke:
        cfg.samples, cfg.warmup, cfg.scaling_reps = 1, 1, 1
    cfg.check_steps = 2 if cfg.smoke else 3
    return cfg


def main():
    cfg = parse_args()
    removed, kept = fresh_user_environment(cfg.keep_openblas_coretype)
    cores = os.cpu_count()
    threads = sorted({1, cores})
    smoke = cfg.smoke
    gemm_sizes = [64, 128] if smoke else [512, 1024, 2048]
    gemm_reps = 1 if smoke else 7
    # The kernel comparison: GEMM 1024 (64 in --smoke), 1 thread, 3 alternating rounds (1).
    kernel_n, kernel_rounds = (64, 1) if smoke else (1024, 3)
    sizes = SMOKE_SIZES if smoke else SIZES
    startup_reps = 1 if smoke else 5
    sim_reps = 1 if smoke else 3
    scaling_outer = 1 if smoke else 4
    memory_outer = 1 if smoke else 2
    quickstart = QUICKSTART
    memory_scenarios = ["scenarios/dipaco-2x2.yaml", "scenarios/dipaco-4x4.yaml", "scenarios/dipaco-16x16.yaml"]
    if smoke:
        memory_scenarios = memory_scenarios[:1]
    # --smoke: timing-only runs stand in for the training runs (seconds, not minutes).
    train_sets = ["--set", "training=off"] if smoke else []
    sim = os.path.join(cfg.build, "dipaco-sim")
    work = tempfile.mkdtemp(prefix="bench-runs-")
    started = time.monotonic()
    load_start = os.getloadavg()
    out = []
    w = out.append

    # ---- 0. The kernel the engine computes with, and what auto precision means here
    kernel = blas_choice(cfg.build)
    log("CPU %s (%s), OpenBLAS kernel %s (%s), auto precision %s" % (
        kernel["cpu"], kernel["cpu_features"], kernel["kernel"], kernel["kernel_set_by"], kernel["auto_precision"]))
    # bf16 where the CPU has bf16 units; elsewhere oneDNN would emulate it, slower than fp32, and the
    # scenarios refuse precision: bf16.
    precisions = list(PRECISIONS) if kernel["bf16_units"] else ["fp32"]

    # ---- 1. GEMM, and the kernel dipaco chose against the others set by hand
    log("GEMM")
    gemms = {dtype: gemm(cfg.build, threads, gemm_sizes, gemm_reps, dtype) for dtype in precisions}
    gemm_peak = {dtype: {t: max(r["gflops"] for r in g[t].values()) for t in threads} for dtype, g in gemms.items()}
    log("GEMM by kernel")
    kernels = kernel_comparison(cfg.build, kernel, kernel_n, gemm_reps, kernel_rounds)

    # ---- 2, 3. Training steps, C++ and Python side by side; the replay checks
    with_python = have_python_torch()
    steps = Steps()
    checks = {}
    peer_kernels = []  # (process, the OpenBLAS kernel it reported)
    for size in sizes:
        log("replay check: %s" % size["name"])
        for p, c in replay(cfg, size, cores, precisions, work, kernel["kernel"], with_python).items():
            checks[(size["name"], p)] = c
            peer_kernels.append(("check %s %s" % (size["name"], p), c.get("blas_kernel")))
        init_dir = dump_dir(work, size, "fp32")  # the initial parameters: the same at both precisions
        for t in threads:
            log("training steps: %s, %d thread(s)" % (size["name"], t))
            ready, samples = step_group(cfg, size, t, precisions, with_python, init_dir, kernel["kernel"])
            steps.add(size["name"], t, ready, samples)
            peer_kernels += [("serve %s %s %s" % (size["name"], t, name), r.get("blas_kernel"))
                             for name, r in ready.items() if name.startswith("py")]
    kernel_mismatch = [(proc, k) for proc, k in peer_kernels if (k or "") != kernel["kernel"]]

    # ---- 8. The quickstart at both precisions and the sync baseline (first: it builds the caches)
    quickstarts = run_quickstarts(sim, work, kernel, smoke)

    # ---- 5. Thread pool: the quickstart at 1 thread and all cores (alternating when repeated)
    scaling = {t: [] for t in threads}
    scaling_dirs = {}
    for rep in range(cfg.scaling_reps):
        for t in threads:
            log("quickstart, --threads %d (run %d of %d)" % (t, rep + 1, cfg.scaling_reps))
            d = os.path.join(work, "quickstart-t%d-%d" % (t, rep))
            scaling[t].append(timed([sim, "run", quickstart, "--set", "algorithm.outer_steps=%d" % scaling_outer,
                                     "--threads", str(t), "--no-report", "--out", d] + train_sets))
            scaling_dirs[t] = d
    same_metrics = filecmp.cmp(os.path.join(scaling_dirs[1], "metrics.csv"), os.path.join(scaling_dirs[cores], "metrics.csv"),
                               shallow=False)
    scaling_compute = compute_note(summary_of(scaling_dirs[cores]))

    # ---- 6. Memory: DiPaCo with training
    memory = {}
    for sc in memory_scenarios:
        log("memory: %s" % sc)
        d = os.path.join(work, os.path.basename(sc) + "-train")
        memory[sc] = timed([sim, "run", sc, "--set", "algorithm.outer_steps=%d" % memory_outer, "--no-report", "--out", d] + train_sets)
        memory[sc]["compute"] = compute_note(summary_of(d))

    # ---- 4. Simulation overhead: timing-only runs minus start-up, against the training runs above
    log("start-up and timing-only runs")
    startup = [timed([sim, "--help"])["wall"] for _ in range(startup_reps)]
    startup_s = statistics.median(startup)
    overhead_cases = [(quickstart, scaling_outer, scaling[cores])] + [(sc, memory_outer, [memory[sc]]) for sc in memory_scenarios]
    overhead = []
    for sc, outer, train_runs in overhead_cases:
        d = os.path.join(work, os.path.basename(sc) + "-timing")
        runs = [timed([sim, "run", sc, "--set", "training=off", "--set", "algorithm.outer_steps=%d" % outer, "--no-report",
                       "--out", d]) for _ in range(sim_reps)]
        wall = statistics.median(r["wall"] for r in runs)
        events, event_source = simulated_events(d)
        # The run's own clock (summary.json real_seconds: from reading the scenario to the last output),
        # not wall minus a separately timed start-up: at these sizes the difference is below the noise
        # of two process launches.
        own = summary_of(d)["real_seconds"]
        train_wall = statistics.median(r["wall"] for r in train_runs)
        overhead.append(dict(scenario=sc, outer=outer, event_source=event_source, wall=wall, rss=max(r["rss_mb"] for r in runs), events=events, own=own,
                             per_event=own / events if events else float("nan"), train_wall=train_wall,
                             share=own / train_wall if train_wall > 0 else float("nan")))
    # ---- 7. Scale: timing-only DiPaCo 16x16 on eight datacentres
    scale = run_scale(sim, work, smoke)
    shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()
    total_s = time.monotonic() - started

    # ---------------------------------------------------------------------------------------------
    # Report
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).strip()
    cpu = kernel["cpu"] or "unknown CPU"
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    libtorch = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libtorch-dev"], capture_output=True, text=True).stdout or "?"
    pytorch = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-torch"], capture_output=True, text=True).stdout or "not installed"
    tmax = cores
    # Every timing below names the CPU, the kernel and the precision; this is the short form.
    on = "%s, OpenBLAS kernel %s" % (cpu, kernel["kernel"] or "none")

    w("# Benchmarks")
    w("")
    w("Regenerate with **`scripts/bench.py > reports/benchmarks.md`** (after `scripts/setup.sh`, which builds `build/`; "
      "progress goes to stderr). It ran in %.1f min here." % (total_s / 60))
    if smoke:
        w("")
        w("**--smoke run: tiny configurations and timing-only scenario runs; these figures mean nothing.**")
    w("")
    w("Commit %s%s, %s. %s (%s), %d cores, BLAS `%s` with OpenBLAS kernel **%s** (%s), libtorch-dev %s, python3-torch %s. "
      "Load average (1, 5, 15 min) %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end."
      % (commit, " (with uncommitted changes)" if dirty else "", datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
         cpu, kernel["cpu_features"], cores, blas, kernel["kernel"] or "none", kernel_source(kernel), libtorch, pytorch,
         *load_start, *load_end))
    w("")
    w(environment_note(removed, kept))
    if load_start[0] > 0.5 or load_end[0] > cores + 0.5:
        w("")
        w("> The load average says other processes used this machine during the run: treat the figures as rough.")
    w("")

    # Targets
    w("## Targets")
    w("")
    w("| target | figure | met |")
    w("|---|---|---|")

    def target(name, figure, ok):
        w("| %s | %s | %s |" % (name, figure, "n/a" if ok is None else ("**met**" if ok else "**not met**")))

    write_compute_targets(target, kernel, kernels, quickstarts)
    if with_python:
        pairs = [(s["name"], t, p, steps.speedup(s["name"], t, p)) for s in sizes for t in threads for p in precisions]
        target("engine step ≥ 1.3× the Python peer's at the same precision, every model size, 1 and %d threads" % tmax,
               ", ".join("%s %s %.2f× at %s" % (n, p, r, plural(t, "thread")) for n, t, p, r in pairs),
               all(r >= 1.3 for _, _, _, r in pairs))
    else:
        target("C++ vs Python", "python3-torch is not installed", None)
    last = sizes[-1]["name"]
    write_bf16_target(target, kernel, steps, last, threads)
    fr = {t: steps.gflops(last, t, "fp32") / gemm_peak["fp32"][t] for t in threads}
    target("%s model at ≥ 50 %% of the GEMM throughput (fp32)" % last,
           ", ".join("%.0f %% at %s (%.0f of %.0f GFLOP/s)" % (100 * fr[t], plural(t, "thread"), steps.gflops(last, t, "fp32"),
                                                             gemm_peak["fp32"][t]) for t in threads),
           all(f >= 0.5 for f in fr.values()))
    sync, diloco = quickstarts["sync"], quickstarts["auto"]
    target("sync baseline's real time ≤ DiLoCo's on the quickstart (%s)" % diloco["summary"]["compute"]["precision"],
           "%.1f s against %.1f s (%s)" % (sync["wall"], diloco["wall"], plural(quickstarts["outer"], "outer step")),
           sync["wall"] <= diloco["wall"])
    target("simulation overhead < 5 % of a run with real training",
           ", ".join("%s %.2f %%" % (os.path.basename(o["scenario"]).replace(".yaml", ""), 100 * o["share"]) for o in overhead),
           all(o["share"] < 0.05 for o in overhead))
    sp = statistics.median(r["wall"] for r in scaling[1]) / statistics.median(r["wall"] for r in scaling[tmax])
    target("thread-pool speed-up ≥ 1.7× on 2 cores", "%.2f× on %d cores (quickstart, %d outer steps)" % (sp, cores, scaling_outer),
           sp >= 1.7 if cores == 2 else None)
    w("")

    write_compute(w, kernel, peer_kernels, kernel_mismatch, with_python)
    write_gemm(w, gemms, gemm_peak, threads, gemm_sizes, gemm_reps, kernels, kernel_n, kernel_rounds, kernel, on)

    # 2 + 3. Steps
    w("## 2–3. Training steps: the engine and its Python peer")
    w("")
    w("On %s. The engine's real path: `build/dipaco-bench serve --threads T --precision P MODEL` builds a `TrainRequest` (the "
      "engine's default AdamW: lr 3e-3 with 20 warm-up steps then cosine, weight decay 0.1 on matrices and embeddings, β 0.9/0.95, "
      "clipping at global norm 1.0; uniformly random tokens) and calls `engine::train_inner` for each chunk of steps, carrying "
      "parameters and AdamW state from call to call as the simulator does; a sample is a chunk's time (the whole call, "
      "its parameter copies in and out included) over its steps. Like dipaco-sim, dipaco-bench keeps freed memory in the "
      "heap (`engine::keep_freed_memory_for_reuse`: glibc's mmap and trim thresholds at 1 GiB), so steps do not page-fault "
      "their (batch·seq, vocab) buffers afresh. The peer, `%s scripts/peer_train_step.py serve --precision P`, is the same "
      "model written as a PyTorch user would (nn.Module, `torch.optim.AdamW` with its defaults, `clip_grad_norm_`, "
      "`zero_grad(set_to_none=True)`), timed around its step loop, starting from the engine's initial parameters (read "
      "from the dump below: PyTorch's default initialisation would make the tied logits so peaked that their gradients "
      "turn denormal, and GEMMs on denormals run 100× slower), with `OPENBLAS_CORETYPE` set to the engine's kernel (section 0). "
      "**bf16** is mixed precision on both sides: the engine's `precision: bf16` (matmuls and attention in bf16 through "
      "autocast, fp32 master weights, AdamW and loss) and, in the peer, the forward pass and the loss under "
      "`torch.autocast(\"cpu\", dtype=torch.bfloat16)` with backward and AdamW outside it, as PyTorch's recipe says. "
      "In fp32 the peer runs twice, with glibc's defaults (**the peer**, which the targets use) and with the engine's two "
      "malloc settings from the environment (`MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` = 2³⁰, `MALLOC_ARENA_MAX` = 1), which separates "
      "the allocator's share of the difference from the computation's. All the processes of a model size and thread count "
      "(the engine and the peer at each precision) live through the whole comparison: after %d warm-up steps each, %d samples "
      "rotate between them (the order rotates too), so each computes while the others wait. FLOPs per step are the cost "
      "model's: `training_flops_per_token(params, blocks, seq_len, d_model)` × batch × seq_len (sim/scenario/cost_model.hpp: 6N + "
      "6·L·T·d per token); GFLOP/s divides them by the median step time. **Python / C++** is the peer's median step time "
      "over the engine's at the same precision: the engine's speed-up."
      % (on, PYTHON, cfg.warmup, cfg.samples))
    w("")
    write_step_tables(w, steps, sizes, threads, precisions)
    if checks:
        write_checks(w, checks, sizes, precisions, cfg.check_steps, cores)

    # 4. Overhead
    if all(o["event_source"] == "summary" for o in overhead):
        event_definition = "A **simulated event** is what summary.json counts as `simulated_events`."
    else:
        event_definition = ("A **simulated event** is one complete span in the run's trace.json other than idle: a SimGrid "
                            "execution (compute), a transfer (network: send and receive) or a host-down period (summary.json "
                            "has no `simulated_events` count%s)."
                            % ("" if all(o["event_source"] == "trace" for o in overhead) else " for some of these runs"))
    w("## 4. Simulation overhead")
    w("")
    w("The simulation's own cost is a timing-only run (`--set training=off`: every duration from the cost model, no torch "
      "work, so no kernel or precision involved) as its summary.json `real_seconds` says: the process's own clock from "
      "reading the scenario to the last output written (platform loading, simulation, outputs), without process start-up "
      "(`build/dipaco-sim --help`, which loads the same libraries: median of %d, %.2f s; the timing-only wall below "
      "includes it). %s The share divides the simulation's cost by the wall time of the same scenario with real training "
      "(sections 5 and 6: %s). Timing-only runs: %d, each `/usr/bin/time -f '%%e %%U %%S %%M' build/dipaco-sim run SCENARIO "
      "--set training=off --set algorithm.outer_steps=N --no-report --out DIR`; the wall is their median, the simulation's "
      "own the last run's."
      % (startup_reps, startup_s, event_definition, scaling_compute, sim_reps))
    w("")
    w("| scenario | outer steps | events | timing-only wall | simulation's own | per event | training run wall | share |")
    w("|---|---|---|---|---|---|---|---|")
    for o in overhead:
        w("| %s | %d | %d | %.2f s | %.1f ms | %.1f µs | %.1f s | %.3f %% |" % (
            o["scenario"], o["outer"], o["events"], o["wall"], 1e3 * o["own"], 1e6 * o["per_event"], o["train_wall"], 100 * o["share"]))
    w("")

    # 5. Thread pool
    w("## 5. Thread-pool scaling")
    w("")
    w("`/usr/bin/time build/dipaco-sim run %s --set algorithm.outer_steps=%d --threads T --no-report --out DIR%s` "
      "(%d run%s per thread count; caches built; on %s, precision as the scenario says, `auto`: %s). metrics.csv of the two "
      "thread counts byte-identical: **%s**."
      % (quickstart, scaling_outer, " " + " ".join(train_sets) if train_sets else "", cfg.scaling_reps,
         "s, alternating" if cfg.scaling_reps > 1 else "", cpu, scaling_compute, "yes" if same_metrics else "no"))
    w("")
    w("| threads | wall (median) | user | system | peak RSS |")
    w("|---|---|---|---|---|")
    for t in threads:
        rs = scaling[t]
        w("| %d | %.1f s | %.1f s | %.1f s | %.0f MB |" % (t, statistics.median(r["wall"] for r in rs), statistics.median(r["user"] for r in rs),
                                                         statistics.median(r["sys"] for r in rs), max(r["rss_mb"] for r in rs)))
    w("")
    w("Speed-up %.2f× from 1 to %d threads." % (sp, cores))
    w("")

    # 6. Memory
    w("## 6. Memory")
    w("")
    w("Peak RSS, `/usr/bin/time -f %%M build/dipaco-sim run SCENARIO --set algorithm.outer_steps=%d --no-report --out DIR%s` "
      "(shortened to %d outer steps; %d training threads; on %s), and the timing-only run of section 4 beside it."
      % (memory_outer, " " + " ".join(train_sets) if train_sets else "", memory_outer, cores, cpu))
    w("")
    w("| scenario | with training: peak RSS | wall | precision, kernel | timing-only: peak RSS |")
    w("|---|---|---|---|---|")
    for sc in memory_scenarios:
        o = next(o for o in overhead if o["scenario"] == sc)
        w("| %s | %.0f MB | %.1f s | %s | %.0f MB |" % (sc, memory[sc]["rss_mb"], memory[sc]["wall"], memory[sc]["compute"], o["rss"]))
    w("")
    write_scale(w, scale, startup_s)
    write_quickstarts(w, quickstarts, kernel, cpu)
    print("\n".join(out))
    log("done in %.1f min" % (total_s / 60))
    return verdict(checks, kernel_mismatch, kernel)


def verdict(checks, kernel_mismatch, kernel):
    """Exit status: 1 if the peer does not reproduce the engine's losses or did not compute with its
    kernel (then its timings compare kernels, not code)."""
    status = 0
    bad = ["%s %s" % key for key, c in checks.items() if not c["agree"]]
    if bad:
        log("the Python peer does not reproduce the engine's losses: %s" % ", ".join(bad))
        status = 1
    if kernel_mismatch:
        log("the Python peer did not compute with the engine's kernel %s: %s" % (
            kernel["kernel"], ", ".join("%s: %s" % (proc, k) for proc, k in kernel_mismatch)))
        status = 1
    return status


# ---------------------------------------------------------------------------------------------
# Report sections for the compute choices (0, 1, 2-3, 8)


def environment_note(removed, kept):
    if removed:
        return ("Measured as a fresh user: %s, set where bench.py was started, %s removed from the environment of every "
                "process it started, so dipaco chose the kernel itself (`--keep-openblas-coretype` keeps them)."
                % (" and ".join("`%s=%s`" % kv for kv in removed.items()), "was" if len(removed) == 1 else "were"))
    if kept:
        return ("**Not a fresh user's setup:** %s kept at the caller's request (`--keep-openblas-coretype`)%s."
                % (" and ".join("`%s=%s`" % kv for kv in kept.items()),
                   ", so the kernel is the user's, not dipaco's choice" if "OPENBLAS_CORETYPE" in kept else ""))
    return "Measured as a fresh user: neither %s was set." % " nor ".join(OPENBLAS_OVERRIDES)


def write_compute_targets(target, kernel, kernels, quickstarts):
    """The targets of the issue "Speed on every CPU" about the quickstart and the kernel."""
    features = kernel["cpu_features"]
    amx, avx512 = cpu_has(features, "AMX"), cpu_has(features, "AVX-512")
    auto = quickstarts["auto"]
    target("quickstart, caches built, precision auto, ≤ 60 s wall on an AMX machine",
           "%.1f s (auto → %s)%s" % (auto["wall"], auto["summary"]["compute"]["precision"], "" if amx else "; this CPU has no AMX"),
           auto["wall"] <= 60 if amx else None)
    fp32 = quickstarts["by_precision"]["fp32"]
    target("quickstart ≤ 150 s in fp32 on any AVX-512 machine",
           "%.1f s%s" % (fp32["wall"], "" if avx512 else "; this CPU has no AVX-512"), fp32["wall"] <= 150 if avx512 else None)
    chosen, others = kernels[0], kernels[1:]
    if others:
        best = max(others, key=lambda r: r["gflops"])
        by_hand = kernel["kernel_set_by"] == "user"
        # When the fastest variant runs the very kernel dipaco chose, the choice is the best one and any gap
        # between the two rows is this machine's run-to-run variation (one such run: 171 against 192 GFLOP/s).
        same = best["kernel"] == chosen["kernel"]
        target("fp32 GEMM within 10 % of the best OpenBLAS kernel for the CPU, nothing set by hand",
               "%.1f GFLOP/s with %s (%s) against %.1f with %s set by hand: %.0f %%%s%s" % (
                   chosen["gflops"], chosen["kernel"], kernel_source(kernel), best["gflops"], best["kernel"],
                   100 * chosen["gflops"] / best["gflops"], "; OPENBLAS_CORETYPE was set by hand" if by_hand else "",
                   "; the same kernel, so the gap is run-to-run variation" if same and chosen["gflops"] < 0.9 * best["gflops"] else ""),
               None if by_hand else same or chosen["gflops"] >= 0.9 * best["gflops"])
    else:
        target("fp32 GEMM within 10 % of the best OpenBLAS kernel for the CPU, nothing set by hand",
               "no AVX2 or AVX-512 kernel to compare with on this CPU", None)


def write_bf16_target(target, kernel, steps, last, threads):
    amx = cpu_has(kernel["cpu_features"], "AMX")
    name = "bf16 step ≥ 2.5× the fp32 step on the %s model where AMX exists" % last
    gains = {t: steps.bf16_gain(last, t) for t in threads}
    if None in gains.values():
        target(name, "not measured: no bf16 units (AMX or AVX512_BF16) on this CPU", None)
        return
    figure = ", ".join("%.2f× at %s" % (g, plural(t, "thread")) for t, g in gains.items())
    target(name, figure + ("" if amx else " (%s, no AMX)" % kernel["cpu_features"]), all(g >= 2.5 for g in gains.values()) if amx else None)


def write_compute(w, kernel, peer_kernels, mismatch, with_python):
    w("## 0. Compute: CPU, BLAS kernel, precision")
    w("")
    w("`build/dipaco-bench kernel`, which starts as every project binary does: when OpenBLAS picked a kernel of a narrower "
      "ISA than the CPU's best and `OPENBLAS_CORETYPE` is not set, it runs itself again with `OPENBLAS_CORETYPE=<best>` "
      "(engine/train/blas_kernel.cpp).")
    w("")
    w("| | |")
    w("|---|---|")
    w("| CPU | %s |" % (kernel["cpu"] or "unknown"))
    w("| features (cpuid) | %s |" % kernel["cpu_features"])
    w("| BLAS | %s |" % (kernel["blas"] or "not OpenBLAS"))
    w("| kernel in use | **%s** (%s) |" % (kernel["kernel"] or "none", kernel_source(kernel)))
    w("| best kernel for this CPU | %s |" % (kernel["best_kernel"] or "none better than SSE"))
    w("| bf16 units (AMX or AVX512_BF16) | %s |" % ("yes" if kernel["bf16_units"] else "no: bf16 is not measured below"))
    w("| `precision: auto` | **%s** (%s) |" % (kernel["auto_precision"], kernel["auto_precision_reason"]))
    if with_python:
        kinds = sorted({k or "not OpenBLAS" for _, k in peer_kernels})
        w("| Python peer's kernel | %s, as its %d processes (serve and check) report it, run with `OPENBLAS_CORETYPE=%s`: %s |" % (
            ", ".join(kinds), len(peer_kernels), kernel["kernel"],
            "**the engine's**" if not mismatch else "**not the engine's** (%s)" % ", ".join("%s: %s" % m for m in mismatch)))
    w("")


def write_gemm(w, gemms, peak, threads, sizes, reps, kernels, kernel_n, kernel_rounds, kernel, on):
    dtypes = list(gemms)
    w("## 1. The machine's limit: GEMM through LibTorch")
    w("")
    w("On %s. `build/dipaco-bench gemm --threads %s --sizes %s --reps %d --dtype D`: C = A·B of square n×n matrices with "
      "`torch::mm_out` into a preallocated C, after one warm-up product; best of %d timed products; GFLOP/s = 2n³ / time. "
      "fp32 goes to OpenBLAS (the kernel above), bf16 to oneDNN.%s"
      % (on, ",".join(map(str, threads)), ",".join(map(str, sizes)), reps, reps,
         "" if "bf16" in dtypes else " bf16 is not measured: this CPU has no bf16 units."))
    w("")
    cols = [(d, t) for d in dtypes for t in threads]
    w("| n | " + " | ".join("%s, %s" % (d, plural(t, "thread")) for d, t in cols) + " |")
    w("|---|" + "---|" * len(cols))
    for n in sizes:
        w("| %d | " % n + " | ".join("%.1f GFLOP/s" % gemms[d][t][n]["gflops"] for d, t in cols) + " |")
    w("")
    w("The limit used below is the best size at each thread count: " +
      "; ".join("%s " % d + ", ".join("%.1f GFLOP/s at %d" % (peak[d][t], t) for t in threads) for d in dtypes) + ".")
    w("")
    w("**The kernel dipaco chose against the others.** fp32 GEMM %d, 1 thread, best of %d products in each of %s alternating "
      "between the variants: as dipaco runs it with nothing set by hand (here: %s), and with `OPENBLAS_CORETYPE` set by hand to each OpenBLAS "
      "kernel this CPU can run (SkylakeX and Cooperlake need AVX-512, Cooperlake AVX512_BF16 too, Haswell AVX2). \"Ran\" is "
      "the kernel `dipaco-bench kernel` reports under the same environment."
      % (kernel_n, reps, plural(kernel_rounds, "round"), kernel_source(kernel)))
    w("")
    best = max(r["gflops"] for r in kernels)
    w("| variant | ran | GFLOP/s | of the best |")
    w("|---|---|---|---|")
    for r in kernels:
        w("| %s | %s | %.1f | %.0f %% |" % (r["label"], r["kernel"] or "not OpenBLAS", r["gflops"], 100 * r["gflops"] / best))
    w("")


def write_step_tables(w, steps, sizes, threads, precisions):
    def cell(v):
        return "%s (%s–%s)" % (fmt_s(med(v)), fmt_s(min(v)), fmt_s(max(v)))

    def shape(size):
        return "%d/%d/%d/%d/%d/%d" % (size["vocab"], size["d_model"], size["heads"], size["blocks"], size["seq_len"], size["batch"])

    def times(name, t, proc):
        return cell(steps.samples(name, t, proc)) if steps.has(name, t, proc) else "—"

    def speed(v):
        return "%.2f×" % v if v is not None else "—"

    w("**fp32.**")
    w("")
    w("| model | vocab/d/heads/blocks/seq/batch | params | GFLOP/step | threads | C++ step (median, min–max) | C++ GFLOP/s | "
      "Python peer | **Python / C++** | Python, glibc as the engine | its / C++ |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        n = size["name"]
        for t in threads:
            r = steps.ready(n, t)
            w("| %s | %s | %.2f M | %.2f | %d | %s | %.1f | %s | **%s** | %s | %s |" % (
                n, shape(size), r["params"] / 1e6, r["flops_per_step"] / 1e9, t, times(n, t, "cpp-fp32"), steps.gflops(n, t, "fp32"),
                times(n, t, "py-fp32"), speed(steps.speedup(n, t, "fp32")), times(n, t, "py_tuned-fp32"),
                speed(steps.speedup(n, t, "fp32", "py_tuned"))))
    w("")
    if "bf16" not in precisions:
        w("bf16 is not measured: this CPU has no bf16 units (AMX or AVX512_BF16).")
        w("")
        return
    w("**bf16 mixed precision**, and what it gains over fp32 (fp32 median / bf16 median, from the same rotation):")
    w("")
    w("| model | threads | C++ step (median, min–max) | C++ GFLOP/s | Python peer (autocast) | **Python / C++** | "
      "**C++ bf16 over fp32** | Python bf16 over fp32 |")
    w("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        n = size["name"]
        for t in threads:
            w("| %s | %d | %s | %.1f | %s | **%s** | **%s** | %s |" % (
                n, t, times(n, t, "cpp-bf16"), steps.gflops(n, t, "bf16"), times(n, t, "py-bf16"),
                speed(steps.speedup(n, t, "bf16")), speed(steps.bf16_gain(n, t)), speed(steps.bf16_gain(n, t, "py"))))
    w("")


def write_checks(w, checks, sizes, precisions, check_steps, cores):
    w("**Same function.** `build/dipaco-bench dump --dir D --steps %d --threads %d --precision P MODEL` writes the engine's "
      "initial flat parameters (`init_params`), the batches `train_inner` draws (`engine::fill_batch`) and its loss at each "
      "step; `scripts/peer_train_step.py check D` loads the parameters by name into its model (names and sizes must match "
      "`param_layout`), trains on the same batches at the dump's precision and compares the first step's losses: within "
      "1e-4 in fp32 (the same kernels in the same order), 2e-2 in bf16 (both round to bf16's 8 significant bits, a relative "
      "0.2 %%, but not at the same places: the engine fuses the mask into its attention GEMM and the unembedding into the "
      "loss; 2e-2 is 0.25 %% of a loss of ln(vocab) ≈ 8.3, what rounding can do and less than an error would):"
      % (check_steps, cores))
    w("")
    w("| model | precision | C++ first-step loss | Python | difference | tolerance | largest difference over %d steps | agree |"
      % check_steps)
    w("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        for p in precisions:
            c = checks[(size["name"], p)]
            w("| %s | %s | %.7f | %.7f | %.2g | %.0e | %.2g | %s |" % (
                size["name"], p, c["steps"][0]["cpp"], c["steps"][0]["python"], c["first_step_diff"], c["tolerance"],
                c["max_diff"], "yes" if c["agree"] else "**no**"))
    w("")


def write_quickstarts(w, q, kernel, cpu):
    runs = [q["auto"]] + [r for p, r in sorted(q["by_precision"].items()) if r is not q["auto"]] + [q["sync"]]
    w("## 8. The quickstart: precision and the synchronous baseline")
    w("")
    w("On %s. `/usr/bin/time build/dipaco-sim run %s --set algorithm.outer_steps=%d --no-report --out DIR SETS` with all "
      "cores (dipaco-sim's default), after one untimed run of one outer step that builds the tokenizer and data caches. "
      "DiLoCo as the scenario says (precision `auto`, which resolves to %s here: %s)%s, and the synchronous data-parallel "
      "baseline (`--set algorithm.name=sync`: every inner step's gradients averaged across the four workers) at the same "
      "precision.%s"
      % (cpu, QUICKSTART, q["outer"], kernel["auto_precision"], kernel["auto_precision_reason"],
         "" if len(q["by_precision"]) > 1 else "; bf16 is skipped: this CPU has no bf16 units (AMX or AVX512_BF16)",
         " **--smoke: timing-only runs (`--set training=off`), so no training at either precision and no cache-building run.**" if q["timing_only"] else
         " The other precision's run is the same command with `--set precision=P`."))
    w("")
    w("| run | SETS | precision (as run) | OpenBLAS kernel | wall | user | system | peak RSS | simulated wall-clock | final val loss |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        s, c = r["summary"], r["summary"]["compute"]
        loss = s.get("final_val_loss")
        w("| %s | %s | %s (requested %s) | %s | %.1f s | %.1f s | %.1f s | %.0f MB | %.0f s | %s |" % (
            "sync" if r is q["sync"] else "DiLoCo", "`%s`" % r["sets"] if r["sets"] else "—", c["precision"],
            c["precision_requested"], c["blas_kernel"], r["wall"], r["user"], r["sys"], r["rss_mb"], s["simulated_wall_clock_s"],
            "%.4f" % loss if loss is not None else "—"))
    w("")
    fp32, bf16 = q["by_precision"].get("fp32"), q["by_precision"].get("bf16")
    if fp32 and bf16:
        w("bf16 over fp32: %.2f× on the whole run. Sync against DiLoCo at %s: %.2f× DiLoCo's real time." % (
            fp32["wall"] / bf16["wall"], q["auto"]["summary"]["compute"]["precision"], q["sync"]["wall"] / q["auto"]["wall"]))
    else:
        w("Sync against DiLoCo at %s: %.2f× DiLoCo's real time." % (
            q["auto"]["summary"]["compute"]["precision"], q["sync"]["wall"] / q["auto"]["wall"]))
    w("")
    w("Why sync is not faster: it does the same training work as DiLoCo (here %.1f s against %.1f s of user time; with "
      "`--threads 1`, 118.4 s against 116.2 s of wall time, README \"Performance\"), but each of its inner steps is a "
      "barrier: the step's k gradients are computed in parallel and averaged before the next step starts, where DiLoCo's "
      "workers each run τ steps as one job. With two threads the barriers leave a core idle at the end of every step "
      "while the other finishes; `perf` shows no spinning." % (q["sync"]["user"], q["auto"]["user"]))
    w("")


if __name__ == "__main__":
    sys.exit(main())
