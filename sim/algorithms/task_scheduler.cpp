#include "sim/algorithms/task_scheduler.hpp"

#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "engine/data/corpus.hpp"
#include "sim/run/actor_guard.hpp"
#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/platform/inbox.hpp"
#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;
using reports::LedgerEvent;

namespace {

double now() { return s4u::Engine::get_clock(); }

}  // namespace

// ---------------------------------------------------------------- scheduler

void TaskScheduler::operator()() { guarded(ctx_, "task scheduler", [this] { run(); }); }

void TaskScheduler::run() {
  const auto& s = ctx_.scenario;
  holder_.assign(static_cast<size_t>(state_.workers), Lease{});
  by_home_.assign(static_cast<size_t>(state_.workers), {});
  idle_.assign(static_cast<size_t>(state_.workers), 0);
  for (auto* h : ctx_.worker_hosts) all_down_for_good_at_ = std::max(all_down_for_good_at_, state_.failure_plan.down_for_good_at(h));
  s4u::this_actor::sleep_until(ctx_.start_time);
  last_alive_ = last_progress_ = now();
  if (state_.policy.exchange == AlgorithmPolicy::Exchange::Ring) return run_ring();
  if (state_.policy.exchange == AlgorithmPolicy::Exchange::Async) return run_async();
  if (state_.policy.static_assignment)  // each replica's first life takes its task unasked
    for (int w = 0; w < state_.primary_workers; ++w) {
      idle_[static_cast<size_t>(w)] = 1;
      waiting_.insert(w);
    }
  open_phase(1);
  dispatch();
  // Messages flow as soon as they are sent and are taken as they arrive (sim/platform/inbox.hpp): a phase
  // opens when its last module closes, not after an earlier request still crossing the WAN. The
  // receives stay posted across heartbeats: a timed-out wait cancels nothing in flight.
  Inbox inbox(kSchedulerInbox);
  const double heartbeat = s.failures.host_failures() ? s.failures.heartbeat_s : -1.0;
  while (phase_ <= phase_count(s)) {
    auto msg = inbox.next<SchedulerMessage>(heartbeat);
    drain_deaths();
    if (msg) last_progress_ = now();
    if (msg) {
      if (msg->kind == SchedulerMessage::Closed) {
        closed_[msg->phase].insert(msg->module);
        while (phase_ <= phase_count(s) && static_cast<int>(closed_[phase_].size()) == state_.structure.module_count())
          close_phase(phase_);
      } else if (msg->kind == SchedulerMessage::Recovered) {
        if (msg->phase == phase_) redo_through(msg->module, msg->phase);  // a later phase has not started
      } else {
        auto& held = holder_[static_cast<size_t>(msg->worker)];
        if (msg->done && held.task == msg->task && held.phase == msg->phase && held.attempt == msg->attempt) {
          if (msg->failed != FailureCause::None) lose(held, msg->worker);  // its modules were out of reach: the task goes again
          held = Lease{};
        }
        // A replica that died after its upload kept its lease (drain_deaths): its new life ends it.
        if (state_.policy.static_assignment && held.task >= 0 && held.incarnation != msg->incarnation &&
            msg->incarnation == state_.incarnation[static_cast<size_t>(msg->worker)])
          held = Lease{};
        // (A replica of a static assignment may have its next task already: it asked after a failure.)
        if (msg->incarnation == state_.incarnation[static_cast<size_t>(msg->worker)] && held.task < 0) {
          idle_[static_cast<size_t>(msg->worker)] = msg->incarnation;
          waiting_.insert(msg->worker);
        }
      }
    }
    if (phase_ > phase_count(s)) break;
    if (heartbeat > 0 && (stalled() || no_progress())) return;
    dispatch();
  }
  state_.finished = true;  // workers are daemons: they die with the last executor and this actor
}

