// A learner of Decoupled DiLoCo (AlgorithmPolicy::decoupled; sim/scenario/scenario.hpp:
// DecoupledSpec). It never waits: phase after phase of algorithm.tau / F inner steps from its own
// parameters, with the merged fragments that reached it since the last phase mixed in. At the end
// of phase j it hands fragment (j − 1) mod F's outer gradient to a courier actor on its host, which
// carries it to the synchroniser while the learner trains on. A death loses the phases whose outer
// gradients had not arrived, and the parameters and moments in its memory; the scheduler hands the
// learner, with θ as it is then, to the next free worker.
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <memory>

#include "engine/train/seed.hpp"
#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/algorithms/worker.hpp"
#include "sim/platform/transfer.hpp"
#include "sim/run/actor_guard.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

// The courier: the outer gradient travels to the synchroniser; once it is there, the compute of
// its phase is secured. It dies with its host (the message is then lost).
void send_fragment(RunContext& ctx, RunState& state, int worker, int incarnation, ContributionMessage msg, double spent) {
  auto* here = s4u::this_actor::get_host();
  s4u::Actor::create("decoupled-upload-" + std::to_string(msg.task), here, [&ctx, &state, worker, incarnation, msg, spent, here] {
    guarded(ctx, "decoupled upload of learner " + std::to_string(msg.task), [&] {
      s4u::Actor::self()->daemonize();  // one still travelling when the run ends is dropped
      const double bytes = state.decoupled.fragment_bytes[static_cast<size_t>(msg.fragment)] * ctx.cost.gradient_wire_factor;
      std::vector<Transfer> up{Transfer::message(ctx, executor_mailbox(0, here), state.executor_hosts.front(), new ContributionMessage(msg),
                                                 bytes, [](void* p) { delete static_cast<ContributionMessage*>(p); })};
      wait_all(ctx, up);
      if (up.front().failed()) {  // given up after the link retries: the learner's steps stay in its own parameters
        ++state.decoupled.lost_uploads;
        return;
      }
      if (state.incarnation[static_cast<size_t>(worker)] != incarnation) return;  // its learner died meanwhile
      auto& running = state.running[static_cast<size_t>(worker)];
      running.unsaved_s = std::max(0.0, running.unsaved_s - spent);
      ctx.compute_seconds[static_cast<size_t>(worker)] += spent;
    });
  });
}

}  // namespace

FailureCause Worker::run_decoupled(const Assignment& a) {
  const auto& s = ctx_.scenario;
  const auto& st = state_.structure;
  auto& as = state_.async;
  auto& dc = state_.decoupled;
  const auto t = static_cast<size_t>(a.task);
  const auto& task = state_.tasks[t];
  const int me = state_.incarnation[static_cast<size_t>(worker_)];
  const int F = fragments(s);
  const int steps = phase_steps(s);
  const uint64_t seed = engine::mix_seed(s.seed, state_.policy.seed_base + static_cast<uint64_t>(a.task));
  // A new life: θ as its assignment carried it, every fragment anchored there, fresh moments.
  state_.replica_holder[t] = {worker_, me};
  for (int p = 0; p < F; ++p) {
    dc.anchors[t][static_cast<size_t>(p)] = {dc.dispatched[t][static_cast<size_t>(p)], as.held[t].theta};
    dc.since_sent[t][static_cast<size_t>(p)] = 0;
  }
  dc.delivered[t].clear();
  std::shared_future<engine::TrainResult> last;  // its last phase: its own parameters and moments
  auto& running = state_.running[static_cast<size_t>(worker_)];
  running = RunState::Running{a.task, dc.phases[t], a.attempt};
  while (!state_.finished) {
    const int phase = ++dc.phases[t];
    const int p = (phase - 1) % F;
    std::shared_future<engine::TrainResult> job;
    if (ctx_.training) {
      engine::ParamVector params = last.valid() ? last.get().params : *as.held[t].theta;
      engine::AdamState moments = last.valid() ? last.get().opt_state : engine::AdamState{};
      // θ ← mix·θ_local + (1 − mix)·θ_global on each fragment that came back.
      const auto keep = static_cast<float>(s.decoupled.mix);
      for (const auto& d : dc.delivered[t])
        for (int m : dc.fragment_modules[static_cast<size_t>(d.fragment)]) {
          const int segment = st.segment_of_module(m);
          auto mine = state_.layout->extract(params, segment);
          const auto global = state_.layout->extract(*d.anchor.theta, segment);
          for (size_t i = 0; i < mine.size(); ++i) mine[i] = keep * mine[i] + (1.0F - keep) * global[i];
          state_.layout->insert(params, segment, mine);
        }
      job = ctx_.submit_training(std::make_shared<const engine::ParamVector>(std::move(params)), std::move(moments), {task.shard},
                                 as.steps[t], steps, seed);
    }
    for (const auto& d : dc.delivered[t]) dc.anchors[t][static_cast<size_t>(d.fragment)] = d.anchor;
    dc.delivered[t].clear();
    running.phase = phase;
    running.compute_start = s4u::Engine::get_clock();
    s4u::this_actor::execute(ctx_.cost.host_flops(steps));
    const double spent = s4u::Engine::get_clock() - running.compute_start;
    running.unsaved_s += spent;
    running.compute_start = -1.0;
    as.steps[t] += steps;
    for (auto& n : dc.since_sent[t]) n += steps;
    last = job;
    if (state_.finished) break;
    // Fragment p's outer gradient (from its anchor), kept in RunState::results until merged.
    state_.results[{a.task, phase, a.attempt}] = RunState::Result{job, 1, dc.anchors[t][static_cast<size_t>(p)].theta};
    ContributionMessage msg{a.task, phase, a.attempt, worker_, false, 0, dc.anchors[t][static_cast<size_t>(p)].version,
                            dc.since_sent[t][static_cast<size_t>(p)]};
    msg.fragment = p;
    dc.since_sent[t][static_cast<size_t>(p)] = 0;
    send_fragment(ctx_, state_, worker_, me, msg, spent);
  }
  return FailureCause::None;
}

}  // namespace dipaco::sim
