// All state of one run, shared by its actors (no globals): the scenario, the cost model, the data,
// the training thread pool, the accounting and the metrics rows. Actors only touch it from the
// simulation's thread; pool threads only see the immutable data it points to.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/modules/paths.hpp"
#include "engine/train/thread_pool.hpp"
#include "engine/train/trainer.hpp"
#include "reports/metrics_csv.hpp"
#include "sim/scenario/cost_model.hpp"
#include "sim/failures/failure_cause.hpp"
#include "sim/platform/link_traces.hpp"
#include "sim/scenario/scenario.hpp"

namespace simgrid::s4u {
class Host;
class Link;
}

namespace dipaco::sim {

class TraceRecorder;
class FlowGroups;

struct PendingRow {
  reports::MetricsRow row;
  // Evaluations whose losses combine, weighted by scored tokens, into row.val_loss (DiPaCo's routed
  // perplexity: each path on the validation sequences routed to it). Empty without training.
  std::vector<std::shared_future<engine::EvalResult>> evals;
  bool ready() const;
  std::optional<double> combined_loss() const;  // blocks until the evaluations finish
};

struct RunContext {
  const Scenario& scenario;
  CostModel cost;
  bool training = true;

  // Real data (null when training is off): one shard per worker, weighted by its sequence count.
  std::shared_ptr<const engine::SequenceSet> train_data, validation_data;
  std::vector<std::shared_ptr<const engine::Shard>> shards;
  std::vector<double> shard_weights;
  engine::ParamVector initial_params;  // the warm start (init:), else fresh parameters
  engine::ThreadPool* pool = nullptr;
  // The warm start: whether it came from the cache (unset without training or without one), its
  // cache file, and when the run proper starts (its simulated pre-training time, init.count_time).
  std::optional<bool> warm_start_reused;
  std::string warm_start_file;
  double start_time = 0.0;

  // Simulated hosts.
  simgrid::s4u::Host* outer_host = nullptr;
  std::vector<simgrid::s4u::Host*> worker_hosts;

  // The platform's trace files, and the links that can fail (a state profile) with when each goes
  // down for good (infinity: it always comes back).
  PlatformTraces platform_traces;
  std::vector<std::pair<const simgrid::s4u::Link*, double>> failing_links;

  // Accounting.
  double wan_bytes = 0.0;
  double total_bytes = 0.0;
  int64_t synchronisations = 0;
  // The most bytes one worker sends in one exchange: its outer gradients of one phase (Streaming
  // DiLoCo: one fragment's), or one step's ring traffic (sync). What sets the peak bandwidth.
  double peak_upload_bytes = 0.0;
  int64_t simulated_events = 0;  // SimGrid activities (communications, executions) that ended
  std::vector<double> compute_seconds;  // per worker
  std::vector<PendingRow> rows;
  std::string error;  // first failure raised inside an actor
  // Link failures: transfer attempts that a down link broke in flight or kept from starting, the
  // attempts made again after one, the bytes of attempts broken in flight (counted in total_bytes /
  // wan_bytes, and sent again in full), and transfers given up (with the first one's reason).
  int64_t link_failures = 0, link_retries = 0;
  double wasted_bytes = 0.0, wasted_wan_bytes = 0.0;
  int64_t abandoned_transfers = 0;
  FailureCounts failures{};  // by cause (sim/failures/failure_cause.hpp)
  void count_failure(FailureCause c) { ++failures[static_cast<size_t>(c)]; }
  std::string first_abandoned;

  // Called, from the recording actor, right after the last outer step's whole-model row is
  // recorded: the end of training (summary.json's simulated wall-clock). Energy is read here.
  std::function<void()> on_last_row;
  // Fractions of worker host-time: compute, communication, idle, down (TraceRecorder::breakdown);
  // empty without a trace.
  std::optional<std::array<double, 4>> utilisation_breakdown;
  TraceRecorder* trace = nullptr;  // sim/platform/transfer.cpp registers every transfer here; null: no trace.json

  // network.coarse: identical transfers of one instant share a flow (sim/platform/flow_groups.hpp); null: exact.
  FlowGroups* flow_groups = nullptr;

  // Progress.
  bool progress_line = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  RunContext(const Scenario& s, CostModel c) : scenario(s), cost(std::move(c)), training(s.training) {}

  // Queues `steps` real inner steps from global step `step_begin` on the pool.
  std::shared_future<engine::TrainResult> submit_training(std::shared_ptr<const engine::ParamVector> params,
                                                          engine::AdamState opt_state,
                                                          std::vector<std::shared_ptr<const engine::Shard>> shards,
                                                          int64_t step_begin, int64_t steps, uint64_t seed);

  // Queues an evaluation of `params` on the pool; returns an invalid future without training.
  std::shared_future<engine::EvalResult> submit_eval(std::shared_ptr<const engine::ParamVector> params);
  // The same on chosen sequences, composing the path inside the job (so queued evaluations hold
  // only module snapshots).
  std::shared_future<engine::EvalResult> submit_eval_ids(engine::PathRecipe path, std::vector<int64_t> ids);

 private:
  void report_progress(int outer_step, std::optional<double> train_loss, double sim_time);

 public:

  // Appends a metrics row at the current simulated time and reports progress.
  // Asynchronous DiLoCo passes the inner steps of all replicas together (its rounds differ in
  // length) and the mean staleness since the row before.
  void record(int outer_step, std::optional<double> train_loss, std::shared_ptr<const engine::ParamVector> params,
              std::optional<int64_t> all_steps = std::nullopt, std::optional<double> staleness = std::nullopt);

  // DiPaCo: one routed row for the whole model plus a row per path (evaluated on its routed
  // validation sequences). Vectors are indexed by path; recipes may be empty without training.
  void record_routed(int outer_step, const std::vector<engine::PathRecipe>& paths,
                     const std::vector<std::vector<int64_t>>& validation_ids, const std::vector<std::optional<double>>& train_losses,
                     const std::vector<int64_t>& shard_sizes);

  // Records the first error from an actor; later ones are dropped.
  void fail(const std::string& what);
};

}  // namespace dipaco::sim
