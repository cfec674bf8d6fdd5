#include "sim/scenario/scenario_keys.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace dipaco::sim {

const Names<Algorithm>& algorithm_names() {
  static const Names<Algorithm> n{{"diloco", Algorithm::Diloco},
                                  {"sync", Algorithm::Sync},
                                  {"dense", Algorithm::Sync},  // the dense data-parallel baseline, by its usual name
                                  {"dipaco", Algorithm::Dipaco},
                                  {"streaming-diloco", Algorithm::StreamingDiloco},
                                  {"async-diloco", Algorithm::AsyncDiloco},
                                  {"halos", Algorithm::Halos},
                                  {"decoupled-diloco", Algorithm::DecoupledDiloco}};
  return n;
}
const Names<NetworkModel>& network_model_names() {
  static const Names<NetworkModel> n{{"analytic", NetworkModel::Analytic}, {"simgrid", NetworkModel::SimGrid}, {"ns-3", NetworkModel::Ns3}};
  return n;
}
const Names<Sharding>& sharding_names() {
  static const Names<Sharding> n{{"iid", Sharding::Iid}, {"domain", Sharding::Domain}};
  return n;
}
const Names<RoutingKind>& routing_names() {
  static const Names<RoutingKind> n{{"kmeans", RoutingKind::KMeans}, {"product-kmeans", RoutingKind::ProductKMeans}, {"iid", RoutingKind::Iid}};
  return n;
}
const Names<InnerState>& inner_state_names() {
  static const Names<InnerState> n{{"path", InnerState::Path}, {"module", InnerState::Module}, {"reset", InnerState::Reset}};
  return n;
}
const Names<PhasePolicy>& phase_policy_names() {
  static const Names<PhasePolicy> n{{"wait_all", PhasePolicy::WaitAll}, {"quorum", PhasePolicy::Quorum}, {"deadline", PhasePolicy::Deadline}};
  return n;
}

