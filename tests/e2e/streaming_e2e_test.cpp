// Streaming DiLoCo end to end (sim/algorithms/algorithm_policy.hpp, Worker::submit_streaming): the
// real replicas keep their own parameters, each phase synchronises one fragment, the overlap runs
// the next phase's first steps while the fragment travels, and failures cost the lost replica its
// own parameters, not the run.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using e2e::json_number;
using e2e::run;
using e2e::slurp;
const std::string kScenarios = e2e::kSource + "/tests/scenarios/";

struct Outcome {
  int rc = 0;
  std::string output, metrics, summary, dir;
};

Outcome run_tiny(const std::string& name, const std::string& sets) {
  const auto dir = e2e::out_dir("streaming-" + name);
  const auto r = run("run " + kScenarios + "tiny-diloco.yaml --set algorithm.name=streaming-diloco " + sets + " --no-report --out " +
                     dir.string());
  Outcome o{r.rc, r.output, "", "", dir.string()};
  if (r.rc == 0) {
    o.metrics = slurp(dir / "metrics.csv");
    o.summary = slurp(dir / "summary.json");
  }
  return o;
}


// tiny-diloco's model (vocab 256, d 32, 2 blocks, 32 positions): the embeddings and final norm are
// 256·32 + 32·32 + 2·32 = 9 280 parameters, each block 12·32² + 13·32 = 12 704. Fragment 0 holds
// the embeddings and block 0, fragment 1 block 1; only b1 is across the WAN.
constexpr double kFragment0 = 4.0 * (9280 + 12704), kFragment1 = 4.0 * 12704, kModel = kFragment0 + kFragment1;

}  // namespace

