// What each algorithm decides, apart from the actors that carry it out. The scheduler, workers and
// executors (sim/task_scheduler.*, sim/dipaco_actors.*) are one infrastructure for every
// algorithm; they ask this policy, which is plain data and functions that unit tests drive without
// SimGrid (tests/sim/algorithms/policy_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

struct AlgorithmPolicy {
  // Each task belongs to one replica's worker, which gets it pushed when its phase opens, together
  // with the task's modules: DiLoCo's broadcast of θ. Otherwise workers ask the scheduler for work
  // and pull their path's modules from the executors (DiPaCo's worker pool).
  bool static_assignment = false;
  // The metrics: one row for the whole model (evaluated on data.eval_sequences) rather than a
  // routed row plus one row per path.
  bool whole_model_rows = false;
  // Task t's inner steps draw their batches from seed mix_seed(scenario seed, seed_base + t).
  uint64_t seed_base = 5000;
  // The training loss of a phase: task losses weighted by shard size (true) or plain means per path.
  bool weighted_train_loss = false;
  // How workers exchange what they trained: uploads to the modules' executors, which average and
  // take the outer step once per phase; or a ring all-reduce of gradients after every inner step
  // (synchronous data parallelism: no executors, phases are only the metrics' intervals).
  // Async (asynchronous DiLoCo): each replica's outer gradient is applied as it arrives, and the
  // replica trains on from the result, with no phases to close.
  enum class Exchange { Executors, Ring, Async } exchange = Exchange::Executors;
  // What the ring does when a rank dies. Resume (no checkpoints): the rank's replacement rejoins
  // the ring where the rank stopped, as an elastic job that heals from its peers would. Rollback
  // (checkpoints.inner_every_steps): the job restarts from its last checkpoint, as a torchrun job
  // does: every rank abandons its step, pulls the checkpoint and redoes the steps since.
  enum class RingRecovery { Resume, Rollback } ring_recovery = RingRecovery::Resume;
  // Streaming DiLoCo: each replica keeps its own parameters and AdamW state from phase to phase;
  // a phase synchronises only one fragment (`synced_fragment`), whose outer update the replica
  // mixes into its own value. A replica whose worker lost them (a death) starts again from every
  // fragment's global value, with fresh moments.
  bool local_replicas = false;
  // HALoS (Exchange::Async): a parameter server per datacentre applies its workers' outer
  // gradients and merges periodically with a global one (sim/algorithms/executor_async.cpp).
  bool hierarchical = false;
  // Decoupled DiLoCo (Exchange::Async): learners train on without waiting and send one fragment per
  // phase to a synchroniser that merges on a quorum (sim/algorithms/executor_decoupled.cpp).
  bool decoupled = false;
};

AlgorithmPolicy policy_for(const Scenario& s);

// Phases and their length. A phase ends with an outer step: DiLoCo's and DiPaCo's rounds of τ
// steps, sync's intervals between evaluations, Streaming DiLoCo's H/F steps that end with one
// fragment's synchronisation (outer_steps rounds of H steps make outer_steps · F phases).
int phase_count(const Scenario& s);
int phase_steps(const Scenario& s);
// Streaming DiLoCo's fragments (sim/scenario/scenario.hpp: StreamingSpec). Segment 0 (embeddings and
// final norm) goes with fragment 0; segment l + 1 (block l) with fragment l mod F. Phase j syncs
// fragment (j − 1) mod F. Every other algorithm syncs every module in every phase (-1).
int fragment_of_segment(int segment, int fragments);
int synced_fragment(const Scenario& s, int phase);
bool segment_syncs(const Scenario& s, int segment, int phase);
// Streaming and Decoupled DiLoCo's fragment count (streaming.fragments, decoupled.fragments); 1 for
// every other algorithm.
int fragments(const Scenario& s);
// Whether `phase` records a metrics row: every algorithm.eval_every rounds (Streaming DiLoCo: rounds
// of F phases, so that rows fall on the same inner steps as DiLoCo's) and the last phase.
bool records_row(const Scenario& s, int phase);

// Asynchronous DiLoCo's dynamic local updates (async.dylu): a replica's inner steps per round in
// proportion to its host's speed now, the fastest replica taking τ; at least 1.
int dylu_steps(int tau, double speed, double fastest);

// Decoupled DiLoCo's synchroniser (sim/scenario/scenario.hpp: DecoupledSpec). The learners a merge
// needs: ⌈quorum · learners⌉, at least 1. A fragment with `pending` learners' outer gradients is
// merged once the quorum is there and either every learner is, or the grace window that opened
// when the quorum was reached (at `quorum_since`) has passed.
size_t decoupled_quorum(double quorum, size_t learners);
bool decoupled_merge_due(size_t pending, size_t quorum, size_t learners, double now, double quorum_since, double grace_s);

// Assignment. A primary worker takes the first queued task whose home it is (`first_home`), else
// the first queued task (`first_queued`: work stealing); nothing when the queue is empty.
std::optional<int64_t> primary_pick(std::optional<int64_t> first_home, std::optional<int64_t> first_queued);
// The backup pool takes a queued task of `task_phase` only when its home worker is down, or busy
// with a task of that phase or a later one: a home worker still finishing an earlier phase's task
// (its "done" on its way) is about to ask for its own.
bool backup_may_take(bool home_up, bool home_busy, int home_phase, int task_phase);

// How many contributions close a phase that `expected` tasks train in, under the scenario's phase
// policy (wait_all: all; quorum: ⌈q·expected⌉, at least 1; deadline: all, or what came by then).
size_t contributions_needed(const Scenario& s, size_t expected);

// Whether (task, phase)'s outer gradient is lost on the way (failures.drop_probability): a function
// of the seed alone, so a re-executed attempt meets the same fate and drops do not depend on the
// order of events.
bool gradient_dropped(const Scenario& s, int task, int phase);

// Rollback recovery of the ring. Rank 0 writes a checkpoint after step `steps_done` (counted from
// 1) when it is a multiple of `every`. A rollback goes to the last written checkpoint that every
// rank had reached (`slowest` steps done): rank 0 writes once its own all-reduce is over, while the
// last hop to another rank may still be on its way. `written` is ascending and starts with 0.
bool ring_checkpoint_due(int steps_done, int every, int total_steps);
int ring_rollback_to(const std::vector<int>& written, int slowest);

}  // namespace dipaco::sim