namespace {

// Asynchronous DiLoCo, HALoS and Decoupled DiLoCo: no phases, no checkpoints or drops yet.
bool asynchronous(const Scenario& s) {
  return s.algorithm.name == Algorithm::AsyncDiloco || s.algorithm.name == Algorithm::Halos || s.algorithm.name == Algorithm::DecoupledDiloco;
}

const Names<bool> kOnOff{{"on", true}, {"off", false}, {"true", true}, {"false", false}};

void network(Scenario& s, KeyVisitor& v) {
  v.choice("model", s.network, network_model_names());
  v.real("retry_initial_s", s.retry.initial_s, 0.0, 1e9, false);
  v.real("retry_max_s", s.retry.max_s, 0.0, 1e9, false);
  v.require(s.retry.max_s >= s.retry.initial_s, "retry_max_s",
            fmt::format("{} is below network.retry_initial_s ({}); the cap must be at least the first back-off", s.retry.max_s, s.retry.initial_s));
  // A count, or unlimited (written so; inf is read as unlimited too). 0: a link failure fails the transfer at once.
  double limit = s.retry.unlimited() ? std::numeric_limits<double>::infinity() : static_cast<double>(s.retry.limit);
  v.scaled("retry_limit", limit, 1.0, -1e300, 1e300, true, true, "unlimited");
  if (!std::isfinite(limit)) {
    s.retry.limit = std::numeric_limits<int64_t>::max();
  } else {
    v.require(limit >= 0 && limit <= 9e18 && limit == std::floor(limit), "retry_limit", "expected a whole number >= 0");
    s.retry.limit = static_cast<int64_t>(limit);
  }
  v.real("wan_bandwidth_scale", s.wan_bandwidth_scale, 0.0, 1e6, false);
  v.real("wan_latency_scale", s.wan_latency_scale, 0.0, 1e6);
  v.flag("coarse", s.network_coarse);
  v.require(!s.network_coarse || s.network == NetworkModel::Analytic, "coarse",
            "weighs a shared flow as the analytic model weighs flows (1 / route latency), which the other network models do not; "
            "use network.model: analytic with it, or set network.coarse: off");
  if (v.reading()) v.require(!v.has("ns3") || s.network == NetworkModel::Ns3, "ns3", "applies to network.model: ns-3 only");
  if (s.network != NetworkModel::Ns3) return;
  v.section("ns3", [&] {
    // Above 1 MiB, SimGrid 3.32's ns-3 binding aborts once a flow has more buffered than in flight
    // when its last bytes are buffered: it closes the receiving socket early (README "ns-3").
    v.real("window_bytes", s.ns3.window_bytes, 1500.0, 4294967295.0);
    v.require(s.ns3.window_bytes <= 1048576, "window_bytes",
              fmt::format("{:.0f} is above 1048576, where SimGrid 3.32's ns-3 binding can abort a transfer; use at most 1048576",
                          s.ns3.window_bytes));
    v.require(s.ns3.window_bytes == std::floor(s.ns3.window_bytes), "window_bytes", "expected a whole number of bytes");
    v.integer("segment_bytes", s.ns3.segment_bytes, 100, 65495);
  });
}

void placement(Scenario& s, KeyVisitor& v) {
  v.require(v.has("outer"), "outer", "is required (host name of the outer optimizer)");
  v.text("outer", s.outer_host);
  v.hosts_or_count("workers", s.worker_hosts, s.worker_count);
}

void data(Scenario& s, KeyVisitor& v) {
  auto& d = s.data;
  v.choice("source", d.source, {{"debian-mix", "debian-mix"}, {"synthetic", "synthetic"}, {"text-folder", "text-folder"}, {"jsonl", "jsonl"}});
  const bool needs_path = d.source == "text-folder" || d.source == "jsonl";
  v.require(!needs_path || v.has("path"), "path",
            fmt::format("is required for source {} (a {})", d.source, d.source == "jsonl" ? "JSON-lines file or folder" : "folder of .txt files"));
  v.when_reading([&] { d.path = d.source == "debian-mix" ? "/" : ""; });
  v.path("path", d.path);
  // Checked whatever `training` says: a timing-only run of a scenario must not hide a broken one.
  std::error_code ec;
  v.require(!needs_path || std::filesystem::exists(d.path, ec), "path",
            fmt::format("'{}' does not exist (a {} for source {})", d.path.string(),
                        d.source == "jsonl" ? "JSON-lines file or folder" : "folder of .txt files", d.source));
  v.require(!(d.source == "text-folder" && std::filesystem::exists(d.path, ec)) || std::filesystem::is_directory(d.path, ec), "path",
            fmt::format("'{}' is not a folder (source text-folder reads the .txt files in a folder)", d.path.string()));
  v.choice("text_unit", d.per_paragraph, {{"file", false}, {"paragraph", true}});
  v.integer("documents", d.documents, 10);
  v.integer("doc_bytes", d.doc_bytes, 64);
  v.real("validation_fraction", d.validation_fraction, 0.0, 0.9, false);
  v.choice("sharding", d.sharding, sharding_names());
  v.integer("eval_sequences", d.eval_sequences, 1);
  v.integer("prefix_tokens", d.prefix_tokens, 0);
  v.path("cache_dir", d.cache_dir);
  v.when_reading([&] {
    if (!d.cache_dir.empty()) return;  // default: $XDG_CACHE_HOME/dipaco-sim, else ~/.cache/dipaco-sim
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    d.cache_dir = (xdg && *xdg) ? std::filesystem::path(xdg) / "dipaco-sim"
                                : std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "dipaco-sim";
  });
  v.section("tokenizer", [&] {
    v.choice("kind", d.tokenizer.kind, {{"sentencepiece", "sentencepiece"}, {"byte", "byte"}});
    v.integer("vocab", d.tokenizer.vocab, 260, 1 << 20);
    v.choice("algorithm", d.tokenizer.algorithm, {{"unigram", "unigram"}, {"bpe", "bpe"}});
  });
}

void model(Scenario& s, KeyVisitor& v) {
  auto& m = s.model;
  v.when_reading([&] { m.vocab = 0; });  // 0: the tokenizer's vocabulary
  v.integer("vocab", m.vocab, 0, 1 << 20);
  v.integer("d_model", m.d_model, 8, 8192);
  v.integer("heads", m.heads, 1, 256);
  v.integer("blocks", m.blocks, 1, 256);
  v.integer("seq_len", m.seq_len, 8, 65536);
  v.require(m.seq_len > s.data.prefix_tokens, "seq_len", fmt::format("must exceed data.prefix_tokens ({}), which perplexity skips", s.data.prefix_tokens));
  v.require(m.d_model % m.heads == 0, "heads", fmt::format("d_model {} is not divisible by heads {}", m.d_model, m.heads));
}

void algorithm(Scenario& s, KeyVisitor& v) {
  auto& a = s.algorithm;
  v.choice("name", a.name, algorithm_names());
  v.integer("replicas_per_path", a.replicas_per_path, 1, 4096);
  v.integer("tau", a.tau, 1);
  v.integer("outer_steps", a.outer_steps, 1);
  v.integer("total_inner_steps", a.total_inner_steps, 0);
  if (a.total_inner_steps > 0) {
    v.require(a.total_inner_steps % a.tau == 0, "total_inner_steps",
              fmt::format("{} is not a multiple of algorithm.tau ({}); outer_steps = total_inner_steps / tau must be whole",
                          a.total_inner_steps, a.tau));
    v.when_reading([&] { a.outer_steps = a.total_inner_steps / a.tau; });
  }
  v.integer("eval_every", a.eval_every, 1);
}

// Streaming and Decoupled DiLoCo's `fragments`: at least one block each, and phases of whole steps.
void fragments_key(const Scenario& s, KeyVisitor& v, int& fragments) {
  v.integer("fragments", fragments, 1);
  v.require(fragments <= s.model.blocks, "fragments",
            fmt::format("{} fragments for {} blocks (model.blocks): each fragment needs a block; use at most {}", fragments,
                        s.model.blocks, s.model.blocks));
  v.require(s.algorithm.tau % fragments == 0, "fragments",
            fmt::format("algorithm.tau ({}) is not a multiple of {} fragments; a phase is tau / fragments steps", s.algorithm.tau,
                        fragments));
}

void streaming(Scenario& s, KeyVisitor& v) {
  auto& st = s.streaming;
  const int tau = s.algorithm.tau;
  fragments_key(s, v, st.fragments);
  v.integer("overlap_steps", st.overlap_steps, 0);
  v.require(st.overlap_steps < tau / st.fragments || st.overlap_steps == 0, "overlap_steps",
            fmt::format("{} is not below a phase ({} steps = algorithm.tau / streaming.fragments); use at most {}", st.overlap_steps,
                        tau / st.fragments, tau / st.fragments - 1));
  v.real("mix", st.mix, 0.0, 1.0);
  v.require(st.mix < 1.0, "mix", "1 would keep the local value and ignore every outer update; use a value below 1 (the paper: 0.5)");
}

void decoupled(Scenario& s, KeyVisitor& v) {
  auto& d = s.decoupled;
  fragments_key(s, v, d.fragments);
  v.real("quorum", d.quorum, 0.0, 1.0, false);
  v.real("grace_s", d.grace_s, 0.0, 1e9);
  v.real("mix", d.mix, 0.0, 1.0);
  v.require(d.mix < 1.0, "mix", "1 would keep the local value and ignore every merge; use a value below 1");
}

void inner_optimizer(Scenario& s, KeyVisitor& v) {
  auto& o = s.inner;
  v.real("lr", o.lr, 0.0, 10.0, false);
  int warmup = static_cast<int>(o.warmup_steps);
  v.integer("warmup_steps", warmup, 0);
  o.warmup_steps = warmup;
  v.real("min_lr_ratio", o.min_lr_ratio, 0.0, 1.0);
  v.real("weight_decay", o.weight_decay, 0.0, 10.0);
  v.real("beta1", o.beta1, 0.0, 1.0);
  v.real("beta2", o.beta2, 0.0, 1.0);
  v.real("grad_clip", o.grad_clip, 0.0, 1e9);
  v.integer("batch_size", o.batch_size, 1);
}

void init(Scenario& s, KeyVisitor& v) {
  // Written as resolved: DiPaCo's base model steps when unset, the scenario's seed when unset.
  int steps = v.reading() ? s.init.pretrain_steps : s.pretrain_steps();
  v.when_reading([&] { s.init.pretrain_steps_set = v.has("pretrain_steps"); });
  v.integer("pretrain_steps", steps, 0);
  s.init.pretrain_steps = steps;
  uint64_t seed = s.init_seed();
  const bool seeded = !v.reading() || v.has("seed");
  v.unsigned64("seed", seed);
  if (seeded) s.init.seed = seed;
  v.flag("count_time", s.init.count_time);
}

void outer_optimizer(Scenario& s, KeyVisitor& v) {
  auto& o = s.outer;
  v.choice("name", o.kind, {{"nesterov", engine::OuterKind::Nesterov}, {"sgd", engine::OuterKind::Sgd}, {"adam", engine::OuterKind::Adam}});
  v.real("lr", o.lr, 0.0, 100.0, false);
  v.real("momentum", o.momentum, 0.0, 1.0);
  v.real("beta1", o.beta1, 0.0, 1.0);
  v.real("beta2", o.beta2, 0.0, 1.0);
  v.real("eps", o.eps, 0.0, 1.0);
  v.require(!(s.algorithm.name == Algorithm::AsyncDiloco && s.async.delay > 1 && o.kind != engine::OuterKind::Nesterov), "name",
            "async.delay > 1 is Delayed Nesterov, a Nesterov momentum: use nesterov, or async.delay: 1");
}

void dipaco(Scenario& s, KeyVisitor& v) {
  auto& d = s.dipaco;
  size_t n = d.levels.size();
  v.sequence("levels", n, [&] { d.levels.assign(n, {}); },
             [&](size_t i) {
               v.integer("blocks", d.levels[i].blocks, 1);
               v.integer("modules", d.levels[i].modules, 1, 4096);
               v.flag("path_specific", d.levels[i].path_specific);
             },
             "expected a list such as [{blocks: 1, modules: 2}, ...]");
  v.flag("share_embeddings", d.share_embeddings);
  v.choice("routing", d.routing, routing_names());
  v.integer("base_steps", d.base_steps, 0);
  v.integer("router_fit_sequences", d.router_fit_sequences, 16);
  v.flag("rescale_outer_gradient", d.rescale_outer_gradient);
  v.integer("reroute_every", d.reroute_every, 0);
  v.flag("top2_training_shards", d.top2_training_shards);
  v.integer("workers", d.workers, 0);
  v.choice("inner_state", d.inner_state, inner_state_names());
  v.integer("discriminative_after", d.discriminative_after, 0);
  v.integer("router_split_sequences", d.router_split_sequences, 16);
  v.real("relabel_margin", d.relabel_margin, 0.0, 10.0);
  v.real("early_stopping_fraction", d.early_stopping_fraction, 0.0, 0.5);
  v.choice("phase_policy", d.phase_policy, phase_policy_names());
  v.require(!(asynchronous(s) && d.phase_policy != PhasePolicy::WaitAll),
            "phase_policy", std::string(to_string(s.algorithm.name)) + " has no phases to close: each outer gradient is applied as it arrives; use wait_all");
  v.when_reading([&] { d.quorum = d.phase_policy == PhasePolicy::Quorum ? 0.75 : 1.0; });
  v.real("quorum", d.quorum, 0.0, 1.0, false);
  v.scaled("deadline_s", d.deadline_s, 1.0, 0.0, 1e15, false, true);
  v.require(d.phase_policy != PhasePolicy::Deadline || std::isfinite(d.deadline_s), "deadline_s",
            "phase_policy deadline needs a finite deadline_s (seconds after the phase opens)");
  v.choice("compute_schedule", d.compute_schedule,
           {{"constant", ComputeSchedule::Constant}, {"doubling", ComputeSchedule::Doubling}, {"halving", ComputeSchedule::Halving},
            {"ramp_up", ComputeSchedule::RampUp}, {"ramp_down", ComputeSchedule::RampDown}});
  v.require(d.compute_schedule == ComputeSchedule::Constant || s.algorithm.replicas_per_path >= 2, "compute_schedule",
            "varies the replicas of each path, so it needs algorithm.replicas_per_path of 2 or more (or use constant)");
  v.names("backup_workers", d.backup_workers, "expected a list of host names, one backup worker each");
  v.names("executors", d.executor_hosts, "expected a host name or a list of host names, one per module", true);
  int blocks = 0;
  for (const auto& l : d.levels) blocks += l.blocks;
  v.require(d.levels.empty() || blocks == s.model.blocks, "levels",
            fmt::format("the levels hold {} blocks but model.blocks is {}", blocks, s.model.blocks));
  v.when_reading([&] {
    if (d.levels.empty()) d.levels.push_back({s.model.blocks, 1, false});  // dense: one level, one module
  });
}

void failures(Scenario& s, KeyVisitor& v) {
  auto& f = s.failures;
  v.when_reading([&] { f.seed = s.seed; });
  v.unsigned64("seed", f.seed);
  v.section("preemption", [&] {
    v.scaled("mtbf_hours", f.mtbf_s, 3600.0, 0.0, 1e15, false, true);
    v.scaled("mttr_hours", f.mttr_s, 3600.0, 0.0, 1e6, false, false);
    v.choice("distribution", f.weibull, {{"exponential", false}, {"weibull", true}});
    v.real("weibull_shape", f.weibull_shape, 0.05, 20.0);
    v.choice("scope", f.per_datacentre, {{"host", false}, {"datacentre", true}});
  });
  size_t outages = f.outages.size();
  v.sequence("outages", outages, [&] { f.outages.assign(outages, {}); },
             [&](size_t i) {
               auto& o = f.outages[i];
               v.text("datacentre", o.datacentre);
               v.require(!o.datacentre.empty(), "datacentre", "name the datacentre (a zone below the platform's root)");
               v.scaled("at_hours", o.at_s, 3600.0, 0.0, 1e9, true, false);
               v.scaled("for_hours", o.duration_s, 3600.0, 0.0, 1e15, false, true);
             },
             "expected a list such as [{datacentre: east, at_hours: 1, for_hours: 0.5}]");
  size_t traces = f.traces.size();
  v.sequence("traces", traces, [&] { f.traces.assign(traces, {}); },
             [&](size_t i) {
               auto& t = f.traces[i];
               v.text("host", t.host);
               v.path("file", t.file);
               v.require(!t.host.empty() && !t.file.empty(), "host", "each trace needs a host and a file");
             },
             "expected a list such as [{host: east-gpu1, file: traces/east.state}]");
  // The backup pool's hosts; absent: they fail as the others do.
  if (v.reading() ? v.has("backup_preemption") : !std::isnan(f.backup_mtbf_s)) {
    v.when_reading([&] {
      f.backup_mtbf_s = f.mtbf_s;
      f.backup_mttr_s = f.mttr_s;
    });
    v.section("backup_preemption", [&] {
      v.scaled("mtbf_hours", f.backup_mtbf_s, 3600.0, 0.0, 1e15, false, true);
      v.scaled("mttr_hours", f.backup_mttr_s, 3600.0, 0.0, 1e6, false, false);
    });
  }
  v.flag("executors_fail", f.executors_fail);
  v.real("drop_probability", f.drop_probability, 0.0, 1.0);
  v.require(f.drop_probability < 1.0, "drop_probability", "1 would drop every outer gradient; use a value below 1");
  v.real("heartbeat_s", f.heartbeat_s, 0.0, 1e9, false);
  v.scaled("stall_hours", f.stall_s, 3600.0, 0.0, 1e9, false, false);
  v.scaled("horizon_hours", f.horizon_s, 3600.0, 0.0, 1e9, false, false);
  const bool sync = s.algorithm.name == Algorithm::Sync;
  v.require(!(f.drop_probability > 0 && sync), "drop_probability",
            "drops lose outer gradients, which sync does not have; set it to 0 or use diloco or dipaco");
  v.require(!(f.executors_fail && sync), "executors_fail", "sync has no executors; set it to false");
  const bool async = asynchronous(s);
  const std::string name = to_string(s.algorithm.name);
  v.require(!(f.drop_probability > 0 && async), "drop_probability", name + " does not drop outer gradients yet; set it to 0");
  v.require(!(f.executors_fail && async), "executors_fail", name + "'s parameter servers do not fail yet; set it to false");
}

void checkpoints(Scenario& s, KeyVisitor& v) {
  auto& c = s.checkpoints;
  v.text("storage", c.storage);
  v.integer("module_every_phases", c.module_every_phases, 0);
  v.integer("inner_every_steps", c.inner_every_steps, 0);
  const bool on = c.module_every_phases > 0 || c.inner_every_steps > 0;
  v.require(!on || !c.storage.empty(), "storage", "is required when checkpoints are on (the host that stores them)");
  v.require(!(s.algorithm.name == Algorithm::Sync && c.module_every_phases > 0), "module_every_phases",
            "sync has no executors: its checkpoint is the whole training state, every checkpoints.inner_every_steps steps; set that instead");
  v.require(!(asynchronous(s) && on),
            c.module_every_phases > 0 ? "module_every_phases" : "inner_every_steps",
            std::string(to_string(s.algorithm.name)) + " has no checkpoints yet: a lost replica starts again from its server's θ; set it to 0");
  v.require(!s.failures.executors_fail || c.module_every_phases > 0, "module_every_phases",
            "failures.executors_fail needs module checkpoints to recover from: set checkpoints.module_every_phases (and storage)");
}

void cost(Scenario& s, KeyVisitor& v) {
  auto& c = s.cost;
  v.real("mfu", c.mfu, 0.0, 1.0, false);
  v.integer64("params", c.params, 0);
  v.integer64("tokens_per_step", c.tokens_per_step, 0);
  v.integer("bytes_per_param", c.bytes_per_param, 1, 16);
  v.integer("layers", c.layers, 0);
  v.integer("d_model", c.d_model, 0);
  v.integer("seq_len", c.seq_len, 0);
}

}  // namespace

