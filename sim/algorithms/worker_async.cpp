// The worker's rounds of asynchronous DiLoCo (AlgorithmPolicy::Exchange::Async): no barrier. A
// replica trains H steps from the θ it last received, sends its outer gradient to the outer
// optimizer's executor, which applies it on arrival, and pulls θ as it is right after its own
// update; then the next round. A death loses the round in progress; the scheduler hands the
// replica, with the θ of that moment, to the next free worker.
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <memory>

#include "engine/train/seed.hpp"
#include "sim/algorithms/algorithm_policy.hpp"
#include "sim/algorithms/worker.hpp"
#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

FailureCause Worker::run_async(const Assignment& a) {
  const auto& s = ctx_.scenario;
  auto& as = state_.async;
  const auto t = static_cast<size_t>(a.task);
  const auto& task = state_.tasks[t];
  auto* host = s4u::this_actor::get_host();
  // Its server: the outer optimizer's executor, or (HALoS) its datacentre's parameter server.
  const int server = state_.policy.hierarchical ? state_.async.region_of_task[t] : 0;
  auto* outer = state_.executor_hosts[static_cast<size_t>(server)];
  const bool dylu = state_.policy.hierarchical ? s.halos.dylu : s.async.dylu;
  const double bytes = state_.module_bytes.front();
  auto& running = state_.running[static_cast<size_t>(worker_)];
  auto& compute = ctx_.compute_seconds[static_cast<size_t>(worker_)];
  double fastest = 0.0;  // DyLU: H in proportion to the host's speed now, against the fastest host's peak
  for (auto* h : ctx_.worker_hosts) fastest = std::max(fastest, h->get_speed());
  for (int round = 1; !state_.finished; ++round) {
    const auto from = as.held[t];  // the θ this round trains from (set before this round began)
    const int steps = dylu ? dylu_steps(s.algorithm.tau, host->get_speed() * host->get_available_speed(), fastest) : s.algorithm.tau;
    running = RunState::Running{a.task, round, a.attempt};
    std::shared_future<engine::TrainResult> job;
    if (ctx_.training)
      job = ctx_.submit_training(from.theta, as.moments[t], {task.shard}, as.steps[t], steps,
                                 engine::mix_seed(s.seed, state_.policy.seed_base + static_cast<uint64_t>(a.task)));
    running.compute_start = s4u::Engine::get_clock();
    s4u::this_actor::execute(ctx_.cost.host_flops(steps));
    running.unsaved_s = s4u::Engine::get_clock() - running.compute_start;
    running.compute_start = -1.0;
    // The round's result stays in RunState::results; the message carries its key and θ's version.
    state_.results[{a.task, round, a.attempt}] = RunState::Result{job, 1, from.theta};
    std::vector<Transfer> upload{Transfer::message(
        ctx_, executor_mailbox(server, host), outer,
        new ContributionMessage{a.task, round, a.attempt, worker_, false, 0, from.version, steps}, bytes * ctx_.cost.gradient_wire_factor,
        [](void* p) { delete static_cast<ContributionMessage*>(p); })};
    wait_all(ctx_, upload);
    compute += running.unsaved_s;  // the outer gradient is with the executor: its compute is secured
    running = RunState::Running{};
    as.steps[t] += steps;
    if (ctx_.training) as.moments[t] = job.get().opt_state;
    if (state_.finished) break;
    // θ right after its own update: the executor applied it when the upload arrived, and set it
    // as this replica's next θ (RunState::Async::held).
    std::vector<Transfer> pull{Transfer::pull(ctx_, outer, host, bytes)};
    wait_all(ctx_, pull);
    if (pull.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, pull.front().why());  // given up
  }
  return FailureCause::None;
}

}  // namespace dipaco::sim
