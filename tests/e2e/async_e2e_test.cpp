// Asynchronous DiLoCo end to end (sim/algorithms/worker_async.cpp, executor_async.cpp): outer
// gradients applied on arrival, staleness in the metrics, Delayed Nesterov and dynamic local
// updates, and what a lost worker costs when there is no barrier to wait on.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using e2e::json_number;
using e2e::run;
using e2e::slurp;
const std::string kScenarios = e2e::kSource + "/tests/scenarios/";
// tiny-diloco's model with the cost of a larger one: 0.2 s steps, so that compute, not the 50 ms
// WAN, paces the rounds and both replicas take part.
const std::string kAsIf = "--set cost.params=20e6 --set cost.tokens_per_step=65536 --set cost.layers=6 --set cost.d_model=512 "
                          "--set cost.seq_len=512 --set trace=off ";

struct Outcome {
  int rc = 0;
  std::string output, metrics, summary, dir;
};

Outcome run_tiny(const std::string& name, const std::string& sets, const std::string& scenario = "tiny-diloco.yaml") {
  const auto dir = e2e::out_dir("async-" + name);
  const auto r = run("run " + kScenarios + scenario + " --set algorithm.name=async-diloco " + sets + " --no-report --out " + dir.string());
  Outcome o{r.rc, r.output, "", "", dir.string()};
  if (r.rc == 0) {
    o.metrics = slurp(dir / "metrics.csv");
    o.summary = slurp(dir / "summary.json");
  }
  return o;
}

std::vector<std::vector<std::string>> rows(const std::string& metrics) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string c; std::getline(row, c, ',');) cells.push_back(c);
    out.push_back(cells);
  }
  return out;
}


}  // namespace

