#include "sim/algorithms/executor.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <set>
#include <string>

#include "sim/run/actor_guard.hpp"
#include "sim/algorithms/discriminative.hpp"
#include "sim/platform/inbox.hpp"
#include "sim/algorithms/messages.hpp"
#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

engine::ParamVector Executor::as_received(engine::ParamVector version) const {
  // The worker sends its outer gradient Δ = θ − θ_i in communication.outer_gradient; the executor
  // averages what it decodes, θ − Q(Δ).
  const auto format = ctx_.scenario.communication.outer_gradient;
  if (format == engine::GradientFormat::Fp32) return version;
  const auto& theta = state_.store->module(module_);
  const auto delta = engine::outer_gradient_as_sent(theta, version, format);
  for (size_t i = 0; i < version.size(); ++i) version[i] = theta[i] - delta[i];
  return version;
}

void Executor::operator()() {
  guarded(ctx_, "executor " + std::to_string(module_), [this] {
    if (state_.policy.decoupled) run_decoupled();
    else if (state_.policy.exchange == AlgorithmPolicy::Exchange::Async) run_async();
    else run();
  });
}

void Executor::run() {
  using reports::LedgerEvent;
  const auto& s = ctx_.scenario;
  const auto& through = state_.tasks_through_module[static_cast<size_t>(module_)];
  const int segment = state_.structure.segment_of_module(module_);
  const bool inner_moments = s.dipaco.inner_state == InnerState::Module;
  int first = 1;
  if (s4u::Actor::self()->get_restart_count() == 0) {
    s4u::this_actor::sleep_until(ctx_.start_time);
    if (module_ == 0) record_phase(ctx_, state_, 0);  // the base model, routed
  } else {
    first = recover();
  }
  // Uploads flow as soon as they are sent and are taken as they arrive (sim/platform/inbox.hpp). The
  // receives stay posted across phases: a deadline must not cancel a result in flight (it arrives
  // late instead).
  Inbox inbox(executor_inbox(module_));
  for (int phase = first; phase <= phase_count(s); ++phase) {
    // The tasks through this module that train this phase (none when its fragment does not sync:
    // the executor passes the phase at once).
    size_t expected = 0;
    for (int t : through) expected += state_.active(s, t, phase) && segment_syncs(s, segment, phase) ? 1 : 0;
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
      if (event == LedgerEvent::Stale) ctx_.count_failure(FailureCause::Stale);
      if (event == LedgerEvent::Dropped) ++state_.dropped_gradients;
      if (event == LedgerEvent::Accepted || event == LedgerEvent::Dropped) heard.insert(msg->task);
      if (event == LedgerEvent::Accepted) {
        ++accepted;
        if (ctx_.training) {
          const double w = state_.tasks[static_cast<size_t>(msg->task)].weight;
          const auto& r = result->second.job.get();
          average.add(as_received(state_.layout->extract(r.params, segment)), w);
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
    if (segment_syncs(s, segment, phase)) state_.log(LedgerEvent::Update, phase, module_, -1, 0, -1, accepted, static_cast<int>(expected));
    finish_phase(phase);
    state_.module_phase[static_cast<size_t>(module_)] = phase + 1;
    if (s.checkpoints.module_every_phases > 0 && phase % s.checkpoints.module_every_phases == 0) save_checkpoint(phase);
    send_detached(ctx_, scheduler_mailbox(s4u::this_actor::get_host()), state_.scheduler_host,
                  new SchedulerMessage{SchedulerMessage::Closed, -1, 0, false, -1, phase, 0, module_}, kControlBytes,
                  [](void* p) { delete static_cast<SchedulerMessage*>(p); });
  }
}

double Executor::checkpoint_bytes() const {
  // The module's parameters and its Nesterov momentum, plus both AdamW moments when kept per module.
  const bool inner = ctx_.scenario.dipaco.inner_state == InnerState::Module;
  return (inner ? 4.0 : 2.0) * state_.module_bytes[static_cast<size_t>(module_)];
}

void Executor::save_checkpoint(int phase) {
  // A separate actor writes it while the executor goes on; it becomes the one to recover from only
  // once all its bytes reach the storage host (a host failure mid-write kills the writer with it).
  auto snapshot = ctx_.training ? std::make_shared<const engine::ModuleStore::ModuleState>(state_.store->save(module_)) : nullptr;
  auto* host = s4u::this_actor::get_host();
  // Captures no executor: the writer may outlive it (after the last phase).
  s4u::Actor::create("checkpoint-" + std::to_string(module_), host,
                     [&ctx = ctx_, &state = state_, m = module_, bytes = checkpoint_bytes(), phase, host, snapshot] {
                       guarded(ctx, "checkpoint writer " + std::to_string(m), [&] {
                         std::vector<Transfer> write{Transfer::pull(ctx, host, state.storage_host, bytes, Transfer::Retry::Never)};
                         wait_all(ctx, write);
                         if (write.front().failed()) return;  // not saved; the previous checkpoint stands
                         auto& last = state.module_checkpoint[static_cast<size_t>(m)];
                         if (phase > last.phase) last = {phase, snapshot};
                         ++state.module_checkpoints;
                       });
                     });
}

int Executor::recover() {
  using reports::LedgerEvent;
  const int phase = state_.module_phase[static_cast<size_t>(module_)];
  if (phase > phase_count(ctx_.scenario)) return phase;  // it had finished: nothing to recover
  const auto checkpoint = state_.module_checkpoint[static_cast<size_t>(module_)];
  state_.module_recovering[static_cast<size_t>(module_)] = 1;
  // The download from the storage host; a failed one (a link down) is tried again a heartbeat later.
  while (true) {
    std::vector<Transfer> restore{
        Transfer::pull(ctx_, state_.storage_host, s4u::this_actor::get_host(), checkpoint_bytes(), Transfer::Retry::Never)};
    wait_all(ctx_, restore);
    if (!restore.front().failed()) break;
    s4u::this_actor::sleep_for(ctx_.scenario.failures.heartbeat_s);
  }
  if (ctx_.training) state_.store->restore(module_, *checkpoint.state);
  // Tasks that trained from the lost version are stale for this module from now on; the phase's
  // tasks train again from the restored one.
  ++state_.module_epoch[static_cast<size_t>(module_)];
  state_.module_recovering[static_cast<size_t>(module_)] = 0;
  ++state_.executor_recoveries;
  ctx_.count_failure(FailureCause::ExecutorLost);
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

void Executor::finish_phase(int phase) {
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
    if (records_row(ctx_.scenario, phase) || phase == ctx_.scenario.dipaco.discriminative_after)
      record_phase(ctx_, state_, phase);
    // The EM step runs on the host of the executor that closed the phase, before it tells the
    // scheduler: no task of the next phase starts on the old shards.
    if (phase == ctx_.scenario.dipaco.discriminative_after && ctx_.training) discriminative_reshard(ctx_, state_, phase);
    state_.phases.erase(phase);
  }
}

}  // namespace dipaco::sim