void describe(Scenario& s, KeyVisitor& v) {
  v.unsigned64("seed", s.seed);
  v.choice("training", s.training, kOnOff);
  v.choice("device", s.inner.cuda, {{"cpu", false}, {"cuda", true}});
  v.choice("precision", s.precision, {{"fp32", engine::Precision::Fp32}, {"bf16", engine::Precision::Bf16}, {"auto", engine::Precision::Auto}});
  v.require(v.has("platform"), "platform", "is required (path to a SimGrid XML platform, relative to the scenario)");
  v.path("platform", s.platform);
  std::error_code ec;  // (a path too long for the file system is an error code, not an exception)
  v.require(std::filesystem::exists(s.platform, ec), "platform", fmt::format("file '{}' does not exist", s.platform.string()));
  v.require(!std::filesystem::exists(s.platform, ec) || std::filesystem::is_regular_file(s.platform, ec), "platform",
            fmt::format("'{}' is not a regular file; give a SimGrid XML platform file", s.platform.string()));
  v.section("network", [&] { network(s, v); });
  v.section("placement", [&] { placement(s, v); });
  v.section("data", [&] { data(s, v); });
  v.section("model", [&] { model(s, v); });
  v.section("algorithm", [&] { algorithm(s, v); });
  // Only streaming-diloco reads it; written out only for it.
  if (s.algorithm.name == Algorithm::StreamingDiloco) v.section("streaming", [&] { streaming(s, v); });
  else v.ignore("streaming");
  if (s.algorithm.name == Algorithm::AsyncDiloco) {
    v.section("async", [&] {
      v.integer("delay", s.async.delay, 1, 4096);
      v.choice("dylu", s.async.dylu, kOnOff);
    });
  } else {
    v.ignore("async");
  }
  if (s.algorithm.name == Algorithm::DecoupledDiloco) v.section("decoupled", [&] { decoupled(s, v); });
  else v.ignore("decoupled");
  if (s.algorithm.name == Algorithm::Halos) {
    v.section("halos", [&] {
      auto& h = s.halos;
      v.integer("accumulation", h.accumulation, 1);
      v.real("merge_weight", h.merge_weight, 0.0, 1.0);
      v.real("local_lr", h.local_lr, 0.0, 100.0, false);
      v.real("local_momentum", h.local_momentum, 0.0, 1.0);
      v.integer("local_delay", h.local_delay, 1, 4096);
      v.real("global_lr", h.global_lr, 0.0, 100.0, false);
      v.real("global_momentum", h.global_momentum, 0.0, 1.0);
      v.integer("global_delay", h.global_delay, 1, 4096);
      v.choice("dylu", h.dylu, kOnOff);
    });
  } else {
    v.ignore("halos");
  }
  v.section("inner_optimizer", [&] { inner_optimizer(s, v); });
  v.when_reading([&] { s.inner.total_steps = static_cast<int64_t>(s.algorithm.tau) * s.algorithm.outer_steps; });
  v.section("init", [&] { init(s, v); });
  v.section("outer_optimizer", [&] { outer_optimizer(s, v); });
  v.section("dipaco", [&] { dipaco(s, v); });
  v.section("failures", [&] { failures(s, v); });
  v.section("checkpoints", [&] { checkpoints(s, v); });
  v.section("communication", [&] {
    v.choice("outer_gradient", s.communication.outer_gradient,
             {{"fp32", engine::GradientFormat::Fp32}, {"bf16", engine::GradientFormat::Bf16}, {"fp8", engine::GradientFormat::Fp8},
              {"int8", engine::GradientFormat::Int8}, {"fp4", engine::GradientFormat::Fp4}});
  });
  v.when_reading([&] {  // sync's gradients are rounded inside its training job
    s.inner.gradient_format = s.algorithm.name == Algorithm::Sync ? s.communication.outer_gradient : engine::GradientFormat::Fp32;
  });
  v.section("cost", [&] { cost(s, v); });
  // Observability: summary.json's time_to_target_s, and trace.json.
  if (v.reading() ? v.has("target_val_loss") : s.target_val_loss.has_value()) {
    double target = s.target_val_loss.value_or(0.0);
    v.real("target_val_loss", target, 0.0, 1e6, false);
    s.target_val_loss = target;
  }
  v.choice("trace", s.trace, kOnOff);
  v.ignore("sweep");  // read by `dipaco-sim sweep` (sim/sweep/sweep_grid.hpp); a single run ignores it
}

}  // namespace dipaco::sim
