#include "sim/task_scheduler.hpp"

#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "engine/corpus.hpp"
#include "sim/actor_guard.hpp"
#include "sim/algorithm_policy.hpp"
#include "sim/inbox.hpp"
#include "sim/ring_allreduce.hpp"
#include "sim/transfer.hpp"

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
  last_alive_ = now();
  if (state_.policy.exchange == AlgorithmPolicy::Exchange::Ring) return run_ring();
  if (state_.policy.static_assignment)  // each replica's first life takes its task unasked
    for (int w = 0; w < state_.primary_workers; ++w) {
      idle_[static_cast<size_t>(w)] = 1;
      waiting_.insert(w);
    }
  open_phase(1);
  dispatch();
  // Messages flow as soon as they are sent and are taken as they arrive (sim/inbox.hpp): a phase
  // opens when its last module closes, not after an earlier request still crossing the WAN. The
  // receives stay posted across heartbeats: a timed-out wait cancels nothing in flight.
  Inbox inbox(kSchedulerInbox);
  const double heartbeat = s.failures.host_failures() ? s.failures.heartbeat_s : -1.0;
  while (phase_ <= s.algorithm.outer_steps) {
    auto msg = inbox.next<SchedulerMessage>(heartbeat);
    drain_deaths();
    if (msg) {
      if (msg->kind == SchedulerMessage::Closed) {
        closed_[msg->phase].insert(msg->module);
        while (phase_ <= s.algorithm.outer_steps && static_cast<int>(closed_[phase_].size()) == state_.structure.module_count())
          close_phase(phase_);
      } else if (msg->kind == SchedulerMessage::Recovered) {
        if (msg->phase == phase_) redo_through(msg->module, msg->phase);  // a later phase has not started
      } else {
        auto& held = holder_[static_cast<size_t>(msg->worker)];
        if (msg->done && held.task == msg->task && held.phase == msg->phase && held.attempt == msg->attempt) {
          if (msg->failed) lose(held, msg->worker);  // its modules were out of reach: the task goes again
          held = Lease{};
        }
        // (A replica of a static assignment may have its next task already: it asked after a failure.)
        if (msg->incarnation == state_.incarnation[static_cast<size_t>(msg->worker)] && held.task < 0) {
          idle_[static_cast<size_t>(msg->worker)] = msg->incarnation;
          waiting_.insert(msg->worker);
        }
      }
    }
    if (phase_ > s.algorithm.outer_steps) break;
    if (heartbeat > 0 && stalled()) return;
    dispatch();
  }
  state_.finished = true;  // workers are daemons: they die with the last executor and this actor
}

