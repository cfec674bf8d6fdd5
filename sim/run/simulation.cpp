#include "sim/run/simulation.hpp"

#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Activity.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <xbt/config.hpp>
#include <xbt/log.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <iostream>
#include <cmath>
#include <algorithm>
#include <memory>
#include <random>
#include <set>

#include <sys/resource.h>

#include "engine/train/blas_kernel.hpp"
#include "engine/data/corpus.hpp"
#include "engine/train/precision.hpp"
#include "engine/data/sharding.hpp"
#include "engine/train/thread_pool.hpp"
#include "engine/train/trainer.hpp"
#include "engine/train/warm_start.hpp"
#include "reports/atomic_file.hpp"
#include "reports/metrics_csv.hpp"
#include "reports/summary_json.hpp"
#include "sim/run/data_setup.hpp"
#include "sim/run/run_state.hpp"
#include "sim/algorithms/algorithm_setup.hpp"
#include "sim/platform/energy.hpp"
#include "sim/failures/failures.hpp"
#include "sim/platform/link_traces.hpp"
#include "sim/algorithms/executor.hpp"
#include "sim/algorithms/task_scheduler.hpp"
#include "sim/algorithms/worker.hpp"
#include "reports/ledger.hpp"
#include "sim/platform/executor_placement.hpp"
#include "sim/run/inspect.hpp"
#include "sim/algorithms/routing.hpp"
#include "sim/platform/network_model.hpp"
#include "sim/run/memory_guard.hpp"
#include "sim/run/observability.hpp"
#include "sim/platform/platform.hpp"
#include "sim/platform/ns3_settings.hpp"
#include "sim/platform/platform_checks.hpp"
#include "sim/run/run_context.hpp"
#include "sim/trace/trace_recorder.hpp"
#include "sim/platform/transfer.hpp"
#include "sim/algorithms/messages.hpp"
#include "sim/platform/flow_groups.hpp"
#include "sim/platform/inbox.hpp"

XBT_LOG_NEW_DEFAULT_CATEGORY(dipaco_sim, "dipaco-sim setup and outputs");

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

// Sequences and one shard per worker. Small-corpus problems are input errors (exit 2).
void prepare_data(const Scenario& s, const engine::Dataset& data, RunContext& ctx) {
  const std::string file = s.file.string();
  auto train = engine::make_sequences(data.train, s.model.seq_len, s.data.prefix_tokens);
  auto validation = engine::make_sequences(data.validation, s.model.seq_len, s.data.prefix_tokens);
  if (train.size() < s.inner.batch_size || validation.size() == 0)
    throw ScenarioError(fmt::format("{}: data: {} training and {} validation sequences of {} tokens are too few for a "
                                    "batch of {}; add text, or lower model.seq_len or inner_optimizer.batch_size",
                                    file, train.size(), validation.size(), s.model.seq_len, s.inner.batch_size));
  // DiPaCo shards by path after routing (sim/algorithms/routing.cpp); the others shard by worker here.
  const auto shards = s.algorithm.name == Algorithm::Dipaco ? std::vector<engine::Shard>{}
                      : s.data.sharding == Sharding::Iid   ? engine::iid_shards(train, s.workers(), s.seed)
                                                           : engine::domain_shards(train, s.workers());
  for (size_t i = 0; i < shards.size(); ++i) {
    if (shards[i].empty())
      throw ScenarioError(fmt::format("{}: data: worker {} gets an empty shard ({} sharding); add text or use fewer workers",
                                      file, i, to_string(s.data.sharding)));
    ctx.shards.push_back(std::make_shared<const engine::Shard>(shards[i]));
    ctx.shard_weights.push_back(static_cast<double>(shards[i].size()));
  }
  ctx.train_data = std::make_shared<const engine::SequenceSet>(std::move(train));
  ctx.validation_data = std::make_shared<const engine::SequenceSet>(std::move(validation));
  ctx.initial_params = engine::init_params(s.model, s.seed);
}

// init: the warm start, trained on the pool (one thread per job: the same bytes for any thread
// count) or read from the cache beside the token caches.
void warm_start(const Scenario& s, RunContext& ctx) {
  engine::WarmStartSpec spec;
  spec.model = s.model;
  spec.opt = s.inner;
  spec.steps = s.pretrain_steps();
  spec.seed = s.init_seed();
  const auto& train = *ctx.train_data;
  const auto w = ctx.pool->submit([&] { return engine::warm_start(spec, train, s.data.cache_dir); }).get();
  ctx.initial_params = w.params;
  ctx.warm_start_reused = w.reused;
  ctx.warm_start_file = w.file.string();
  XBT_INFO("init: %s a warm start of %d steps (seed %llu)%s%s", w.reused ? "reused" : "pre-trained", s.pretrain_steps(),
           static_cast<unsigned long long>(spec.seed), w.file.empty() ? "" : w.reused ? " from " : ", cached in ", w.file.c_str());
}

