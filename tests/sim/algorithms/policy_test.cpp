// The algorithms' decisions without SimGrid (sim/algorithms/algorithm_policy.hpp): who assigns tasks and how,
// what closes a phase, which outer gradients are dropped.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/failures/failure_cause.hpp"

using namespace dipaco::sim;

namespace {

Scenario scenario(Algorithm a) {
  Scenario s;
  s.algorithm.name = a;
  return s;
}

}  // namespace

TEST(Policy, DilocoPushesFixedReplicasAndDipacoPoolsWorkers) {
  const auto diloco = policy_for(scenario(Algorithm::Diloco));
  EXPECT_TRUE(diloco.static_assignment);
  EXPECT_TRUE(diloco.whole_model_rows);
  EXPECT_TRUE(diloco.weighted_train_loss);
  EXPECT_EQ(diloco.seed_base, 1000u);
  const auto dipaco = policy_for(scenario(Algorithm::Dipaco));
  EXPECT_FALSE(dipaco.static_assignment);
  EXPECT_FALSE(dipaco.whole_model_rows);
  EXPECT_EQ(dipaco.seed_base, 5000u);
}

TEST(Policy, PhasesCloseOnAllOrOnTheQuorumRoundedUp) {
  auto s = scenario(Algorithm::Dipaco);
  EXPECT_EQ(contributions_needed(s, 8), 8u);
  s.dipaco.phase_policy = PhasePolicy::Deadline;  // all, unless the deadline comes first
  EXPECT_EQ(contributions_needed(s, 8), 8u);
  s.dipaco.phase_policy = PhasePolicy::Quorum;
  s.dipaco.quorum = 0.75;
  EXPECT_EQ(contributions_needed(s, 8), 6u);
  EXPECT_EQ(contributions_needed(s, 7), 6u);  // ⌈5.25⌉
  EXPECT_EQ(contributions_needed(s, 4), 3u);
  s.dipaco.quorum = 0.01;
  EXPECT_EQ(contributions_needed(s, 4), 1u);  // at least one
  s.dipaco.quorum = 0.5;
  EXPECT_EQ(contributions_needed(s, 4), 2u);  // exactly half: no rounding up past it
}

TEST(Policy, DropsDependOnTheSeedAloneAndMatchTheirProbability) {
  auto s = scenario(Algorithm::Dipaco);
  EXPECT_FALSE(gradient_dropped(s, 3, 4));
  s.failures.drop_probability = 0.25;
  int dropped = 0;
  for (int task = 0; task < 100; ++task)
    for (int phase = 1; phase <= 100; ++phase) {
      const bool d = gradient_dropped(s, task, phase);
      EXPECT_EQ(d, gradient_dropped(s, task, phase));  // the same fate for every attempt
      dropped += d ? 1 : 0;
    }
  EXPECT_NEAR(dropped / 10000.0, 0.25, 0.02);
  auto other = s;
  other.failures.seed += 1;
  int differ = 0;
  for (int task = 0; task < 100; ++task) differ += gradient_dropped(s, task, 1) != gradient_dropped(other, task, 1) ? 1 : 0;
  EXPECT_GT(differ, 10);
}

TEST(FailureCause, EveryCauseHasItsOwnName) {
  std::set<std::string> names;
  for (size_t c = 0; c < kFailureCauses; ++c) names.insert(to_string(static_cast<FailureCause>(c)));
  EXPECT_EQ(names.size(), kFailureCauses);
  EXPECT_EQ(std::string(to_string(FailureCause::HostDown)), "host_down");
}

TEST(Policy, PrimaryWorkersTakeTheirOwnTaskFirstThenSteal) {
  EXPECT_EQ(primary_pick(7, 2), std::optional<int64_t>(7));  // its home task, though another is ahead
  EXPECT_EQ(primary_pick(std::nullopt, 2), std::optional<int64_t>(2));  // none of its own: the first queued
  EXPECT_EQ(primary_pick(std::nullopt, std::nullopt), std::nullopt);
}

TEST(Policy, TheBackupPoolTakesOnlyWhatTheHomeWorkerCannot) {
  EXPECT_TRUE(backup_may_take(false, false, 0, 3));  // home host down
  EXPECT_TRUE(backup_may_take(true, true, 3, 3));    // home busy with this phase's task
  EXPECT_TRUE(backup_may_take(true, true, 4, 3));
  EXPECT_FALSE(backup_may_take(true, true, 2, 3));   // home finishing an earlier phase: it will ask
  EXPECT_FALSE(backup_may_take(true, false, 0, 3));  // home idle
}

TEST(Policy, TheRingResumesWithoutCheckpointsAndRollsBackWithThem) {
  auto s = scenario(Algorithm::Sync);
  EXPECT_EQ(policy_for(s).ring_recovery, AlgorithmPolicy::RingRecovery::Resume);
  s.checkpoints.inner_every_steps = 50;
  EXPECT_EQ(policy_for(s).ring_recovery, AlgorithmPolicy::RingRecovery::Rollback);
  auto diloco = scenario(Algorithm::Diloco);
  diloco.checkpoints.inner_every_steps = 50;  // DiLoCo's inner checkpoints are per replica: no ring
  EXPECT_EQ(policy_for(diloco).ring_recovery, AlgorithmPolicy::RingRecovery::Resume);
}

TEST(Policy, RankZeroCheckpointsEveryNStepsButNotAfterTheLast) {
  std::vector<int> due;
  for (int done = 0; done <= 12; ++done)
    if (ring_checkpoint_due(done, 4, 12)) due.push_back(done);
  EXPECT_EQ(due, (std::vector<int>{4, 8}));
  EXPECT_FALSE(ring_checkpoint_due(4, 0, 12));  // off
}

TEST(Policy, ARollbackGoesToTheLastCheckpointEveryRankHadReached) {
  const std::vector<int> written{0, 50, 100};
  EXPECT_EQ(ring_rollback_to(written, 130), 100);
  EXPECT_EQ(ring_rollback_to(written, 100), 100);
  // Rank 0 wrote step 100 while the last hop of step 100 was still on its way to a rank at 99.
  EXPECT_EQ(ring_rollback_to(written, 99), 50);
  EXPECT_EQ(ring_rollback_to({0}, 7), 0);  // no checkpoint yet: the initial model
}
