#include "sim/diloco_actors.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <xbt/log.h>

#include <memory>
#include <string>

#include "sim/actor_guard.hpp"
#include "sim/inbox.hpp"
#include "sim/transfer.hpp"

XBT_LOG_NEW_DEFAULT_CATEGORY(dipaco_diloco, "DiLoCo workers and outer optimizer");

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

struct ParamsMessage {
  std::shared_ptr<const engine::ParamVector> params;  // null without training
  bool stop = false;
};

struct ResultMessage {
  int rank = 0;
  std::shared_ptr<engine::TrainResult> result;  // null without training
};

s4u::Mailbox* worker_mailbox(int rank) { return s4u::Mailbox::by_name("diloco-worker-" + std::to_string(rank)); }
const std::string kOuterInbox = "diloco-outer";

constexpr double kControlBytes = 64;  // a stop message

}  // namespace

void DilocoWorker::operator()() { guarded(ctx_, "worker " + std::to_string(rank_), [this] { run(); }); }

void DilocoWorker::run() {
  const auto& s = ctx_.scenario;
  const int tau = s.algorithm.tau;
  engine::AdamState adam;  // each worker keeps its own AdamW state across rounds
  for (int round = 0;; ++round) {
    auto msg = worker_mailbox(rank_)->get_unique<ParamsMessage>();
    if (msg->stop) return;

    // Hand the real steps to the pool now, so they run while the simulation goes on.
    std::shared_future<engine::TrainResult> job;
    if (ctx_.training)
      job = ctx_.submit_training(msg->params, std::move(adam), {ctx_.shards[static_cast<size_t>(rank_)]},
                                 static_cast<int64_t>(round) * tau, tau,
                                 engine::mix_seed(s.seed, 1000 + static_cast<uint64_t>(rank_)));

    const double start = s4u::Engine::get_clock();
    s4u::this_actor::execute(ctx_.cost.host_flops(tau));
    ctx_.compute_seconds[static_cast<size_t>(rank_)] += s4u::Engine::get_clock() - start;

    auto out = std::make_unique<ResultMessage>();
    out->rank = rank_;
    if (ctx_.training) {
      out->result = std::make_shared<engine::TrainResult>(job.get());  // blocks only if the pool is behind
      adam = std::move(out->result->opt_state);
    }
    send_async(ctx_, Inbox::address(kOuterInbox, s4u::this_actor::get_host()), ctx_.outer_host, out.get(), ctx_.cost.message_bytes)->wait();
    out.release();  // delivered: the receiver owns it now
  }
}

void DilocoOuter::operator()() { guarded(ctx_, "outer optimizer", [this] { run(); }); }

void DilocoOuter::run() {
  const auto& s = ctx_.scenario;
  const int k = s.workers();
  std::shared_ptr<const engine::ParamVector> params;
  if (ctx_.training) params = std::make_shared<const engine::ParamVector>(ctx_.initial_params);
  engine::OuterOptimizer optimizer(s.outer);
  s4u::this_actor::sleep_until(ctx_.start_time);  // the warm start's pre-training
  ctx_.record(0, std::nullopt, params);
  // Posted before the broadcast and kept all run long: each upload flows as soon as its worker
  // sends it, whatever the others and the broadcast are doing (sim/inbox.hpp).
  Inbox results_inbox(kOuterInbox);

  for (int t = 1; t <= s.algorithm.outer_steps; ++t) {
    std::vector<s4u::CommPtr> sends;
    for (int i = 0; i < k; ++i) {
      auto* msg = new ParamsMessage{params, false};
      sends.push_back(send_async(ctx_, worker_mailbox(i), ctx_.worker_hosts[static_cast<size_t>(i)], msg, ctx_.cost.message_bytes));
    }
    s4u::Comm::wait_all(sends);

    std::vector<std::unique_ptr<ResultMessage>> results(static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) {
      auto r = results_inbox.next<ResultMessage>();
      results[static_cast<size_t>(r->rank)] = std::move(r);
    }
    ++ctx_.synchronisations;

    std::optional<double> train_loss;
    if (ctx_.training) {
      std::vector<const engine::ParamVector*> replicas;
      double loss = 0.0, total = 0.0;
      for (int i = 0; i < k; ++i) {
        replicas.push_back(&results[static_cast<size_t>(i)]->result->params);
        loss += ctx_.shard_weights[static_cast<size_t>(i)] * results[static_cast<size_t>(i)]->result->mean_loss;
        total += ctx_.shard_weights[static_cast<size_t>(i)];
      }
      const auto delta = engine::outer_gradient(*params, replicas, ctx_.shard_weights);
      auto next = *params;
      optimizer.step(next, delta);
      params = std::make_shared<const engine::ParamVector>(std::move(next));
      train_loss = loss / total;
    }
    if (t % s.algorithm.eval_every == 0 || t == s.algorithm.outer_steps) ctx_.record(t, train_loss, params);
  }

  std::vector<s4u::CommPtr> stops;
  for (int i = 0; i < k; ++i)
    stops.push_back(send_async(ctx_, worker_mailbox(i), ctx_.worker_hosts[static_cast<size_t>(i)], new ParamsMessage{nullptr, true}, kControlBytes));
  s4u::Comm::wait_all(stops);
}

}  // namespace dipaco::sim