void TaskScheduler::run_ring() {
  // Synchronous DP has no phases to open or close: each rank runs to the end on its own worker.
  // The scheduler only hands the rank of a preempted worker to the next free one (the worker
  // itself once its host is back, or a backup), and ends the run. Ranks' leases have phase 0.
  record_phase(ctx_, state_, 0);  // the initial model
  for (int w = 0; w < state_.primary_workers; ++w) {
    holder_[static_cast<size_t>(w)] = {w, 0, 1, 1};  // each rank's first life starts it unasked
    attempts_[{w, 0}] = 1;
  }
  Inbox inbox(kSchedulerInbox);
  // Nothing else wakes this actor at the end of the run: it looks at least once a heartbeat.
  const double heartbeat = ctx_.scenario.failures.heartbeat_s;
  int64_t ring_progress = -1;
  while (!state_.finished) {
    auto msg = inbox.next<SchedulerMessage>(heartbeat);
    const bool roll_back = state_.policy.ring_recovery == AlgorithmPolicy::RingRecovery::Rollback && rank_lost();
    drain_deaths();
    if (roll_back) roll_back_ring();
    int64_t progress = 0;  // ring messages received so far, all ranks together
    for (const auto& r : state_.ring) progress += static_cast<int64_t>(r.step) * 1000003 + r.received;
    if (progress != ring_progress) {
      ring_progress = progress;
      last_progress_ = now();
    }
    if (msg) take_request(*msg);
    if (state_.finished || (ctx_.scenario.failures.host_failures() && stalled()) || no_progress()) break;
    dispatch();
  }
  state_.finished = true;
}

void TaskScheduler::run_async() {
  // Each replica's lease lasts the run (phase 1): a replica's first life gets its task, with θ,
  // unasked; a lost one goes to the next free worker (its own once back, or a backup), with θ as it
  // is then. The executor ends the run when it has applied the budget of outer gradients.
  phase_ = 1;
  for (int t = 0; t < static_cast<int>(state_.tasks.size()); ++t) enqueue({t, 1, 1, 0}, false);
  for (int w = 0; w < state_.primary_workers; ++w) {
    idle_[static_cast<size_t>(w)] = 1;
    waiting_.insert(w);
  }
  dispatch();
  Inbox inbox(kSchedulerInbox);
  const double heartbeat = ctx_.scenario.failures.heartbeat_s;
  int64_t applied = -1;
  while (!state_.finished) {
    auto msg = inbox.next<SchedulerMessage>(heartbeat);
    drain_deaths();
    if (state_.async.applied != applied) {
      applied = state_.async.applied;
      last_progress_ = now();
    }
    if (msg) take_request(*msg);
    if (state_.finished || (ctx_.scenario.failures.host_failures() && stalled()) || no_progress()) break;
    dispatch();
  }
  state_.finished = true;
}

void TaskScheduler::take_request(const SchedulerMessage& msg) {
  // A worker without a lease, in its current life, asks for work (ring and asynchronous leases
  // last the run: only a new life asks).
  if (msg.incarnation == state_.incarnation[static_cast<size_t>(msg.worker)] && holder_[static_cast<size_t>(msg.worker)].task < 0) {
    idle_[static_cast<size_t>(msg.worker)] = msg.incarnation;
    waiting_.insert(msg.worker);
  }
}

bool TaskScheduler::rank_lost() const {
  for (const auto& d : state_.deaths) {
    const auto& held = holder_[static_cast<size_t>(d.worker)];
    if (held.task >= 0 && held.incarnation == d.incarnation) return true;
  }
  return false;
}

void TaskScheduler::roll_back_ring() {
  // The job restarts from its last checkpoint that every rank had reached: each rank abandons its
  // step at its next look (within a heartbeat), pulls the checkpoint and redoes the steps since,
  // whose compute is lost. The scheduler hears of the death within a heartbeat, as a job's
  // failure detector would.
  auto& rollback = state_.ring_rollback;
  int slowest = std::numeric_limits<int>::max();
  for (const auto& r : state_.ring) slowest = std::min(slowest, r.step);
  const int to = ring_rollback_to(rollback.written, slowest);
  ++rollback.generation;
  ++rollback.rollbacks;
  for (size_t r = 0; r < state_.ring.size(); ++r) {
    for (const auto& [step, done] : rollback.unsaved[r]) {
      if (step < to) continue;
      const auto& [worker, seconds] = done;
      ctx_.compute_seconds[static_cast<size_t>(worker)] -= seconds;
      state_.lost_compute_s += seconds;
      state_.lost_flops += seconds * ctx_.worker_hosts[static_cast<size_t>(worker)]->get_speed();
    }
    rollback.unsaved[r].clear();
    rollback.steps_undone += state_.ring[r].step - to;
    state_.ring[r] = RunState::RingProgress{to, 0};
    rollback.restore[r] = 1;
  }
  for (auto& [interval, iv] : state_.ring_intervals) iv.finished = 0;  // their last steps are redone
}