// Builds SimGrid's argv: our defaults first, then the scenario's network model, then the user's
// flags, so that later settings win.
std::vector<std::string> simgrid_argv(const Scenario& s, const RunOptions& o) {
  // Torch needs ~135 KiB of actor stack per training step; below 1 MiB, SimGrid stacks crash or corrupt.
  // The energy plugin logs every host's joules at exit and warns once per host without wattages:
  // summary.json reports both (energy_j, energy_hosts_without_wattage), so keep only its errors.
  // Links' warnings (a latency below surf/precision) come while the platform loads, before
  // check_platform_elements can name a negative latency in one line; a tiny positive one is harmless.
  std::vector<std::string> args{"dipaco-sim", "--cfg=contexts/stack-size:8192", "--log=xbt_cfg.thres:warning",
                                "--log=host_energy.thres:error", "--log=res_network.thres:error"};
#ifdef DIPACO_SANITIZE
  args.push_back("--cfg=contexts/factory:thread");  // ASan cannot follow hand-switched stacks (scripts/sanitize.sh)
#endif
  for (const auto& c : network_config(s.network)) args.push_back("--cfg=" + c);
  args.insert(args.end(), o.simgrid_args.begin(), o.simgrid_args.end());
  return args;
}

// The process's peak resident set so far, in MB (Linux reports ru_maxrss in KiB).
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Where the real training ran: the CPU, the BLAS kernel and who chose it, the precision.
reports::JsonObject compute_json(const Scenario& s) {
  const auto k = engine::blas_kernel();
  const auto& cpu = engine::cpu_features();
  reports::JsonObject j;
  j.string("cpu", cpu.model)
      .string("cpu_features", engine::describe(cpu))
      .string("blas", k.library)
      .string("blas_kernel", k.kernel)
      .string("blas_kernel_set_by", k.set_by);
  if (!k.replaced.empty()) j.string("blas_kernel_replaced", k.replaced);
  j.string("precision_requested", engine::to_string(s.precision))
      .string("precision", s.inner.bf16 ? "bf16" : "fp32")
      .string("precision_reason", engine::resolve_precision(s.precision, cpu).reason);
  return j;
}

// The warm start: its steps, seed, whether its time counted and whether it came from the cache.
reports::JsonObject init_json(const Scenario& s, const RunContext& ctx) {
  reports::JsonObject j;
  j.integer("pretrain_steps", s.pretrain_steps())
      .integer("seed", static_cast<int64_t>(s.init_seed()))
      .boolean("count_time", s.init.count_time)
      .number("start_time_s", ctx.start_time);
  if (ctx.warm_start_reused) j.boolean("reused", *ctx.warm_start_reused).string("cache_file", ctx.warm_start_file);
  return j;
}

// "OpenBLAS kernel SkylakeX (OpenBLAS's choice)", for the start-up log.
std::string describe_blas() {
  const auto k = engine::blas_kernel();
  if (k.library.empty()) return "BLAS not OpenBLAS (slow reference BLAS? install libopenblas0-openmp)";
  const std::string best = engine::best_kernel_for(engine::cpu_features());
  std::string by = k.set_by == "openblas" ? "OpenBLAS's choice"
                   : k.set_by == "user"   ? "OPENBLAS_CORETYPE set by the user"
                                          : "chosen by dipaco, which ran again with OPENBLAS_CORETYPE set: OpenBLAS had chosen " + k.replaced;
  if (k.set_by == "user" && engine::kernel_isa_rank(k.kernel) < engine::kernel_isa_rank(best))
    by += fmt::format("; this CPU has the faster {} kernel, unset it to let dipaco choose", best);
  return fmt::format("OpenBLAS kernel {} ({})", k.kernel, by);
}

// "bf16 (auto: the CPU has AMX)".
std::string training_precision(const Scenario& s) {
  return fmt::format("{} ({})", s.inner.bf16 ? "bf16" : "fp32", engine::resolve_precision(s.precision, engine::cpu_features()).reason);
}

// What each worker's shard holds (one per DiLoCo or sync worker, one per DiPaCo task): its
// sequences and how many of the corpus's domains they come from. Shows data.sharding at work.
reports::JsonObject shards_json(const Scenario& s, const RunContext& ctx, const RunState* tasks) {
  std::vector<std::shared_ptr<const engine::Shard>> shards = ctx.shards;
  if (tasks && !tasks->tasks.empty() && tasks->tasks.front().shard) {
    shards.clear();
    for (const auto& t : tasks->tasks) shards.push_back(t.shard);
  }
  std::vector<int64_t> sequences, domains;
  for (const auto& sh : shards) {
    std::set<uint16_t> seen;
    for (int64_t id : *sh) seen.insert(ctx.train_data->domain[static_cast<size_t>(id)]);
    sequences.push_back(static_cast<int64_t>(sh->size()));
    domains.push_back(static_cast<int64_t>(seen.size()));
  }
  reports::JsonObject j;
  j.string("sharding", s.algorithm.name == Algorithm::Dipaco ? "routed" : to_string(s.data.sharding))
      .integers("sequences", sequences)
      .integers("domains", domains);
  return j;
}

