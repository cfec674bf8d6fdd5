#include "sim/dipaco_actors.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "sim/actor_guard.hpp"
#include "sim/algorithm_policy.hpp"
#include "sim/dipaco_messages.hpp"
#include "sim/discriminative.hpp"
#include "sim/inbox.hpp"
#include "sim/routing.hpp"
#include "sim/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

std::vector<int> DipacoState::route(const std::vector<float>& features) const {
  return linear_router ? engine::route_all(*linear_router, features) : route_rows(routers, features);
}

bool DipacoState::active(const Scenario& s, int task, int phase) const {
  const int replicas = s.algorithm.replicas_per_path;
  return task % replicas < active_replicas(s.dipaco.compute_schedule, replicas, phase, s.algorithm.outer_steps);
}

engine::PathRecipe DipacoState::recipe(int path, const std::vector<std::shared_ptr<const engine::ParamVector>>& modules) const {
  engine::PathRecipe r{layout.get(), {}};
  for (int s = 0; s < structure.segments(); ++s) r.segments.push_back(modules[static_cast<size_t>(structure.module_of(path, s))]);
  return r;
}

void DipacoState::log(reports::LedgerEvent e, int phase, int module, int task, int attempt, int worker, int included, int expected) {
  ledger.push_back({s4u::Engine::get_clock(), e, phase, module, task, attempt, worker, included, expected});
}

void DipacoExecutor::operator()() { guarded(ctx_, "executor " + std::to_string(module_), [this] { run(); }); }

void DipacoExecutor::run() {
  using reports::LedgerEvent;
  const auto& s = ctx_.scenario;
  const auto& through = state_.tasks_through_module[static_cast<size_t>(module_)];
  const int segment = state_.structure.segment_of_module(module_);
  const bool inner_moments = s.dipaco.inner_state == InnerState::Module;
  int first = 1;
  if (s4u::Actor::self()->get_restart_count() == 0) {
    s4u::this_actor::sleep_until(ctx_.start_time);
    if (module_ == 0) record_dipaco_phase(ctx_, state_, 0);  // the base model, routed
  } else {
    first = recover();
  }
  // Uploads flow as soon as they are sent and are taken as they arrive (sim/inbox.hpp). The
  // receives stay posted across phases: a deadline must not cancel a result in flight (it arrives
  // late instead).
  Inbox inbox(executor_inbox(module_));
  for (int phase = first; phase <= s.algorithm.outer_steps; ++phase) {
    size_t expected = 0;  // the tasks through this module that train this phase
    for (int t : through) expected += state_.active(s, t, phase) ? 1 : 0;
    const size_t needed = contributions_needed(s, expected);
    const double deadline = s.dipaco.phase_policy == PhasePolicy::Deadline ? s4u::Engine::get_clock() + s.dipaco.deadline_s : -1.0;
    // Online averaging: a running weighted sum, updated as each task's version arrives (arrival
    // order is the simulation's, so it is the same on every run).
    engine::RunningAverage average, avg_m, avg_v;
    std::set<int> heard;  // tasks accepted or dropped this phase
    int accepted = 0;
    while (heard.size() < needed) {
      const double timeout = deadline < 0 ? -1.0 : deadline - s4u::Engine::get_clock();
      if (deadline >= 0 && timeout <= 0) break;
      auto msg = inbox.next<ContributionMessage>(timeout);
      if (!msg) break;  // the deadline
      const auto key = std::make_tuple(msg->task, msg->phase, msg->attempt);
      const auto result = state_.results.find(key);
      LedgerEvent event = LedgerEvent::Accepted;
      if (msg->phase < phase) event = LedgerEvent::Late;
      else if (msg->epoch != state_.module_epoch[static_cast<size_t>(module_)]) event = LedgerEvent::Stale;
      else if (heard.count(msg->task)) event = LedgerEvent::Duplicate;
      else if (msg->dropped) event = LedgerEvent::Dropped;
      state_.log(event, msg->phase, module_, msg->task, msg->attempt, msg->worker);
      if (event == LedgerEvent::Late) ++state_.late_results;
      if (event == LedgerEvent::Dropped) ++state_.dropped_gradients;
      if (event == LedgerEvent::Accepted || event == LedgerEvent::Dropped) heard.insert(msg->task);
      if (event == LedgerEvent::Accepted) {
        ++accepted;
        if (ctx_.training) {
          const double w = state_.tasks[static_cast<size_t>(msg->task)].weight;
          const auto& r = result->second.job.get();
          average.add(state_.layout->extract(r.params, segment), w);
          if (inner_moments) {
            avg_m.add(state_.layout->extract(r.opt_state.exp_avg, segment), w);
            avg_v.add(state_.layout->extract(r.opt_state.exp_avg_sq, segment), w);
          }
        }
      }
      if (result != state_.results.end() && --result->second.unread == 0) state_.results.erase(result);
    }
    // No contribution (all dropped, or none by the deadline): the module keeps its parameters and momentum.
    if (ctx_.training && accepted > 0) {
      state_.store->outer_step(module_, average, s.dipaco.rescale_outer_gradient);
      if (inner_moments) state_.store->set_inner_moments(module_, avg_m.mean(), avg_v.mean());
    }
    state_.log(LedgerEvent::Update, phase, module_, -1, 0, -1, accepted, static_cast<int>(expected));
    finish_phase(phase);
    state_.module_phase[static_cast<size_t>(module_)] = phase + 1;
    if (s.checkpoints.module_every_phases > 0 && phase % s.checkpoints.module_every_phases == 0) save_checkpoint(phase);
    send_detached(ctx_, scheduler_mailbox(s4u::this_actor::get_host()), state_.scheduler_host,
                  new SchedulerMessage{SchedulerMessage::Closed, -1, 0, false, -1, phase, 0, module_}, kControlBytes,
                  [](void* p) { delete static_cast<SchedulerMessage*>(p); });
  }
}

