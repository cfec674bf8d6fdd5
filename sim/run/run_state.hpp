// The shared state of a run on the task infrastructure, for every algorithm (the policy:
// sim/algorithms/algorithm_policy.hpp). A task scheduler (sim/algorithms/task_scheduler.hpp) queues each phase's tasks;
// worker actors (sim/algorithms/worker.hpp) take them, get their modules, run τ inner steps (simulated
// compute, real training on the pool) and upload each module's new version to that module's
// executor (sim/algorithms/executor.hpp), or all-reduce over a ring (sync). Executors average online and take
// the module's outer step when their phase closes. Preempted workers lose their task, which is
// re-queued; the ledger (events.csv) records every attempt and contribution.
#pragma once

#include <map>
#include <tuple>
#include <memory>
#include <optional>
#include <vector>

#include "engine/modules/kmeans.hpp"
#include "engine/modules/linear_router.hpp"
#include "engine/modules/paths.hpp"
#include "reports/ledger.hpp"
#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/failures/failures.hpp"
#include "sim/run/run_context.hpp"

namespace dipaco::sim {

struct RunState {
  AlgorithmPolicy policy;  // what the algorithm decides (sim/algorithms/algorithm_policy.hpp)
  engine::PathStructure structure;
  std::unique_ptr<engine::PathLayout> layout;
  std::unique_ptr<engine::ModuleStore> store;  // null without training

  struct Task {
    int path = 0;
    int worker = 0;
    std::shared_ptr<const engine::Shard> shard;  // replaced when discriminative routing re-shards
    double weight = 1.0;                         // shard size
  };
  std::vector<Task> tasks;
  int workers = 0;          // primary workers first, then the backup pool
  int primary_workers = 0;
  int64_t backup_tasks = 0;  // attempts dispatched to the backup pool
  std::vector<simgrid::s4u::Host*> task_hosts;       // the host of each task's home worker (which takes it first)
  std::vector<std::vector<int>> tasks_through_module;
  std::vector<simgrid::s4u::Host*> executor_hosts;   // per module
  std::vector<double> module_bytes;                  // simulated size of each module's message

  // Data by path (all recomputed when discriminative routing re-shards).
  std::vector<std::vector<int64_t>> validation_ids;  // per path, the sequences its evaluation uses
  std::vector<std::vector<int64_t>> heldout_ids;     // per path, early-stopping sequences (training set)
  std::vector<int64_t> shard_sizes;                  // per path, training sequences

  // Routing: k-means (one, or one per level), replaced by a linear router after the EM step.
  std::vector<engine::KMeans> routers;
  std::optional<engine::LinearRouter> linear_router;
  std::shared_ptr<const engine::ParamVector> base_params;
  std::vector<float> train_features, val_features;  // base-model features, kept for the EM step
  std::vector<int64_t> router_ids;                  // the router split (held out of training)
  struct Discriminative {
    int phase = 0;
    double router_accuracy = 0.0;
    double moved_fraction = 0.0;  // training sequences whose path changed
  };
  std::optional<Discriminative> discriminative;