std::string summary_json(const RunContext& ctx, const RunOptions& o, double real_seconds,
                         const std::vector<reports::MetricsRow>& rows, const RunState* dipaco,
                         const std::optional<EarlyStopResult>& early_stop, const std::string& error,
                         const std::optional<EnergyReading>& energy) {
  const auto& s = ctx.scenario;
  // Training ends with the last outer step; the stop messages after it are not part of the run.
  const double wall = rows.empty() ? s4u::Engine::get_clock() : rows.back().sim_time_s;
  double compute = 0.0;
  for (double c : ctx.compute_seconds) compute += c;
  const double workers = static_cast<double>(ctx.compute_seconds.size());
  const double utilisation = wall > 0 ? compute / (wall * workers) : 0.0;

  reports::JsonObject cost;
  cost.string("source", ctx.cost.source)
      .integer("params", ctx.cost.params)
      .integer("tokens_per_step", ctx.cost.tokens_per_step)
      .integer("layers", ctx.cost.layers)
      .integer("d_model", ctx.cost.d_model)
      .integer("seq_len", ctx.cost.seq_len)
      .integer("bytes_per_param", ctx.cost.bytes_per_param)
      .number("mfu", ctx.cost.mfu)
      .number("flops_per_step", ctx.cost.flops_per_step)
      .number("message_bytes", ctx.cost.message_bytes);

  reports::JsonObject j;
  j.string("scenario", s.file.string())
      .string("algorithm", to_string(s.algorithm.name))
      .integer("workers", static_cast<int64_t>(ctx.compute_seconds.size()))
      .integer("tau", s.algorithm.tau)
      .integer("outer_steps", s.algorithm.outer_steps)
      .boolean("training", s.training)
      .string("network_model", to_string(s.network));
  if (!error.empty()) j.string("error", error);
  if (s.training && rows.size() >= 1 && rows.front().val_loss && rows.back().val_loss) {
    j.number("initial_val_perplexity", std::exp(*rows.front().val_loss))
        .number("final_val_loss", *rows.back().val_loss)
        .number("final_val_perplexity", std::exp(*rows.back().val_loss));
  } else {
    j.null("initial_val_perplexity").null("final_val_loss").null("final_val_perplexity");
  }
  j.string("data_source", s.data.source)
      .string("tokenizer", s.data.tokenizer.kind)
      .integer("vocab", s.model.vocab)
      .integer("train_sequences", ctx.train_data ? ctx.train_data->size() : 0)
      .integer("prefix_tokens", s.data.prefix_tokens);
  if (ctx.train_data) j.object("shards", shards_json(s, ctx, dipaco));
  if (dipaco && dipaco->layout && !dipaco->policy.whole_model_rows) {
    j.integer("paths", dipaco->structure.paths())
        .integer("modules", dipaco->structure.module_count())
        .integer("params_per_path", dipaco->layout->path_params())
        .integer("total_params", dipaco->layout->all_module_params());
    if (const auto r = rerouted_losses(*dipaco, s)) {
      j.integer("reroute_every", s.dipaco.reroute_every)
          .number("val_perplexity_routed_once", std::exp(r->once))
          .number("val_perplexity_rerouted", std::exp(r->every_window));
    }
    if (early_stop) {
      j.number("val_perplexity_early_stopped", std::exp(early_stop->loss))
          .integers("early_stopping_best_phase", std::vector<int64_t>(early_stop->best_phase.begin(), early_stop->best_phase.end()));
    }
  }
  if (dipaco && dipaco->layout) {
    if (dipaco->failure_plan.hosts.size() > 0 || s.failures.drop_probability > 0 || s.dipaco.phase_policy != PhasePolicy::WaitAll) {
      // Goodput: the flop of accepted work over all the flop spent, lost attempts included.
      double useful = 0.0;
      for (size_t w = 0; w < ctx.compute_seconds.size(); ++w) useful += ctx.compute_seconds[w] * ctx.worker_hosts[w]->get_speed();
      reports::JsonObject f;
      f.integer("preemptible_hosts_failing", static_cast<int64_t>(dipaco->failure_plan.hosts.size()))
          .number("host_seconds_down", dipaco->failure_plan.downtime_s(wall))
          .number("lost_compute_s", dipaco->lost_compute_s)
          .number("lost_flop", dipaco->lost_flops)
          .integer("reexecutions", dipaco->reexecutions)
          .integer("dropped_gradients", dipaco->dropped_gradients)
          .integer("late_results", dipaco->late_results)
          .integer("skipped_tasks", dipaco->skipped_tasks)
          .number("goodput", useful + dipaco->lost_flops > 0 ? useful / (useful + dipaco->lost_flops) : 1.0);
      j.object("failures", f);
    }
    if (dipaco->storage_host) {
      reports::JsonObject c;
      c.string("storage", dipaco->storage_host->get_name())
          .integer("inner_checkpoints", dipaco->inner_checkpoints)
          .integer("resumed_steps", dipaco->resumed_steps)
          .integer("module_checkpoints", dipaco->module_checkpoints)
          .integer("executor_recoveries", dipaco->executor_recoveries)
          .integer("tasks_redone_after_recovery", dipaco->redone_after_recovery);
      if (dipaco->policy.ring_recovery == AlgorithmPolicy::RingRecovery::Rollback)
        c.integer("ring_rollbacks", dipaco->ring_rollback.rollbacks).integer("ring_steps_undone", dipaco->ring_rollback.steps_undone);
      j.object("checkpoints", c);
    }
    if (dipaco->workers > dipaco->primary_workers) {
      double backup_compute = 0.0;
      for (size_t w = static_cast<size_t>(dipaco->primary_workers); w < ctx.compute_seconds.size(); ++w) backup_compute += ctx.compute_seconds[w];
      reports::JsonObject b;
      b.integer("workers", dipaco->workers - dipaco->primary_workers)
          .integer("attempts_dispatched", dipaco->backup_tasks)
          .number("compute_s", backup_compute);
      j.object("backup_pool", b);
    }
    if (dipaco->policy.decoupled) {
      const auto& as = dipaco->async;
      const auto& dc = dipaco->decoupled;
      reports::JsonObject d;
      d.integer("outer_gradients_received", as.applied)
          .integer("fragments", s.decoupled.fragments)
          .integer("quorum_learners", static_cast<int64_t>(decoupled_quorum(s.decoupled.quorum, dipaco->tasks.size())))
          .number("grace_s", s.decoupled.grace_s)
          .integer("merges", dc.merges)
          .number("mean_merge_size", dc.merges > 0 ? static_cast<double>(dc.merged) / static_cast<double>(dc.merges) : 0.0)
          .integer("superseded_before_merge", dc.replaced)
          .integer("uploads_lost", dc.lost_uploads)
          .number("mean_staleness", dc.merged > 0 ? static_cast<double>(as.staleness_sum) / static_cast<double>(dc.merged) : 0.0)
          .integer("max_staleness", as.staleness_max);
      j.object("decoupled", d);
    } else if (dipaco->policy.exchange == AlgorithmPolicy::Exchange::Async) {
      const auto& as = dipaco->async;
      reports::JsonObject a;
      a.integer("outer_gradients_applied", as.applied)
          .integer("delay", dipaco->policy.hierarchical ? s.halos.local_delay : s.async.delay)
          .string("dylu", (dipaco->policy.hierarchical ? s.halos.dylu : s.async.dylu) ? "on" : "off")
          .number("mean_staleness", as.applied > 0 ? static_cast<double>(as.staleness_sum) / static_cast<double>(as.applied) : 0.0)
          .integer("max_staleness", as.staleness_max);
      if (dipaco->policy.hierarchical)
        a.integer("regional_servers", static_cast<int64_t>(as.regions.size())).integer("global_merges", as.global_merges);
      j.object("async", a);
    }
    if (const auto& d = dipaco->discriminative) {
      reports::JsonObject em;
      em.integer("after_phase", d->phase).number("router_accuracy", d->router_accuracy).number("moved_fraction", d->moved_fraction);
      j.object("discriminative_routing", em);
    }
  }
  if (ctx.platform_traces.links_with("state_file") + ctx.platform_traces.links_with("bandwidth_file") > 0) {
    // Link faults from the platform's trace files: what they cost in retries and re-sent bytes.
    double down = 0.0;
    for (const auto& t : ctx.platform_traces.traces)
      if (t.element == "link" && t.attribute == "state_file") down += t.profile.zero_seconds(wall);
    reports::JsonObject n;
    n.integer("links_with_state_profile", static_cast<int64_t>(ctx.platform_traces.links_with("state_file")))
        .integer("links_with_bandwidth_profile", static_cast<int64_t>(ctx.platform_traces.links_with("bandwidth_file")))
        .number("link_seconds_down", down)
        .integer("failed_attempts", ctx.link_failures)
        .integer("retries", ctx.link_retries)
        .number("wasted_bytes", ctx.wasted_bytes)
        .number("wasted_wan_bytes", ctx.wasted_wan_bytes)
        .integer("abandoned_transfers", ctx.abandoned_transfers);
    j.object("network_faults", n);
  }
  {  // every failure, by its cause (sim/failures/failure_cause.hpp)
    reports::JsonObject causes;
    for (size_t c = 1; c < kFailureCauses; ++c) causes.integer(to_string(static_cast<FailureCause>(c)), ctx.failures[c]);
    j.object("failure_causes", causes);
  }
  j.number("simulated_wall_clock_s", wall)
      .number("wan_bytes", ctx.wan_bytes)
      .number("total_bytes", ctx.total_bytes)
      .integer("synchronisations", ctx.synchronisations)
      .number("peak_upload_bytes", ctx.peak_upload_bytes)
      .integer("simulated_events", ctx.simulated_events)
      .number("compute_seconds", compute)
      .number("compute_utilisation", utilisation);
  add_observability(j, ctx, rows, wall, energy);
  j
      .integer("trained_params", static_cast<int64_t>(ctx.initial_params.size()))
      .object("cost_model", cost)
      .number("real_seconds", real_seconds)
      .integer("threads", o.threads)
      .number("peak_rss_mb", peak_rss_mb())
      .object("compute", compute_json(s))
      .object("init", init_json(s, ctx));
  return j.render();
}

