// Simulated time against hand computation. Each test runs a timing-only scenario on a small
// hand-written platform (tests/platforms/closed-form-*.xml) and compares the ends of its transfers
// (trace.json) and its wall-clock with the arithmetic written out below, to 1e-6 relative.
//
// The network model (analytic, sim/platform/network_model.hpp): a flow first pays its route's latency with
// no bandwidth, then moves its bytes at its share. Flows that share a link get weighted max-min
// shares, each flow weighing 1 / (its route's latency).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using namespace e2e;
using nlohmann::json;

const std::string kDir = kSource + "/tests/scenarios/closed-form/";
constexpr double kTolerance = 1e-6;  // relative

struct Transfer {
  std::string from, to;
  double begin = 0, end = 0;
};

struct Run {
  double wall_clock = 0;
  std::vector<Transfer> transfers;  // as the trace lists them
  std::string metrics;
};

Run run_timing(const std::string& scenario, const std::string& sets, const std::string& name) {
  const auto dir = out_dir(name);
  const auto r = e2e::run("run " + kDir + scenario + " " + sets + " --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, 0) << r.output;
  Run out;
  out.wall_clock = json_number(slurp(dir / "summary.json"), "simulated_wall_clock_s");
  out.metrics = slurp(dir / "metrics.csv");
  const auto trace = json::parse(slurp(dir / "trace.json"));
  // Each host's lanes are threads of its datacentre's process, named "<host> net 2" and so on.
  std::map<std::pair<int, int>, std::string> hosts;
  for (const auto& e : trace["traceEvents"]) {
    if (e.value("ph", "") != "M" || e.value("name", "") != "thread_name") continue;
    const std::string lane = e["args"]["name"];
    hosts[{e["pid"].get<int>(), e["tid"].get<int>()}] = lane.substr(0, lane.find(' '));
  }
  for (const auto& e : trace["traceEvents"]) {
    if (e.value("ph", "") != "X" || e.value("name", "") != "send") continue;
    const double begin = e["ts"].get<double>() * 1e-6;
    out.transfers.push_back({hosts[{e["pid"].get<int>(), e["tid"].get<int>()}], e["args"]["to"], begin,
                             begin + e["dur"].get<double>() * 1e-6});
  }
  std::filesystem::remove_all(dir);
  return out;
}

// The end of the first transfer from `from` to `to` that begins at or after `after`.
double end_of(const Run& r, const std::string& from, const std::string& to, double after = 0.0) {
  for (const auto& t : r.transfers)
    if (t.from == from && t.to == to && t.begin >= after - 1e-12) return t.end;
  ADD_FAILURE() << "no transfer " << from << " -> " << to << " after " << after;
  return -1;
}

#define EXPECT_CLOSE(actual, expected) EXPECT_NEAR(actual, expected, kTolerance * (expected))

constexpr double S = 4e6;  // one message: 1e6 parameters × 4 bytes
constexpr double MB = 1e6;

TEST(ClosedForm, TwoFlowsShareALinkInInverseProportionToTheirRouteLatency) {
  // s sends S to x (10 ms route) and to y (20 ms) at t = 0 over one 100 MB/s link.
  const auto r = run_timing("sharing.yaml", "--set placement.workers=[x,y]", "cf-two-flows");
  const double C = 100 * MB;
  // [0.01, 0.02): x alone at C.                            x has 1 MB.
  // from 0.02: weights 1/0.01 : 1/0.02 = 2 : 1, x at 2C/3.  x needs 3 MB more: 0.045 s.
  const double x_end = 0.02 + (S - 0.01 * C) / (2 * C / 3);
  // y has moved (x_end - 0.02) · C/3 by then, and the rest alone at C.
  const double y_end = x_end + (S - (x_end - 0.02) * C / 3) / C;
  EXPECT_CLOSE(end_of(r, "s", "x"), x_end);  // 0.065 (equal shares would give 0.08)
  EXPECT_CLOSE(end_of(r, "s", "y"), y_end);  // 0.09
}

TEST(ClosedForm, ThreeFlowsShareALinkInInverseProportionToTheirRouteLatency) {
  // As above, plus z on a 40 ms route.
  const auto r = run_timing("sharing.yaml", "", "cf-three-flows");
  const double C = 100 * MB;
  double x = 0.01 * C;         // [0.01, 0.02): x alone
  x += 0.02 * 2 * C / 3;       // [0.02, 0.04): x : y = 2 : 1
  double y = 0.02 * C / 3;
  // from 0.04: x : y : z = 100 : 50 : 25, i.e. 4/7, 2/7 and 1/7 of C.
  const double x_end = 0.04 + (S - x) / (4 * C / 7);
  y += (x_end - 0.04) * 2 * C / 7;
  double z = (x_end - 0.04) * C / 7;
  // then y : z = 2 : 1
  const double y_end = x_end + (S - y) / (2 * C / 3);
  z += (y_end - x_end) * C / 3;
  const double z_end = y_end + (S - z) / C;  // z alone
  EXPECT_CLOSE(end_of(r, "s", "x"), x_end);  // 0.0691667
  EXPECT_CLOSE(end_of(r, "s", "y"), y_end);  // 0.1066667
  EXPECT_CLOSE(end_of(r, "s", "z"), z_end);  // 0.13
}

TEST(ClosedForm, DilocoRoundOnThreeDatacentresOfDifferentSpeeds) {
  // closed-form-3dc.xml: every route to the outer host crosses its 100 MB/s access link and has
  // 50 ms of latency (equal weights); c0's also crosses a 20 MB/s WAN link.
  const auto r = run_timing("diloco-3dc.yaml", "", "cf-diloco");
  const double A = 100 * MB, W = 20 * MB, L = 0.05;
  const double round_flops = (6 * 1e6 + 6) * 100 * 10 / 0.5;  // τ = 10 steps at mfu 0.5
  const double a_compute = round_flops / 1e12, b_compute = round_flops / 50e9, c_compute = round_flops / 100e9;

  // Broadcast at t = 0: c0's flow is held to W by its WAN link; a0's and b0's split the rest of A.
  // (SimGrid's default lazy solver gave c0 A/3 here, above W: sim/platform/network_model.cpp.)
  const double a_bcast = L + S / ((A - W) / 2), b_bcast = a_bcast;  // 0.15
  const double c_bcast = L + S / W;                                  // 0.25
  EXPECT_CLOSE(end_of(r, "outer", "a0"), a_bcast);
  EXPECT_CLOSE(end_of(r, "outer", "b0"), b_bcast);
  EXPECT_CLOSE(end_of(r, "outer", "c0"), c_bcast);

  // Uploads flow as soon as each worker is done, broadcast or not. a0's starts moving at
  // a_bcast + a_compute + L = 0.212, beside c0's broadcast (held at W): A - W until c_bcast,
  // then A alone.
  const double a_moving = a_bcast + a_compute + L;
  const double a_by_c_bcast = (c_bcast - a_moving) * (A - W);
  const double a_up = c_bcast + (S - a_by_c_bcast) / A;  // 0.2596000096
  EXPECT_CLOSE(end_of(r, "a0", "outer"), a_up);
  // c0's upload is held at W all the way; b0's, beside it, gets A - W.
  const double c_up = c_bcast + c_compute + L + S / W;   // 0.62000012
  const double b_up = b_bcast + b_compute + L + S / (A - W);  // 0.49000024
  EXPECT_CLOSE(end_of(r, "c0", "outer"), c_up);
  EXPECT_CLOSE(end_of(r, "b0", "outer"), b_up);
  // The round (and the run) ends with the last upload: the outer step takes no simulated time.
  EXPECT_CLOSE(r.wall_clock, std::max({a_up, b_up, c_up}));
}

TEST(ClosedForm, RingAllReduceOnThreeDatacentres) {
  // Sync DP over a0 -> b0 -> c0 -> a0, 2(k-1) = 4 ring phases of S/3 per step. Every route has
  // 100 ms of latency (equal weights). b0 -> c0 and c0 -> a0 both cross the 20 MB/s link into dc-c:
  // W/2 each; a0 -> b0 gets the rest of its links (0.99 GB/s) and is never the last.
  const auto r = run_timing("sync-3dc.yaml", "", "cf-ring");
  const double W = 20 * MB, L = 0.1, chunk = S / 3;
  const double step_flops = (6 * 1e6 + 6) * 100 / 0.5;
  const double a_compute = step_flops / 1e12, b_compute = step_flops / 50e9, c_compute = step_flops / 100e9;
  // Phase 1: a send moves once its receiver has posted its receive. c0 -> a0 moves from
  // c_compute + L, alone (at W) until b0 -> c0 starts moving at b_compute + L; then both at W/2.
  ASSERT_LT(a_compute, c_compute);
  const double both = b_compute + L;
  const double c_to_a = both + (chunk - (both - (c_compute + L)) * W) / (W / 2);
  // b0 -> c0 has moved (c_to_a - both) · W/2 by then; the rest alone at W.
  const double b_to_c = c_to_a + (chunk - (c_to_a - both) * W / 2) / W;
  EXPECT_CLOSE(end_of(r, "c0", "a0"), c_to_a);  // 0.2333333
  EXPECT_CLOSE(end_of(r, "b0", "c0"), b_to_c);  // 0.2453333
  // Phases 2 to 4 start together when the slowest rank is done: L + chunk / (W/2) each.
  const double step = b_to_c + 3 * (L + chunk / (W / 2));  // 0.9453333
  // The rows are stamped when the last worker finishes a step; the run ends with the last transfer.
  double last = 0;
  for (const auto& t : r.transfers) last = std::max(last, t.end);
  EXPECT_CLOSE(r.wall_clock, 2 * step);
  EXPECT_CLOSE(r.wall_clock, last);
  EXPECT_NE(r.metrics.find("\n" + csv_time(step) + ","), std::string::npos) << r.metrics;
}

TEST(ClosedForm, SyncCheckpointWritesHoldUpTheSlowestRank) {
  // The ring b0 -> a0 -> b0 (k = 2: 2 ring phases of S/2), rank 0 on the slow b0, which is the
  // last to be ready in every step: each step is b0's compute, then two phases in which both
  // chunks cross the same links (lan-a, wan-b, lan-b0) at half of 1 GB/s each after 100 ms.
  const std::string sets = "--set placement.workers=[b0,a0] --set algorithm.outer_steps=6";
  const double b_compute = (6 * 1e6 + 6) * 100 / 0.5 / 50e9;
  const double step = b_compute + 2 * (0.1 + (S / 2) / (1e9 / 2));  // 0.232
  const auto calm = run_timing("sync-3dc.yaml", sets, "cf-ring-calm");
  EXPECT_CLOSE(calm.wall_clock, 6 * step);
  // Rank 0 writes θ and both AdamW moments (3S) to `outer` after steps 2 and 4 (not after the
  // last), alone on the route b0 -> outer (lan-b0, wan-b, access): 50 ms, then 3S at 100 MB/s.
  // Nothing else moves meanwhile, and every later event waits for b0: the run is longer by both.
  const auto saved = run_timing("sync-3dc.yaml", sets + " --set checkpoints.storage=outer --set checkpoints.inner_every_steps=2", "cf-ring-ckpt");
  const double write = 0.05 + 3 * S / (100 * MB);  // 0.17
  EXPECT_CLOSE(saved.wall_clock, 6 * step + 2 * write);
  EXPECT_CLOSE(end_of(saved, "b0", "outer"), 2 * step + write);
  EXPECT_CLOSE(end_of(saved, "b0", "outer", 2 * step + write), 4 * step + 2 * write);
}

TEST(ClosedForm, DilocoRoundsThroughTheOuterOptimizersUplink) {
  // scenarios/bandwidth.yaml at 100 Gbit/s (scripts/bandwidth_utilisation.py's setting): the outer
  // optimizer in dc-a sends θ (N = 4 GB) to b0, c0 and d0 at once through its uplink (12.5 GB/s in
  // all), the workers take H = 100 steps, and the three outer gradients come back the same way.
  // Each way pays the route's latency once: 2 uplinks of 10 ms and 2 host links of 1 us.
  const auto dir = out_dir("cf-bandwidth");
  const auto r = e2e::run("run " + kSource + "/scenarios/bandwidth.yaml --no-report --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const double N = 4e9, W = 12.5e9, L = 0.020 + 2e-6;
  const double step = (6 * 1e9 + 6 * 16 * 2048) * 2080 / (312e12 * 0.4);  // 0.1 s (6N + 6·L·T·d flops per token)
  const double round = 2 * (L + 3 * N / W) + 100 * step;        // 11.96 s
  EXPECT_CLOSE(json_number(slurp(dir / "summary.json"), "simulated_wall_clock_s"), 3 * round);
  std::filesystem::remove_all(dir);
}

// Streaming DiLoCo on scenarios/bandwidth.yaml: H = 100, F = 4 fragments, so 12 phases of 25 steps,
// phase j syncing fragment (j − 1) mod 4. The as-if model's blocks (16 layers of 12·2048² parameters,
// one per trained block) give each block a share b = 12·2048²·16 / (16·1e9) of θ, and fragment 0
// the embeddings (1 − 16b) besides its 4 blocks. The first assignment carries all of θ; each later
// one the fragment the phase before synced; each phase uploads its own fragment. Every transfer
// crosses the outer optimizer's uplink three times at once (b0, c0, d0): L + 3·bytes / W. Without
// overlap a phase waits for the download; with overlap o, its first o steps run while the upload,
// the outer step and the download travel.
double streaming_wall_clock(int overlap) {
  const double N = 4e9, W = 12.5e9, L = 0.020 + 2e-6;
  const double step = (6 * 1e9 + 6 * 16 * 2048) * 2080 / (312e12 * 0.4);
  const double b = 12.0 * 2048 * 2048 * 16 / (16 * 1e9);
  const double fragment[4] = {N * (1 - 16 * b + 4 * b), N * 4 * b, N * 4 * b, N * 4 * b};
  double computed = L + 3 * N / W + 25 * step;  // the end of phase 1's compute
  for (int j = 1;; ++j) {
    const double bytes = fragment[(j - 1) % 4];
    const double uploaded = computed + L + 3 * bytes / W;
    if (j == 12) return uploaded;  // the last phase closes with its uploads
    const double downloaded = uploaded + L + 3 * bytes / W;
    computed = overlap == 0 ? downloaded + 25 * step : std::max(computed + overlap * step, downloaded) + (25 - overlap) * step;
  }
}

// The wall clock, and the compute utilisation: every worker computes the 12 phases' 25 steps, and
// nothing else (a head that ends before its uploads do is not charged their wait).
void streaming_run(int overlap) {
  const auto dir = out_dir("cf-streaming-" + std::to_string(overlap));
  const auto r = e2e::run("run " + kSource + "/scenarios/bandwidth.yaml --set algorithm.name=streaming-diloco --set streaming.fragments=4 "
                          "--set streaming.overlap_steps=" + std::to_string(overlap) + " --no-report --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  const double wall = streaming_wall_clock(overlap);
  EXPECT_CLOSE(json_number(summary, "simulated_wall_clock_s"), wall);
  const double step = (6 * 1e9 + 6 * 16 * 2048) * 2080 / (312e12 * 0.4);
  EXPECT_CLOSE(json_number(summary, "compute_utilisation"), 12 * 25 * step / wall);
  std::filesystem::remove_all(dir);
}

TEST(ClosedForm, StreamingDilocoWaitsForEachFragmentWithoutOverlap) { streaming_run(0); }  // 37.008 s

// 5 steps (0.5 s) hide the small fragments' round trip (0.43 s) but not fragment 0's (0.80 s).
TEST(ClosedForm, StreamingDilocoOverlapHidesTheRoundTripsShorterThanItsSteps) { streaming_run(5); }  // 32.095 s

// 1 step (0.1 s) is shorter than any upload (0.21 s and more): each head then waits for its
// uploads, which are not compute.
TEST(ClosedForm, StreamingDilocoHeadsShorterThanTheirUploadsWaitForThem) { streaming_run(1); }

// Asynchronous DiLoCo on scenarios/bandwidth.yaml: a0 shares the outer optimizer's datacentre, so
// its rounds are H = 100 steps and two transfers over 1 Pbit/s host links (δ each); b0, c0 and d0
// move in step, each transfer crossing the uplink three times at once (T = L + 3N/W). The budget,
// 4 × 3 outer gradients, runs out with the remote replicas' third round, at 3(100 steps + 2T), as
// DiLoCo's would. Staleness: a0's first is 0, the remote ones of round 1 trained from θ₀ and land
// 1, 2 and 3 versions later; every later one lands 3 after the θ its replica pulled: 30 / 12.
TEST(ClosedForm, AsyncDilocoAppliesEachOuterGradientOnArrival) {
  const auto dir = out_dir("cf-async");
  const auto r = e2e::run("run " + kSource + "/scenarios/bandwidth.yaml --set algorithm.name=async-diloco --no-report --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  const double N = 4e9, W = 12.5e9, L = 0.020 + 2e-6;
  const double step = (6 * 1e9 + 6 * 16 * 2048) * 2080 / (312e12 * 0.4);
  const double T = L + 3 * N / W;
  EXPECT_CLOSE(json_number(summary, "simulated_wall_clock_s"), 3 * (100 * step + 2 * T));  // 35.880 s
  EXPECT_DOUBLE_EQ(json_number(summary, "mean_staleness"), 30.0 / 12);
  EXPECT_DOUBLE_EQ(json_number(summary, "max_staleness"), 3);
  std::filesystem::remove_all(dir);
}

// Decoupled DiLoCo on scenarios/bandwidth.yaml with one fragment: learners never wait, so each
// trains its 3 phases of H = 100 steps back to back after θ's first download (T, as above) and the
// budget, 4 × 3 outer gradients, is spent when the remote learners' third arrives: 300 steps + 2T
// whatever the quorum. The quorum and the grace window decide only the merges. Uploads land at
// T + nP + δ (a0, next to the synchroniser) and T + nP + T (b0, c0 and d0 together); the 0.5 s
// window is shorter than the gap between the two, so a0 is merged alone and the others together.
void decoupled_run(const std::string& quorum, const std::string& grace, double merges, double merge_size, double staleness) {
  const auto dir = out_dir("cf-decoupled");
  const auto r = e2e::run("run " + kSource + "/scenarios/bandwidth.yaml --set algorithm.name=decoupled-diloco --set decoupled.fragments=1 " +
                          "--set decoupled.quorum=" + quorum + " --set decoupled.grace_s=" + grace + " --no-report --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  const double N = 4e9, W = 12.5e9, L = 0.020 + 2e-6;
  const double step = (6 * 1e9 + 6 * 16 * 2048) * 2080 / (312e12 * 0.4);
  const double T = L + 3 * N / W;
  EXPECT_CLOSE(json_number(summary, "simulated_wall_clock_s"), 300 * step + 2 * T);  // 31.961 s
  EXPECT_DOUBLE_EQ(json_number(summary, "merges"), merges);
  EXPECT_DOUBLE_EQ(json_number(summary, "mean_merge_size"), merge_size);
  if (staleness >= 0) EXPECT_DOUBLE_EQ(json_number(summary, "mean_staleness"), staleness);
  std::filesystem::remove_all(dir);
}

// Every learner in each merge. A merged fragment comes back during the learner's next phase and is
// mixed in at the one after: round 1 trained from version 0 (staleness 0), rounds 2 and 3 from the
// version before the last (staleness 1): 8 / 12.
TEST(ClosedForm, DecoupledWithTheWholeQuorumMergesOncePerRound) { decoupled_run("1", "0", 3, 4, 8.0 / 12); }
TEST(ClosedForm, DecoupledWithAQuorumOfOneMergesEachOnArrival) { decoupled_run("0.25", "0", 12, 1, -1); }
TEST(ClosedForm, DecoupledGraceWindowGathersWhatArrivesWithinIt) { decoupled_run("0.25", "0.5", 6, 2, -1); }

// One DiPaCo phase; n tasks of the one path on b0 (and b1), 50 Gflop/s each. The scheduler is on
// `outer`, the shared module's executor on a0 and the blocks' on c0, behind the 20 MB/s link into
// dc-c. Parameters per module, from the model (d_model 8, 2 blocks, 64 positions, 256 tokens, tied
// embedding): shared = 256·8 + 64·8 + 2·8 = 2 576; blocks = 2 · (2·16 + 8·24 + 24 + 8·8 + 8 + 8·32
// + 32 + 32·8 + 8) = 1 744.
void dipaco_phase(int n) {
  const std::string sets = n == 1 ? "" : "--set algorithm.replicas_per_path=2 --set placement.workers=[b0,b1]";
  const auto r = run_timing("dipaco-2-executors.yaml", sets, "cf-dipaco-" + std::to_string(n));
  const double A = 100 * MB, G = 1000 * MB, W = 20 * MB, control = 1024;
  const double shared = S * 2576 / 4320, blocks = S * 1744 / 4320;
  // The requests to the scheduler (50 ms, sharing its access link) and the assignments back.
  const double request = 0.05 + control / (A / n);
  const double assigned = request + 0.05 + control / (A / n);
  EXPECT_CLOSE(end_of(r, "b0", "outer"), request);
  EXPECT_CLOSE(end_of(r, "outer", "b0"), assigned);
  // All pulls at once over 100 ms routes sharing wan-b: those from c0 split W, its link's; those
  // from a0 split the rest of G.
  const double pull_shared = assigned + 0.1 + shared / ((G - W) / n);
  const double pull_blocks = assigned + 0.1 + blocks / (W / n);
  // τ = 10 steps once both modules are in; then all uploads at once, each executor receiving its
  // n together (not one after the other), shared as the pulls were.
  const double trained = std::max(pull_shared, pull_blocks) + (6 * 1e6 + 6) * 100 * 10 / 0.5 / 50e9;
  const double up_shared = trained + 0.1 + shared / ((G - W) / n);
  const double up_blocks = trained + 0.1 + blocks / (W / n);
  for (const std::string w : {"b0", "b1"}) {
    if (w == "b1" && n == 1) break;
    EXPECT_CLOSE(end_of(r, "a0", w), pull_shared);
    EXPECT_CLOSE(end_of(r, "c0", w), pull_blocks);
    EXPECT_CLOSE(end_of(r, w, "a0"), up_shared);
    EXPECT_CLOSE(end_of(r, w, "c0"), up_blocks);
  }
  // The phase closes when the last executor has its last upload: the run's end.
  const double closed = std::max(up_shared, up_blocks);
  EXPECT_CLOSE(r.wall_clock, closed);
  EXPECT_NE(r.metrics.find("\n" + csv_time(closed) + ",1,all,"), std::string::npos) << r.metrics;
}

TEST(ClosedForm, DipacoPhaseWithTwoExecutors) { dipaco_phase(1); }               // ends at 0.7015022
TEST(ClosedForm, DipacoPhaseWithTwoExecutorsAndTwoTasks) { dipaco_phase(2); }    // ends at 0.8630042

}  // namespace