  // The task queue and its failures.
  simgrid::s4u::Host* scheduler_host = nullptr;
  FailurePlan failure_plan;
  std::map<int, std::vector<std::shared_ptr<const engine::ParamVector>>> versions;  // phase -> modules it trains from
  struct Result {
    std::shared_future<engine::TrainResult> job;  // invalid without training
    int unread = 0;  // executors yet to hear of it; freed at zero or when its phase closes
    std::shared_ptr<const engine::ParamVector> base;  // asynchronous DiLoCo: the θ it trained from
  };
  std::map<std::tuple<int, int, int>, Result> results;  // (task, phase, attempt)
  // Checkpoints. A module's epoch counts its executor's recoveries: tasks that trained from an older
  // epoch of the module are stale for it. Every attempt of a (task, phase) from the same module
  // versions trains the same (training is deterministic), so re-attempts share the first one's job;
  // `saved_steps` is how far its inner state was checkpointed.
  simgrid::s4u::Host* storage_host = nullptr;
  std::vector<int> module_epoch;  // per module
  // Per module: its executor is back but still restoring its checkpoint. Its versions are the lost
  // ones until then, so no task may start from them (a path mixing a restored module with a lost
  // one would pass the per-module staleness check on the restored side).
  std::vector<char> module_recovering;
  std::vector<int> module_phase;  // per module: the phase its executor is gathering (survives restarts)
  struct ModuleCheckpoint {
    int phase = 0;  // 0: the initial modules, on the storage host from the start
    std::shared_ptr<const engine::ModuleStore::ModuleState> state;  // null without training
  };
  std::vector<ModuleCheckpoint> module_checkpoint;  // per module: the last one that reached storage
  int64_t redone_after_recovery = 0;
  struct Attempted {
    std::shared_future<engine::TrainResult> job;
    int saved_steps = 0;
    bool from_local = false;  // Streaming DiLoCo: trained from its replica's own parameters
  };
  std::map<std::tuple<int, int, int>, Attempted> attempted;  // (task, phase, sum of its modules' epochs)
  int64_t inner_checkpoints = 0, resumed_steps = 0, module_checkpoints = 0, executor_recoveries = 0;
  std::map<std::pair<int, int>, engine::AdamState> task_moments;  // inner_state path: (task, phase) -> moments after it
  // (task, phase) whose gradient dropped; Streaming DiLoCo: every (task, phase), the replica's own
  // parameters and moments after it.
  std::map<std::pair<int, int>, std::shared_future<engine::TrainResult>> own_params;
  // Streaming DiLoCo, per task: the (worker, incarnation) whose memory holds the replica's own
  // parameters; another one (after a death) starts from the global fragments.
  std::vector<std::pair<int, int>> replica_holder;
  struct Running {
    int task = -1, phase = 0, attempt = 0;
    double compute_start = -1.0;  // while computing: when the current chunk began
    double unsaved_s = 0.0;       // finished compute that no checkpoint or upload has secured yet
  };
  std::vector<Running> running;            // per worker
  std::vector<int> incarnation;            // per worker, bumped at each (re)start
  struct Death {
    int worker = 0, incarnation = 0;
  };
  std::vector<Death> deaths;               // pushed by dying workers, drained by the scheduler
  // Per worker: the (task, phase, attempt) whose uploads it completed last. A replica of a static
  // assignment does not report it (its phase's closing does), so a death after it loses nothing.
  std::vector<std::tuple<int, int, int>> uploaded;
  bool finished = false;                   // the last phase closed: workers' deaths no longer count
  double lost_compute_s = 0.0, lost_flops = 0.0;
  int64_t reexecutions = 0, dropped_gradients = 0, late_results = 0, skipped_tasks = 0;
  std::vector<reports::LedgerRow> ledger;
  void log(reports::LedgerEvent e, int phase, int module, int task, int attempt, int worker, int included = 0, int expected = 0);

  // The ring (synchronous DP): each rank's progress, which survives the worker running it, so that
  // a replacement resumes where it stopped; and per interval of τ steps, rank 0's real training.
  struct RingProgress {
    int step = 0;      // global inner step the rank is in
    int received = 0;  // ring messages of this step received
  };
  std::vector<RingProgress> ring;                   // per rank (task)
  std::vector<simgrid::s4u::Host*> ring_host;       // per rank: where it runs now
  struct RingInterval {
    int finished = 0;  // ranks done with it; the last one records its row
    std::shared_future<engine::TrainResult> job;  // rank 0's real training of it; invalid without training
    std::optional<double> loss;                     // rank 0's, once it finished the interval
    std::shared_ptr<const engine::ParamVector> params;
  };
  std::map<int, RingInterval> ring_intervals;
  std::shared_ptr<const engine::ParamVector> ring_params;  // after the last finished interval
  engine::AdamState ring_adam;
  // Rollback recovery of the ring (checkpoints.inner_every_steps; sim/algorithms/algorithm_policy.hpp).
  // The real training is not redone: redone steps compute the same gradients on the same batches,
  // so only their time and compute are spent again.
  struct RingRollback {
    int generation = 0;           // bumped at each rollback; ranks of an older one abandon their step
    std::vector<int> written{0};  // steps done at each checkpoint written (0: the initial model)
    std::vector<char> restore;    // per rank: pull the checkpoint before its next step
    // Per rank: step -> (worker, compute seconds) of finished steps that a rollback would undo.
    std::vector<std::map<int, std::pair<int, double>>> unsaved;
    struct Early {                // a ring message of a newer generation, received by a rank that
      int generation = -1, step = 0, j = 0;  // had not yet noticed the rollback: kept for it
    };
    std::vector<Early> early;     // per rank
    int trained = 0;              // intervals whose real training rank 0 has applied
    int recorded = 0;             // intervals whose metrics row is written (a redone one writes none)
    int64_t rollbacks = 0, steps_undone = 0;  // steps undone: summed over ranks
  } ring_rollback;

