// Failures end to end: preemptions, re-queued tasks, phase policies, communication drops and the
// exactly-once ledger, on the dipaco-sim binary.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <sys/wait.h>

#include "e2e_support.hpp"
#include "reports/ledger.hpp"

namespace {

using e2e::kSource;
using e2e::run;
using e2e::slurp;
const std::string kFailures = kSource + "/tests/scenarios/tiny-failures.yaml";
const std::string kTinyDipaco = kSource + "/tests/scenarios/tiny-dipaco.yaml";

double number(const std::string& json, const std::string& key) { return e2e::json_number(json, key); }
std::filesystem::path out_dir(const std::string& name) { return e2e::out_dir("failures-" + name); }

std::vector<dipaco::reports::LedgerRow> ledger(const std::filesystem::path& dir) {
  return dipaco::reports::parse_ledger_csv(slurp(dir / "events.csv"));
}

size_t count(const std::vector<dipaco::reports::LedgerRow>& rows, dipaco::reports::LedgerEvent e) {
  return static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [e](const auto& r) { return r.event == e; }));
}

TEST(Failures, PreemptedTasksAreReexecutedExactlyOnceAndTheRunIsReproducible) {
  const auto a = out_dir("preempt-a"), b = out_dir("preempt-b"), calm = out_dir("preempt-calm");
  const auto ra = run("run " + kFailures + " --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.output;
  ASSERT_EQ(run("run " + kFailures + " --out " + b.string()).rc, 0);
  ASSERT_EQ(run("run " + kFailures + " --set failures.preemption.mtbf_hours=inf --out " + calm.string()).rc, 0);
  // Same seed: the same failures, ledger and metrics, byte for byte.
  EXPECT_EQ(slurp(a / "events.csv"), slurp(b / "events.csv"));
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));

  const auto check = run("check " + a.string());
  EXPECT_EQ(check.rc, 0) << check.output;
  EXPECT_NE(check.output.find(", 0 violations"), std::string::npos) << check.output;
  const auto rows = ledger(a);
  const auto bad = dipaco::reports::check_ledger(rows, true);
  EXPECT_TRUE(bad.empty()) << bad.front();
  const auto summary = slurp(a / "summary.json");
  EXPECT_GT(count(rows, dipaco::reports::LedgerEvent::Lost), 0u);
  EXPECT_EQ(number(summary, "reexecutions"), static_cast<double>(count(rows, dipaco::reports::LedgerEvent::Lost)));
  EXPECT_GT(number(summary, "lost_compute_s"), 0.0);
  EXPECT_LT(number(summary, "goodput"), 1.0);
  // Lost work costs time: the failure-free run is faster, and its ledger has no losses.
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
  EXPECT_EQ(count(ledger(calm), dipaco::reports::LedgerEvent::Lost), 0u);
}

TEST(Failures, LedgerInvariantsHoldOnOneHundredRandomFailureSchedules) {
  // Property test: random seeds, failure rates, repair times, outages, phase policies, backup pools,
  // compute schedules, failing executors and checkpoints.
  std::mt19937 rng(2026);
  const auto dir = out_dir("property");
  int lost = 0, late = 0, recovered = 0;
  for (int i = 0; i < 100; ++i) {
    std::uniform_real_distribution<double> mtbf(0.05, 2.0), mttr(0.01, 0.5), at(0.0, 0.3);
    const int policy = static_cast<int>(rng() % 3);
    std::string args = "run " + kFailures + " --out " + dir.string() + " --set seed=" + std::to_string(rng() % 100000) +
                       " --set failures.preemption.mtbf_hours=" + std::to_string(mtbf(rng)) +
                       " --set failures.preemption.mttr_hours=" + std::to_string(mttr(rng)) +
                       " --set failures.preemption.distribution=" + (rng() % 2 ? "weibull" : "exponential") +
                       " --set failures.preemption.scope=" + (rng() % 3 ? "host" : "datacentre") +
                       " --set failures.heartbeat_s=" + std::to_string(5 + rng() % 120);
    if (rng() % 4 == 0) args += " --set 'failures.outages=[{datacentre: eu-west, at_hours: " + std::to_string(at(rng)) + ", for_hours: 0.2}]'";
    if (policy == 1) args += " --set dipaco.phase_policy=quorum --set dipaco.quorum=0.5";
    if (policy == 2) args += " --set dipaco.phase_policy=deadline --set dipaco.deadline_s=" + std::to_string(100 + rng() % 300);
    if (rng() % 3 == 0) args += " --set failures.drop_probability=0.3";
    // The elastic pool too: a backup pool with its own failure rate, and a varying replica count.
    if (rng() % 3 == 0) args += " --set dipaco.backup_workers=[us-gpu5,asia-gpu5] --set failures.backup_preemption.mtbf_hours=0.2";
    if (rng() % 3 == 0) args += " --set algorithm.replicas_per_path=2 --set dipaco.compute_schedule=" + std::string(rng() % 2 ? "ramp_down" : "doubling");
    // Executors that fail and recover from module checkpoints, and inner checkpoints.
    if (rng() % 3 == 0)
      args += " --set dipaco.executors=us-gpu3 --set failures.executors_fail=true --set checkpoints.storage=eu-gpu0 "
              "--set checkpoints.module_every_phases=" + std::to_string(1 + rng() % 3);
    if (rng() % 3 == 0) args += " --set checkpoints.storage=eu-gpu0 --set checkpoints.inner_every_steps=" + std::to_string(3 + rng() % 10);
    const auto r = run(args);
    ASSERT_EQ(r.rc, 0) << args << "\n" << r.output;
    const auto rows = ledger(dir);
    const auto bad = dipaco::reports::check_ledger(rows, policy == 0);
    ASSERT_TRUE(bad.empty()) << args << "\n" << bad.front();
    lost += static_cast<int>(count(rows, dipaco::reports::LedgerEvent::Lost));
    late += static_cast<int>(count(rows, dipaco::reports::LedgerEvent::Late));
    recovered += static_cast<int>(count(rows, dipaco::reports::LedgerEvent::Recovered));
  }
  // The schedules did exercise re-execution, late results and executor recoveries.
  EXPECT_GT(lost, 100);
  EXPECT_GT(late, 10);
  EXPECT_GT(recovered, 10);
}

