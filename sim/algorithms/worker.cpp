#include "sim/algorithms/worker.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Exec.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <memory>

#include "engine/train/seed.hpp"
#include "sim/run/actor_guard.hpp"
#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/algorithms/ring_allreduce.hpp"
#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {
double now() { return s4u::Engine::get_clock(); }
}  // namespace


void Worker::operator()() {
  guarded(ctx_, "worker " + std::to_string(worker_), [this] {
    try {
      run();
    } catch (const simgrid::NetworkFailureException&) {
      if (!state_.finished) throw;  // once the run is over, the scheduler's closed mailbox is no failure
    }
  });
}

void Worker::run() {
  auto* self = s4u::Actor::self();
  self->daemonize();  // the run ends when the scheduler and the executors do
  const int me = ++state_.incarnation[static_cast<size_t>(worker_)];
  if (self->get_restart_count() == 0) {
    // Exit callbacks accumulate across restarts: register one, which reads the state at death.
    s4u::this_actor::on_exit([&st = state_, &ctx = ctx_, w = worker_](bool failed) {
      if (!failed || st.finished) return;
      ctx.count_failure(FailureCause::HostDown);
      auto& r = st.running[static_cast<size_t>(w)];
      if (r.task >= 0) {
        const double lost = r.unsaved_s + (r.compute_start >= 0 ? s4u::Engine::get_clock() - r.compute_start : 0.0);
        st.lost_compute_s += lost;
        st.lost_flops += lost * ctx.worker_hosts[static_cast<size_t>(w)]->get_speed();
      }
      r = RunState::Running{};
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
  const bool async = state_.policy.exchange == AlgorithmPolicy::Exchange::Async;
  while (true) {
    if (ask)
      send_and_wait(ctx_, scheduler_mailbox(s4u::this_actor::get_host()), state_.scheduler_host, new SchedulerMessage(request), kControlBytes,
                    [](void* p) { delete static_cast<SchedulerMessage*>(p); });
    std::unique_ptr<Assignment> a;
    if (ring && !ask && !request.done) {  // a rank's first life: its rank, from the start, unasked
      a = std::make_unique<Assignment>(Assignment{worker_, 0, 1, me});
    } else {
      do a.reset(next_assignment(me));
      while (a->incarnation != me);  // one addressed to an earlier life of this worker
    }
    request.failed = ring ? run_rank(*a) : async ? (state_.policy.decoupled ? run_decoupled(*a) : run_async(*a)) : run_task(*a);
    ask = !replica || request.failed != FailureCause::None;
    // Its modules were out of reach (an executor's host is down): give it back after a pause, so
    // that the retries do not spin while the host is repaired.
    if (request.failed != FailureCause::None) s4u::this_actor::sleep_for(ctx_.scenario.failures.heartbeat_s);
    request.done = true;
    request.task = a->task;
    request.phase = a->phase;
    request.attempt = a->attempt;
  }
}

FailureCause Worker::run_task(const Assignment& a) {
  const auto& s = ctx_.scenario;
  const auto& st = state_.structure;
  const int tau = phase_steps(s);  // inner steps per phase
  const bool local = state_.policy.local_replicas;
  const int me = state_.incarnation[static_cast<size_t>(worker_)];
  const auto& task = state_.tasks[static_cast<size_t>(a.task)];
  const auto modules = st.modules_of(task.path);
  auto* host = ctx_.worker_hosts[static_cast<size_t>(worker_)];
  auto& running = state_.running[static_cast<size_t>(worker_)];
  // The head of this phase that the worker ran while its last phase's results travelled.
  const bool headed = local && head_.task == a.task && head_.phase == a.phase && head_.incarnation == me;
  const int head = headed ? s.streaming.overlap_steps : 0;
  running = RunState::Running{a.task, a.phase, a.attempt, -1.0, headed ? running.unsaved_s : 0.0};
  // Whether this worker's memory still holds the replica's own parameters.
  const bool holds = local && (a.phase == 1 || state_.replica_holder[static_cast<size_t>(a.task)] == std::make_pair(worker_, me));
  const auto version = state_.versions.find(a.phase);
  if (version == state_.versions.end()) return FailureCause::None;  // its phase closed while the assignment travelled
  for (int m : modules)  // an executor still restoring serves no module yet: as if out of reach
    if (state_.module_recovering[static_cast<size_t>(m)]) {
      running = RunState::Running{};
      ctx_.count_failure(FailureCause::ExecutorLost);
      return FailureCause::ExecutorLost;
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
  std::vector<Transfer> pulls;  // retried after link failures (sim/platform/transfer.hpp)
  if (resume_from > 0) {
    pulls.push_back(Transfer::pull(ctx_, state_.storage_host, host, inner_checkpoint_bytes));
  } else if (!continues && !state_.policy.static_assignment) {  // a static assignment brought them
    for (int m : modules)
      pulls.push_back(Transfer::pull(ctx_, state_.executor_hosts[static_cast<size_t>(m)], host, state_.module_bytes[static_cast<size_t>(m)]));
  }
  wait_all(ctx_, pulls);
  for (const auto& p : pulls) {
    if (!p.failed()) continue;
    for (int m : modules)
      if (!state_.executor_hosts[static_cast<size_t>(m)]->is_on()) {
        running = RunState::Running{};  // a module's executor host is down: the task goes back
        ctx_.count_failure(FailureCause::ExecutorLost);
        return FailureCause::ExecutorLost;
      }
    throw simgrid::NetworkFailureException(XBT_THROW_POINT, p.why());  // given up: the run fails
  }
  if (resume_from > 0) state_.resumed_steps += resume_from;

  auto& attempted = state_.attempted[{a.task, a.phase, epoch_sum}];  // looked up again: the pulls took time
  // A replica's own parameters died with its worker: an attempt trained from them is not this one's.
  if (local && attempted.from_local && !holds && resume_from == 0) attempted = RunState::Attempted{};
  if (ctx_.training && !attempted.job.valid() && local) {
    attempted.job = submit_streaming(a, holds, head, versions);
    attempted.from_local = holds && a.phase > 1;
  } else if (ctx_.training && !attempted.job.valid()) {
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
  for (int done = std::max(resume_from, head); done < tau;) {
    const int chunk = std::min(every - done % every, tau - done);
    running.compute_start = now();
    s4u::this_actor::execute(ctx_.cost.host_flops(chunk));
    running.unsaved_s += now() - running.compute_start;
    running.compute_start = -1.0;
    done += chunk;
    if (done == tau) break;
    // A write to the storage host: the same host-to-host transfer as a pull. Not saved (a link
    // down): a later death loses this chunk too.
    std::vector<Transfer> write{Transfer::pull(ctx_, host, state_.storage_host, inner_checkpoint_bytes, Transfer::Retry::Never)};
    wait_all(ctx_, write);
    if (!write.front().failed()) {
      state_.attempted[{a.task, a.phase, epoch_sum}].saved_steps = done;
      ++state_.inner_checkpoints;
      compute += running.unsaved_s;
      running.unsaved_s = 0.0;
    }
  }

  if (ctx_.training) {
    const auto& r = job.get();
    if (s.dipaco.inner_state == InnerState::Path && !local) state_.task_moments[{a.task, a.phase}] = r.opt_state;
    double loss = r.mean_loss;  // with a head: over the phase's steps, both parts
    if (headed && head_.job.valid()) loss = (head * head_.job.get().mean_loss + (tau - head) * loss) / tau;
    const auto phase = state_.phases.find(a.phase);
    if (phase != state_.phases.end()) phase->second.task_loss.emplace(a.task, loss);
  }
  if (local) {  // the replica's own parameters, in this worker's memory
    state_.own_params[{a.task, a.phase}] = job;
    state_.replica_holder[static_cast<size_t>(a.task)] = {worker_, me};
  }
  const bool dropped = gradient_dropped(s, a.task, a.phase);
  std::vector<size_t> sent;  // the modules uploaded: Streaming DiLoCo's phase syncs one fragment
  for (size_t i = 0; i < modules.size(); ++i)
    if (segment_syncs(s, st.segment_of_module(modules[i]), a.phase)) sent.push_back(i);
  state_.results[{a.task, a.phase, a.attempt}] = RunState::Result{job, static_cast<int>(sent.size()), nullptr};
  double upload_bytes = 0.0;
  for (size_t i : sent) upload_bytes += state_.module_bytes[static_cast<size_t>(modules[i])] * ctx_.cost.gradient_wire_factor;
  ctx_.peak_upload_bytes = std::max(ctx_.peak_upload_bytes, upload_bytes);
  std::vector<Transfer> uploads;  // retried after link failures (sim/platform/transfer.hpp)
  for (size_t i : sent) {
    const int m = modules[i];
    uploads.push_back(Transfer::message(ctx_, executor_mailbox(m, host), state_.executor_hosts[static_cast<size_t>(m)],
                                        new ContributionMessage{a.task, a.phase, a.attempt, worker_, dropped, epochs[i]},
                                        state_.module_bytes[static_cast<size_t>(m)] * ctx_.cost.gradient_wire_factor,
                                        [](void* p) { delete static_cast<ContributionMessage*>(p); }));
  }
  // Streaming DiLoCo with overlap: the next phase's first steps run while the uploads travel (and
  // the outer step, and the download of its result).
  const bool next_head = local && s.streaming.overlap_steps > 0 && a.phase < phase_count(s);
  simgrid::s4u::ExecPtr head_exec;
  double head_start = -1.0;
  if (next_head) {
    next_ = worker_mailbox(worker_)->get_async(&next_payload_);
    next_incarnation_ = me;
    head_start = now();
    head_exec = s4u::this_actor::exec_async(ctx_.cost.host_flops(s.streaming.overlap_steps));
  }
  // An upload fails for good when its executor has moved past the phase for good (the run's last
  // phase closed under a quorum or deadline; the result was late anyway), when its executor's host
  // died (the phase is redone after the recovery) or when it was given up.
  wait_all(ctx_, uploads);
  if (dropped && ctx_.training) state_.own_params[{a.task, a.phase}] = job;
  compute += running.unsaved_s;  // the result is with the executors: its compute is secured
  running = RunState::Running{};
  if (next_head) {
    running = RunState::Running{a.task, a.phase + 1, 0, head_start, 0.0};  // lost if the worker dies before its phase
    head_ = Head{a.task, a.phase + 1, me, {}};
    if (ctx_.training)
      head_.job = ctx_.submit_training(std::make_shared<const engine::ParamVector>(job.get().params), job.get().opt_state, {task.shard},
                                       static_cast<int64_t>(a.phase) * tau, s.streaming.overlap_steps,
                                       engine::mix_seed(s.seed, state_.policy.seed_base + static_cast<uint64_t>(a.task)));
    head_exec->wait();  // the uploads may have taken longer: the head's compute ends with its exec
    running.unsaved_s = head_exec->get_finish_time() - head_start;
    running.compute_start = -1.0;
  }
  // Done: a later attempt (after an executor's recovery) trains from other versions, so the job is
  // not needed again; dropping it keeps at most one path per busy worker in memory.
  state_.attempted.erase({a.task, a.phase, epoch_sum});
  if (std::none_of(uploads.begin(), uploads.end(), [](const Transfer& u) { return u.failed(); }))
    state_.uploaded[static_cast<size_t>(worker_)] = {a.task, a.phase, a.attempt};
  return FailureCause::None;
}

Assignment* Worker::next_assignment(int incarnation) {
  if (next_ && next_incarnation_ == incarnation) {
    auto comm = std::move(next_);
    next_ = nullptr;
    try {
      comm->wait();
      return static_cast<Assignment*>(next_payload_);
    } catch (const simgrid::NetworkFailureException&) {  // as receive() does: a broken link, try again
      auto* here = s4u::this_actor::get_host();
      if (!state_.scheduler_host->is_on() || down_link(state_.scheduler_host, here) == nullptr) throw;
    }
  }
  next_ = nullptr;
  return static_cast<Assignment*>(take(ctx_, worker_mailbox(worker_), state_.scheduler_host));
}

FailureCause Worker::run_rank(const Assignment& a) {
  // Synchronous DP: rank a.task's steps from where the rank is (its progress outlives the worker
  // that ran it). Each step is one inner step of compute and a ring all-reduce of the gradients;
  // a step whose worker died is redone in full by the next one (the gradient died with the host).
  const auto& s = ctx_.scenario;
  const int tau = s.algorithm.tau, total = s.algorithm.outer_steps * tau;
  const int rank = a.task;
  const int k = static_cast<int>(state_.ring.size());
  auto& progress = state_.ring[static_cast<size_t>(rank)];
  auto* host = s4u::this_actor::get_host();
  state_.ring_host[static_cast<size_t>(rank)] = host;
  auto& running = state_.running[static_cast<size_t>(worker_)];
  auto& compute = ctx_.compute_seconds[static_cast<size_t>(worker_)];
  const bool rollbacks = state_.policy.ring_recovery == AlgorithmPolicy::RingRecovery::Rollback;
  auto& rollback = state_.ring_rollback;
  // A rank sends 2(k − 1) chunks of 1/k of the gradient per step (reduce-scatter, then all-gather).
  ctx_.peak_upload_bytes = 2.0 * (k - 1) * ctx_.cost.message_bytes * ctx_.cost.gradient_wire_factor / k;
  while (progress.step < total) {
    if (rollbacks && rollback.restore[static_cast<size_t>(rank)]) {
      restore_ring_checkpoint(rank);
      continue;  // the ring may have rolled back again meanwhile
    }
    const int generation = rollback.generation;  // a rollback during the step abandons it
    const int interval = progress.step / tau + 1;
    running = RunState::Running{rank, interval, a.attempt};
    // One batch from every rank's shard per step. An interval redone after a rollback is not
    // trained again: the same steps on the same batches give the same result.
    auto& iv = state_.ring_intervals[interval];
    if (rank == 0 && ctx_.training && !iv.job.valid() && interval > rollback.trained)
      iv.job = ctx_.submit_training(state_.ring_params, std::move(state_.ring_adam), ctx_.shards,
                                    static_cast<int64_t>(interval - 1) * tau, tau, engine::mix_seed(s.seed, state_.policy.seed_base));
    running.compute_start = now();
    s4u::this_actor::execute(ctx_.cost.host_flops(1));
    running.unsaved_s += now() - running.compute_start;
    running.compute_start = -1.0;
    if (!ring_allreduce(ctx_, state_, rank, ctx_.cost.message_bytes * ctx_.cost.gradient_wire_factor, generation)) {  // rolled back: the step is lost
      state_.lost_compute_s += running.unsaved_s;
      state_.lost_flops += running.unsaved_s * host->get_speed();
      running = RunState::Running{};
      continue;
    }
    compute += running.unsaved_s;  // the step is done everywhere: its compute is secured
    if (rollbacks) rollback.unsaved[static_cast<size_t>(rank)][progress.step] = {worker_, running.unsaved_s};  // until a checkpoint holds it
    running = RunState::Running{};
    if (rank == 0) ++ctx_.synchronisations;
    progress = RunState::RingProgress{progress.step + 1, 0};
    if (rank == 0 && rollbacks && ring_checkpoint_due(progress.step, s.checkpoints.inner_every_steps, total))
      write_ring_checkpoint(progress.step);
    if (progress.step % tau != 0) continue;
    auto& done = state_.ring_intervals[interval];
    if (rank == 0 && ctx_.training && interval > rollback.trained) {  // before rank 0 starts the next interval from it
      auto result = done.job.get();
      done.loss = result.mean_loss;
      state_.ring_adam = std::move(result.opt_state);
      state_.ring_params = std::make_shared<const engine::ParamVector>(std::move(result.params));
      done.params = state_.ring_params;
      rollback.trained = interval;
    }
    // The interval ends when its last step's ring reaches its last rank, not when rank 0 is done.
    if (++done.finished < k) continue;
    const auto loss = done.loss;
    const auto params = done.params;
    state_.ring_intervals.erase(interval);
    if (interval <= rollback.recorded) continue;  // redone after a rollback: its row is written
    rollback.recorded = interval;
    if (interval % s.algorithm.eval_every == 0 || interval == s.algorithm.outer_steps) ctx_.record(interval, loss, params);
    if (interval == s.algorithm.outer_steps) state_.finished = true;
  }
  return FailureCause::None;
}

std::shared_future<engine::TrainResult> Worker::submit_streaming(const Assignment& a, bool holds, int head,
                                                                 const std::vector<std::shared_ptr<const engine::ParamVector>>& versions) {
  const auto& s = ctx_.scenario;
  const auto& st = state_.structure;
  const auto& task = state_.tasks[static_cast<size_t>(a.task)];
  const int tau = phase_steps(s);
  const uint64_t seed = engine::mix_seed(s.seed, state_.policy.seed_base + static_cast<uint64_t>(a.task));
  if (!holds || a.phase == 1) {  // the global fragments, fresh moments
    std::vector<std::shared_ptr<const engine::ParamVector>> segments;
    for (int m : st.modules_of(task.path)) segments.push_back(versions[static_cast<size_t>(m)]);
    return ctx_.submit_training(std::make_shared<const engine::ParamVector>(engine::PathRecipe{state_.layout.get(), std::move(segments)}.compose()),
                                {}, {task.shard}, static_cast<int64_t>(a.phase - 1) * tau, tau, seed);
  }
  // The replica's own state after its last phase (or after this phase's head), with the fragment
  // the last phase synchronised mixed in: θ ← mix·θ_local + (1 − mix)·θ_global.
  const auto& own = head > 0 ? head_.job.get() : state_.own_params.at({a.task, a.phase - 1}).get();
  engine::ParamVector params = own.params;
  const float keep = static_cast<float>(s.streaming.mix);
  for (int m : st.modules_of(task.path)) {
    const int segment = st.segment_of_module(m);
    if (!segment_syncs(s, segment, a.phase - 1)) continue;
    auto mine = state_.layout->extract(params, segment);
    const auto& global = *versions[static_cast<size_t>(m)];
    for (size_t i = 0; i < mine.size(); ++i) mine[i] = keep * mine[i] + (1.0F - keep) * global[i];
    state_.layout->insert(params, segment, mine);
  }
  return ctx_.submit_training(std::make_shared<const engine::ParamVector>(std::move(params)), own.opt_state, {task.shard},
                              static_cast<int64_t>(a.phase - 1) * tau + head, tau - head, seed);
}

void Worker::write_ring_checkpoint(int steps) {
  // The parameters and both AdamW moments, from rank 0 (every rank holds the same); rank 0 waits
  // for the write, as a blocking torch.save does, and the others wait for rank 0 at the next step.
  auto& rollback = state_.ring_rollback;
  const int generation = rollback.generation;
  std::vector<Transfer> write{
      Transfer::pull(ctx_, s4u::this_actor::get_host(), state_.storage_host, 3.0 * ctx_.cost.message_bytes, Transfer::Retry::Never)};
  wait_all(ctx_, write);
  if (write.front().failed() || rollback.generation != generation) return;  // not saved: the previous checkpoint stands
  // Nothing before the previous checkpoint can be undone any more (every rank is past it).
  const int previous = rollback.written.back();
  for (auto& steps_of_rank : rollback.unsaved) steps_of_rank.erase(steps_of_rank.begin(), steps_of_rank.lower_bound(previous));
  rollback.written.push_back(steps);
  ++state_.inner_checkpoints;
}

void Worker::restore_ring_checkpoint(int rank) {
  auto& rollback = state_.ring_rollback;
  const int generation = rollback.generation;
  std::vector<Transfer> pull{Transfer::pull(ctx_, state_.storage_host, s4u::this_actor::get_host(), 3.0 * ctx_.cost.message_bytes)};
  wait_all(ctx_, pull);
  if (pull.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, pull.front().why());  // given up: the run fails
  if (rollback.generation == generation) rollback.restore[static_cast<size_t>(rank)] = 0;  // else it rolled back again: pull again
}

}  // namespace dipaco::sim