  // Asynchronous DiLoCo (AlgorithmPolicy::Exchange::Async): θ has a version per outer gradient
  // applied. A replica's next round trains from the θ it was last sent: by the scheduler with its
  // task, or by the executor right after applying its outer gradient (what its pull then fetches).
  struct Async {
    int64_t applied = 0;  // outer gradients applied: θ's version
    int64_t total = 0;    // the run's budget: workers × outer_steps
    struct Held {
      int64_t version = 0;
      std::shared_ptr<const engine::ParamVector> theta;  // null without training
    };
    Held latest;                              // θ now
    std::vector<Held> held;                   // per task: the θ its next round trains from
    std::vector<int64_t> steps;               // per task: inner steps done (lr schedule, batches)
    std::vector<engine::AdamState> moments;   // per task: AdamW state after its last round
    int64_t all_steps = 0;                    // inner steps of every applied round, all replicas
    int64_t staleness_sum = 0, staleness_max = 0;  // versions applied between a round's θ and its gradient
    // Since the last metrics row: staleness and the rounds' training losses (weighted by shard).
    int64_t row_staleness = 0, row_updates = 0;
    double row_loss = 0.0, row_weight = 0.0;
    struct Update {  // one applied outer gradient: updates.csv
      double time_s = 0.0;
      int64_t version = 0, trained_from = 0;  // θ's version it made, and the one its round started from
      int task = 0, worker = 0, steps = 0;
      int fragment = 0;  // Decoupled DiLoCo: the fragment merged (version: that fragment's)
    };
    std::vector<Update> updates;
    // HALoS: a local parameter server per datacentre of workers (executor r on executor_hosts[r]),
    // the global one being `store` on placement.outer.
    struct Region {
      std::unique_ptr<engine::ModuleStore> store;   // null without training
      Held latest;                                  // its θ now (version: outer gradients it applied)
      int64_t merged_version = 0;                   // its version at its last merge
      std::shared_ptr<const engine::ParamVector> merged;  // its θ then (null without training)
      std::optional<Held> global;                   // the global θ sent back, merged at its next arrival
    };
    std::vector<Region> regions;
    std::vector<int> region_of_task;
    int64_t global_merges = 0;  // accumulated updates the global server applied
  } async;