TEST(Async, TrainsRecordsStalenessAndIsTheSameAtAnyThreadCount) {
  const auto a = run_tiny("train", kAsIf + "--set async.delay=2 --threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  const auto r = rows(a.metrics);
  ASSERT_EQ(r.front().back(), "staleness") << a.metrics;
  ASSERT_EQ(r.size(), 7u) << a.metrics;  // the header, the initial model and 5 rounds' worth of 2 outer gradients
  EXPECT_DOUBLE_EQ(json_number(a.summary, "outer_gradients_applied"), 10);
  // Two replicas; a1, next to the outer optimizer, takes 4 s a round and b1 5.4 s (two WAN
  // transfers of 80 MB at 1 Gbit/s), so up to two of a1's outer gradients land between the θ b1
  // trained from and its own.
  EXPECT_DOUBLE_EQ(json_number(a.summary, "max_staleness"), 2);
  EXPECT_GT(json_number(a.summary, "wan_bytes"), 2 * 4.0 * 34688) << "b1 must have sent outer gradients";
  const auto val = e2e::csv_column(a.metrics, 7);
  EXPECT_LT(std::stod(val.back()), std::stod(val.front()) - 1.5) << a.metrics;
  EXPECT_EQ(a.metrics, run_tiny("train-2", kAsIf + "--set async.delay=2 --threads 2").metrics);
  // Delayed Nesterov is another update rule than Nesterov on every arrival.
  const auto naive = run_tiny("naive", kAsIf + "--set async.delay=1");
  ASSERT_EQ(naive.rc, 0) << naive.output;
  EXPECT_NE(e2e::csv_column(naive.metrics, 7), val);
}

TEST(Async, OneReplicaIsDiloco) {
  // No other replica, so no staleness: each round trains from the θ its own outer step made.
  const std::string one = "--set placement.workers=[a1] --set trace=off";
  const auto a = run_tiny("one", one);
  ASSERT_EQ(a.rc, 0) << a.output;
  const auto dir = e2e::out_dir("async-one-diloco");
  const auto d = run("run " + kScenarios + "tiny-diloco.yaml " + one + " --no-report --out " + dir.string());
  ASSERT_EQ(d.rc, 0) << d.output;
  const auto diloco = slurp(dir / "metrics.csv");
  EXPECT_EQ(e2e::csv_column(a.metrics, 7), e2e::csv_column(diloco, 7));
  EXPECT_EQ(e2e::csv_column(a.metrics, 6), e2e::csv_column(diloco, 6));
  EXPECT_DOUBLE_EQ(json_number(a.summary, "max_staleness"), 0);
}

TEST(Async, ALostWorkerCostsItsRoundNotABarrier) {
  // dc-b (b1) is down from 5 s to 9 s: its round in progress is lost and redone from the θ of the
  // moment it is back; meanwhile a1 goes on applying its own outer gradients.
  const std::string outage = "--set 'failures.outages=[{datacentre: dc-b, at_hours: 0.0013889, for_hours: 0.0011111}]' ";
  const auto a = run_tiny("preempted", kAsIf + outage + "--threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_GT(json_number(a.summary, "reexecutions"), 0.0) << a.summary;
  EXPECT_GT(json_number(a.summary, "lost_compute_s"), 0.0) << a.summary;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "outer_gradients_applied"), 10);
  const auto calm = run_tiny("calm", kAsIf);
  ASSERT_EQ(calm.rc, 0) << calm.output;
  // No barrier: a1's outer gradients keep landing while b1 is down, so a1 spends more of the budget.
  auto by_a1 = [](const std::string& dir) {
    int n = 0;
    std::istringstream in(slurp(std::filesystem::path(dir) / "updates.csv"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "time_s,version,task,worker,inner_steps,trained_from,staleness");
    while (std::getline(in, line)) n += line.find(",0,0,") != std::string::npos ? 1 : 0;  // task 0, worker 0: a1
    return n;
  };
  EXPECT_GT(by_a1(a.dir), by_a1(calm.dir));
  EXPECT_EQ(a.metrics, run_tiny("preempted-2", kAsIf + outage + "--threads 2").metrics);
  const auto cut = run_tiny("cut", kAsIf + "--set algorithm.outer_steps=20 --set platform=../platforms/wan-1gbps-cut.xml");
  ASSERT_EQ(cut.rc, 0) << cut.output;
  EXPECT_GT(json_number(cut.summary, "retries"), 0.0) << cut.summary;
}

TEST(Async, DelayedNesterovAndDyluBeatTheBarrierOnTheHeterogeneousPlatform) {
  // Timing only: synchronous DiLoCo waits for the V100 at every round; asynchronous DiLoCo does not,
  // and with DyLU every replica's round takes about as long as the H100's.
  auto wall = [](const std::string& sets) {
    const auto dir = e2e::out_dir("async-hetero");
    const auto r = run("run " + e2e::kSource + "/scenarios/async-heterogeneous.yaml --set training=off --set trace=off " + sets +
                       " --no-report --out " + dir.string());
    EXPECT_EQ(r.rc, 0) << r.output;
    return json_number(slurp(dir / "summary.json"), "simulated_wall_clock_s");
  };
  const double sync = wall("--set algorithm.name=diloco"), naive = wall("--set async.delay=1 --set async.dylu=off"),
               dn_dylu = wall("");
  EXPECT_LT(naive, sync / 2);
  EXPECT_LT(dn_dylu, naive);
}

TEST(Async, OnTheHalosLikePlatformTheSlowRegionsDoNotHoldTheOthersBack) {
  // platforms/halos-4x4.xml: HALoS's 16 workers of speeds from 0.107 to 0.907 of an A100 in 4
  // regions behind 0.117-0.935 Gbit/s links; the outer optimizer on region a's spare host. Timing only.
  auto wall = [](const std::string& sets) {
    const auto dir = e2e::out_dir("async-halos");
    const auto r = run("run " + e2e::kSource + "/scenarios/async-heterogeneous.yaml --set training=off --set trace=off "
                       "--set platform=../platforms/halos-4x4.xml --set placement.outer=a4 "
                       "--set 'placement.workers=[a0,a1,a2,a3,b0,b1,b2,b3,c0,c1,c2,c3,d0,d1,d2,d3]' "
                       "--set async.delay=16 --set algorithm.outer_steps=4 " + sets + " --no-report --out " + dir.string());
    EXPECT_EQ(r.rc, 0) << r.output;
    return json_number(slurp(dir / "summary.json"), "simulated_wall_clock_s");
  };
  EXPECT_LT(wall(""), wall("--set algorithm.name=diloco"));
}

TEST(Async, BadSettingsAreOneLineErrorsNamingTheKey) {
  for (const auto& [set, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--set async.delay=0", "key 'async.delay'"},
           {"--set async.dylu=maybe", "key 'async.dylu'"},
           {"--set async.delay=2 --set outer_optimizer.name=sgd", "key 'outer_optimizer.name': async.delay > 1 is Delayed Nesterov"},
           {"--set checkpoints.storage=a0 --set checkpoints.inner_every_steps=5", "key 'checkpoints.inner_every_steps': async-diloco has no checkpoints"},
           {"--set failures.drop_probability=0.1", "key 'failures.drop_probability': async-diloco does not drop"},
           {"--set dipaco.phase_policy=quorum", "key 'dipaco.phase_policy': async-diloco has no phases"}}) {
    const auto o = run_tiny("bad", set);
    e2e::expect_one_line_error(o.rc, o.output, set, expected);
  }
}