void TaskScheduler::open_phase(int phase) {
  phase_ = phase;
  const int modules = state_.structure.module_count();
  auto& versions = state_.versions[phase];
  if (phase == 1) {
    for (int m = 0; m < modules; ++m)
      versions.push_back(ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->module(m)) : nullptr);
  }
  state_.phases[phase];  // workers record their losses here while it is open
  for (int t = 0; t < static_cast<int>(state_.tasks.size()); ++t)
    if (state_.active(ctx_.scenario, t, phase)) enqueue({t, phase, 1, 0}, false);
}

void TaskScheduler::close_phase(int phase) {
  if (state_.policy.static_assignment) {
    // Replicas do not ask for their next task: their contribution closed this phase, so each one
    // still alive is free for the next.
    for (int w = 0; w < state_.workers; ++w) {
      auto& held = holder_[static_cast<size_t>(w)];
      if (held.task < 0 || held.phase != phase) continue;
      if (held.incarnation == state_.incarnation[static_cast<size_t>(w)] && ctx_.worker_hosts[static_cast<size_t>(w)]->is_on()) {
        idle_[static_cast<size_t>(w)] = held.incarnation;
        waiting_.insert(w);
      }
      held = Lease{};
    }
  }
  std::vector<int64_t> skipped;
  for (const auto& [position, lease] : queue_) {
    if (lease.phase != phase) continue;
    state_.log(LedgerEvent::Skipped, phase, -1, lease.task, lease.attempt, -1);
    ++state_.skipped_tasks;
    skipped.push_back(position);
  }
  for (auto position : skipped) dequeue(position);
  state_.versions.erase(phase);
  for (auto it = state_.results.begin(); it != state_.results.end();)
    it = std::get<1>(it->first) <= phase ? state_.results.erase(it) : std::next(it);
  for (auto it = state_.attempted.begin(); it != state_.attempted.end();)
    it = std::get<1>(it->first) <= phase ? state_.attempted.erase(it) : std::next(it);
  // What phase + 1 resumes from stays; anything older can go.
  for (auto it = state_.task_moments.begin(); it != state_.task_moments.end();)
    it = it->first.second < phase ? state_.task_moments.erase(it) : std::next(it);
  for (auto it = state_.own_params.begin(); it != state_.own_params.end();)
    it = it->first.second < phase ? state_.own_params.erase(it) : std::next(it);
  if (phase < phase_count(ctx_.scenario)) open_phase(phase + 1);
  else phase_ = phase + 1;
}

void TaskScheduler::drain_deaths() {
  for (const auto& d : state_.deaths) {
    auto& held = holder_[static_cast<size_t>(d.worker)];
    if (idle_[static_cast<size_t>(d.worker)] == d.incarnation) {
      idle_[static_cast<size_t>(d.worker)] = 0;
      waiting_.erase(d.worker);
    }
    if (held.task < 0 || held.incarnation != d.incarnation) continue;
    if (state_.policy.static_assignment && state_.uploaded[static_cast<size_t>(d.worker)] == std::make_tuple(held.task, held.phase, held.attempt))
      continue;  // its contribution is in: the phase's closing ends the lease
    lose(held, d.worker);
    held = Lease{};
  }
  state_.deaths.clear();
}

void TaskScheduler::lose(const Lease& lease, int worker) {
  state_.log(LedgerEvent::Lost, lease.phase, -1, lease.task, lease.attempt, worker);
  // A ring rank or an asynchronous replica is needed to the end.
  const bool ring = state_.policy.exchange != AlgorithmPolicy::Exchange::Executors;
  if ((ring || lease.phase == phase_) && !queued(lease.task, lease.phase)) {  // its phase still needs it: a new attempt, at the front
    requeue(lease.task, lease.phase);
    ++state_.reexecutions;
  }
}

