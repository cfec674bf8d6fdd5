// HALoS end to end (sim/algorithms/executor_async.cpp): a parameter server per datacentre of
// workers, merging periodically with a global one, on HALoS's own example environment
// (platforms/halos-4x4.xml).
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using e2e::json_number;
using e2e::run;
using e2e::slurp;
const std::string kTiny = e2e::kSource + "/tests/scenarios/tiny-diloco.yaml";
// tiny-diloco's model and data, 8 workers (2 per region), with the cost of a larger model.
const std::string kOnHalos = "--set algorithm.name=halos --set platform=../../platforms/halos-4x4.xml --set placement.outer=a4 "
                             "--set 'placement.workers=[a0,a1,b0,b1,c0,c1,d0,d1]' --set cost.params=20e6 "
                             "--set cost.tokens_per_step=65536 --set cost.layers=6 --set cost.d_model=512 --set cost.seq_len=512 "
                             "--set trace=off ";

struct Outcome {
  int rc = 0;
  std::string output, metrics, summary;
};

Outcome run_halos(const std::string& name, const std::string& sets) {
  const auto dir = e2e::out_dir("halos-" + name);
  const auto r = run("run " + kTiny + " " + kOnHalos + sets + " --no-report --out " + dir.string());
  Outcome o{r.rc, r.output, "", ""};
  if (r.rc == 0) {
    o.metrics = slurp(dir / "metrics.csv");
    o.summary = slurp(dir / "summary.json");
  }
  return o;
}


}  // namespace

TEST(Halos, TrainsMergesAndIsTheSameAtAnyThreadCount) {
  const auto a = run_halos("train", "--set halos.accumulation=4 --threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "regional_servers"), 4);
  EXPECT_DOUBLE_EQ(json_number(a.summary, "outer_gradients_applied"), 40);
  EXPECT_GT(json_number(a.summary, "global_merges"), 0.0);
  const auto p = e2e::csv_column(a.metrics, 8);  // the global model's
  ASSERT_EQ(p.size(), 6u) << a.metrics;
  EXPECT_LT(std::stod(p.back()), 0.5 * std::stod(p.front())) << a.metrics;
  EXPECT_EQ(a.metrics, run_halos("train-2", "--set halos.accumulation=4 --threads 2").metrics);
}

TEST(Halos, WithoutAMergeTheGlobalModelNeverMoves) {
  // Each regional server sends to the global one only after 1 000 outer gradients: never here.
  const auto a = run_halos("no-merge", "--set halos.accumulation=1000");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "global_merges"), 0);
  const auto p = e2e::csv_column(a.metrics, 8);
  EXPECT_EQ(std::count(p.begin(), p.end(), p.front()), static_cast<long>(p.size())) << a.metrics;
}

TEST(Halos, OnItsPlatformItFinishesBeforeAsynchronousAndSynchronousDiloco) {
  // scenarios/halos.yaml, timing only: 16 workers, 256 outer gradients. Synchronous DiLoCo waits
  // for the slowest worker (0.107 of an A100) and the slowest links every round; asynchronous
  // DiLoCo sends every outer gradient across the WAN to one server; HALoS keeps them in the region.
  auto wall = [](const std::string& sets) {
    const auto dir = e2e::out_dir("halos-timing");
    const auto r = run("run " + e2e::kSource + "/scenarios/halos.yaml --set training=off " + sets + " --no-report --out " + dir.string());
    EXPECT_EQ(r.rc, 0) << r.output;
    const auto summary = slurp(dir / "summary.json");
    return std::make_pair(json_number(summary, "simulated_wall_clock_s"), json_number(summary, "wan_bytes"));
  };
  const auto halos = wall(""), async = wall("--set algorithm.name=async-diloco --set async.delay=16 --set async.dylu=on"),
             sync = wall("--set algorithm.name=diloco");
  EXPECT_LT(halos.first, async.first);
  EXPECT_LT(async.first, sync.first);
  EXPECT_LT(halos.second, async.second);  // fewer bytes cross the WAN
}

TEST(Halos, ALostWorkerCostsItsRound) {
  const auto a = run_halos("preempted", "--set halos.accumulation=4 "
                           "--set 'failures.outages=[{datacentre: region-b, at_hours: 0.0008, for_hours: 0.0008}]'");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_GT(json_number(a.summary, "reexecutions"), 0.0) << a.summary;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "outer_gradients_applied"), 40);
}

TEST(Halos, BadSettingsAreOneLineErrorsNamingTheKey) {
  for (const auto& [set, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--set halos.accumulation=0", "key 'halos.accumulation'"},
           {"--set halos.merge_weight=1.5", "key 'halos.merge_weight'"},
           {"--set halos.local_delay=0", "key 'halos.local_delay'"},
           {"--set halos.global_lr=0", "key 'halos.global_lr'"},
           {"--set checkpoints.storage=a4 --set checkpoints.inner_every_steps=5", "key 'checkpoints.inner_every_steps': halos has no checkpoints"}}) {
    const auto o = run_halos("bad", set);
    e2e::expect_one_line_error(o.rc, o.output, set, expected);
  }
}
