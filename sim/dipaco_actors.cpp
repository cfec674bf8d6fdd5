#include "sim/dipaco_actors.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <string>

#include "sim/actor_guard.hpp"
#include "sim/discriminative.hpp"
#include "sim/routing.hpp"
#include "sim/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

struct ModuleMessage {
  int module = 0;
  std::shared_ptr<const engine::ParamVector> params;  // null without training
};

struct TaskResultMessage {
  int task = 0;
  // The job's own result, shared rather than copied: copies of path-sized results between
  // long-lived module snapshots fragment the heap, which then grows with every phase.
  std::shared_future<engine::TrainResult> result;  // invalid without training
};

s4u::Mailbox* task_mailbox(int task) { return s4u::Mailbox::by_name("dipaco-task-" + std::to_string(task)); }
s4u::Mailbox* executor_mailbox(int module) { return s4u::Mailbox::by_name("dipaco-executor-" + std::to_string(module)); }

}  // namespace

std::vector<int> DipacoState::route(const std::vector<float>& features) const {
  return linear_router ? engine::route_all(*linear_router, features) : route_rows(routers, features);
}

engine::PathRecipe DipacoState::recipe(int path, const std::vector<std::shared_ptr<const engine::ParamVector>>& modules) const {
  engine::PathRecipe r{layout.get(), {}};
  for (int s = 0; s < structure.segments(); ++s) r.segments.push_back(modules[static_cast<size_t>(structure.module_of(path, s))]);
  return r;
}

void DipacoWorker::operator()() { guarded(ctx_, "worker " + std::to_string(worker_), [this] { run(); }); }

void DipacoWorker::run() {
  const auto& s = ctx_.scenario;
  const auto& st = state_.structure;
  const int tau = s.algorithm.tau;
  std::map<int, engine::AdamState> adam;  // inner_state path: each task's moments, across phases
  std::vector<s4u::CommPtr> uploads;      // the previous task's, overlapping this task's download and compute
  s4u::this_actor::sleep_until(state_.start_time);
  for (int phase = 1; phase <= s.algorithm.outer_steps; ++phase) {
    for (int t : state_.worker_tasks[static_cast<size_t>(worker_)]) {
      const auto& task = state_.tasks[static_cast<size_t>(t)];
      const auto modules = st.modules_of(task.path);
      // Download this path's modules, from whichever executors hold them.
      std::vector<std::shared_ptr<const engine::ParamVector>> segments(static_cast<size_t>(st.segments()));
      for (size_t i = 0; i < modules.size(); ++i) {
        auto msg = task_mailbox(t)->get_unique<ModuleMessage>();
        segments[static_cast<size_t>(st.segment_of_module(msg->module))] = msg->params;
      }
      std::shared_future<engine::TrainResult> job;
      if (ctx_.training) {
        engine::AdamState opt;
        if (s.dipaco.inner_state == InnerState::Path) {
          opt = std::move(adam[t]);
        } else if (s.dipaco.inner_state == InnerState::Module) {
          state_.store->compose_inner_moments(task.path, opt.exp_avg, opt.exp_avg_sq);
          opt.steps = opt.exp_avg.empty() ? 0 : static_cast<int64_t>(phase - 1) * tau;
        }
        auto params = std::make_shared<const engine::ParamVector>(engine::PathRecipe{state_.layout.get(), std::move(segments)}.compose());
        job = ctx_.submit_training(std::move(params), std::move(opt), {task.shard}, static_cast<int64_t>(phase - 1) * tau, tau,
                                   engine::mix_seed(s.seed, 5000 + static_cast<uint64_t>(t)));
      }
      const double start = s4u::Engine::get_clock();
      s4u::this_actor::execute(ctx_.cost.host_flops(tau));
      ctx_.compute_seconds[static_cast<size_t>(worker_)] += s4u::Engine::get_clock() - start;

      if (ctx_.training) {
        const auto& r = job.get();
        if (s.dipaco.inner_state == InnerState::Path) adam[t] = r.opt_state;
        state_.phases[phase].losses[task.path].push_back(r.mean_loss);
      }
      // At most one task's upload in flight per worker, so results do not pile up in memory.
      s4u::Comm::wait_all(uploads);
      uploads.clear();
      for (int m : modules)
        uploads.push_back(send_async(ctx_, executor_mailbox(m), state_.executor_hosts[static_cast<size_t>(m)],
                                     new TaskResultMessage{t, job}, state_.module_bytes[static_cast<size_t>(m)]));
    }
  }
  s4u::Comm::wait_all(uploads);
}