// SimGrid maps each actor's stack and a guard page below it: two memory mappings per actor. Past
// the kernel's vm.max_map_count it aborts as the actors start ("Failed to protect stack"): say so
// before, with the fix (seen at 100 352 workers against Debian's default of 65 530).
void check_memory_mappings(const Scenario& s, size_t actors) {
  std::ifstream in("/proc/sys/vm/max_map_count");
  long long limit = 0;
  if (!(in >> limit)) return;  // not Linux, or unreadable: let SimGrid try
  const long long needed = 2 * static_cast<long long>(actors) + 4096;  // the stacks, and the process's own
  if (needed <= limit) return;
  throw ScenarioError(fmt::format("{}: {} simulated actors need about {} memory mappings, above this machine's vm.max_map_count "
                                  "({}); raise it (as root: sysctl -w vm.max_map_count={}), or run fewer workers",
                                  s.file.string(), actors, needed, limit, std::max<long long>(needed, 262144)));
}

// Whether the run has enough concurrent flows for SimGrid's max-min solver to fail numerically
// (seen from thousands of workers): only then is the precision hint the likely cause.
volatile std::sig_atomic_t g_many_flows = 0;

extern "C" void solver_failed(int sig) {
  static const char solver[] =
      "dipaco-sim: the simulation died inside SimGrid (see above): with thousands of flows on one link its max-min solver "
      "fails numerically at the default precision; try --cfg=maxmin/precision:1e-4, or fewer workers\n";
  static const char other[] =
      "dipaco-sim: the simulation died inside SimGrid (see above); the platform and scenario passed dipaco-sim's checks, so "
      "this is a bug: please report it with the scenario and platform\n";
  // Only async-signal-safe calls here: write a fixed text and leave.
  (void)sig;
  const ssize_t ignored = g_many_flows ? write(STDERR_FILENO, solver, sizeof(solver) - 1) : write(STDERR_FILENO, other, sizeof(other) - 1);
  (void)ignored;
  _exit(3);
}

}  // namespace

