// The exactly-once checker on hand-written ledgers: a clean one passes, each violation is named.
#include <gtest/gtest.h>

#include "reports/ledger.hpp"

namespace dipaco::reports {
namespace {

using E = LedgerEvent;

// Two tasks through module 0, one phase: task 1's first attempt is lost and re-run; a straggler
// of an earlier phase arrives late after the update.
std::vector<LedgerRow> clean() {
  return {{0.0, E::Dispatch, 1, -1, 0, 1, 0},  {0.0, E::Dispatch, 1, -1, 1, 1, 1}, {5.0, E::Lost, 1, -1, 1, 1, 1},
          {5.0, E::Dispatch, 1, -1, 1, 2, 2},  {9.0, E::Accepted, 1, 0, 0, 1, 0},  {12.0, E::Accepted, 1, 0, 1, 2, 2},
          {12.0, E::Duplicate, 1, 0, 1, 2, 2}, {12.0, E::Update, 1, 0, -1, 0, -1, 2, 2}, {13.0, E::Late, 1, 0, 0, 1, 0}};
}

bool mentions(const std::vector<std::string>& bad, const std::string& what) {
  for (const auto& b : bad)
    if (b.find(what) != std::string::npos) return true;
  return false;
}

TEST(Ledger, CleanLedgerPassesAndRoundTripsThroughCsv) {
  EXPECT_TRUE(check_ledger(clean(), true).empty());
  const auto rows = parse_ledger_csv(render_ledger_csv(clean()));
  ASSERT_EQ(rows.size(), clean().size());
  EXPECT_EQ(rows[2].event, E::Lost);
  EXPECT_TRUE(check_ledger(rows, true).empty());
  EXPECT_THROW(parse_ledger_csv("nonsense\n"), std::runtime_error);
}

TEST(Ledger, ARecoveryForgetsWhatTheExecutorHadAcceptedInThatPhase) {
  // Task 0 is accepted, the executor restarts from its checkpoint of phase 0, turns away task 1's
  // stale contribution, and accepts both tasks again before its update.
  std::vector<LedgerRow> rows = {{0.0, E::Dispatch, 1, -1, 0, 1, 0},  {0.0, E::Dispatch, 1, -1, 1, 1, 1},
                                 {3.0, E::Accepted, 1, 0, 0, 1, 0},   {4.0, E::Recovered, 1, 0, -1, 0, -1, 0},
                                 {5.0, E::Stale, 1, 0, 1, 1, 1},      {5.0, E::Dispatch, 1, -1, 0, 2, 0},
                                 {5.0, E::Dispatch, 1, -1, 1, 2, 1},  {9.0, E::Accepted, 1, 0, 0, 2, 0},
                                 {9.0, E::Accepted, 1, 0, 1, 2, 1},   {9.0, E::Update, 1, 0, -1, 0, -1, 2, 2}};
  EXPECT_TRUE(check_ledger(rows, true).empty()) << check_ledger(rows, true).front();
  EXPECT_EQ(parse_ledger_csv(render_ledger_csv(rows))[3].event, E::Recovered);
  // Counting the accepted row from before the recovery is a violation.
  auto miscount = rows;
  miscount.back().included = 3;
  EXPECT_TRUE(mentions(check_ledger(miscount, true), "update includes 3 contributions but 2 were accepted"));
  // So is a recovery after the update it would have to precede.
  auto after = rows;
  std::swap(after[3], after.back());
  after[3].time_s = 4.0;
  EXPECT_TRUE(mentions(check_ledger(after, true), "recovered after its update"));
}

TEST(Ledger, EachViolationIsNamed) {
  auto twice = clean();
  twice[6].event = E::Accepted;  // the duplicate counted again
  EXPECT_TRUE(mentions(check_ledger(twice, true), "accepted twice"));

  auto miscount = clean();
  miscount[7].included = 1;
  EXPECT_TRUE(mentions(check_ledger(miscount, true), "update includes 1 contributions but 2 were accepted"));

  auto undispatched = clean();
  undispatched[5].attempt = 3;
  EXPECT_TRUE(mentions(check_ledger(undispatched, true), "no earlier dispatch"));

  auto missing = clean();
  missing.erase(missing.begin() + 5);  // task 1 never heard: fine for a quorum, not for wait_all
  missing[6].included = 1;
  missing.erase(missing.begin() + 5);  // and its duplicate
  EXPECT_TRUE(check_ledger(missing, false).empty());
  EXPECT_TRUE(mentions(check_ledger(missing, true), "heard from 1 of 2"));

  auto after = clean();
  std::swap(after[5], after[7]);  // accepted after the update
  EXPECT_TRUE(mentions(check_ledger(after, false), "not before its module's update"));

  auto skipped_attempt = clean();
  skipped_attempt[3].attempt = 3;
  EXPECT_TRUE(mentions(check_ledger(skipped_attempt, true), "attempt 3 dispatched after attempt 1"));
}

}  // namespace
}  // namespace dipaco::reports
