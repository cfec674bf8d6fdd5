// The elastic worker pool end to end: adaptive compute schedules, the low-priority backup pool and
// checkpoints, on the dipaco-sim binary with the timing-only tiny-failures scenario.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "e2e_support.hpp"
#include "reports/ledger.hpp"

namespace {

using dipaco::reports::LedgerEvent;
using e2e::run;
using e2e::slurp;
const std::string kFailures = e2e::kSource + "/tests/scenarios/tiny-failures.yaml";

std::vector<dipaco::reports::LedgerRow> ledger(const std::filesystem::path& dir) {
  return dipaco::reports::parse_ledger_csv(slurp(dir / "events.csv"));
}

std::map<int, int> dispatches_per_phase(const std::vector<dipaco::reports::LedgerRow>& rows) {
  std::map<int, int> n;
  for (const auto& r : rows)
    if (r.event == LedgerEvent::Dispatch) ++n[r.phase];
  return n;
}

TEST(Elastic, ComputeScheduleQueuesOnlyTheActiveReplicasAndUpdatesAverageThem) {
  const auto dir = e2e::out_dir("elastic-ramp");
  // 4 paths x 3 replicas, 5 phases ramping up 1, 1, 2, 2, 3 replicas per path.
  const auto r = run("run " + kFailures + " --set failures.preemption.mtbf_hours=inf --set algorithm.replicas_per_path=3 "
                     "--set algorithm.outer_steps=5 --set dipaco.workers=12 --set dipaco.compute_schedule=ramp_up --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rows = ledger(dir);
  EXPECT_EQ(dispatches_per_phase(rows), (std::map<int, int>{{1, 4}, {2, 4}, {3, 8}, {4, 8}, {5, 12}}));
  const auto bad = dipaco::reports::check_ledger(rows, true);
  EXPECT_TRUE(bad.empty()) << bad.front();
  // Each update expects the module's paths times the phase's active replicas (1, 1, 2, 2, 3).
  const int active[] = {0, 1, 1, 2, 2, 3};
  std::map<int, int> paths_through;  // module -> its phase-1 expectation (one replica per path)
  for (const auto& row : rows)
    if (row.event == LedgerEvent::Update && row.phase == 1) paths_through[row.module] = row.expected;
  for (const auto& row : rows)
    if (row.event == LedgerEvent::Update)
      EXPECT_EQ(row.expected, paths_through[row.module] * active[row.phase]) << "module " << row.module << " phase " << row.phase;
  // A run that differs only in the schedule is a different run, and a bad schedule is an input error.
  const auto bad_run = run("run " + kFailures + " --set dipaco.compute_schedule=doubling --out " + e2e::out_dir("elastic-bad").string());
  EXPECT_EQ(bad_run.rc, 2) << bad_run.output;
  EXPECT_NE(bad_run.output.find("replicas_per_path"), std::string::npos) << bad_run.output;
}

TEST(Elastic, TheBackupPoolOnlyPicksUpWorkThePrimaryWorkersCannotTake) {
  const std::string base = "run " + kFailures + " --set dipaco.workers=4 ";
  const std::string backup = "--set dipaco.backup_workers=[us-gpu5,eu-gpu5] ";
  const auto calm = e2e::out_dir("elastic-backup-calm"), with = e2e::out_dir("elastic-backup"), without = e2e::out_dir("elastic-nobackup");
  ASSERT_EQ(run(base + backup + "--set failures.preemption.mtbf_hours=inf --out " + calm.string()).rc, 0);
  const auto r = run(base + backup + "--out " + with.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run(base + "--out " + without.string()).rc, 0);
  // Without failures every primary worker takes its own task: the low-priority pool never runs one.
  for (const auto& row : ledger(calm))
    if (row.event == LedgerEvent::Dispatch) EXPECT_LT(row.worker, 4) << "phase " << row.phase << " task " << row.task;
  // With preemptions it picks up re-queued work, the ledger stays exactly-once, and the run ends sooner.
  const auto rows = ledger(with);
  const auto bad = dipaco::reports::check_ledger(rows, true);
  EXPECT_TRUE(bad.empty()) << bad.front();
  const int on_backup = static_cast<int>(std::count_if(rows.begin(), rows.end(), [](const auto& row) {
    return row.event == LedgerEvent::Dispatch && row.worker >= 4;
  }));
  EXPECT_GT(on_backup, 0);
  const auto summary = slurp(with / "summary.json");
  EXPECT_EQ(e2e::json_number(summary, "attempts_dispatched"), on_backup);
  EXPECT_LT(e2e::json_number(summary, "simulated_wall_clock_s"), e2e::json_number(slurp(without / "summary.json"), "simulated_wall_clock_s"));
  // A backup host that already runs a primary worker is an input error.
  const auto clash = run(base + "--set dipaco.backup_workers=[us-gpu1] --out " + e2e::out_dir("elastic-clash").string());
  EXPECT_EQ(clash.rc, 2) << clash.output;
  EXPECT_NE(clash.output.find("dipaco.backup_workers[0]"), std::string::npos) << clash.output;
}

const std::string kTinyDipaco = e2e::kSource + "/tests/scenarios/tiny-dipaco.yaml";
// All five executors on a3, module checkpoints to a0 (same datacentre) after every phase.
const std::string kExecutorsFail = "run " + kTinyDipaco + " --set dipaco.executors=a3 --set failures.executors_fail=true "
                                   "--set checkpoints.storage=a0 --set checkpoints.module_every_phases=1 --set failures.heartbeat_s=0.1 ";

TEST(Elastic, ExecutorsRecoverFromTheirLastModuleCheckpointAndThePhaseIsRedone) {
  // Real training; a3 fails in phase 2 and comes back 50 µs later.
  const std::string trace = "--set 'failures.traces=[{host: a3, file: traces/a3-down-in-phase-2.txt}]' ";
  const auto a = e2e::out_dir("elastic-recover-a"), b = e2e::out_dir("elastic-recover-b");
  const auto r = run(kExecutorsFail + trace + "--out " + a.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run(kExecutorsFail + trace + "--out " + b.string()).rc, 0);
  EXPECT_EQ(slurp(a / "events.csv"), slurp(b / "events.csv"));
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));
  const auto rows = ledger(a);
  const auto bad = dipaco::reports::check_ledger(rows, true);
  EXPECT_TRUE(bad.empty()) << bad.front();
  // Every executor restarted once, from the checkpoint of the phase it had last closed, and the
  // phase's tasks ran again (the checker above verified the updates count only what came after).
  int recovered = 0;
  for (const auto& row : rows) {
    if (row.event == LedgerEvent::Recovered) {
      ++recovered;
      EXPECT_EQ(row.included, row.phase - 1) << "module " << row.module;
    }
  }
  EXPECT_EQ(recovered, 5);
  const auto summary = slurp(a / "summary.json");
  EXPECT_EQ(e2e::json_number(summary, "executor_recoveries"), 5);
  // failure_causes: each recovery is an executor lost; tasks that had trained from a lost version
  // and reached the executor after its recovery are stale.
  EXPECT_GE(e2e::json_number(summary, "executor_lost"), 5);
  EXPECT_EQ(e2e::json_number(summary, "stale"), static_cast<double>(std::count_if(rows.begin(), rows.end(), [](const auto& r) {
              return r.event == LedgerEvent::Stale;
            })));
  EXPECT_GT(e2e::json_number(summary, "tasks_redone_after_recovery"), 0);
  EXPECT_GT(e2e::json_number(summary, "module_checkpoints"), 0);
  EXPECT_LT(e2e::json_number(summary, "final_val_perplexity"), e2e::json_number(summary, "initial_val_perplexity"));
}

