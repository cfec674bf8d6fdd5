// Decoupled DiLoCo end to end (sim/algorithms/worker_decoupled.cpp, executor_decoupled.cpp):
// learners that never wait, a synchroniser that merges each fragment on a quorum weighted by the
// steps each outer gradient stands for, and what a lost learner costs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using e2e::json_number;
using e2e::run;
using e2e::slurp;
// tiny-diloco (2 learners, a1 next to the synchroniser on a0 and b1 across a 1 Gbit/s WAN, 2
// blocks: 2 fragments of τ/2 = 10 steps) with the cost of a larger model, so that compute paces
// the phases.
const std::string kAsIf = "--set algorithm.name=decoupled-diloco --set cost.params=20e6 --set cost.tokens_per_step=65536 "
                          "--set cost.layers=6 --set cost.d_model=512 --set cost.seq_len=512 --set trace=off ";
const std::string kOutage = "--set 'failures.outages=[{datacentre: dc-b, at_hours: 0.0013889, for_hours: 0.0011111}]' ";  // 5 s to 9 s

struct Outcome {
  int rc = 0;
  std::string output, metrics, summary, updates;
};

Outcome run_tiny(const std::string& name, const std::string& sets) {
  const auto dir = e2e::out_dir("decoupled-" + name);
  const auto r = run("run " + e2e::kSource + "/tests/scenarios/tiny-diloco.yaml " + kAsIf + sets + " --no-report --out " + dir.string());
  Outcome o{r.rc, r.output, "", "", ""};
  if (r.rc == 0) {
    o.metrics = slurp(dir / "metrics.csv");
    o.summary = slurp(dir / "summary.json");
    o.updates = slurp(dir / "updates.csv");
  }
  std::filesystem::remove_all(dir);
  return o;
}

}  // namespace

TEST(Decoupled, TrainsMergingFragmentsOnAQuorumTheSameAtAnyThreadCount) {
  const auto a = run_tiny("train", "--threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  // The header, the initial model and a row per round's worth (2 learners × 2 fragments), numbered
  // in phases as Streaming DiLoCo's.
  EXPECT_EQ(e2e::csv_column(a.metrics, 1), (std::vector<std::string>{"0", "2", "4", "6", "8", "10"})) << a.metrics;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "outer_gradients_received"), 20);
  EXPECT_DOUBLE_EQ(json_number(a.summary, "quorum_learners"), 1);  // ⌈0.5 · 2⌉: each merged on arrival
  EXPECT_DOUBLE_EQ(json_number(a.summary, "merges"), 20);
  const auto fragment = e2e::csv_column(a.updates, 7);
  EXPECT_EQ(std::count(fragment.begin(), fragment.end(), "0"), 10) << a.updates;
  EXPECT_EQ(std::count(fragment.begin(), fragment.end(), "1"), 10) << a.updates;
  const auto val = e2e::csv_column(a.metrics, 7);
  EXPECT_LT(std::stod(val.back()), std::stod(val.front()) - 1.5) << a.metrics;
  const auto b = run_tiny("train-2", "--threads 2");
  EXPECT_EQ(a.metrics, b.metrics);
  EXPECT_EQ(a.updates, b.updates);
  // A larger quorum merges both learners' outer gradients together: another model, the same pace
  // (learners never wait for the synchroniser).
  const auto all = run_tiny("quorum-all", "--set decoupled.quorum=1");
  ASSERT_EQ(all.rc, 0) << all.output;
  EXPECT_DOUBLE_EQ(json_number(all.summary, "merges"), 10);
  EXPECT_DOUBLE_EQ(json_number(all.summary, "mean_merge_size"), 2);
  EXPECT_NE(e2e::csv_column(all.metrics, 7), val);
  EXPECT_DOUBLE_EQ(json_number(all.summary, "simulated_wall_clock_s"), json_number(a.summary, "simulated_wall_clock_s"));
}