namespace {

// Step 1: SimGrid's engine with the run's flags, then the platform (its trace files checked first:
// SimGrid aborts on a bad one). Bad flags and platforms are reported before any expensive work.
std::unique_ptr<s4u::Engine> load_platform(Scenario& s, const RunOptions& o, PlatformTraces& traces) {
  const std::string file = s.file.string();
  auto args = simgrid_argv(s, o);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  std::unique_ptr<s4u::Engine> engine;
  try {
    engine = std::make_unique<s4u::Engine>(&argc, argv.data());
  } catch (const std::exception& e) {
    // SimGrid lists every known key after the first line: keep the line that names the problem.
    const std::string what = e.what();
    throw ScenarioError(fmt::format("--cfg: {} (keys: https://simgrid.org/doc/latest/Configuring_SimGrid.html)", what.substr(0, what.find('\n'))));
  }
  if (argc > 1) throw ScenarioError(fmt::format("SimGrid did not understand '{}' (expected --cfg=key:value or --log=...)", argv[1]));
  try {
    traces = scan_platform_traces(s.platform);
  } catch (const ScenarioError& e) {
    throw ScenarioError(fmt::format("{}: key 'platform': {}", file, e.what()));
  }
  // ns-3 chosen by the scenario or by --cfg=network/model:ns-3: its TCP settings and limits apply
  // either way. ns-3 reads its settings as the platform loads.
  if (simgrid::config::get_value<std::string>("network/model") == "ns-3") {
    s.network = NetworkModel::Ns3;
    check_ns3_scenario(s, traces);
    ns3_set_congestion_control();
    std::vector<std::string> clusters;
    for (const auto& c : traces.clusters) clusters.push_back(c.id);
    record_ns3_routes(clusters);
  }
  enable_energy_plugin();  // before the platform: it attaches to hosts as they are created
  try {
    engine->load_platform(s.platform.string());
  } catch (const std::exception& e) {
    throw ScenarioError(fmt::format("{}: key 'platform': cannot load '{}': {}", file, s.platform.string(), e.what()));
  }
  check_platform_elements(s.platform.string());
  if (s.network == NetworkModel::Ns3) ns3_set_socket_sizes(s.ns3);
  scale_wan_links(s, traces);
  return engine;
}

struct Placement {
  s4u::Host* outer = nullptr;
  std::vector<s4u::Host*> workers;
};

// The host pairs whose routes are checked before the run: every host the scenario places with the
// outer host and with its datacentre's first host, and the first hosts of every two datacentres
// (executors and parameter servers go on datacentres' first hosts; routes run between zones, so
// these stand for every pair that will talk).
std::vector<std::pair<const s4u::Host*, const s4u::Host*>> talking_pairs(const Scenario& s, const Placement& p) {
  std::vector<const s4u::Host*> used{p.outer};
  used.insert(used.end(), p.workers.begin(), p.workers.end());
  for (const auto* names : {&s.dipaco.executor_hosts, &s.dipaco.backup_workers})
    for (const auto& n : *names) used.push_back(s4u::Host::by_name(n));
  if (!s.checkpoints.storage.empty()) used.push_back(s4u::Host::by_name(s.checkpoints.storage));
  std::map<std::string, const s4u::Host*> first;  // per datacentre
  for (const auto* h : s4u::Engine::get_instance()->get_all_hosts()) first.emplace(datacentre_of(h), h);
  std::vector<std::pair<const s4u::Host*, const s4u::Host*>> pairs;
  for (auto a = first.begin(); a != first.end(); ++a)
    for (auto b = std::next(a); b != first.end(); ++b) pairs.emplace_back(a->second, b->second);
  for (const auto* h : used) {
    pairs.emplace_back(h, p.outer);
    pairs.emplace_back(h, first.at(datacentre_of(h)));
  }
  return pairs;
}

// Step 2: everything that can be checked without data. Every host the scenario names (a typo must
// cost a fraction of a second, not a tokenizer's training), the failure settings, the device and
// the precision.
Placement validate(Scenario& s) {
  const std::string file = s.file.string();
  Placement p;
  p.outer = host_by_name(s.outer_host, "placement.outer", file);
  if (s.worker_count > 0) {
    std::vector<std::string> reserved{s.outer_host, s.checkpoints.storage};
    reserved.insert(reserved.end(), s.dipaco.executor_hosts.begin(), s.dipaco.executor_hosts.end());
    reserved.insert(reserved.end(), s.dipaco.backup_workers.begin(), s.dipaco.backup_workers.end());
    s.worker_hosts = pick_worker_hosts(s.worker_count, reserved, file);
  }
  for (size_t i = 0; i < s.worker_hosts.size(); ++i)
    p.workers.push_back(host_by_name(s.worker_hosts[i], fmt::format("placement.workers[{}]", i), file));
  for (size_t i = 0; i < s.dipaco.executor_hosts.size(); ++i)
    host_by_name(s.dipaco.executor_hosts[i], fmt::format("dipaco.executors[{}]", i), file);
  for (size_t i = 0; i < s.dipaco.backup_workers.size(); ++i)
    host_by_name(s.dipaco.backup_workers[i], fmt::format("dipaco.backup_workers[{}]", i), file);
  if (!s.checkpoints.storage.empty()) host_by_name(s.checkpoints.storage, "checkpoints.storage", file);
  const auto pairs = talking_pairs(s, p);
  check_routes(s.platform.string(), pairs);
  if (s.network == NetworkModel::Ns3) {
    std::vector<const s4u::Host*> hosts;
    for (const auto& [a, b] : pairs) hosts.insert(hosts.end(), {a, b});
    check_ns3_hosts(s.platform.string(), hosts);
  }
  validate_failures(s);
  if (s.training && s.inner.cuda && !engine::cuda_available())
    throw ScenarioError(fmt::format("{}: key 'device': cuda, but this LibTorch has no CUDA or sees no GPU (build against a CUDA "
                                    "LibTorch with -DTorch_DIR=..., see README \"GPU\"; or use device: cpu)", file));
  const auto precision = engine::resolve_precision(s.precision, engine::cpu_features());
  if (!precision.error.empty()) throw ScenarioError(fmt::format("{}: key 'precision': {}", file, precision.error));
  s.inner.bf16 = precision.precision == engine::Precision::Bf16;
  return p;
}

// Step 3: the data. The tokenizer comes first: it decides the vocabulary, and so the parameter
// count and the cost model. Timing only needs no tokenizer to know its size.
engine::Dataset load_data(Scenario& s, const RunOptions& o) {
  engine::Dataset data;
  if (!s.training) {
    if (s.model.vocab == 0) s.model.vocab = s.data.tokenizer.kind == "byte" ? engine::kByteVocab : s.data.tokenizer.vocab;
    return data;
  }
  data = load_dataset(s, o.threads, true);
  const int tokenizer_vocab = data.tokenizer->vocab_size();
  if (s.model.vocab == 0) s.model.vocab = tokenizer_vocab;
  if (s.model.vocab < tokenizer_vocab)
    throw ScenarioError(fmt::format("{}: key 'model.vocab': {} is smaller than the tokenizer's {} tokens (use 0 for the tokenizer's)",
                                    s.file.string(), s.model.vocab, tokenizer_vocab));
  return data;
}

// Step 4: the algorithm's setup (sim/algorithms/algorithm_setup.hpp), its failures and its actors.
void deploy(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts) {
  if (s.algorithm.name == Algorithm::Dipaco) setup_dipaco(s, ctx, state, hosts);
  else if (s.algorithm.name != Algorithm::Sync) setup_diloco(s, ctx, state, hosts);  // DiLoCo, streaming, async
  else setup_sync(s, ctx, state, hosts);
}

void start_actors(const Scenario& s, RunContext& ctx, RunState& state) {
  // Preemptible: worker hosts that run no executor (unless executors fail too), not the scheduler
  // and not the checkpoint store.
  std::vector<s4u::Host*> preemptible, candidates = ctx.worker_hosts;
  if (s.failures.executors_fail) candidates.insert(candidates.end(), state.executor_hosts.begin(), state.executor_hosts.end());
  for (auto* h : candidates) {
    const bool executor = std::find(state.executor_hosts.begin(), state.executor_hosts.end(), h) != state.executor_hosts.end();
    const bool infrastructure = h == state.scheduler_host || h == state.storage_host || (executor && !s.failures.executors_fail);
    if (!infrastructure && std::find(preemptible.begin(), preemptible.end(), h) == preemptible.end()) preemptible.push_back(h);
  }
  const std::vector<s4u::Host*> backup(ctx.worker_hosts.begin() + state.primary_workers, ctx.worker_hosts.end());
  state.failure_plan = install_failures(s, preemptible, backup);
  Inbox::claim(kSchedulerInbox, s4u::Actor::create("scheduler", state.scheduler_host, TaskScheduler(ctx, state)));
  for (int w = 0; w < state.workers; ++w)
    s4u::Actor::create(fmt::format("worker-{}", w), ctx.worker_hosts[static_cast<size_t>(w)], Worker(ctx, state, w))->set_auto_restart(true);
  for (int m = 0; m < static_cast<int>(state.executor_hosts.size()); ++m) {
    auto executor =
        s4u::Actor::create(state.policy.hierarchical ? fmt::format("halos-server-{}", m) : fmt::format("executor-{}", state.structure.module_name(m)),
                           state.executor_hosts[static_cast<size_t>(m)], Executor(ctx, state, m));
    executor->set_auto_restart(s.failures.executors_fail);
    Inbox::claim(executor_inbox(m), executor);
  }
  XBT_INFO("%s: %d paths, %d modules, %zu tasks on %zu workers; %lld params per path, %lld stored", to_string(s.algorithm.name),
           state.structure.paths(), state.structure.module_count(), state.tasks.size(), static_cast<size_t>(state.workers),
           static_cast<long long>(state.layout->path_params()), static_cast<long long>(state.store ? state.store->stored_params() : 0));
  if (ctx.start_time > 0) {
    ctx.compute_seconds[0] += ctx.start_time;
    // Run there as an execution too, so that energy and the trace see that host busy. Nothing
    // waits on it: every actor sleeps until ctx.start_time.
    s4u::Actor::create("pretraining", ctx.worker_hosts[0], [flops = ctx.cost.host_flops(s.pretrain_steps())] { s4u::this_actor::execute(flops); });
  }
}

// Step 5: the simulation itself; returns the run's error, if any.
std::string simulate(s4u::Engine& engine, RunContext& ctx) {
  // SimGrid's max-min solver can fail numerically when thousands of flows share one link (seen
  // from 6 144 DiPaCo workers on platforms/eight-datacentres.xml at the default maxmin/precision
  // 1e-5): it logs a CRITICAL line and aborts, or crashes while logging it. Say what happened and
  // how to avoid it, in one line, instead of dying on a bare signal; no output has been written yet, and the
  // handlers are removed once the simulation ends.
  g_many_flows = ctx.worker_hosts.size() >= 1000 ? 1 : 0;
  for (int sig : {SIGABRT, SIGSEGV}) std::signal(sig, solver_failed);
  // The simulator's unit of work (reports/benchmarks.md counts its cost per event): every SimGrid
  // activity (communication or execution) that ended, finished, failed or cancelled. (This
  // libsimgrid does not export s4u::Comm::on_start.)
  s4u::Activity::on_completion_cb([&ctx](const s4u::Activity&) { ++ctx.simulated_events; });
  engine.run();
  release_comms_of_killed_actors();
  for (int sig : {SIGABRT, SIGSEGV}) std::signal(sig, SIG_DFL);  // past SimGrid's solver: not its failure
  std::string error = ctx.error;
  if (error.empty() && (ctx.rows.empty() || ctx.rows.back().row.outer_step != phase_count(ctx.scenario)))
    error = fmt::format("the simulation ended at t = {:.0f} s before the last outer step: every actor was blocked (deadlock){}",
                        s4u::Engine::get_clock(),
                        ctx.abandoned_transfers == 0 ? std::string()
                                                     : fmt::format("; {} transfer(s) were given up, the first: {}", ctx.abandoned_transfers, ctx.first_abandoned));
  return error;
}

}  // namespace