TEST(Elastic, AnExecutorDownForGoodEndsTheRunWithAClearErrorAndPartialMetrics) {
  const auto dir = e2e::out_dir("elastic-executor-gone");
  const auto r = run(kExecutorsFail + "--set training=off --set 'failures.traces=[{host: a3, file: traces/a3-down-for-good.txt}]' --out " +
                     dir.string());
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_NE(r.output.find("is down for good since t = 0.00045 s"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "metrics.csv"));
  EXPECT_NE(slurp(dir / "summary.json").find("\"error\""), std::string::npos);
}

TEST(Elastic, InnerCheckpointsLetPreemptedTasksResumeAndLoseLessCompute) {
  const auto with = e2e::out_dir("elastic-inner"), without = e2e::out_dir("elastic-inner-none");
  const auto r = run("run " + kFailures + " --set checkpoints.storage=us-gpu0 --set checkpoints.inner_every_steps=5 --out " + with.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run("run " + kFailures + " --out " + without.string()).rc, 0);
  const auto bad = dipaco::reports::check_ledger(ledger(with), true);
  EXPECT_TRUE(bad.empty()) << bad.front();
  const auto s = slurp(with / "summary.json"), s0 = slurp(without / "summary.json");
  EXPECT_GT(e2e::json_number(s, "inner_checkpoints"), 0);
  EXPECT_GT(e2e::json_number(s, "resumed_steps"), 0);
  EXPECT_LT(e2e::json_number(s, "lost_compute_s"), e2e::json_number(s0, "lost_compute_s"));
  // Checkpoints cost bytes: every one crosses to the storage host.
  EXPECT_GT(e2e::json_number(s, "total_bytes"), e2e::json_number(s0, "total_bytes"));
}

TEST(Elastic, CheckpointSettingsThatCannotWorkAreInputErrors) {
  const auto out = " --out " + e2e::out_dir("elastic-bad-checkpoints").string();
  const auto no_storage = run("run " + kFailures + " --set checkpoints.inner_every_steps=5" + out);
  EXPECT_EQ(no_storage.rc, 2) << no_storage.output;
  EXPECT_NE(no_storage.output.find("checkpoints.storage"), std::string::npos) << no_storage.output;
  const auto no_modules = run("run " + kFailures + " --set failures.executors_fail=true" + out);
  EXPECT_EQ(no_modules.rc, 2) << no_modules.output;
  EXPECT_NE(no_modules.output.find("checkpoints.module_every_phases"), std::string::npos) << no_modules.output;
  const auto bad_host = run("run " + kFailures + " --set checkpoints.storage=nowhere --set checkpoints.module_every_phases=1" + out);
  EXPECT_EQ(bad_host.rc, 2) << bad_host.output;
  EXPECT_NE(bad_host.output.find("checkpoints.storage"), std::string::npos) << bad_host.output;
}

}  // namespace