TEST(Decoupled, ALostLearnerCostsItsUnsentPhasesAndHoldsBackOnlyTheMerges) {
  // With a quorum of both learners, dc-b's outage (5 s to 9 s) holds back the merges, not a1: a1's
  // outer gradients of a fragment supersede each other until b1's new life sends its own, and the
  // merged one stands for the steps of both (40).
  const auto a = run_tiny("outage", kOutage + "--set decoupled.quorum=1 --threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_GE(json_number(a.summary, "reexecutions"), 1.0) << a.summary;
  EXPECT_GT(json_number(a.summary, "lost_compute_s"), 0.0) << a.summary;
  EXPECT_GT(json_number(a.summary, "superseded_before_merge"), 0.0) << a.summary;
  const auto steps = e2e::csv_column(a.updates, 4);
  EXPECT_NE(std::find(steps.begin(), steps.end(), "40"), steps.end()) << a.updates;
  EXPECT_EQ(a.metrics, run_tiny("outage-2", kOutage + "--set decoupled.quorum=1 --threads 2").metrics);
  // With a quorum of one, a1's outer gradients go on being merged during the outage.
  const auto one = run_tiny("outage-one", kOutage);
  ASSERT_EQ(one.rc, 0) << one.output;
  int during = 0;
  for (const auto& t : e2e::csv_column(one.updates, 0)) during += std::stod(t) > 5.0 && std::stod(t) < 9.0 ? 1 : 0;
  EXPECT_GT(during, 0) << one.updates;
}

TEST(Decoupled, BrokenLinksAreRetried) {
  const auto cut = run_tiny("cut", "--set algorithm.outer_steps=20 --set platform=../platforms/wan-1gbps-cut.xml");
  ASSERT_EQ(cut.rc, 0) << cut.output;
  EXPECT_GT(json_number(cut.summary, "retries"), 0.0) << cut.summary;
  EXPECT_DOUBLE_EQ(json_number(cut.summary, "outer_gradients_received"), 80);
}

TEST(Decoupled, OnTheHeterogeneousPlatformNoLearnerWaitsForTheSlowest) {
  // Timing only: synchronous DiLoCo waits for the V100 at every round; Decoupled DiLoCo's learners
  // each go at their own pace, so the budget is spent by the faster ones.
  auto wall = [](const std::string& sets) {
    const auto dir = e2e::out_dir("decoupled-hetero");
    const auto r = run("run " + e2e::kSource + "/scenarios/decoupled.yaml --set training=off --set trace=off " + sets +
                       " --no-report --out " + dir.string());
    EXPECT_EQ(r.rc, 0) << r.output;
    return json_number(slurp(dir / "summary.json"), "simulated_wall_clock_s");
  };
  EXPECT_LT(wall(""), wall("--set algorithm.name=diloco") / 2);
}

TEST(Decoupled, BadSettingsAreOneLineErrorsNamingTheKey) {
  for (const auto& [set, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--set decoupled.fragments=3", "key 'decoupled.fragments': 3 fragments for 2 blocks"},
           {"--set decoupled.fragments=0", "key 'decoupled.fragments'"},
           {"--set algorithm.tau=15", "key 'decoupled.fragments': algorithm.tau (15) is not a multiple of 2 fragments"},
           {"--set decoupled.quorum=0", "key 'decoupled.quorum'"},
           {"--set decoupled.quorum=1.5", "key 'decoupled.quorum'"},
           {"--set decoupled.grace_s=-1", "key 'decoupled.grace_s'"},
           {"--set decoupled.mix=1", "key 'decoupled.mix'"},
           {"--set decoupled.quorom=1", "decoupled.quorom"},
           {"--set checkpoints.storage=a0 --set checkpoints.inner_every_steps=5", "key 'checkpoints.inner_every_steps': decoupled-diloco has no checkpoints"},
           {"--set failures.drop_probability=0.1", "key 'failures.drop_probability': decoupled-diloco does not drop"}}) {
    const auto o = run_tiny("bad", set);
    e2e::expect_one_line_error(o.rc, o.output, set, expected);
  }
}
