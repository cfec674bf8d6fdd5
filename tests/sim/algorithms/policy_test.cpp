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

TEST(Policy, StreamingKeepsLocalReplicasAndOtherAlgorithmsDoNot) {
  const auto streaming = policy_for(scenario(Algorithm::StreamingDiloco));
  EXPECT_TRUE(streaming.local_replicas);
  EXPECT_TRUE(streaming.static_assignment);
  EXPECT_TRUE(streaming.whole_model_rows);
  EXPECT_EQ(streaming.seed_base, 1000u);  // DiLoCo's: one fragment, no mixing is DiLoCo
  for (auto a : {Algorithm::Diloco, Algorithm::Sync, Algorithm::Dipaco}) EXPECT_FALSE(policy_for(scenario(a)).local_replicas);
}

TEST(Policy, StreamingPhasesAreHOverFStepsEachSyncingOneFragmentInTurn) {
  auto s = scenario(Algorithm::StreamingDiloco);
  s.algorithm.tau = 100;  // H
  s.algorithm.outer_steps = 3;
  s.streaming.fragments = 4;
  EXPECT_EQ(phase_count(s), 12);
  EXPECT_EQ(phase_steps(s), 25);
  // Fragment p syncs at steps p·H/F + H·n (counted from phase 1): phases 1, 5, 9 sync fragment 0.
  std::vector<int> order;
  for (int j = 1; j <= 12; ++j) order.push_back(synced_fragment(s, j));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}));
  // Strided: blocks 0 and 4 in fragment 0, 1 and 5 in fragment 1; the embeddings (segment 0) too.
  EXPECT_EQ(fragment_of_segment(0, 4), 0);
  EXPECT_EQ(fragment_of_segment(1, 4), 0);
  EXPECT_EQ(fragment_of_segment(2, 4), 1);
  EXPECT_EQ(fragment_of_segment(5, 4), 0);
  EXPECT_EQ(fragment_of_segment(6, 4), 1);
  EXPECT_TRUE(segment_syncs(s, 6, 2));
  EXPECT_FALSE(segment_syncs(s, 6, 3));
  // Every segment syncs exactly once per round of F phases.
  for (int segment = 0; segment <= 8; ++segment) {
    int syncs = 0;
    for (int j = 5; j <= 8; ++j) syncs += segment_syncs(s, segment, j) ? 1 : 0;
    EXPECT_EQ(syncs, 1) << segment;
  }
  // Rows fall on whole rounds (DiLoCo's inner steps) and on the last phase.
  s.algorithm.eval_every = 2;
  std::vector<int> rows;
  for (int j = 1; j <= 12; ++j)
    if (records_row(s, j)) rows.push_back(j);
  EXPECT_EQ(rows, (std::vector<int>{8, 12}));
}

TEST(Policy, OtherAlgorithmsSyncEverySegmentInEveryPhase) {
  auto s = scenario(Algorithm::Diloco);
  s.algorithm.tau = 50;
  s.algorithm.outer_steps = 7;
  s.streaming.fragments = 4;  // ignored
  EXPECT_EQ(phase_count(s), 7);
  EXPECT_EQ(phase_steps(s), 50);
  EXPECT_EQ(synced_fragment(s, 3), -1);
  for (int segment = 0; segment < 3; ++segment) EXPECT_TRUE(segment_syncs(s, segment, 2));
  EXPECT_TRUE(records_row(s, 1));
}

TEST(Policy, AsyncDilocoAppliesOnArrivalWithDilocosReplicas) {
  const auto p = policy_for(scenario(Algorithm::AsyncDiloco));
  EXPECT_EQ(p.exchange, AlgorithmPolicy::Exchange::Async);
  EXPECT_TRUE(p.static_assignment);
  EXPECT_TRUE(p.whole_model_rows);
  EXPECT_EQ(p.seed_base, 1000u);  // DiLoCo's: one replica is DiLoCo
  EXPECT_FALSE(p.local_replicas);
  EXPECT_FALSE(p.hierarchical);
  const auto halos = policy_for(scenario(Algorithm::Halos));
  EXPECT_EQ(halos.exchange, AlgorithmPolicy::Exchange::Async);
  EXPECT_TRUE(halos.hierarchical);
}