void TaskScheduler::enqueue(const Lease& lease, bool front) {
  const int64_t position = front ? --front_ : back_++;
  queue_.emplace(position, lease);
  queued_.emplace(lease.task, lease.phase);
  by_home_[static_cast<size_t>(state_.tasks[static_cast<size_t>(lease.task)].worker)].insert(position);
}

TaskScheduler::Lease TaskScheduler::dequeue(int64_t position) {
  const auto it = queue_.find(position);
  const Lease lease = it->second;
  queue_.erase(it);
  queued_.erase({lease.task, lease.phase});
  by_home_[static_cast<size_t>(state_.tasks[static_cast<size_t>(lease.task)].worker)].erase(position);
  return lease;
}

void TaskScheduler::requeue(int task, int phase) { enqueue({task, phase, attempts_[{task, phase}] + 1, 0}, true); }

void TaskScheduler::redo_through(int module, int phase) {
  // Every task through the module that ran or runs on its lost version goes again; queued ones
  // will start from the restored version anyway. In reverse, so that the queue keeps task order.
  const auto& through = state_.tasks_through_module[static_cast<size_t>(module)];
  for (auto t = through.rbegin(); t != through.rend(); ++t) {
    if (!state_.active(ctx_.scenario, *t, phase) || queued(*t, phase)) continue;
    requeue(*t, phase);
    ++state_.redone_after_recovery;
  }
}

void TaskScheduler::dispatch() {
  for (auto next = waiting_.begin(); next != waiting_.end() && !queue_.empty();) {
    const int w = *next;
    const int inc = idle_[static_cast<size_t>(w)];
    if (!ctx_.worker_hosts[static_cast<size_t>(w)]->is_on()) {
      ++next;
      continue;
    }
    // Which task it takes is the policy's (primary_pick, backup_may_take).
    const bool backup = w >= state_.primary_workers;
    std::optional<int64_t> pick;
    if (!backup) {
      const auto& home = by_home_[static_cast<size_t>(w)];
      pick = primary_pick(home.empty() ? std::nullopt : std::optional<int64_t>(*home.begin()), queue_.begin()->first);
    } else {  // the backup pool is small and rarely asks: a scan is fine
      for (const auto& [position, queued_lease] : queue_) {
        const int home = state_.tasks[static_cast<size_t>(queued_lease.task)].worker;
        const auto& held = holder_[static_cast<size_t>(home)];
        if (backup_may_take(ctx_.worker_hosts[static_cast<size_t>(home)]->is_on(), held.task >= 0, held.phase, queued_lease.phase)) {
          pick = position;
          break;
        }
      }
    }
    if (!pick) {
      ++next;
      continue;
    }
    next = waiting_.erase(next);
    Lease lease = dequeue(*pick);
    lease.attempt = ++attempts_[{lease.task, lease.phase}];
    lease.incarnation = inc;
    holder_[static_cast<size_t>(w)] = lease;
    if (backup) ++state_.backup_tasks;
    idle_[static_cast<size_t>(w)] = 0;
    state_.log(LedgerEvent::Dispatch, lease.phase, -1, lease.task, lease.attempt, w);
    auto* a = new Assignment{lease.task, lease.phase, lease.attempt, inc};
    if (state_.policy.exchange == AlgorithmPolicy::Exchange::Async) {  // it carries θ as it is now
      auto& as = state_.async;
      const auto& latest = state_.policy.hierarchical ? as.regions[static_cast<size_t>(as.region_of_task[static_cast<size_t>(lease.task)])].latest
                                                      : as.latest;
      a->version = latest.version;
      as.held[static_cast<size_t>(lease.task)] = latest;
      if (state_.policy.decoupled) state_.decoupled.dispatched[static_cast<size_t>(lease.task)] = state_.decoupled.version;
    }
    // A static assignment carries the task's modules (they live on this host: DiLoCo's broadcast).
    double bytes = kControlBytes;
    // A ring rank that rolls back pulls θ from the checkpoint store instead (Worker::run_rank).
    if (state_.policy.static_assignment && state_.policy.ring_recovery != AlgorithmPolicy::RingRecovery::Rollback) {
      // Streaming DiLoCo: only the fragment the last phase synchronised, to a replica that still
      // holds its own parameters (sim/algorithms/algorithm_policy.hpp).
      const bool holds = state_.policy.local_replicas && lease.phase > 1 &&
                         state_.replica_holder[static_cast<size_t>(lease.task)] == std::make_pair(w, inc);
      bytes = 0.0;
      for (int m : state_.structure.modules_of(state_.tasks[static_cast<size_t>(lease.task)].path))
        if (!holds || segment_syncs(ctx_.scenario, state_.structure.segment_of_module(m), lease.phase - 1))
          bytes += state_.module_bytes[static_cast<size_t>(m)];
    }
    // Detached: a worker that died meanwhile never takes it, and the comm frees it.
    post(ctx_, worker_mailbox(w), ctx_.worker_hosts[static_cast<size_t>(w)], a, bytes,
         [](void* p) { delete static_cast<Assignment*>(p); });
  }
}