void TaskScheduler::run_ring() {
  // Synchronous DP has no phases to open or close: each rank runs to the end on its own worker.
  // The scheduler only hands the rank of a preempted worker to the next free one (the worker
  // itself once its host is back, or a backup), and ends the run. Ranks' leases have phase 0.
  record_dipaco_phase(ctx_, state_, 0);  // the initial model
  for (int w = 0; w < state_.primary_workers; ++w) {
    holder_[static_cast<size_t>(w)] = {w, 0, 1, 1};  // each rank's first life starts it unasked
    attempts_[{w, 0}] = 1;
  }
  Inbox inbox(kSchedulerInbox);
  // Nothing else wakes this actor at the end of the run: it looks at least once a heartbeat.
  const double heartbeat = ctx_.scenario.failures.heartbeat_s;
  while (!state_.finished) {
    auto msg = inbox.next<SchedulerMessage>(heartbeat);
    drain_deaths();
    if (msg && msg->incarnation == state_.incarnation[static_cast<size_t>(msg->worker)] &&
        holder_[static_cast<size_t>(msg->worker)].task < 0) {
      idle_[static_cast<size_t>(msg->worker)] = msg->incarnation;
      waiting_.insert(msg->worker);
    }
    if (state_.finished || (ctx_.scenario.failures.host_failures() && stalled())) break;
    dispatch();
  }
  state_.finished = true;
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
  if (phase < ctx_.scenario.algorithm.outer_steps) open_phase(phase + 1);
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
  const bool ring = state_.policy.exchange == AlgorithmPolicy::Exchange::Ring;  // a rank is needed to the end
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
    // A primary worker takes the first queued task whose home it is, else the first queued task
    // (work stealing). The backup pool takes only tasks whose home worker is down or busy with a
    // task of the phase open now: one still finishing a closed phase's task (its "done" on its way
    // here) is about to ask for its own.
    const bool backup = w >= state_.primary_workers;
    std::optional<int64_t> pick;
    if (!backup) {
      const auto& home = by_home_[static_cast<size_t>(w)];
      pick = home.empty() ? queue_.begin()->first : *home.begin();
    } else {  // the backup pool is small and rarely asks: a scan is fine
      for (const auto& [position, queued_lease] : queue_) {
        const int home = state_.tasks[static_cast<size_t>(queued_lease.task)].worker;
        const auto& held = holder_[static_cast<size_t>(home)];
        if ((held.task >= 0 && held.phase >= queued_lease.phase) || !ctx_.worker_hosts[static_cast<size_t>(home)]->is_on()) {
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
    // A static assignment carries the task's modules (they live on this host: DiLoCo's broadcast).
    double bytes = kControlBytes;
    if (state_.policy.static_assignment) {
      bytes = 0.0;
      for (int m : state_.structure.modules_of(state_.tasks[static_cast<size_t>(lease.task)].path))
        bytes += state_.module_bytes[static_cast<size_t>(m)];
    }
    // Detached: a worker that died meanwhile never takes it, and the comm frees it.
    send_detached(ctx_, worker_mailbox(w), ctx_.worker_hosts[static_cast<size_t>(w)], a, bytes,
                  [](void* p) { delete static_cast<Assignment*>(p); });
  }
}

bool TaskScheduler::stalled() {
  for (int m = 0; m < static_cast<int>(state_.executor_hosts.size()); ++m) {  // none for the ring
    auto* h = state_.executor_hosts[static_cast<size_t>(m)];
    if (state_.failure_plan.down_for_good_at(h) > now()) continue;
    ctx_.fail(fmt::format("no progress possible in phase {} of {}: the executor of module {} (host {}) is down for good since t = {:.6g} s",
                          phase_, ctx_.scenario.algorithm.outer_steps, state_.structure.module_name(m), h->get_name(),
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
  ctx_.fail(fmt::format("no progress possible in phase {} of {}: {}", phase_, s.algorithm.outer_steps, why));
  state_.finished = true;
  s4u::Actor::kill_all();
  return true;
}

// ---------------------------------------------------------------- worker

void DipacoWorker::operator()() {
  guarded(ctx_, "worker " + std::to_string(worker_), [this] {
    try {
      run();
    } catch (const simgrid::NetworkFailureException&) {
      if (!state_.finished) throw;  // once the run is over, the scheduler's closed mailbox is no failure
    }
  });
}

void DipacoWorker::run() {
  auto* self = s4u::Actor::self();
  self->daemonize();  // the run ends when the scheduler and the executors do
  const int me = ++state_.incarnation[static_cast<size_t>(worker_)];
  if (self->get_restart_count() == 0) {
    // Exit callbacks accumulate across restarts: register one, which reads the state at death.
    s4u::this_actor::on_exit([&st = state_, &ctx = ctx_, w = worker_](bool failed) {
      if (!failed || st.finished) return;
      auto& r = st.running[static_cast<size_t>(w)];
      if (r.task >= 0) {
        const double lost = r.unsaved_s + (r.compute_start >= 0 ? s4u::Engine::get_clock() - r.compute_start : 0.0);
        st.lost_compute_s += lost;
        st.lost_flops += lost * ctx.worker_hosts[static_cast<size_t>(w)]->get_speed();
      }
      r = DipacoState::Running{};
      st.deaths.push_back({w, st.incarnation[static_cast<size_t>(w)]});
    });
  }
  s4u::this_actor::sleep_until(ctx_.start_time);
  SchedulerMessage request{SchedulerMessage::Request, worker_, me};
  // A replica of a static assignment asks only when the scheduler cannot know it is free: after a
  // restart (a new life) and after a task that could not run. Its first task comes unasked, the
  // next ones when their phase opens.
  const bool replica = state_.policy.static_assignment && worker_ < state_.primary_workers;
  bool ask = !replica || self->get_restart_count() > 0;
  const bool ring = state_.policy.exchange == AlgorithmPolicy::Exchange::Ring;
  while (true) {
    if (ask)
      send_and_wait(ctx_, scheduler_mailbox(s4u::this_actor::get_host()), state_.scheduler_host, new SchedulerMessage(request), kControlBytes,
                    [](void* p) { delete static_cast<SchedulerMessage*>(p); });
    std::unique_ptr<Assignment> a;
    if (ring && !ask && !request.done) {  // a rank's first life: its rank, from the start, unasked
      a = std::make_unique<Assignment>(Assignment{worker_, 0, 1, me});
    } else {
      do a.reset(receive<Assignment>(worker_mailbox(worker_), state_.scheduler_host));
      while (a->incarnation != me);  // one addressed to an earlier life of this worker
    }
    request.failed = ring ? !run_rank(*a) : !run_task(*a);
    ask = !replica || request.failed;
    // Its modules were out of reach (an executor's host is down): give it back after a pause, so
    // that the retries do not spin while the host is repaired.
    if (request.failed) s4u::this_actor::sleep_for(ctx_.scenario.failures.heartbeat_s);
    request.done = true;
    request.task = a->task;
    request.phase = a->phase;
    request.attempt = a->attempt;
  }
}

bool DipacoWorker::run_task(const Assignment& a) {
  const auto& s = ctx_.scenario;
  const auto& st = state_.structure;
  const int tau = s.algorithm.tau;
  const auto& task = state_.tasks[static_cast<size_t>(a.task)];
  const auto modules = st.modules_of(task.path);
  auto* host = ctx_.worker_hosts[static_cast<size_t>(worker_)];
  auto& running = state_.running[static_cast<size_t>(worker_)];
  running = DipacoState::Running{a.task, a.phase, a.attempt};
  const auto version = state_.versions.find(a.phase);
  if (version == state_.versions.end()) return true;  // its phase closed while the assignment travelled
  for (int m : modules)  // an executor still restoring serves no module yet: as if out of reach
    if (state_.module_recovering[static_cast<size_t>(m)]) {
      running = DipacoState::Running{};
      return false;
    }
  const auto versions = version->second;         // this phase's modules, held while the task runs
  std::vector<int> epochs;                       // the modules' epochs these versions belong to
  int epoch_sum = 0;
  double path_bytes = 0.0;
  for (int m : modules) {
    epochs.push_back(state_.module_epoch[static_cast<size_t>(m)]);
    epoch_sum += epochs.back();
    path_bytes += state_.module_bytes[static_cast<size_t>(m)];
  }
  // An inner checkpoint holds the parameters and both AdamW moments.
  const double inner_checkpoint_bytes = 3.0 * path_bytes;
  const int resume_from = state_.attempted[{a.task, a.phase, epoch_sum}].saved_steps;

  // A task resumes from its inner checkpoint on the storage host; one whose last outer gradient was
  // dropped continues from its own parameters; the others pull their path's modules from the
  // executors' hosts.
  const auto own = state_.own_params.find({a.task, a.phase - 1});
  const bool continues = own != state_.own_params.end();
  try {
    if (resume_from > 0) {
      std::vector<Transfer> checkpoint{Transfer::pull(ctx_, state_.storage_host, host, inner_checkpoint_bytes)};
      wait_all(ctx_, checkpoint);
      if (checkpoint.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, checkpoint.front().why());
      state_.resumed_steps += resume_from;
    } else if (!continues && !state_.policy.static_assignment) {  // a static assignment brought them
      std::vector<Transfer> pulls;  // retried after link failures (sim/transfer.hpp)
      for (int m : modules)
        pulls.push_back(Transfer::pull(ctx_, state_.executor_hosts[static_cast<size_t>(m)], host, state_.module_bytes[static_cast<size_t>(m)]));
      wait_all(ctx_, pulls);
      for (const auto& p : pulls)
        if (p.failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, p.why());
    }
  } catch (const simgrid::NetworkFailureException&) {
    for (int m : modules) {
      if (!state_.executor_hosts[static_cast<size_t>(m)]->is_on()) {  // a module's executor host is down
        running = DipacoState::Running{};
        return false;
      }
    }
    throw;
  }

  auto& attempted = state_.attempted[{a.task, a.phase, epoch_sum}];  // looked up again: the pulls took time
  if (ctx_.training && !attempted.job.valid()) {
    engine::AdamState opt;
    if (s.dipaco.inner_state == InnerState::Path) {
      const auto m = state_.task_moments.find({a.task, a.phase - 1});
      if (m != state_.task_moments.end()) opt = m->second;  // copied: a re-execution needs it again
    } else if (s.dipaco.inner_state == InnerState::Module) {
      state_.store->compose_inner_moments(task.path, opt.exp_avg, opt.exp_avg_sq);
      opt.steps = opt.exp_avg.empty() ? 0 : static_cast<int64_t>(a.phase - 1) * tau;
    }
    std::vector<std::shared_ptr<const engine::ParamVector>> segments(static_cast<size_t>(st.segments()));
    for (int m : modules) segments[static_cast<size_t>(st.segment_of_module(m))] = versions[static_cast<size_t>(m)];
    auto params = continues ? std::make_shared<const engine::ParamVector>(own->second.get().params)
                            : std::make_shared<const engine::ParamVector>(engine::PathRecipe{state_.layout.get(), std::move(segments)}.compose());
    attempted.job = ctx_.submit_training(std::move(params), std::move(opt), {task.shard}, static_cast<int64_t>(a.phase - 1) * tau, tau,
                                         engine::mix_seed(s.seed, state_.policy.seed_base + static_cast<uint64_t>(a.task)));
  }
  const auto job = attempted.job;

  // The inner steps, in chunks between inner checkpoints (one chunk without them). A death loses
  // the compute since the last checkpoint that reached the storage host.
  const int every = s.checkpoints.inner_every_steps > 0 ? s.checkpoints.inner_every_steps : tau;
  auto& compute = ctx_.compute_seconds[static_cast<size_t>(worker_)];
  for (int done = resume_from; done < tau;) {
    const int chunk = std::min(every - done % every, tau - done);
    running.compute_start = now();
    s4u::this_actor::execute(ctx_.cost.host_flops(chunk));
    running.unsaved_s += now() - running.compute_start;
    running.compute_start = -1.0;
    done += chunk;
    if (done == tau) break;
    try {  // a write to the storage host: the same host-to-host transfer as a pull
      pull_async(ctx_, host, state_.storage_host, inner_checkpoint_bytes)->wait();
      state_.attempted[{a.task, a.phase, epoch_sum}].saved_steps = done;
      ++state_.inner_checkpoints;
      compute += running.unsaved_s;
      running.unsaved_s = 0.0;
    } catch (const simgrid::NetworkFailureException&) {  // not saved: a later death loses this chunk too
    }
  }

  if (ctx_.training) {
    const auto& r = job.get();
    if (s.dipaco.inner_state == InnerState::Path) state_.task_moments[{a.task, a.phase}] = r.opt_state;
    const auto phase = state_.phases.find(a.phase);
    if (phase != state_.phases.end()) phase->second.task_loss.emplace(a.task, r.mean_loss);
  }
  const bool dropped = gradient_dropped(s, a.task, a.phase);
  state_.results[{a.task, a.phase, a.attempt}] = DipacoState::Result{job, static_cast<int>(modules.size())};
  std::vector<Transfer> uploads;  // retried after link failures (sim/transfer.hpp)
  for (size_t i = 0; i < modules.size(); ++i) {
    const int m = modules[i];
    uploads.push_back(Transfer::message(ctx_, executor_mailbox(m, host), state_.executor_hosts[static_cast<size_t>(m)],
                                        new ContributionMessage{a.task, a.phase, a.attempt, worker_, dropped, epochs[i]},
                                        state_.module_bytes[static_cast<size_t>(m)], [](void* p) { delete static_cast<ContributionMessage*>(p); }));
  }
  // An upload fails for good when its executor has moved past the phase for good (the run's last
  // phase closed under a quorum or deadline; the result was late anyway), when its executor's host
  // died (the phase is redone after the recovery) or when it was given up.
  wait_all(ctx_, uploads);
  if (dropped && ctx_.training) state_.own_params[{a.task, a.phase}] = job;
  compute += running.unsaved_s;  // the result is with the executors: its compute is secured
  running = DipacoState::Running{};
  // Done: a later attempt (after an executor's recovery) trains from other versions, so the job is
  // not needed again; dropping it keeps at most one path per busy worker in memory.
  state_.attempted.erase({a.task, a.phase, epoch_sum});
  if (std::none_of(uploads.begin(), uploads.end(), [](const Transfer& u) { return u.failed(); }))
    state_.uploaded[static_cast<size_t>(worker_)] = {a.task, a.phase, a.attempt};
  return true;
}

bool DipacoWorker::run_rank(const Assignment& a) {
  // Synchronous DP: rank a.task's steps from where the rank is (its progress outlives the worker
  // that ran it). Each step is one inner step of compute and a ring all-reduce of the gradients;
  // a step whose worker died is redone in full by the next one (the gradient died with the host).
  const auto& s = ctx_.scenario;
  const int tau = s.algorithm.tau, total = s.algorithm.outer_steps * tau;
  const int rank = a.task;
  const int k = static_cast<int>(state_.ring.size());
  auto& progress = state_.ring[static_cast<size_t>(rank)];
  state_.ring_host[static_cast<size_t>(rank)] = s4u::this_actor::get_host();
  auto& running = state_.running[static_cast<size_t>(worker_)];
  auto& compute = ctx_.compute_seconds[static_cast<size_t>(worker_)];
  while (progress.step < total) {
    const int interval = progress.step / tau + 1;
    running = DipacoState::Running{rank, interval, a.attempt};
    auto& iv = state_.ring_intervals[interval];
    if (rank == 0 && ctx_.training && !iv.job.valid())  // one batch from every rank's shard per step
      iv.job = ctx_.submit_training(state_.ring_params, std::move(state_.ring_adam), ctx_.shards,
                                    static_cast<int64_t>(interval - 1) * tau, tau, engine::mix_seed(s.seed, state_.policy.seed_base));
    running.compute_start = now();
    s4u::this_actor::execute(ctx_.cost.host_flops(1));
    running.unsaved_s += now() - running.compute_start;
    running.compute_start = -1.0;
    ring_allreduce(ctx_, state_, rank, ctx_.cost.message_bytes);
    compute += running.unsaved_s;  // the step is done everywhere: its compute is secured
    running = DipacoState::Running{};
    if (rank == 0) ++ctx_.synchronisations;
    progress = DipacoState::RingProgress{progress.step + 1, 0};
    if (progress.step % tau != 0) continue;
    auto& done = state_.ring_intervals[interval];
    if (rank == 0 && ctx_.training) {  // before rank 0 starts the next interval from it
      auto result = done.job.get();
      done.loss = result.mean_loss;
      state_.ring_adam = std::move(result.opt_state);
      state_.ring_params = std::make_shared<const engine::ParamVector>(std::move(result.params));
      done.params = state_.ring_params;
    }
    // The interval ends when its last step's ring reaches its last rank, not when rank 0 is done.
    if (++done.finished < k) continue;
    const auto loss = done.loss;
    const auto params = done.params;
    if (interval % s.algorithm.eval_every == 0 || interval == s.algorithm.outer_steps) ctx_.record(interval, loss, params);
    state_.ring_intervals.erase(interval);
    if (interval == s.algorithm.outer_steps) state_.finished = true;
  }
  return true;
}

}  // namespace dipaco::sim
