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

}  // namespace