TEST(Streaming, TrainsSendsOnlyItsFragmentsAndIsTheSameAtAnyThreadCount) {
  const auto a = run_tiny("train", "--set streaming.overlap_steps=2 --set communication.outer_gradient=fp4 --threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  // 5 rounds of H = 20: 10 phases of 10 steps. b1 pulls all of θ once, then the fragment each
  // phase synced (phases 1-9: fragments 0,1,0,1,...), and uploads each phase's fragment in fp4.
  const double down = kModel + 5 * kFragment0 + 4 * kFragment1;
  const double up = 5 * (kFragment0 + kFragment1) * 0.53125 / 4;
  EXPECT_DOUBLE_EQ(json_number(a.summary, "wan_bytes"), down + up);
  EXPECT_DOUBLE_EQ(json_number(a.summary, "synchronisations"), 10);
  // Its peak: fragment 0, the larger one, in fp4 (DiLoCo's is all of θ in fp32).
  EXPECT_DOUBLE_EQ(json_number(a.summary, "peak_upload_bytes"), kFragment0 * 0.53125 / 4);
  // Rows on DiLoCo's inner steps (every round: 20, 40, ...), and the model learns.
  EXPECT_NE(a.metrics.find(",10,all,0,100,"), std::string::npos) << a.metrics;
  const auto l = e2e::csv_column(a.metrics, 7);
  ASSERT_EQ(l.size(), 6u) << a.metrics;
  EXPECT_LT(std::stod(l.back()), std::stod(l.front()) - 1.5) << a.metrics;
  const auto b = run_tiny("train-2", "--set streaming.overlap_steps=2 --set communication.outer_gradient=fp4 --threads 2");
  ASSERT_EQ(b.rc, 0) << b.output;
  EXPECT_EQ(a.metrics, b.metrics);
}

TEST(Streaming, OneFragmentWithoutOverlapOrMixingIsDiloco) {
  // Each phase then syncs the whole model and every replica starts it from the outer step's
  // result; the replicas' AdamW moments carry over as DiLoCo's do (dipaco.inner_state: path).
  const auto s = run_tiny("as-diloco", "--set streaming.fragments=1 --set streaming.mix=0 --set trace=off");
  ASSERT_EQ(s.rc, 0) << s.output;
  const auto dir = e2e::out_dir("streaming-diloco");
  const auto d = run("run " + kScenarios + "tiny-diloco.yaml --set trace=off --no-report --out " + dir.string());
  ASSERT_EQ(d.rc, 0) << d.output;
  EXPECT_EQ(e2e::csv_column(s.metrics, 7), e2e::csv_column(slurp(dir / "metrics.csv"), 7));
  EXPECT_DOUBLE_EQ(json_number(s.summary, "wan_bytes"), json_number(slurp(dir / "summary.json"), "wan_bytes"));
  // Mixing half of the replica's own value back in is another algorithm.
  const auto mixed = run_tiny("as-diloco-mixed", "--set streaming.fragments=1 --set streaming.mix=0.5 --set trace=off");
  ASSERT_EQ(mixed.rc, 0) << mixed.output;
  EXPECT_NE(e2e::csv_column(mixed.metrics, 7), e2e::csv_column(s.metrics, 7));
}

TEST(Streaming, TheTraceShowsTheFragmentsTravellingWhileTheNextStepsCompute) {
  const auto o = run_tiny("trace", "--set streaming.overlap_steps=3 --set cost.params=20e6 --set cost.tokens_per_step=65536 "
                          "--set cost.layers=6 --set cost.d_model=512 --set cost.seq_len=512 --set training=off");
  ASSERT_EQ(o.rc, 0) << o.output;
  const auto trace = nlohmann::json::parse(slurp(std::filesystem::path(o.dir) / "trace.json"));
  std::map<std::pair<int, int>, std::string> lanes;
  for (const auto& e : trace["traceEvents"])
    if (e.value("ph", "") == "M" && e.value("name", "") == "thread_name") lanes[{e["pid"].get<int>(), e["tid"].get<int>()}] = e["args"]["name"];
  std::vector<std::pair<double, double>> compute, uploads;  // b1's
  for (const auto& e : trace["traceEvents"]) {
    if (e.value("ph", "") != "X") continue;
    const auto lane = lanes[{e["pid"].get<int>(), e["tid"].get<int>()}];
    if (lane.rfind("b1", 0) != 0) continue;
    const double begin = e["ts"].get<double>(), end = begin + e["dur"].get<double>();
    if (e["name"] == "compute") compute.emplace_back(begin, end);
    if (e["name"] == "send") uploads.emplace_back(begin, end);
  }
  ASSERT_FALSE(uploads.empty());
  int overlapped = 0;  // uploads during which b1 computes
  for (const auto& [ub, ue] : uploads)
    for (const auto& [cb, ce] : compute)
      if (cb < ue && ub < ce) {
        ++overlapped;
        break;
      }
  // Every upload overlaps the next phase's head but the last phase's (fragment 1: one module,
  // block 1), after which there is no next phase.
  EXPECT_EQ(overlapped, static_cast<int>(uploads.size()) - 1) << uploads.size();
}

TEST(Streaming, PreemptionsCostTheLostReplicaItsOwnParametersNotTheRun) {
  // The as-if cost stretches a phase to about 2 s; dc-b (b1) is down from 5 s to 9 s. b1's replica
  // comes back without its own parameters and starts again from the global fragments.
  const std::string as_if = "--set cost.params=20e6 --set cost.tokens_per_step=65536 --set cost.layers=6 --set cost.d_model=512 "
                            "--set cost.seq_len=512 --set streaming.overlap_steps=2 --set trace=off ";
  const std::string outage = "--set 'failures.outages=[{datacentre: dc-b, at_hours: 0.0013889, for_hours: 0.0011111}]' ";
  const auto a = run_tiny("preempted", as_if + outage + "--threads 1");
  ASSERT_EQ(a.rc, 0) << a.output;
  EXPECT_GT(json_number(a.summary, "reexecutions"), 0.0) << a.summary;
  EXPECT_GT(json_number(a.summary, "lost_compute_s"), 0.0) << a.summary;
  const auto l = e2e::csv_column(a.metrics, 7);
  EXPECT_LT(std::stod(l.back()), std::stod(l.front()) - 1.0) << a.metrics;
  const auto calm = run_tiny("calm", as_if);
  ASSERT_EQ(calm.rc, 0) << calm.output;
  EXPECT_NE(e2e::csv_column(calm.metrics, 7), l);  // the restart from the global fragments changes the model
  EXPECT_GT(json_number(a.summary, "simulated_wall_clock_s"), json_number(calm.summary, "simulated_wall_clock_s"));
  EXPECT_EQ(a.metrics, run_tiny("preempted-2", as_if + outage + "--threads 2").metrics);
  // The WAN cut from 25 s to 45 s (tests/platforms/wan-1gbps-cut.xml): uploads and downloads wait
  // it out and are retried.
  const auto cut = run_tiny("cut", as_if + "--set platform=../platforms/wan-1gbps-cut.xml");
  ASSERT_EQ(cut.rc, 0) << cut.output;
  EXPECT_GT(json_number(cut.summary, "retries"), 0.0) << cut.summary;
  EXPECT_GT(json_number(cut.summary, "simulated_wall_clock_s"), 45.0);
}

TEST(Streaming, BadSettingsAreOneLineErrorsNamingTheKey) {
  for (const auto& [set, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--set streaming.fragments=3", "key 'streaming.fragments': 3 fragments for 2 blocks (model.blocks)"},
           {"--set algorithm.tau=15", "key 'streaming.fragments': algorithm.tau (15) is not a multiple of 2 fragments"},
           {"--set streaming.overlap_steps=10", "key 'streaming.overlap_steps': 10 is not below a phase (10 steps"},
           {"--set streaming.mix=1", "key 'streaming.mix': 1 would keep the local value"},
           {"--set streaming.fragments=0", "key 'streaming.fragments'"},
           {"--set streaming.mix=-0.5", "key 'streaming.mix'"}}) {
    const auto o = run_tiny("bad", set);
    e2e::expect_one_line_error(o.rc, o.output, set, expected);
  }
}