double DipacoExecutor::checkpoint_bytes() const {
  // The module's parameters and its Nesterov momentum, plus both AdamW moments when kept per module.
  const bool inner = ctx_.scenario.dipaco.inner_state == InnerState::Module;
  return (inner ? 4.0 : 2.0) * state_.module_bytes[static_cast<size_t>(module_)];
}

void DipacoExecutor::save_checkpoint(int phase) {
  // A separate actor writes it while the executor goes on; it becomes the one to recover from only
  // once all its bytes reach the storage host (a host failure mid-write kills the writer with it).
  auto snapshot = ctx_.training ? std::make_shared<const engine::ModuleStore::ModuleState>(state_.store->save(module_)) : nullptr;
  auto* host = s4u::this_actor::get_host();
  // Captures no executor: the writer may outlive it (after the last phase).
  s4u::Actor::create("checkpoint-" + std::to_string(module_), host,
                     [&ctx = ctx_, &state = state_, m = module_, bytes = checkpoint_bytes(), phase, host, snapshot] {
                       guarded(ctx, "checkpoint writer " + std::to_string(m), [&] {
                         try {
                           pull_async(ctx, host, state.storage_host, bytes)->wait();
                         } catch (const simgrid::NetworkFailureException&) {
                           return;  // not saved; the previous checkpoint stands
                         }
                         auto& last = state.module_checkpoint[static_cast<size_t>(m)];
                         if (phase > last.phase) last = {phase, snapshot};
                         ++state.module_checkpoints;
                       });
                     });
}

int DipacoExecutor::recover() {
  using reports::LedgerEvent;
  const int phase = state_.module_phase[static_cast<size_t>(module_)];
  if (phase > ctx_.scenario.algorithm.outer_steps) return phase;  // it had finished: nothing to recover
  const auto checkpoint = state_.module_checkpoint[static_cast<size_t>(module_)];
  state_.module_recovering[static_cast<size_t>(module_)] = 1;
  // The download from the storage host; a failed one (a link down) is tried again a heartbeat later.
  while (true) {
    try {
      pull_async(ctx_, state_.storage_host, s4u::this_actor::get_host(), checkpoint_bytes())->wait();
      break;
    } catch (const simgrid::NetworkFailureException&) {
      s4u::this_actor::sleep_for(ctx_.scenario.failures.heartbeat_s);
    }
  }
  if (ctx_.training) state_.store->restore(module_, *checkpoint.state);
  // Tasks that trained from the lost version are stale for this module from now on; the phase's
  // tasks train again from the restored one.
  ++state_.module_epoch[static_cast<size_t>(module_)];
  state_.module_recovering[static_cast<size_t>(module_)] = 0;
  ++state_.executor_recoveries;
  auto& next = state_.versions[phase];
  if (next.empty()) next.resize(static_cast<size_t>(state_.structure.module_count()));
  next[static_cast<size_t>(module_)] = ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->module(module_)) : nullptr;
  state_.log(LedgerEvent::Recovered, phase, module_, -1, 0, -1, checkpoint.phase);
  // The scheduler re-queues the phase's tasks through this module. The notice of the phase before
  // goes again too, in case the failure lost it (the scheduler counts each module once).
  for (auto kind : {SchedulerMessage::Closed, SchedulerMessage::Recovered}) {
    if (kind == SchedulerMessage::Closed && phase == 1) continue;
    send_detached(ctx_, scheduler_mailbox(s4u::this_actor::get_host()), state_.scheduler_host,
                  new SchedulerMessage{kind, -1, 0, false, -1, kind == SchedulerMessage::Closed ? phase - 1 : phase, 0, module_},
                  kControlBytes, [](void* p) { delete static_cast<SchedulerMessage*>(p); });
  }
  return phase;
}

void DipacoExecutor::finish_phase(int phase) {
  auto& p = state_.phases[phase];
  const int modules = state_.structure.module_count();
  if (p.modules.empty()) p.modules.resize(static_cast<size_t>(modules));
  if (ctx_.training) p.modules[static_cast<size_t>(module_)] = std::make_shared<const engine::ParamVector>(state_.store->module(module_));
  // The next phase trains from this version.
  auto& next = state_.versions[phase + 1];
  if (next.empty()) next.resize(static_cast<size_t>(modules));
  next[static_cast<size_t>(module_)] = p.modules[static_cast<size_t>(module_)];
  if (++p.done == modules) {
    ++ctx_.synchronisations;
    const auto& a = ctx_.scenario.algorithm;
    if (phase % a.eval_every == 0 || phase == a.outer_steps || phase == ctx_.scenario.dipaco.discriminative_after)
      record_dipaco_phase(ctx_, state_, phase);
    // The EM step runs on the host of the executor that closed the phase, before it tells the
    // scheduler: no task of the next phase starts on the old shards.
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
    ctx.record(phase, loss, ctx.training ? recipes[0].segments[0] : nullptr);
    return;
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