bool TaskScheduler::no_progress() {
  // Hosts up but nothing moving (no message for the scheduler, no ring message) for
  // failures.stall_hours: end the run with an error rather than poll for ever.
  const auto& s = ctx_.scenario;
  if (now() - last_progress_ <= s.failures.stall_s) return false;
  ctx_.count_failure(FailureCause::Timeout);
  const bool ring = state_.policy.exchange == AlgorithmPolicy::Exchange::Ring;
  int step = std::numeric_limits<int>::max();  // the ring's slowest rank
  for (const auto& r : state_.ring) step = std::min(step, r.step);
  const bool async = state_.policy.exchange == AlgorithmPolicy::Exchange::Async;
  const std::string where = ring    ? fmt::format("at step {} of {} (the ring waits for a rank whose host is down)", step + 1,
                                                  s.algorithm.outer_steps * s.algorithm.tau)
                            : async ? fmt::format("after {} of {} outer gradients", state_.async.applied, state_.async.total)
                                    : fmt::format("in phase {} of {}", phase_, phase_count(s));
  ctx_.fail(fmt::format("no progress {}: nothing has moved for {:.1f} h (failures.stall_hours is {:g}; raise it if a phase really "
                        "takes that long)", where, (now() - last_progress_) / 3600.0, s.failures.stall_s / 3600.0));
  state_.finished = true;
  s4u::Actor::kill_all();
  return true;
}

bool TaskScheduler::stalled() {
  for (int m = 0; m < static_cast<int>(state_.executor_hosts.size()); ++m) {  // none for the ring
    auto* h = state_.executor_hosts[static_cast<size_t>(m)];
    if (state_.failure_plan.down_for_good_at(h) > now()) continue;
    ctx_.count_failure(FailureCause::ExecutorLost);
    ctx_.fail(fmt::format("no progress possible in phase {} of {}: the executor of module {} (host {}) is down for good since t = {:.6g} s",
                          phase_, phase_count(ctx_.scenario), state_.structure.module_name(m), h->get_name(),
                          state_.failure_plan.down_for_good_at(h)));
    state_.finished = true;
    s4u::Actor::kill_all();
    return true;
  }
  for (auto* h : ctx_.worker_hosts) {
    if (h->is_on()) {
      last_alive_ = now();
      return false;
    }
  }
  const auto& s = ctx_.scenario;
  std::string why;
  if (std::isfinite(all_down_for_good_at_) && all_down_for_good_at_ <= now())
    why = fmt::format("every worker host is down for good since t = {:.0f} s", all_down_for_good_at_);
  else if (now() - last_alive_ > s.failures.stall_s)
    why = fmt::format("no worker host has been up for {:.1f} h (failures.stall_hours is {:g})", (now() - last_alive_) / 3600.0,
                      s.failures.stall_s / 3600.0);
  if (why.empty()) return false;
  ctx_.count_failure(FailureCause::Timeout);
  ctx_.fail(fmt::format("no progress possible in phase {} of {}: {}", phase_, phase_count(s), why));
  state_.finished = true;
  s4u::Actor::kill_all();
  return true;
}

}  // namespace dipaco::sim
