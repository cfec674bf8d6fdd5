#include "sim/run/run_context.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <xbt/log.h>

#include <cstdio>

#include "sim/algorithms/algorithm_policy.hpp"

XBT_LOG_NEW_DEFAULT_CATEGORY(dipaco_run, "dipaco-sim run progress");

namespace dipaco::sim {

std::shared_future<engine::TrainResult> RunContext::submit_training(
    std::shared_ptr<const engine::ParamVector> params, engine::AdamState opt_state,
    std::vector<std::shared_ptr<const engine::Shard>> shards, int64_t step_begin, int64_t steps, uint64_t seed) {
  engine::TrainRequest req;
  req.model = scenario.model;
  req.opt = scenario.inner;
  req.params = std::move(params);
  req.opt_state = std::move(opt_state);
  req.data = train_data;
  req.shards = std::move(shards);
  req.step_begin = step_begin;
  req.steps = steps;
  req.seed = seed;
  req.pool = pool;  // the sync baseline's k shards: one gradient job per shard
  return pool->submit([req = std::move(req)] { return engine::train_inner(req); });
}

std::shared_future<engine::EvalResult> RunContext::submit_eval(std::shared_ptr<const engine::ParamVector> params) {
  if (!training || pool == nullptr) return {};
  auto model = scenario.model;
  auto data = validation_data;
  const int64_t count = scenario.data.eval_sequences;
  return pool->submit([model, data, params, count] { return engine::evaluate(model, *params, *data, count); });
}

bool PendingRow::ready() const {
  for (const auto& e : evals)
    if (e.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  return !evals.empty();
}

std::optional<double> PendingRow::combined_loss() const {
  if (evals.empty()) return std::nullopt;
  double sum = 0.0;
  int64_t tokens = 0;
  for (const auto& e : evals) {
    sum += e.get().loss * static_cast<double>(e.get().tokens);
    tokens += e.get().tokens;
  }
  return tokens > 0 ? std::optional<double>(sum / static_cast<double>(tokens)) : std::nullopt;
}

std::shared_future<engine::EvalResult> RunContext::submit_eval_ids(engine::PathRecipe path, std::vector<int64_t> ids) {
  auto model = scenario.model;
  auto data = validation_data;
  return pool->submit([model, data, path = std::move(path), ids = std::move(ids)] {
    return engine::evaluate_ids(model, path.compose(), *data, ids);
  });
}

void RunContext::record_routed(int outer_step, const std::vector<engine::PathRecipe>& paths,
                               const std::vector<std::vector<int64_t>>& validation_ids,
                               const std::vector<std::optional<double>>& train_losses, const std::vector<int64_t>& shard_sizes) {
  const auto& a = scenario.algorithm;
  const double now = simgrid::s4u::Engine::get_clock();
  PendingRow all;
  all.row.sim_time_s = now;
  all.row.outer_step = outer_step;
  all.row.inner_steps = static_cast<int64_t>(outer_step) * a.tau;
  all.row.wan_bytes = wan_bytes;
  double loss_sum = 0.0, weight = 0.0;
  std::vector<PendingRow> per_path;
  for (size_t p = 0; p < paths.size(); ++p) {
    PendingRow row;
    row.row = all.row;
    row.row.path = static_cast<int>(p);
    row.row.shard_size = shard_sizes[p];
    row.row.train_loss = train_losses[p];
    // Tokens trained so far: the replicas active in each phase (the compute schedule) times τ steps.
    row.row.tokens = replica_phases_until(scenario.dipaco.compute_schedule, a.replicas_per_path, outer_step, a.outer_steps) * a.tau *
                     scenario.inner.batch_size * scenario.model.seq_len;
    all.row.tokens += row.row.tokens;
    if (train_losses[p]) {
      loss_sum += *train_losses[p] * static_cast<double>(shard_sizes[p]);
      weight += static_cast<double>(shard_sizes[p]);
    }
    if (training && paths[p].layout && !validation_ids[p].empty()) {
      row.evals.push_back(submit_eval_ids(paths[p], validation_ids[p]));
      all.evals.push_back(row.evals.back());
    }
    per_path.push_back(std::move(row));
  }
  if (weight > 0) all.row.train_loss = loss_sum / weight;
  const auto train_loss = all.row.train_loss;
  rows.push_back(std::move(all));
  for (auto& r : per_path) rows.push_back(std::move(r));
  report_progress(outer_step, train_loss, now);
  if (outer_step == phase_count(scenario) && on_last_row) on_last_row();
}

void RunContext::record(int outer_step, std::optional<double> train_loss, std::shared_ptr<const engine::ParamVector> params,
                        std::optional<int64_t> all_steps, std::optional<double> staleness) {
  PendingRow p;
  p.row.sim_time_s = simgrid::s4u::Engine::get_clock();
  p.row.outer_step = outer_step;
  const int64_t steps = all_steps ? *all_steps : static_cast<int64_t>(outer_step) * phase_steps(scenario) * scenario.workers();
  p.row.inner_steps = steps / scenario.workers();
  p.row.tokens = steps * scenario.inner.batch_size * scenario.model.seq_len;
  p.row.staleness = staleness;
  p.row.train_loss = train_loss;
  p.row.wan_bytes = wan_bytes;
  if (params && training) p.evals.push_back(submit_eval(std::move(params)));
  const double now = p.row.sim_time_s;
  rows.push_back(std::move(p));
  report_progress(outer_step, train_loss, now);
  if (outer_step == phase_count(scenario) && on_last_row) on_last_row();
}

void RunContext::report_progress(int outer_step, std::optional<double> train_loss, double sim_time) {
  // The latest whole-model evaluation that has already finished; never block the simulation for the display.
  std::string val = "-";
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (it->row.path < 0 && it->ready()) {
      val = fmt::format("{:.3f} (step {})", *it->combined_loss(), it->row.outer_step);
      break;
    }
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double done = static_cast<double>(outer_step) / phase_count(scenario);
  const std::string eta = done > 0 ? fmt::format("{:.0f} s", elapsed * (1 - done) / done) : "?";
  const std::string loss = train_loss ? fmt::format("{:.3f}", *train_loss) : "-";
  if (progress_line) {
    std::fprintf(stderr, "\r  outer step %d/%d | sim %.2f h | train loss %s | val loss %s | ETA %s   ", outer_step,
                 phase_count(scenario), sim_time / 3600.0, loss.c_str(), val.c_str(), eta.c_str());
    if (outer_step == phase_count(scenario)) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  } else {
    XBT_INFO("outer step %d/%d: train loss %s, val loss %s, WAN %.3g GB, ETA %s", outer_step, phase_count(scenario),
             loss.c_str(), val.c_str(), wan_bytes / 1e9, eta.c_str());
  }
}

void RunContext::fail(const std::string& what) {
  XBT_ERROR("%s", what.c_str());
  if (error.empty()) error = what;
}

}  // namespace dipaco::sim