void DipacoExecutor::operator()() { guarded(ctx_, "executor " + std::to_string(module_), [this] { run(); }); }

void DipacoExecutor::run() {
  const auto& s = ctx_.scenario;
  const auto& through = state_.tasks_through_module[static_cast<size_t>(module_)];
  const int segment = state_.structure.segment_of_module(module_);
  const bool inner_moments = s.dipaco.inner_state == InnerState::Module;
  s4u::this_actor::sleep_until(state_.start_time);
  if (module_ == 0) record_dipaco_phase(ctx_, state_, 0);  // the base model, routed
  for (int phase = 1; phase <= s.algorithm.outer_steps; ++phase) {
    std::shared_ptr<const engine::ParamVector> current;
    if (ctx_.training) current = std::make_shared<const engine::ParamVector>(state_.store->module(module_));
    // Posted, not awaited: a worker takes this download only when it reaches the task.
    std::vector<s4u::CommPtr> sends;
    for (int t : through)
      sends.push_back(send_async(ctx_, task_mailbox(t), state_.task_hosts[static_cast<size_t>(t)], new ModuleMessage{module_, current},
                                 state_.module_bytes[static_cast<size_t>(module_)]));

    // Online averaging: a running weighted sum per module, updated as each task's version arrives
    // (arrival order is the simulation's, so it is the same on every run).
    engine::RunningAverage average, avg_m, avg_v;
    for (size_t i = 0; i < through.size(); ++i) {
      auto msg = executor_mailbox(module_)->get_unique<TaskResultMessage>();
      if (!ctx_.training) continue;
      const double w = state_.tasks[static_cast<size_t>(msg->task)].weight;
      const auto& result = msg->result.get();
      average.add(state_.layout->extract(result.params, segment), w);
      if (inner_moments) {
        avg_m.add(state_.layout->extract(result.opt_state.exp_avg, segment), w);
        avg_v.add(state_.layout->extract(result.opt_state.exp_avg_sq, segment), w);
      }
    }
    s4u::Comm::wait_all(sends);
    if (ctx_.training) {
      state_.store->outer_step(module_, average, s.dipaco.rescale_outer_gradient);
      if (inner_moments) state_.store->set_inner_moments(module_, avg_m.mean(), avg_v.mean());
    }
    finish_phase(phase);
    // Modules close their phases independently (a module's next phase may start while another's
    // results are still in flight), except around the EM step: every executor waits for it before
    // sending its next version, so no task of the next phase trains on the old shards.
    if (phase == s.dipaco.discriminative_after) state_.em_barrier->wait();
  }
}

void DipacoExecutor::finish_phase(int phase) {
  auto& p = state_.phases[phase];
  const int modules = state_.structure.module_count();
  if (p.modules.empty()) p.modules.resize(static_cast<size_t>(modules));
  if (ctx_.training) p.modules[static_cast<size_t>(module_)] = std::make_shared<const engine::ParamVector>(state_.store->module(module_));
  if (++p.done == modules) {
    ++ctx_.synchronisations;
    const auto& a = ctx_.scenario.algorithm;
    if (phase % a.eval_every == 0 || phase == a.outer_steps || phase == ctx_.scenario.dipaco.discriminative_after)
      record_dipaco_phase(ctx_, state_, phase);
    // The EM step runs on the host of the executor that closed the phase, the last to reach the
    // barrier that holds the others back.
    if (phase == ctx_.scenario.dipaco.discriminative_after && ctx_.training) discriminative_reshard(ctx_, state_, phase);
    state_.phases.erase(phase);
  }
}

void record_dipaco_phase(RunContext& ctx, DipacoState& state, int phase) {
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
    for (int p = 0; p < paths; ++p) {
      const auto l = it->second.losses.find(p);
      if (l != it->second.losses.end() && !l->second.empty()) {
        double sum = 0.0;
        for (double x : l->second) sum += x;
        losses[static_cast<size_t>(p)] = sum / static_cast<double>(l->second.size());
      }
    }
  }
  ctx.record_routed(phase, recipes, state.validation_ids, losses, state.shard_sizes);
  if (!ctx.training) return;

  if (phase > 0 && sc.dipaco.early_stopping_fraction > 0) {
    DipacoState::Checkpoint c{phase, recipes, {}};
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

std::optional<RerouteResult> rerouted_losses(const DipacoState& state, const Scenario& s) {
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

std::optional<EarlyStopResult> early_stopped_loss(const DipacoState& state, RunContext& ctx) {
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
