#include "sim/run/run_state.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/algorithms/discriminative.hpp"
#include "sim/algorithms/routing.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

std::vector<int> RunState::route(const std::vector<float>& features) const {
  return linear_router ? engine::route_all(*linear_router, features) : route_rows(routers, features);
}

bool RunState::active(const Scenario& s, int task, int phase) const {
  const int replicas = s.algorithm.replicas_per_path;
  return task % replicas < active_replicas(s.dipaco.compute_schedule, replicas, phase, phase_count(s));
}

engine::PathRecipe RunState::recipe(int path, const std::vector<std::shared_ptr<const engine::ParamVector>>& modules) const {
  engine::PathRecipe r{layout.get(), {}};
  for (int s = 0; s < structure.segments(); ++s) r.segments.push_back(modules[static_cast<size_t>(structure.module_of(path, s))]);
  return r;
}

void RunState::log(reports::LedgerEvent e, int phase, int module, int task, int attempt, int worker, int included, int expected) {
  ledger.push_back({s4u::Engine::get_clock(), e, phase, module, task, attempt, worker, included, expected});
}

void record_phase(RunContext& ctx, RunState& state, int phase) {
  const auto& st = state.structure;
  const auto& sc = ctx.scenario;
  const int paths = st.paths();
  std::vector<engine::PathRecipe> recipes(static_cast<size_t>(paths));
  std::vector<std::optional<double>> losses(static_cast<size_t>(paths));
  auto it = state.phases.find(phase);
  if (ctx.training) {
    std::vector<std::shared_ptr<const engine::ParamVector>> modules;
    if (it != state.phases.end()) {
      modules = it->second.modules;
    } else {  // phase 0: the store's current modules (copied: the store changes while jobs queue)
      for (int m = 0; m < st.module_count(); ++m) modules.push_back(std::make_shared<const engine::ParamVector>(state.store->module(m)));
    }
    for (int p = 0; p < paths; ++p) recipes[static_cast<size_t>(p)] = state.recipe(p, modules);
  }
  if (it != state.phases.end()) {
    std::vector<double> sum(static_cast<size_t>(paths), 0.0);
    std::vector<int> count(static_cast<size_t>(paths), 0);
    for (const auto& [task, loss] : it->second.task_loss) {
      const auto p = static_cast<size_t>(state.tasks[static_cast<size_t>(task)].path);
      sum[p] += loss;
      ++count[p];
    }
    for (size_t p = 0; p < sum.size(); ++p)
      if (count[p] > 0) losses[p] = sum[p] / count[p];
  }
  if (state.policy.whole_model_rows) {  // one module, the whole model: one row, no routing
    std::optional<double> loss;
    if (it != state.phases.end() && !it->second.task_loss.empty()) {
      double sum = 0.0, weight = 0.0;
      for (const auto& [task, l] : it->second.task_loss) {
        const double w = state.policy.weighted_train_loss ? state.tasks[static_cast<size_t>(task)].weight : 1.0;
        sum += w * l;
        weight += w;
      }
      loss = sum / weight;
    }
    std::shared_ptr<const engine::ParamVector> whole;  // Streaming DiLoCo's modules make one model
    if (ctx.training)
      whole = st.segments() == 1 ? recipes[0].segments[0] : std::make_shared<const engine::ParamVector>(recipes[0].compose());
    ctx.record(phase, loss, std::move(whole));
    return;
  }
  ctx.record_routed(phase, recipes, state.validation_ids, losses, state.shard_sizes);
  if (!ctx.training) return;

  if (phase > 0 && sc.dipaco.early_stopping_fraction > 0) {
    RunState::Checkpoint c{phase, recipes, {}};
    auto model = sc.model;
    auto data = ctx.train_data;
    for (int p = 0; p < paths; ++p) {
      auto recipe = recipes[static_cast<size_t>(p)];
      auto ids = state.heldout_ids[static_cast<size_t>(p)];
      c.heldout.push_back(ctx.pool->submit([model, data, recipe, ids] { return engine::evaluate_ids(model, recipe.compose(), *data, ids); }));
    }
    state.checkpoints.push_back(std::move(c));
  }

  if (phase == sc.algorithm.outer_steps && sc.dipaco.reroute_every > 0 && state.base_params) {
    for (const auto& v : state.validation_ids) state.reroute_ids.insert(state.reroute_ids.end(), v.begin(), v.end());
    std::vector<int> lengths;  // routing for the window starting at target s uses tokens 0..s
    for (int start = sc.data.prefix_tokens - 1; start < sc.model.seq_len; start += sc.dipaco.reroute_every) {
      state.reroute_starts.push_back(std::max(start, 0));
      lengths.push_back(std::max(start, 0) + 1);
    }
    auto model = sc.model;
    auto data = ctx.validation_data;
    auto ids = state.reroute_ids;
    for (int p = 0; p < paths; ++p) {
      auto recipe = recipes[static_cast<size_t>(p)];
      state.reroute_losses.push_back(ctx.pool->submit([model, data, ids, recipe] { return engine::token_losses(model, recipe.compose(), *data, ids); }));
    }
    auto base = state.base_params;
    state.reroute_features = ctx.pool->submit(
        [model, data, ids, base, lengths] { return engine::growing_prefix_features(model, *base, *data, ids, lengths); });
  }
}

