// Adaptive compute schedules: the active replicas per phase (DiLoCo's Fig. 7 shapes).
#include <gtest/gtest.h>

#include <vector>

#include "sim/scenario/compute_schedule.hpp"

namespace {
using dipaco::sim::ComputeSchedule;

std::vector<int> per_phase(ComputeSchedule c, int replicas, int phases) {
  std::vector<int> out;
  for (int k = 1; k <= phases; ++k) out.push_back(dipaco::sim::active_replicas(c, replicas, k, phases));
  return out;
}

TEST(ComputeSchedule, ShapesFollowTheirNames) {
  EXPECT_EQ(per_phase(ComputeSchedule::Constant, 8, 4), (std::vector<int>{8, 8, 8, 8}));
  EXPECT_EQ(per_phase(ComputeSchedule::Doubling, 8, 4), (std::vector<int>{4, 4, 8, 8}));
  EXPECT_EQ(per_phase(ComputeSchedule::Halving, 8, 4), (std::vector<int>{8, 8, 4, 4}));
  EXPECT_EQ(per_phase(ComputeSchedule::RampUp, 8, 8), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(per_phase(ComputeSchedule::RampDown, 8, 8), (std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1}));
  // Odd counts: half rounds up, the first half of an odd number of phases is the larger one.
  EXPECT_EQ(per_phase(ComputeSchedule::Doubling, 3, 5), (std::vector<int>{2, 2, 2, 3, 3}));
  // One phase: a ramp starts where it starts.
  EXPECT_EQ(per_phase(ComputeSchedule::RampUp, 4, 1), (std::vector<int>{1}));
}

TEST(ComputeSchedule, EveryPhaseKeepsAtLeastOneReplicaAndNeverMoreThanAll) {
  for (auto c : {ComputeSchedule::Constant, ComputeSchedule::Doubling, ComputeSchedule::Halving, ComputeSchedule::RampUp,
                 ComputeSchedule::RampDown})
    for (int r = 1; r <= 9; ++r)
      for (int phases = 1; phases <= 12; ++phases)
        for (int v : per_phase(c, r, phases)) {
          EXPECT_GE(v, 1);
          EXPECT_LE(v, r);
        }
}

TEST(ComputeSchedule, ReplicaPhasesAccumulate) {
  // Doubling and halving spend the same compute; ramps spend the same as each other.
  EXPECT_EQ(dipaco::sim::replica_phases_until(ComputeSchedule::Doubling, 8, 4, 4), 24);
  EXPECT_EQ(dipaco::sim::replica_phases_until(ComputeSchedule::Halving, 8, 4, 4), 24);
  EXPECT_EQ(dipaco::sim::replica_phases_until(ComputeSchedule::RampUp, 8, 8, 8), 36);
  EXPECT_EQ(dipaco::sim::replica_phases_until(ComputeSchedule::RampDown, 8, 3, 8), 21);
}

}  // namespace
