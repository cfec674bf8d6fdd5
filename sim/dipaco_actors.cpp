#include "sim/dipaco_actors.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <string>

#include "sim/actor_guard.hpp"
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
  std::shared_ptr<const engine::TrainResult> result;  // null without training
};

s4u::Mailbox* task_mailbox(int task) { return s4u::Mailbox::by_name("dipaco-task-" + std::to_string(task)); }
s4u::Mailbox* executor_mailbox(int module) { return s4u::Mailbox::by_name("dipaco-executor-" + std::to_string(module)); }

}  // namespace

void DipacoTask::operator()() { guarded(ctx_, "task " + std::to_string(task_), [this] { run(); }); }

void DipacoTask::run() {
  const auto& s = ctx_.scenario;
  const auto& task = state_.tasks[static_cast<size_t>(task_)];
  const auto& st = state_.structure;
  const int tau = s.algorithm.tau;
  const auto modules = st.modules_of(task.path);
  engine::AdamState adam;
  s4u::this_actor::sleep_until(state_.start_time);
  for (int phase = 1; phase <= s.algorithm.outer_steps; ++phase) {
    // Gather this path's modules, from whichever executors hold them.
    auto path_params = std::make_shared<engine::ParamVector>();
    if (ctx_.training) path_params->resize(static_cast<size_t>(state_.layout->path_params()));
    for (size_t i = 0; i < modules.size(); ++i) {
      auto msg = task_mailbox(task_)->get_unique<ModuleMessage>();
      if (ctx_.training) state_.layout->insert(*path_params, st.segment_of_module(msg->module), *msg->params);
    }
    std::shared_future<engine::TrainResult> job;
    if (ctx_.training)
      job = ctx_.submit_training(path_params, std::move(adam), {task.shard}, static_cast<int64_t>(phase - 1) * tau, tau,
                                 engine::mix_seed(s.seed, 5000 + static_cast<uint64_t>(task_)));
    const double start = s4u::Engine::get_clock();
    s4u::this_actor::execute(ctx_.cost.host_flops(tau));
    ctx_.compute_seconds[static_cast<size_t>(task_)] += s4u::Engine::get_clock() - start;

    std::shared_ptr<const engine::TrainResult> result;
    if (ctx_.training) {
      auto r = std::make_shared<engine::TrainResult>(job.get());
      adam = std::move(r->opt_state);
      state_.phases[phase].losses[task.path].push_back(r->mean_loss);
      result = std::move(r);
    }
    std::vector<s4u::CommPtr> sends;
    for (int m : modules)
      sends.push_back(send_async(ctx_, executor_mailbox(m), state_.executor_hosts[static_cast<size_t>(m)],
                                 new TaskResultMessage{task_, result}, state_.module_bytes[static_cast<size_t>(m)]));
    s4u::Comm::wait_all(sends);
  }
}

void DipacoExecutor::operator()() { guarded(ctx_, "executor " + std::to_string(module_), [this] { run(); }); }

void DipacoExecutor::run() {
  const auto& s = ctx_.scenario;
  const auto& through = state_.tasks_through_module[static_cast<size_t>(module_)];
  const int segment = state_.structure.segment_of_module(module_);
  s4u::this_actor::sleep_until(state_.start_time);
  if (module_ == 0) record_dipaco_phase(ctx_, state_, 0);  // the base model, routed
  for (int phase = 1; phase <= s.algorithm.outer_steps; ++phase) {
    std::shared_ptr<const engine::ParamVector> current;
    if (ctx_.training) current = std::make_shared<const engine::ParamVector>(state_.store->module(module_));
    std::vector<s4u::CommPtr> sends;
    for (int t : through)
      sends.push_back(send_async(ctx_, task_mailbox(t), ctx_.worker_hosts[static_cast<size_t>(t)],
                                 new ModuleMessage{module_, current}, state_.module_bytes[static_cast<size_t>(module_)]));
    s4u::Comm::wait_all(sends);

    // Online averaging: a running weighted sum per module, updated as each task's version arrives
    // (arrival order is the simulation's, so it is the same on every run).
    engine::RunningAverage average;
    for (size_t i = 0; i < through.size(); ++i) {
      auto msg = executor_mailbox(module_)->get_unique<TaskResultMessage>();
      if (ctx_.training)
        average.add(state_.layout->extract(msg->result->params, segment), state_.tasks[static_cast<size_t>(msg->task)].weight);
    }
    if (ctx_.training) state_.store->outer_step(module_, average, s.dipaco.rescale_outer_gradient);
    finish_phase(phase);
  }
}

void DipacoExecutor::finish_phase(int phase) {
  auto& p = state_.phases[phase];
  p.modules[module_] = ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->module(module_)) : nullptr;
  if (static_cast<int>(p.modules.size()) == state_.structure.module_count()) {
    ++ctx_.synchronisations;
    if (phase % ctx_.scenario.algorithm.eval_every == 0 || phase == ctx_.scenario.algorithm.outer_steps)
      record_dipaco_phase(ctx_, state_, phase);
    state_.phases.erase(phase);
  }
}

void record_dipaco_phase(RunContext& ctx, DipacoState& state, int phase) {
  const auto& st = state.structure;
  const int paths = st.paths();
  std::vector<std::shared_ptr<const engine::ParamVector>> params(static_cast<size_t>(paths));
  std::vector<std::optional<double>> losses(static_cast<size_t>(paths));
  auto it = state.phases.find(phase);
  for (int p = 0; p < paths; ++p) {
    if (ctx.training) {
      engine::ParamVector composed(static_cast<size_t>(state.layout->path_params()));
      for (int s = 0; s < st.segments(); ++s) {
        const int m = st.module_of(p, s);
        const auto& module = it != state.phases.end() ? *it->second.modules.at(m) : state.store->module(m);
        state.layout->insert(composed, s, module);
      }
      params[static_cast<size_t>(p)] = std::make_shared<const engine::ParamVector>(std::move(composed));
    }
    if (it != state.phases.end()) {
      const auto l = it->second.losses.find(p);
      if (l != it->second.losses.end() && !l->second.empty()) {
        double sum = 0.0;
        for (double x : l->second) sum += x;
        losses[static_cast<size_t>(p)] = sum / static_cast<double>(l->second.size());
      }
    }
  }
  ctx.record_routed(phase, params, state.validation_ids, losses, state.shard_sizes);

  const auto& sc = ctx.scenario;
  if (phase == sc.algorithm.outer_steps && sc.dipaco.reroute_every > 0 && ctx.training && !state.routers.empty()) {
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
      auto path = params[static_cast<size_t>(p)];
      state.reroute_losses.push_back(ctx.pool->submit([model, data, ids, path] { return engine::token_losses(model, *path, *data, ids); }));
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
  const auto& features = state.reroute_features.get();
  // Route every (sequence, window) row at once.
  const auto route = route_rows(state.routers, features);
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

}  // namespace dipaco::sim