TEST(Policy, DynamicLocalUpdatesScaleHWithTheHostsSpeed) {
  EXPECT_EQ(dylu_steps(50, 989e12, 989e12), 50);  // the fastest host takes τ
  EXPECT_EQ(dylu_steps(50, 312e12, 989e12), 16);  // an A100 against an H100: 15.8 rounds to 16
  EXPECT_EQ(dylu_steps(50, 125e12, 989e12), 6);   // a V100: 6.3
  EXPECT_EQ(dylu_steps(50, 0.4 * 312e12, 989e12), 6);  // a straggler at 40 % of an A100
  EXPECT_EQ(dylu_steps(50, 1e9, 989e12), 1);       // at least one step
  EXPECT_EQ(dylu_steps(50, 2e15, 989e12), 50);     // never more than τ
  EXPECT_EQ(dylu_steps(50, 0.0, 989e12), 1);       // a host that is off computes nothing: one step when back
}

TEST(Policy, DecoupledLearnersAreAsynchronousReplicasWithStreamingsFragments) {
  auto s = scenario(Algorithm::DecoupledDiloco);
  const auto p = policy_for(s);
  EXPECT_TRUE(p.decoupled);
  EXPECT_EQ(p.exchange, AlgorithmPolicy::Exchange::Async);
  EXPECT_TRUE(p.static_assignment);
  EXPECT_FALSE(p.local_replicas);  // a learner's own parameters live in its worker, not in phases
  EXPECT_EQ(p.seed_base, 1000u);
  for (auto a : {Algorithm::Diloco, Algorithm::StreamingDiloco, Algorithm::AsyncDiloco, Algorithm::Halos})
    EXPECT_FALSE(policy_for(scenario(a)).decoupled);
  s.algorithm.tau = 100;
  s.algorithm.outer_steps = 3;
  s.decoupled.fragments = 4;
  EXPECT_EQ(fragments(s), 4);
  EXPECT_EQ(phase_steps(s), 25);
  EXPECT_EQ(phase_count(s), 12);
  EXPECT_EQ(synced_fragment(s, 1), 0);
  EXPECT_EQ(synced_fragment(s, 6), 1);
  s.streaming.fragments = 8;  // streaming's key is not Decoupled DiLoCo's
  EXPECT_EQ(fragments(s), 4);
  EXPECT_EQ(fragments(scenario(Algorithm::AsyncDiloco)), 1);
}

TEST(Policy, DecoupledQuorumIsAFractionOfTheLearnersRoundedUp) {
  EXPECT_EQ(decoupled_quorum(0.5, 4), 2u);
  EXPECT_EQ(decoupled_quorum(0.5, 3), 2u);
  EXPECT_EQ(decoupled_quorum(0.75, 4), 3u);
  EXPECT_EQ(decoupled_quorum(1.0, 16), 16u);
  EXPECT_EQ(decoupled_quorum(0.01, 4), 1u);  // at least one
  EXPECT_EQ(decoupled_quorum(0.3, 10), 3u);  // 0.3 · 10 is 3.0000000000000004 in doubles: still 3
}

TEST(Policy, DecoupledMergesOnTheQuorumAfterTheGraceWindowOrWhenEveryLearnerIsIn) {
  // 4 learners, quorum 2, grace window 5 s opened at t = 10 s.
  EXPECT_FALSE(decoupled_merge_due(1, 2, 4, 100.0, 10.0, 5.0));  // below the quorum: never
  EXPECT_FALSE(decoupled_merge_due(2, 2, 4, 12.0, 10.0, 5.0));   // inside the window
  EXPECT_FALSE(decoupled_merge_due(3, 2, 4, 14.9, 10.0, 5.0));
  EXPECT_TRUE(decoupled_merge_due(2, 2, 4, 15.0, 10.0, 5.0));    // the window is over
  EXPECT_TRUE(decoupled_merge_due(4, 2, 4, 10.5, 10.0, 5.0));    // everyone is in: no reason to wait
  EXPECT_TRUE(decoupled_merge_due(2, 2, 4, 10.0, 10.0, 0.0));    // no window: at once
  // A timed wait that wakes at 10.0 + (15.0 − 10.0) may land a rounding below 15.
  EXPECT_TRUE(decoupled_merge_due(2, 2, 4, 15.0 - 1e-12, 10.0, 5.0));
}
