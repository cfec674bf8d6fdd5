#include "sim/algorithms/algorithm_policy.hpp"

#include <algorithm>
#include <cmath>

#include "engine/train/seed.hpp"

namespace dipaco::sim {

AlgorithmPolicy policy_for(const Scenario& s) {
  AlgorithmPolicy p;
  if (s.algorithm.name == Algorithm::Diloco) {
    // DiLoCo: k fixed replicas of the whole model; the outer optimiser sends θ to each and averages
    // what comes back, weighted by shard size. Seeds as the replicas always drew them.
    p.static_assignment = true;
    p.whole_model_rows = true;
    p.seed_base = 1000;
    p.weighted_train_loss = true;
  } else if (s.algorithm.name == Algorithm::StreamingDiloco) {
    // DiLoCo's replicas, each keeping its own parameters between the fragments' synchronisations.
    p.static_assignment = true;
    p.whole_model_rows = true;
    p.seed_base = 1000;
    p.weighted_train_loss = true;
    p.local_replicas = true;
  } else if (s.algorithm.name == Algorithm::AsyncDiloco || s.algorithm.name == Algorithm::Halos) {
    // DiLoCo's replicas and outer optimizer, with no barrier between rounds; HALoS puts a server
    // per datacentre between them.
    p.static_assignment = true;
    p.whole_model_rows = true;
    p.seed_base = 1000;
    p.weighted_train_loss = true;
    p.exchange = AlgorithmPolicy::Exchange::Async;
    p.hierarchical = s.algorithm.name == Algorithm::Halos;
  } else if (s.algorithm.name == Algorithm::DecoupledDiloco) {
    // DiLoCo's replicas as independent learners, each on its shard, with a synchroniser on the
    // outer host instead of a barrier.
    p.static_assignment = true;
    p.whole_model_rows = true;
    p.seed_base = 1000;
    p.weighted_train_loss = true;
    p.exchange = AlgorithmPolicy::Exchange::Async;
    p.decoupled = true;
  } else if (s.algorithm.name == Algorithm::Sync) {
    // Synchronous DP: k fixed ranks that start together with the same model and all-reduce their
    // gradients every step. Rank 0 owns the real training (one k-fold batch per step equals the
    // average of the k gradients), seeded as it always was.
    p.static_assignment = true;
    p.whole_model_rows = true;
    p.seed_base = 999;
    p.exchange = AlgorithmPolicy::Exchange::Ring;
    if (s.checkpoints.inner_every_steps > 0) p.ring_recovery = AlgorithmPolicy::RingRecovery::Rollback;
  }
  return p;
}

int fragments(const Scenario& s) {
  if (s.algorithm.name == Algorithm::StreamingDiloco) return s.streaming.fragments;
  if (s.algorithm.name == Algorithm::DecoupledDiloco) return s.decoupled.fragments;
  return 1;
}

namespace {
bool fragmented(const Scenario& s) {
  return s.algorithm.name == Algorithm::StreamingDiloco || s.algorithm.name == Algorithm::DecoupledDiloco;
}
}  // namespace

int phase_count(const Scenario& s) { return s.algorithm.outer_steps * fragments(s); }

int phase_steps(const Scenario& s) { return s.algorithm.tau / fragments(s); }

int fragment_of_segment(int segment, int fragments) { return segment == 0 ? 0 : (segment - 1) % fragments; }

int synced_fragment(const Scenario& s, int phase) { return fragmented(s) ? (phase - 1) % fragments(s) : -1; }

bool segment_syncs(const Scenario& s, int segment, int phase) {
  return !fragmented(s) || fragment_of_segment(segment, fragments(s)) == synced_fragment(s, phase);
}

bool records_row(const Scenario& s, int phase) {
  const int round = s.algorithm.eval_every * fragments(s);
  return phase % round == 0 || phase == phase_count(s);
}

int dylu_steps(int tau, double speed, double fastest) {
  if (!(fastest > 0) || !(speed > 0)) return 1;
  return std::max(1, static_cast<int>(std::lround(tau * std::min(1.0, speed / fastest))));
}

size_t decoupled_quorum(double quorum, size_t learners) {
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(quorum * static_cast<double>(learners) - 1e-9)));
}

bool decoupled_merge_due(size_t pending, size_t quorum, size_t learners, double now, double quorum_since, double grace_s) {
  // (A nanosecond's slack: a timed wait wakes at now + (deadline − now), which rounds.)
  return pending >= quorum && (pending >= learners || now >= quorum_since + grace_s - 1e-9);
}

std::optional<int64_t> primary_pick(std::optional<int64_t> first_home, std::optional<int64_t> first_queued) {
  return first_home ? first_home : first_queued;
}

bool backup_may_take(bool home_up, bool home_busy, int home_phase, int task_phase) {
  return !home_up || (home_busy && home_phase >= task_phase);
}

size_t contributions_needed(const Scenario& s, size_t expected) {
  if (s.dipaco.phase_policy != PhasePolicy::Quorum) return expected;
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(s.dipaco.quorum * static_cast<double>(expected) - 1e-9)));
}

bool gradient_dropped(const Scenario& s, int task, int phase) {
  if (s.failures.drop_probability <= 0.0) return false;
  const uint64_t h = engine::mix_seed(engine::mix_seed(s.failures.seed, 0xd209), static_cast<uint64_t>(task) * 1000003ULL + static_cast<uint64_t>(phase));
  return static_cast<double>(h >> 11) / 9007199254740992.0 < s.failures.drop_probability;
}

bool ring_checkpoint_due(int steps_done, int every, int total_steps) {
  // The last step needs none: the run is over, and the final model is in the metrics.
  return every > 0 && steps_done > 0 && steps_done < total_steps && steps_done % every == 0;
}

int ring_rollback_to(const std::vector<int>& written, int slowest) {
  for (auto it = written.rbegin(); it != written.rend(); ++it)
    if (*it <= slowest) return *it;
  return 0;
}

}  // namespace dipaco::sim