  // Decoupled DiLoCo (AlgorithmPolicy::decoupled; sim/algorithms/executor_decoupled.cpp). `async`
  // keeps the budget (applied: outer gradients received), θ now (latest: version = merges, θ
  // composed), each learner's inner steps and the metrics rows' sums; this adds the fragments, the
  // synchroniser's pending outer gradients and what each learner last received.
  struct Decoupled {
    std::vector<std::vector<int>> fragment_modules;  // per fragment, its modules
    std::vector<double> fragment_bytes;              // per fragment, as sent
    std::vector<int64_t> version;                    // per fragment: its merges
    struct Anchor {  // a fragment as a learner last received it
      int64_t version = 0;
      std::shared_ptr<const engine::ParamVector> theta;  // the whole model it came with (null without training)
    };
    struct Pending {  // a learner's latest outer gradient of a fragment, not merged yet
      std::shared_future<engine::TrainResult> job;        // its parameters when it sent it (invalid without training)
      std::shared_ptr<const engine::ParamVector> base;    // what it is a difference from
      int64_t anchor_version = 0;
      int worker = 0;
      int steps = 0;  // its weight: inner steps it stands for (tokens / tokens per step)
    };
    std::vector<std::map<int, Pending>> pending;  // per fragment: task -> its latest
    std::vector<double> quorum_since;             // per fragment: when its quorum was reached (-1: not yet)
    std::vector<std::vector<Anchor>> anchors;     // per task and fragment
    std::vector<std::vector<int>> since_sent;     // per task and fragment: inner steps since it last sent it
    std::vector<std::vector<int64_t>> dispatched; // per task: the fragments' versions in the θ its assignment carried
    struct Delivery {
      int fragment = 0;
      Anchor anchor;
    };
    std::vector<std::vector<Delivery>> delivered; // per task: merged fragments arrived, mixed in at its next phase
    std::vector<int> phases;                      // per task: phases trained (numbered across its lives)
    // Per task and fragment: its last merged outer gradient, while the fragment it made is still on
    // its way back. A newer one from the same anchor is then a difference from these parameters, not
    // from the anchor, so that no step is merged twice.
    struct Merged {
      std::pair<int, int> holder{-1, 0};  // (worker, incarnation) that sent it
      int64_t anchor_version = -1;
      std::shared_future<engine::TrainResult> job;
    };
    std::vector<std::vector<Merged>> merged_in_flight;
    int64_t merges = 0, merged = 0, replaced = 0, lost_uploads = 0;
  } decoupled;

  // Per open phase: module snapshots and the tasks' training losses.
  struct Phase {
    std::vector<std::shared_ptr<const engine::ParamVector>> modules;  // per module, once its step is done
    int done = 0;
    std::map<int, double> task_loss;  // task -> mean training loss of its first finished attempt
  };
  std::map<int, Phase> phases;

  // Early stopping: each evaluation phase's paths (as module snapshots) and held-out losses.
  struct Checkpoint {
    int phase = 0;
    std::vector<engine::PathRecipe> paths;
    std::vector<std::shared_future<engine::EvalResult>> heldout;
  };
  std::vector<Checkpoint> checkpoints;  // since the last re-shard

  // Test-time re-routing of the final model (dipaco.reroute_every > 0).
  std::vector<int64_t> reroute_ids;  // validation sequences scored
  std::vector<int> reroute_starts;   // first target position of each window
  std::vector<std::shared_future<std::vector<float>>> reroute_losses;  // per path
  std::shared_future<std::vector<float>> reroute_features;

  // Whether `task` trains in `phase` under the scenario's compute schedule (its replica index is
  // below the phase's active replicas).
  bool active(const Scenario& s, int task, int phase) const;

  // The path of each feature row under the current router.
  std::vector<int> route(const std::vector<float>& features) const;
  // Path p as the given per-module snapshots.
  engine::PathRecipe recipe(int path, const std::vector<std::shared_ptr<const engine::ParamVector>>& modules) const;
};

// Mean loss over scored tokens of the final model when routing once per sequence (on the prefix)
// and when re-routing every dipaco.reroute_every tokens; nullopt unless re-routing was requested.
struct RerouteResult {
  double once = 0.0;
  double every_window = 0.0;
};
std::optional<RerouteResult> rerouted_losses(const RunState& state, const Scenario& s);

// Early stopping: each path's best checkpoint by held-out loss, and the routed validation loss of
// the model made of those checkpoints; nullopt unless early stopping was on.
struct EarlyStopResult {
  double loss = 0.0;
  std::vector<int> best_phase;  // per path
};
std::optional<EarlyStopResult> early_stopped_loss(const RunState& state, RunContext& ctx);


// Records the routed row and the per-path rows for `phase` from the modules' snapshots.
void record_phase(RunContext& ctx, RunState& state, int phase);

}  // namespace dipaco::sim