TEST(Failures, QuorumClosesPhasesEarlyAndDropsLateResults) {
  const auto dir = out_dir("quorum");
  const auto r = run("run " + kFailures + " --set failures.preemption.mtbf_hours=inf --set dipaco.phase_policy=quorum "
                     "--set dipaco.quorum=0.5 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rows = ledger(dir);
  EXPECT_TRUE(dipaco::reports::check_ledger(rows, false).empty());
  // Every update took half its tasks (each module has 2 tasks through it: 1 of 2); the rest came late
  // and were dropped, not folded into the next phase.
  for (const auto& row : rows) {
    if (row.event == dipaco::reports::LedgerEvent::Update) {
      EXPECT_EQ(row.included * 2, row.expected);
    }
  }
  EXPECT_GT(count(rows, dipaco::reports::LedgerEvent::Late), 0u);
  EXPECT_GT(number(slurp(dir / "summary.json"), "late_results"), 0.0);
}

TEST(Failures, DroppedOuterGradientsAreLeftOutAndTrainingStillLearns) {
  const auto dir = out_dir("drop");
  const auto r = run("run " + kTinyDipaco + " --set failures.drop_probability=0.5 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rows = ledger(dir);
  EXPECT_TRUE(dipaco::reports::check_ledger(rows, true).empty());
  EXPECT_GT(count(rows, dipaco::reports::LedgerEvent::Dropped), 0u);
  const auto summary = slurp(dir / "summary.json");
  EXPECT_LT(number(summary, "final_val_perplexity"), number(summary, "initial_val_perplexity"));
}

TEST(Failures, NoWorkerLeftEndsWithAClearErrorAndPartialMetrics) {
  const auto dir = out_dir("outage");
  std::string outages = "[";
  for (const char* dc : {"us-east", "eu-west", "asia-east"}) outages += std::string(outages.size() > 1 ? ", " : "") + "{datacentre: " + dc + ", at_hours: 0.1}";
  const auto r = run("run " + kFailures + " --set failures.preemption.mtbf_hours=inf --set 'failures.outages=" + outages + "]' --out " +
                     dir.string());
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_NE(r.output.find("every worker host is down for good"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "metrics.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir / "events.csv"));
  EXPECT_NE(slurp(dir / "summary.json").find("\"error\""), std::string::npos);
}

TEST(Failures, BadFailureSettingsGetOneLineErrorsAndExitCodeTwo) {
  for (const std::string set : {"failures.preemption.mtbf_hours=-1", "failures.preemption.distribution=gamma",
                                "'failures.outages=[{datacentre: mars, at_hours: 1}]'", "failures.drop_probability=1",
                                "dipaco.phase_policy=deadline", "'failures.traces=[{host: us-gpu1, file: missing.state}]'"}) {
    const auto r = run("run " + kFailures + " --set " + set + " --out " + out_dir("bad").string());
    EXPECT_EQ(r.rc, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find("error:"), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << set << "\n" << r.output;
  }
}

}  // namespace