// One run, as named steps: load the platform, validate, load the data, build the run's context,
// deploy the algorithm, simulate, write the outputs.
RunOutcome run_scenario(Scenario s, const RunOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  const std::string file = s.file.string();
  if (o.inspect_only) s.training = false;  // structure and placement only: no data, no training

  PlatformTraces traces;
  const auto engine = load_platform(s, o, traces);
  const auto placement = validate(s);
  const auto data = load_data(s, o);

  // The run's context: the cost model (from the vocabulary), the platform's traces, energy.
  const int64_t trained_params = engine::param_count(s.model);
  RunContext ctx(s, make_cost_model(s, trained_params));
  ctx.progress_line = o.progress_line;
  ctx.outer_host = placement.outer;
  ctx.worker_hosts = placement.workers;
  ctx.compute_seconds.assign(ctx.worker_hosts.size(), 0.0);
  for (const auto& t : traces.traces)
    if (t.element == "link" && t.attribute == "state_file")
      if (const auto* link = s4u::Link::by_name_or_null(t.id)) ctx.failing_links.emplace_back(link, t.profile.zero_for_good_at());
  check_coarse_scenario(s, traces);
  ctx.platform_traces = std::move(traces);
  std::unique_ptr<FlowGroups> flow_groups;
  if (s.network_coarse) {
    flow_groups = std::make_unique<FlowGroups>();
    ctx.flow_groups = flow_groups.get();
  }
  std::optional<EnergyReading> energy;  // at the end of training, not at the end of the simulation
  ctx.on_last_row = [&energy] { energy = read_energy(); };
  if (const int n = hosts_without_wattage())
    XBT_WARN("%d hosts of %s have no wattage_per_state property: energy_j is reported as unknown (null)", n,
             s.platform.string().c_str());
  // Sequences and shards, the training pool and the warm start (init:).
  std::unique_ptr<engine::ThreadPool> pool;
  if (s.training) {
    // The memory guard, before any training state exists (the token cache is already in).
    int64_t tasks = s.algorithm.replicas_per_path;
    if (s.algorithm.name == Algorithm::Dipaco)
      for (const auto& l : s.dipaco.levels) tasks *= l.path_specific ? 1 : l.modules;
    tasks = std::max<int64_t>(tasks, s.workers());
    check_memory(s, estimate_training_memory(s, trained_params, tasks, o.threads), available_memory_bytes());
    prepare_data(s, data, ctx);
    pool = std::make_unique<engine::ThreadPool>(o.threads);
    ctx.pool = pool.get();
    if (s.pretrain_steps() > 0) warm_start(s, ctx);
  }
  // The warm start's pre-training takes simulated time on the first worker's host before any
  // actor starts; DiPaCo's base model is this warm start.
  if (s.pretrain_steps() > 0 && s.init.count_time)
    ctx.start_time = ctx.cost.host_flops(s.pretrain_steps()) / ctx.worker_hosts[0]->get_speed();
  XBT_INFO("%s: %s with %d workers, tau %d, %d outer steps, %lld trained params, cost: %s (%.3g flop/step, %.3g B/message)",
           file.c_str(), to_string(s.algorithm.name), s.workers(), s.algorithm.tau, s.algorithm.outer_steps,
           static_cast<long long>(trained_params), ctx.cost.source.c_str(), ctx.cost.flops_per_step, ctx.cost.message_bytes);
  if (s.training) XBT_INFO("training on %s: %s, precision %s", engine::cpu_features().model.c_str(), describe_blas().c_str(),
                           training_precision(s).c_str());

  RunState state;
  deploy(s, ctx, state, placement.workers);
  if (o.inspect_only) {
    write_inspection(ctx, state, o.out_dir, std::cout);
    RunOutcome out;
    out.out_dir = o.out_dir;
    return out;
  }
  // SimGrid maps each actor's stack as it creates it: check before (workers, executors, scheduler).
  check_memory_mappings(s, static_cast<size_t>(state.workers) + state.executor_hosts.size() + 1);
  start_actors(s, ctx, state);
  std::unique_ptr<TraceRecorder> trace;
  if (s.trace) {
    trace = std::make_unique<TraceRecorder>(ctx.worker_hosts);
    ctx.trace = trace.get();
  }
  const std::string error = simulate(*engine, ctx);
  if (flow_groups)
    XBT_INFO("network.coarse: %lld flows stood for %lld transfers (%lld flows started in all)", static_cast<long long>(flow_groups->groups()),
             static_cast<long long>(flow_groups->groups() + flow_groups->members()), static_cast<long long>(flow_groups->flows()));

  // Step 6: the outputs, each written atomically; summary.json is built in one place.
  std::vector<reports::MetricsRow> rows, overall;
  for (auto& p : ctx.rows) {
    p.row.val_loss = p.combined_loss();
    rows.push_back(p.row);
    if (p.row.path < 0) overall.push_back(p.row);
  }
  const auto early_stop = error.empty() ? early_stopped_loss(state, ctx) : std::nullopt;  // still needs the pool
  pool.reset();
  const double real_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  reports::write_atomically(o.out_dir / "metrics.csv", reports::render_metrics_csv(rows));
  reports::write_atomically(o.out_dir / "scenario.yaml", scenario_to_yaml(s));
  if (trace) {
    reports::write_atomically(o.out_dir / "trace.json", trace->render());
    const auto& b = trace->breakdown();
    ctx.utilisation_breakdown = std::array<double, 4>{b.compute, b.communication, b.idle, b.down};
  }
  // The ledger records phases' contributions; the ring of synchronous DP has none.
  if (state.policy.exchange == AlgorithmPolicy::Exchange::Executors)
    reports::write_atomically(o.out_dir / "events.csv", reports::render_ledger_csv(state.ledger));
  // Asynchronous DiLoCo has no phases either; its outer gradients one by one, with their staleness.
  if (state.policy.exchange == AlgorithmPolicy::Exchange::Async) {  // HALoS: versions are per regional server
    // Decoupled DiLoCo: one row per outer gradient merged, versions being its fragment's merges.
    const bool decoupled = state.policy.decoupled;
    std::string csv = decoupled ? "time_s,version,task,worker,inner_steps,trained_from,staleness,fragment\n"
                                : "time_s,version,task,worker,inner_steps,trained_from,staleness\n";
    for (const auto& u : state.async.updates) {
      csv += fmt::format("{:.6f},{},{},{},{},{},{}", u.time_s, u.version, u.task, u.worker, u.steps, u.trained_from,
                         u.version - 1 - u.trained_from);
      csv += decoupled ? fmt::format(",{}\n", u.fragment) : "\n";
    }
    reports::write_atomically(o.out_dir / "updates.csv", csv);
  }
  reports::write_atomically(o.out_dir / "summary.json", summary_json(ctx, o, real_seconds, overall, &state, early_stop, error, energy));
  if (!error.empty()) throw std::runtime_error(fmt::format("{} (partial metrics in {})", error, o.out_dir.string()));

  RunOutcome out;
  out.out_dir = o.out_dir;
  out.simulated_seconds = overall.back().sim_time_s;
  out.wan_bytes = ctx.wan_bytes;
  if (overall.front().val_loss) out.initial_val_perplexity = std::exp(*overall.front().val_loss);
  if (overall.back().val_loss) out.final_val_perplexity = std::exp(*overall.back().val_loss);
  return out;
}

}  // namespace dipaco::sim
