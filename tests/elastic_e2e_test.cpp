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

}  // namespace