std::optional<RerouteResult> rerouted_losses(const RunState& state, const Scenario& s) {
  if (state.reroute_losses.empty()) return std::nullopt;
  const size_t n = state.reroute_ids.size(), windows = state.reroute_starts.size();
  const int L = s.model.seq_len;
  // Route every (sequence, window) row at once.
  const auto route = state.route(state.reroute_features.get());
  double once = 0.0, every = 0.0;
  int64_t tokens = 0;
  for (size_t i = 0; i < n; ++i) {
    const int first_path = route[i * windows];
    for (size_t w = 0; w < windows; ++w) {
      const int path = route[i * windows + w];
      const int begin = state.reroute_starts[w];
      const int end = w + 1 < windows ? state.reroute_starts[w + 1] : L;
      const auto& chosen = state.reroute_losses[static_cast<size_t>(path)].get();
      const auto& fixed = state.reroute_losses[static_cast<size_t>(first_path)].get();
      for (int t = begin; t < end; ++t) {
        every += chosen[i * static_cast<size_t>(L) + static_cast<size_t>(t)];
        once += fixed[i * static_cast<size_t>(L) + static_cast<size_t>(t)];
        ++tokens;
      }
    }
  }
  return RerouteResult{once / static_cast<double>(tokens), every / static_cast<double>(tokens)};
}

std::optional<EarlyStopResult> early_stopped_loss(const RunState& state, RunContext& ctx) {
  if (state.checkpoints.empty()) return std::nullopt;
  const int paths = state.structure.paths();
  EarlyStopResult r;
  std::vector<std::shared_future<engine::EvalResult>> finals;
  for (int p = 0; p < paths; ++p) {
    size_t best = 0;  // the earliest checkpoint among equals
    for (size_t c = 1; c < state.checkpoints.size(); ++c)
      if (state.checkpoints[c].heldout[static_cast<size_t>(p)].get().loss < state.checkpoints[best].heldout[static_cast<size_t>(p)].get().loss)
        best = c;
    r.best_phase.push_back(state.checkpoints[best].phase);
    if (!state.validation_ids[static_cast<size_t>(p)].empty())
      finals.push_back(ctx.submit_eval_ids(state.checkpoints[best].paths[static_cast<size_t>(p)], state.validation_ids[static_cast<size_t>(p)]));
  }
  double sum = 0.0;
  int64_t tokens = 0;
  for (const auto& f : finals) {
    sum += f.get().loss * static_cast<double>(f.get().tokens);
    tokens += f.get().tokens;
  }
  r.loss = tokens > 0 ? sum / static_cast<double>(tokens) : 0.0;
  return r;
}

}  // namespace dipaco::sim
