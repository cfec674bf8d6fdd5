#include "sim/scenario/scenario.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

namespace dipaco::sim {

const char* to_string(Algorithm a) {
  return a == Algorithm::Diloco ? "diloco" : a == Algorithm::Sync ? "sync" : "dipaco";
}
const char* to_string(InnerState i) {
  return i == InnerState::Path ? "path" : i == InnerState::Module ? "module" : "reset";
}

const char* to_string(RoutingKind r) {
  return r == RoutingKind::KMeans ? "kmeans" : r == RoutingKind::ProductKMeans ? "product-kmeans" : "iid";
}
const char* to_string(PhasePolicy p) {
  return p == PhasePolicy::WaitAll ? "wait_all" : p == PhasePolicy::Quorum ? "quorum" : "deadline";
}
const char* to_string(NetworkModel m) { return m == NetworkModel::Analytic ? "analytic" : "simgrid"; }
const char* to_string(Sharding s) { return s == Sharding::Iid ? "iid" : "domain"; }

namespace {

// Names the place of an error: "file:line" for file values, "file (--set)" for overrides.
std::string where(const std::string& file, const YAML::Node& node, bool overridden) {
  const auto mark = node.Mark();
  if (overridden || mark.line < 0) return file + " (--set)";
  return fmt::format("{}:{}", file, mark.line + 1);
}

// A YAML mapping read key by key. finish() rejects every key that was never asked for.
class Section {
 public:
  Section(YAML::Node node, std::string path, const std::string& file, const std::set<std::string>& overridden)
      : node_(std::move(node)), path_(std::move(path)), file_(file), overridden_(overridden) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      fail(node_, "", "expected a mapping of keys");
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& msg) const {
    throw ScenarioError(fmt::format("{}: key '{}': {}", where(file_, at ? at : node_, is_overridden(key)), full(key), msg));
  }

  bool has(const std::string& key) {
    used_.insert(key);
    return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
  }

  YAML::Node raw(const std::string& key) { return has(key) ? node_[key] : YAML::Node(); }

  template <class T>
  T get(const std::string& key, T fallback, const char* expected) {
    if (!has(key)) return fallback;
    const YAML::Node v = node_[key];
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      fail(v, key, fmt::format("expected {}, got '{}'", expected, v.IsScalar() ? v.Scalar() : "a non-scalar"));
    }
  }

  int integer(const std::string& key, int fallback, int min, int max = std::numeric_limits<int>::max()) {
    const long long v = get<long long>(key, fallback, "an integer");
    if (v < min || v > max)
      fail(node_[key], key, fmt::format("{} is out of range [{}, {}]", v, min, max));
    return static_cast<int>(v);
  }

  int64_t integer64(const std::string& key, int64_t fallback, int64_t min) {
    // Accept 150e6-style numbers for big counts.
    const double v = get<double>(key, static_cast<double>(fallback), "a number");
    if (v < static_cast<double>(min) || v != std::floor(v) || v > 9e18)
      fail(node_[key], key, fmt::format("expected a whole number >= {}", min));
    return static_cast<int64_t>(v);
  }

  double real(const std::string& key, double fallback, double min, double max, bool min_inclusive = true) {
    const double v = get<double>(key, fallback, "a number");
    if (!(min_inclusive ? v >= min : v > min) || !(v <= max) || std::isnan(v))
      fail(node_[key], key, fmt::format("{} is out of range {}{}, {}]", v, min_inclusive ? "[" : "(", min, max));
    return v;
  }

  // A duration or rate that may be "inf" (never); scaled by `unit` (3600 for hours).
  double real_or_inf(const std::string& key, double fallback, double min, double unit) {
    if (!has(key)) return fallback;
    if (node_[key].IsScalar()) {
      const std::string v = node_[key].Scalar();
      if (v == "inf" || v == ".inf" || v == "never") return std::numeric_limits<double>::infinity();
    }
    const double v = real(key, fallback / unit, min, 1e15, false);
    return v * unit;
  }

  std::string text(const std::string& key, const std::string& fallback) { return get<std::string>(key, fallback, "a string"); }

  template <class E>
  E choice(const std::string& key, E fallback, const std::map<std::string, E>& options) {
    if (!has(key)) return fallback;
    const std::string v = text(key, "");
    const auto it = options.find(v);
    if (it == options.end()) {
      std::string names;
      for (const auto& o : options) names += (names.empty() ? "" : ", ") + o.first;
      fail(node_[key], key, fmt::format("unknown value '{}' (choose one of: {})", v, names));
    }
    return it->second;
  }

  Section child(const std::string& key) {
    used_.insert(key);
    return Section(node_ && node_.IsMap() ? node_[key] : YAML::Node(), full(key), file_, overridden_);
  }

  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const auto key = kv.first.as<std::string>();
      if (!used_.count(key)) {
        std::string known;
        for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
        throw ScenarioError(fmt::format("{}: unknown key '{}' (known here: {})", where(file_, kv.first, is_overridden(key)),
                                        full(key), known));
      }
    }
  }

  // True if `key` or a mapping above it was set with --set.
  bool is_overridden(const std::string& key) const {
    std::string k = full(key);
    for (;;) {
      if (overridden_.count(k)) return true;
      const auto dot = k.rfind('.');
      if (dot == std::string::npos) return false;
      k.resize(dot);
    }
  }

  std::string full(const std::string& key) const { return path_.empty() ? key : (key.empty() ? path_ : path_ + "." + key); }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  const std::set<std::string>& overridden_;
  std::set<std::string> used_;
};

// Returns the dotted key it set.
std::string apply_override(YAML::Node root, const std::string& file, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ScenarioError(fmt::format("{} (--set): '{}' is not key=value (example: --set algorithm.tau=100)", file, assignment));
  const std::string key = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw ScenarioError(fmt::format("{} (--set): key '{}': cannot parse the value: {}", file, key, e.msg));
  }
  // Walk the dotted path, creating mappings as needed; yaml-cpp nodes are handles, so this edits root.
  std::vector<YAML::Node> chain{root};
  size_t start = 0;
  for (;;) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw ScenarioError(fmt::format("{} (--set): '{}' has an empty key part", file, key));
    if (dot == std::string::npos) {
      chain.back()[part] = value;
      return key;
    }
    YAML::Node next = chain.back()[part];
    if (next && !next.IsMap() && !next.IsNull())
      throw ScenarioError(fmt::format("{} (--set): key '{}' is not a mapping", file, key.substr(0, dot)));
    if (!next || next.IsNull()) chain.back()[part] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(chain.back()[part]);
    start = dot + 1;
  }
}

}  // namespace

Scenario load_scenario(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  const std::string name = file.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(name);
  } catch (const YAML::BadFile&) {
    throw ScenarioError(fmt::format("{}: cannot read the scenario file (check the path)", name));
  } catch (const YAML::Exception& e) {
    throw ScenarioError(fmt::format("{}:{}: not valid YAML: {}", name, e.mark.line + 1, e.msg));
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  std::set<std::string> overridden;
  for (const auto& o : overrides) overridden.insert(apply_override(root, name, o));

  Scenario s;
  s.file = file;
  Section top(root, "", name, overridden);
  s.seed = static_cast<uint64_t>(top.integer64("seed", 1, 0));
  s.training = top.choice<bool>("training", true, {{"on", true}, {"off", false}, {"true", true}, {"false", false}});
  s.inner.cuda = top.choice<bool>("device", false, {{"cpu", false}, {"cuda", true}});
  s.precision = top.choice<engine::Precision>(
      "precision", engine::Precision::Auto,
      {{"fp32", engine::Precision::Fp32}, {"bf16", engine::Precision::Bf16}, {"auto", engine::Precision::Auto}});

  if (!top.has("platform")) top.fail(root, "platform", "is required (path to a SimGrid XML platform, relative to the scenario)");
  s.platform = top.text("platform", "");
  if (s.platform.is_relative()) s.platform = file.parent_path() / s.platform;
  if (!std::filesystem::exists(s.platform))
    top.fail(root["platform"], "platform", fmt::format("file '{}' does not exist", s.platform.string()));

  {
    auto n = top.child("network");
    s.network = n.choice<NetworkModel>("model", NetworkModel::Analytic,
                                       {{"analytic", NetworkModel::Analytic}, {"simgrid", NetworkModel::SimGrid}});
    s.retry.initial_s = n.real("retry_initial_s", s.retry.initial_s, 0.0, 1e9, false);
    s.retry.max_s = n.real("retry_max_s", s.retry.max_s, 0.0, 1e9, false);
    if (s.retry.max_s < s.retry.initial_s)
      n.fail(n.raw("retry_max_s"), "retry_max_s", fmt::format("{} is below network.retry_initial_s ({}); the cap must be at least the first back-off", s.retry.max_s, s.retry.initial_s));
    const YAML::Node limit = n.raw("retry_limit");
    const bool unlimited = !n.has("retry_limit") || (limit.IsScalar() && (limit.Scalar() == "unlimited" || limit.Scalar() == "inf" || limit.Scalar() == ".inf"));
    if (!unlimited) s.retry.limit = n.integer64("retry_limit", 0, 0);  // 0: a link failure fails the transfer at once
    s.wan_bandwidth_scale = n.real("wan_bandwidth_scale", 1.0, 0.0, 1e6, false);
    s.wan_latency_scale = n.real("wan_latency_scale", 1.0, 0.0, 1e6);
    n.finish();
  }
  {
    auto p = top.child("placement");
    if (!p.has("outer")) p.fail(root["placement"], "outer", "is required (host name of the outer optimizer)");
    s.outer_host = p.text("outer", "");
    const YAML::Node workers = p.raw("workers");
    if (workers && workers.IsMap()) {  // {count: N}: the hosts are picked from the platform
      auto w = p.child("workers");
      if (!w.has("count")) p.fail(workers, "workers", "a map needs 'count' ({count: 1024}), or give a list of host names");
      s.worker_count = w.integer("count", 1, 1, 1 << 20);
      w.finish();
    } else {
      if (!workers || !workers.IsSequence() || workers.size() == 0)
        p.fail(workers, "workers", "is required: a non-empty list of host names, one per worker, or {count: N}");
      for (const auto& w : workers) {
        if (!w.IsScalar()) p.fail(w, "workers", "entries must be host names");
        s.worker_hosts.push_back(w.as<std::string>());
      }
    }
    p.finish();
  }
  {
    auto d = top.child("data");
    s.data.source = d.choice<std::string>("source", "debian-mix",
                                          {{"debian-mix", "debian-mix"}, {"synthetic", "synthetic"},
                                           {"text-folder", "text-folder"}, {"jsonl", "jsonl"}});
    const bool needs_path = s.data.source == "text-folder" || s.data.source == "jsonl";
    if (needs_path && !d.has("path"))
      d.fail(root["data"], "path", fmt::format("is required for source {} (a {})", s.data.source,
                                               s.data.source == "jsonl" ? "JSON-lines file or folder" : "folder of .txt files"));
    s.data.path = d.text("path", s.data.source == "debian-mix" ? "/" : "");
    if (s.data.path.is_relative() && !s.data.path.empty()) s.data.path = file.parent_path() / s.data.path;
    s.data.per_paragraph = d.choice<bool>("text_unit", false, {{"file", false}, {"paragraph", true}});
    s.data.documents = d.integer("documents", s.data.documents, 10);
    s.data.doc_bytes = d.integer("doc_bytes", s.data.doc_bytes, 64);
    s.data.validation_fraction = d.real("validation_fraction", s.data.validation_fraction, 0.0, 0.9, false);
    s.data.sharding = d.choice<Sharding>("sharding", Sharding::Iid, {{"iid", Sharding::Iid}, {"domain", Sharding::Domain}});
    s.data.eval_sequences = d.integer("eval_sequences", s.data.eval_sequences, 1);
    s.data.prefix_tokens = d.integer("prefix_tokens", s.data.prefix_tokens, 0);
    s.data.cache_dir = d.text("cache_dir", "");
    if (s.data.cache_dir.empty()) {
      const char* xdg = std::getenv("XDG_CACHE_HOME");
      const char* home = std::getenv("HOME");
      s.data.cache_dir = (xdg && *xdg) ? std::filesystem::path(xdg) / "dipaco-sim"
                                       : std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "dipaco-sim";
    } else if (s.data.cache_dir.is_relative()) {
      s.data.cache_dir = file.parent_path() / s.data.cache_dir;
    }
    auto t = d.child("tokenizer");
    s.data.tokenizer.kind = t.choice<std::string>("kind", "sentencepiece", {{"sentencepiece", "sentencepiece"}, {"byte", "byte"}});
    s.data.tokenizer.vocab = t.integer("vocab", s.data.tokenizer.vocab, 260, 1 << 20);
    s.data.tokenizer.algorithm = t.choice<std::string>("algorithm", "unigram", {{"unigram", "unigram"}, {"bpe", "bpe"}});
    t.finish();
    d.finish();
  }
  {
    auto m = top.child("model");
    s.model.vocab = m.integer("vocab", 0, 0, 1 << 20);
    s.model.d_model = m.integer("d_model", s.model.d_model, 8, 8192);
    s.model.heads = m.integer("heads", s.model.heads, 1, 256);
    s.model.blocks = m.integer("blocks", s.model.blocks, 1, 256);
    s.model.seq_len = m.integer("seq_len", s.model.seq_len, 8, 65536);
    if (s.model.seq_len <= s.data.prefix_tokens)
      m.fail(root["model"]["seq_len"], "seq_len", fmt::format("must exceed data.prefix_tokens ({}), which perplexity skips", s.data.prefix_tokens));
    if (s.model.d_model % s.model.heads != 0)
      m.fail(root["model"]["heads"], "heads", fmt::format("d_model {} is not divisible by heads {}", s.model.d_model, s.model.heads));
    m.finish();
  }
  {
    auto a = top.child("algorithm");
    s.algorithm.name = a.choice<Algorithm>("name", Algorithm::Diloco,
                                           {{"diloco", Algorithm::Diloco},
                                            {"sync", Algorithm::Sync},
                                            {"dense", Algorithm::Sync},  // the dense data-parallel baseline, by its usual name
                                            {"dipaco", Algorithm::Dipaco}});
    s.algorithm.replicas_per_path = a.integer("replicas_per_path", 1, 1, 4096);
    s.algorithm.tau = a.integer("tau", s.algorithm.tau, 1);
    s.algorithm.outer_steps = a.integer("outer_steps", s.algorithm.outer_steps, 1);
    s.algorithm.total_inner_steps = a.integer("total_inner_steps", 0, 0);
    if (s.algorithm.total_inner_steps > 0) {
      if (s.algorithm.total_inner_steps % s.algorithm.tau != 0)
        a.fail(a.raw("total_inner_steps"), "total_inner_steps",
               fmt::format("{} is not a multiple of algorithm.tau ({}); outer_steps = total_inner_steps / tau must be whole",
                           s.algorithm.total_inner_steps, s.algorithm.tau));
      s.algorithm.outer_steps = s.algorithm.total_inner_steps / s.algorithm.tau;
    }
    s.algorithm.eval_every = a.integer("eval_every", s.algorithm.eval_every, 1);
    a.finish();
  }
  {
    auto o = top.child("inner_optimizer");
    s.inner.lr = o.real("lr", s.inner.lr, 0.0, 10.0, false);
    s.inner.warmup_steps = o.integer("warmup_steps", static_cast<int>(s.inner.warmup_steps), 0);
    s.inner.min_lr_ratio = o.real("min_lr_ratio", s.inner.min_lr_ratio, 0.0, 1.0);
    s.inner.weight_decay = o.real("weight_decay", s.inner.weight_decay, 0.0, 10.0);
    s.inner.beta1 = o.real("beta1", s.inner.beta1, 0.0, 1.0);
    s.inner.beta2 = o.real("beta2", s.inner.beta2, 0.0, 1.0);
    s.inner.grad_clip = o.real("grad_clip", s.inner.grad_clip, 0.0, 1e9);
    s.inner.batch_size = o.integer("batch_size", s.inner.batch_size, 1);
    o.finish();
  }
  s.inner.total_steps = static_cast<int64_t>(s.algorithm.tau) * s.algorithm.outer_steps;
  {
    auto i = top.child("init");
    s.init.pretrain_steps_set = i.has("pretrain_steps");
    s.init.pretrain_steps = i.integer("pretrain_steps", 0, 0);
    if (i.has("seed")) s.init.seed = static_cast<uint64_t>(i.integer64("seed", 0, 0));
    s.init.count_time = i.get<bool>("count_time", true, "true or false");
    i.finish();
  }
  {
    auto o = top.child("outer_optimizer");
    s.outer.kind = o.choice<engine::OuterKind>("name", engine::OuterKind::Nesterov,
                                               {{"nesterov", engine::OuterKind::Nesterov}, {"sgd", engine::OuterKind::Sgd},
                                                {"adam", engine::OuterKind::Adam}});
    s.outer.lr = o.real("lr", s.outer.lr, 0.0, 100.0, false);
    s.outer.momentum = o.real("momentum", s.outer.momentum, 0.0, 1.0);
    s.outer.beta1 = o.real("beta1", s.outer.beta1, 0.0, 1.0);
    s.outer.beta2 = o.real("beta2", s.outer.beta2, 0.0, 1.0);
    s.outer.eps = o.real("eps", s.outer.eps, 0.0, 1.0);
    o.finish();
  }
  {
    auto d = top.child("dipaco");
    const YAML::Node levels = d.raw("levels");
    if (levels && !levels.IsNull()) {
      if (!levels.IsSequence() || levels.size() == 0) d.fail(levels, "levels", "expected a list such as [{blocks: 1, modules: 2}, ...]");
      for (size_t i = 0; i < levels.size(); ++i) {
        Section l(levels[i], fmt::format("dipaco.levels[{}]", i), name, overridden);
        engine::LevelSpec spec;
        spec.blocks = l.integer("blocks", 1, 1);
        spec.modules = l.integer("modules", 1, 1, 4096);
        spec.path_specific = l.get<bool>("path_specific", false, "true or false");
        l.finish();
        s.dipaco.levels.push_back(spec);
      }
    }
    s.dipaco.share_embeddings = d.get<bool>("share_embeddings", true, "true or false");
    s.dipaco.routing = d.choice<RoutingKind>("routing", RoutingKind::KMeans,
                                             {{"kmeans", RoutingKind::KMeans}, {"product-kmeans", RoutingKind::ProductKMeans}, {"iid", RoutingKind::Iid}});
    s.dipaco.base_steps = d.integer("base_steps", s.dipaco.base_steps, 0);
    s.dipaco.router_fit_sequences = d.integer("router_fit_sequences", s.dipaco.router_fit_sequences, 16);
    s.dipaco.rescale_outer_gradient = d.get<bool>("rescale_outer_gradient", false, "true or false");
    s.dipaco.reroute_every = d.integer("reroute_every", 0, 0);
    s.dipaco.top2_training_shards = d.get<bool>("top2_training_shards", false, "true or false");
    s.dipaco.workers = d.integer("workers", 0, 0);
    s.dipaco.inner_state = d.choice<InnerState>("inner_state", InnerState::Path,
                                                {{"path", InnerState::Path}, {"module", InnerState::Module}, {"reset", InnerState::Reset}});
    s.dipaco.discriminative_after = d.integer("discriminative_after", 0, 0);
    s.dipaco.router_split_sequences = d.integer("router_split_sequences", s.dipaco.router_split_sequences, 16);
    s.dipaco.relabel_margin = d.real("relabel_margin", 0.0, 0.0, 10.0);
    s.dipaco.early_stopping_fraction = d.real("early_stopping_fraction", 0.0, 0.0, 0.5);
    s.dipaco.phase_policy = d.choice<PhasePolicy>("phase_policy", PhasePolicy::WaitAll,
                                                  {{"wait_all", PhasePolicy::WaitAll}, {"quorum", PhasePolicy::Quorum}, {"deadline", PhasePolicy::Deadline}});
    s.dipaco.quorum = d.real("quorum", s.dipaco.phase_policy == PhasePolicy::Quorum ? 0.75 : 1.0, 0.0, 1.0, false);
    s.dipaco.deadline_s = d.real_or_inf("deadline_s", s.dipaco.deadline_s, 0.0, 1.0);
    if (s.dipaco.phase_policy == PhasePolicy::Deadline && !std::isfinite(s.dipaco.deadline_s))
      d.fail(d.raw("phase_policy"), "deadline_s", "phase_policy deadline needs a finite deadline_s (seconds after the phase opens)");
    s.dipaco.compute_schedule = d.choice<ComputeSchedule>("compute_schedule", ComputeSchedule::Constant,
                                                          {{"constant", ComputeSchedule::Constant}, {"doubling", ComputeSchedule::Doubling},
                                                           {"halving", ComputeSchedule::Halving}, {"ramp_up", ComputeSchedule::RampUp},
                                                           {"ramp_down", ComputeSchedule::RampDown}});
    if (s.dipaco.compute_schedule != ComputeSchedule::Constant && s.algorithm.replicas_per_path < 2)
      d.fail(d.raw("compute_schedule"), "compute_schedule",
             "varies the replicas of each path, so it needs algorithm.replicas_per_path of 2 or more (or use constant)");
    const YAML::Node backup = d.raw("backup_workers");
    if (backup && !backup.IsNull()) {
      if (!backup.IsSequence()) d.fail(backup, "backup_workers", "expected a list of host names, one backup worker each");
      for (const auto& h : backup) {
        if (!h.IsScalar()) d.fail(h, "backup_workers", "entries must be host names");
        s.dipaco.backup_workers.push_back(h.as<std::string>());
      }
    }
    const YAML::Node exec = d.raw("executors");
    if (exec && !exec.IsNull()) {
      if (exec.IsScalar()) s.dipaco.executor_hosts.push_back(exec.as<std::string>());
      else if (exec.IsSequence()) for (const auto& h : exec) s.dipaco.executor_hosts.push_back(h.as<std::string>());
      else d.fail(exec, "executors", "expected a host name or a list of host names, one per module");
    }
    d.finish();
    int blocks = 0;
    for (const auto& l : s.dipaco.levels) blocks += l.blocks;
    if (!s.dipaco.levels.empty() && blocks != s.model.blocks)
      d.fail(levels, "levels", fmt::format("the levels hold {} blocks but model.blocks is {}", blocks, s.model.blocks));
    if (s.dipaco.levels.empty()) s.dipaco.levels.push_back({s.model.blocks, 1, false});
  }
  {
    auto f = top.child("failures");
    s.failures.seed = static_cast<uint64_t>(f.integer64("seed", static_cast<int64_t>(s.seed), 0));
    auto p = f.child("preemption");
    s.failures.mtbf_s = p.real_or_inf("mtbf_hours", s.failures.mtbf_s, 0.0, 3600.0);
    s.failures.mttr_s = p.real("mttr_hours", s.failures.mttr_s / 3600.0, 0.0, 1e6, false) * 3600.0;
    s.failures.weibull = p.choice<bool>("distribution", false, {{"exponential", false}, {"weibull", true}});
    s.failures.weibull_shape = p.real("weibull_shape", 1.0, 0.05, 20.0);
    s.failures.per_datacentre = p.choice<bool>("scope", false, {{"host", false}, {"datacentre", true}});
    p.finish();
    const YAML::Node outages = f.raw("outages");
    if (outages && !outages.IsNull() && !outages.IsSequence()) f.fail(outages, "outages", "expected a list such as [{datacentre: east, at_hours: 1, for_hours: 0.5}]");
    for (size_t i = 0; outages.IsSequence() && i < outages.size(); ++i) {
      Section o(outages[i], fmt::format("failures.outages[{}]", i), name, overridden);
      OutageSpec out;
      out.datacentre = o.text("datacentre", "");
      if (out.datacentre.empty()) o.fail(outages[i], "datacentre", "name the datacentre (a zone below the platform's root)");
      out.at_s = o.real("at_hours", 0.0, 0.0, 1e9) * 3600.0;
      out.duration_s = o.real_or_inf("for_hours", out.duration_s, 0.0, 3600.0);
      o.finish();
      s.failures.outages.push_back(out);
    }
    const YAML::Node traces = f.raw("traces");
    if (traces && !traces.IsNull() && !traces.IsSequence()) f.fail(traces, "traces", "expected a list such as [{host: east-gpu1, file: traces/east.state}]");
    for (size_t i = 0; traces.IsSequence() && i < traces.size(); ++i) {
      Section tr(traces[i], fmt::format("failures.traces[{}]", i), name, overridden);
      TraceSpec spec;
      spec.host = tr.text("host", "");
      spec.file = tr.text("file", "");
      if (spec.host.empty() || spec.file.empty()) tr.fail(traces[i], "host", "each trace needs a host and a file");
      if (spec.file.is_relative()) spec.file = file.parent_path() / spec.file;
      tr.finish();
      s.failures.traces.push_back(spec);
    }
    if (f.has("backup_preemption")) {
      auto b = f.child("backup_preemption");
      s.failures.backup_mtbf_s = b.real_or_inf("mtbf_hours", s.failures.mtbf_s, 0.0, 3600.0);
      s.failures.backup_mttr_s = b.real("mttr_hours", s.failures.mttr_s / 3600.0, 0.0, 1e6, false) * 3600.0;
      b.finish();
    }
    s.failures.executors_fail = f.get<bool>("executors_fail", false, "true or false");
    s.failures.drop_probability = f.real("drop_probability", 0.0, 0.0, 1.0);
    if (s.failures.drop_probability >= 1.0) f.fail(f.raw("drop_probability"), "drop_probability", "1 would drop every outer gradient; use a value below 1");
    s.failures.heartbeat_s = f.real("heartbeat_s", s.failures.heartbeat_s, 0.0, 1e9, false);
    s.failures.stall_s = f.real("stall_hours", s.failures.stall_s / 3600.0, 0.0, 1e9, false) * 3600.0;
    s.failures.horizon_s = f.real("horizon_hours", s.failures.horizon_s / 3600.0, 0.0, 1e9, false) * 3600.0;
    f.finish();
    if (s.failures.drop_probability > 0 && s.algorithm.name == Algorithm::Sync)
      f.fail(f.raw("drop_probability"), "drop_probability", "drops lose outer gradients, which sync does not have; set it to 0 or use diloco or dipaco");
    if (s.failures.executors_fail && s.algorithm.name == Algorithm::Sync)
      f.fail(f.raw("executors_fail"), "executors_fail", "sync has no executors; set it to false");
  }
  {
    auto c = top.child("checkpoints");
    s.checkpoints.storage = c.text("storage", "");
    s.checkpoints.module_every_phases = c.integer("module_every_phases", 0, 0);
    s.checkpoints.inner_every_steps = c.integer("inner_every_steps", 0, 0);
    c.finish();
    if ((s.checkpoints.module_every_phases > 0 || s.checkpoints.inner_every_steps > 0) && s.checkpoints.storage.empty())
      c.fail(root["checkpoints"], "storage", "is required when checkpoints are on (the host that stores them)");
    if (s.algorithm.name == Algorithm::Sync && s.checkpoints.module_every_phases > 0)
      c.fail(root["checkpoints"], "module_every_phases",
             "sync has no executors: its checkpoint is the whole training state, every checkpoints.inner_every_steps steps; set that instead");
    if (s.failures.executors_fail && s.checkpoints.module_every_phases == 0)
      c.fail(root["failures"], "module_every_phases",
             "failures.executors_fail needs module checkpoints to recover from: set checkpoints.module_every_phases (and storage)");
  }
  {
    auto c = top.child("cost");
    s.cost.mfu = c.real("mfu", s.cost.mfu, 0.0, 1.0, false);
    s.cost.params = c.integer64("params", 0, 0);
    s.cost.tokens_per_step = c.integer64("tokens_per_step", 0, 0);
    s.cost.bytes_per_param = c.integer("bytes_per_param", s.cost.bytes_per_param, 1, 16);
    s.cost.layers = c.integer("layers", 0, 0);
    s.cost.d_model = c.integer("d_model", 0, 0);
    s.cost.seq_len = c.integer("seq_len", 0, 0);
    c.finish();
  }
  {  // observability keys
    if (top.has("target_val_loss")) s.target_val_loss = top.real("target_val_loss", 0.0, 0.0, 1e6, false);
    s.trace = top.choice<bool>("trace", true, {{"on", true}, {"off", false}, {"true", true}, {"false", false}});
  }
  // The sweep section is read by `dipaco-sim sweep` (sim/sweep/sweep_grid.hpp); a single run ignores it.
  top.has("sweep");
  top.finish();
  return s;
}

std::string scenario_to_yaml(const Scenario& s) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "seed" << YAML::Value << s.seed;
  y << YAML::Key << "training" << YAML::Value << (s.training ? "on" : "off");
  y << YAML::Key << "device" << YAML::Value << (s.inner.cuda ? "cuda" : "cpu");
  y << YAML::Key << "precision" << YAML::Value << engine::to_string(s.precision);
  y << YAML::Key << "platform" << YAML::Value << std::filesystem::absolute(s.platform).lexically_normal().string();
  y << YAML::Key << "network" << YAML::Value << YAML::BeginMap << YAML::Key << "model" << YAML::Value << to_string(s.network);
  y << YAML::Key << "retry_initial_s" << YAML::Value << s.retry.initial_s << YAML::Key << "retry_max_s" << YAML::Value << s.retry.max_s;
  y << YAML::Key << "retry_limit" << YAML::Value;
  if (s.retry.unlimited()) y << "unlimited";
  else y << s.retry.limit;
  y << YAML::Key << "wan_bandwidth_scale" << YAML::Value << s.wan_bandwidth_scale;
  y << YAML::Key << "wan_latency_scale" << YAML::Value << s.wan_latency_scale;
  y << YAML::EndMap;
  y << YAML::Key << "placement" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "outer" << YAML::Value << s.outer_host;
  if (s.worker_count > 0) y << YAML::Key << "workers" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "count" << YAML::Value << s.worker_count << YAML::EndMap;
  else y << YAML::Key << "workers" << YAML::Value << YAML::Flow << s.worker_hosts;
  y << YAML::EndMap;
  y << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "source" << YAML::Value << s.data.source;
  y << YAML::Key << "path" << YAML::Value << s.data.path.string();
  y << YAML::Key << "text_unit" << YAML::Value << (s.data.per_paragraph ? "paragraph" : "file");
  y << YAML::Key << "documents" << YAML::Value << s.data.documents;
  y << YAML::Key << "doc_bytes" << YAML::Value << s.data.doc_bytes;
  y << YAML::Key << "validation_fraction" << YAML::Value << s.data.validation_fraction;
  y << YAML::Key << "sharding" << YAML::Value << to_string(s.data.sharding);
  y << YAML::Key << "eval_sequences" << YAML::Value << s.data.eval_sequences;
  y << YAML::Key << "prefix_tokens" << YAML::Value << s.data.prefix_tokens;
  y << YAML::Key << "cache_dir" << YAML::Value << s.data.cache_dir.string();
  y << YAML::Key << "tokenizer" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "kind" << YAML::Value << s.data.tokenizer.kind;
  y << YAML::Key << "vocab" << YAML::Value << s.data.tokenizer.vocab;
  y << YAML::Key << "algorithm" << YAML::Value << s.data.tokenizer.algorithm;
  y << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "vocab" << YAML::Value << s.model.vocab;
  y << YAML::Key << "d_model" << YAML::Value << s.model.d_model;
  y << YAML::Key << "heads" << YAML::Value << s.model.heads;
  y << YAML::Key << "blocks" << YAML::Value << s.model.blocks;
  y << YAML::Key << "seq_len" << YAML::Value << s.model.seq_len;
  y << YAML::EndMap;
  y << YAML::Key << "algorithm" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << to_string(s.algorithm.name);
  y << YAML::Key << "tau" << YAML::Value << s.algorithm.tau;
  y << YAML::Key << "outer_steps" << YAML::Value << s.algorithm.outer_steps;
  y << YAML::Key << "total_inner_steps" << YAML::Value << s.algorithm.total_inner_steps;
  y << YAML::Key << "eval_every" << YAML::Value << s.algorithm.eval_every;
  y << YAML::Key << "replicas_per_path" << YAML::Value << s.algorithm.replicas_per_path;
  y << YAML::EndMap;
  y << YAML::Key << "inner_optimizer" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "lr" << YAML::Value << s.inner.lr;
  y << YAML::Key << "warmup_steps" << YAML::Value << s.inner.warmup_steps;
  y << YAML::Key << "min_lr_ratio" << YAML::Value << s.inner.min_lr_ratio;
  y << YAML::Key << "weight_decay" << YAML::Value << s.inner.weight_decay;
  y << YAML::Key << "beta1" << YAML::Value << s.inner.beta1;
  y << YAML::Key << "beta2" << YAML::Value << s.inner.beta2;
  y << YAML::Key << "grad_clip" << YAML::Value << s.inner.grad_clip;
  y << YAML::Key << "batch_size" << YAML::Value << s.inner.batch_size;
  y << YAML::EndMap;
  y << YAML::Key << "outer_optimizer" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value
    << (s.outer.kind == engine::OuterKind::Nesterov ? "nesterov" : s.outer.kind == engine::OuterKind::Sgd ? "sgd" : "adam");
  y << YAML::Key << "lr" << YAML::Value << s.outer.lr;
  y << YAML::Key << "momentum" << YAML::Value << s.outer.momentum;
  y << YAML::Key << "beta1" << YAML::Value << s.outer.beta1;
  y << YAML::Key << "beta2" << YAML::Value << s.outer.beta2;
  y << YAML::Key << "eps" << YAML::Value << s.outer.eps;
  y << YAML::EndMap;
  y << YAML::Key << "init" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "pretrain_steps" << YAML::Value << s.pretrain_steps();
  y << YAML::Key << "seed" << YAML::Value << s.init_seed();
  y << YAML::Key << "count_time" << YAML::Value << s.init.count_time;
  y << YAML::EndMap;
  y << YAML::Key << "dipaco" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "levels" << YAML::Value << YAML::BeginSeq;
  for (const auto& l : s.dipaco.levels)
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "blocks" << YAML::Value << l.blocks << YAML::Key << "modules"
      << YAML::Value << l.modules << YAML::Key << "path_specific" << YAML::Value << l.path_specific << YAML::EndMap;
  y << YAML::EndSeq;
  y << YAML::Key << "share_embeddings" << YAML::Value << s.dipaco.share_embeddings;
  y << YAML::Key << "routing" << YAML::Value << to_string(s.dipaco.routing);
  y << YAML::Key << "base_steps" << YAML::Value << s.dipaco.base_steps;
  y << YAML::Key << "router_fit_sequences" << YAML::Value << s.dipaco.router_fit_sequences;
  y << YAML::Key << "rescale_outer_gradient" << YAML::Value << s.dipaco.rescale_outer_gradient;
  y << YAML::Key << "reroute_every" << YAML::Value << s.dipaco.reroute_every;
  y << YAML::Key << "top2_training_shards" << YAML::Value << s.dipaco.top2_training_shards;
  y << YAML::Key << "workers" << YAML::Value << s.dipaco.workers;
  y << YAML::Key << "inner_state" << YAML::Value << to_string(s.dipaco.inner_state);
  y << YAML::Key << "discriminative_after" << YAML::Value << s.dipaco.discriminative_after;
  y << YAML::Key << "router_split_sequences" << YAML::Value << s.dipaco.router_split_sequences;
  y << YAML::Key << "relabel_margin" << YAML::Value << s.dipaco.relabel_margin;
  y << YAML::Key << "early_stopping_fraction" << YAML::Value << s.dipaco.early_stopping_fraction;
  y << YAML::Key << "phase_policy" << YAML::Value << to_string(s.dipaco.phase_policy);
  y << YAML::Key << "compute_schedule" << YAML::Value << to_string(s.dipaco.compute_schedule);
  if (!s.dipaco.backup_workers.empty()) y << YAML::Key << "backup_workers" << YAML::Value << YAML::Flow << s.dipaco.backup_workers;
  y << YAML::Key << "quorum" << YAML::Value << s.dipaco.quorum;
  if (std::isfinite(s.dipaco.deadline_s)) y << YAML::Key << "deadline_s" << YAML::Value << s.dipaco.deadline_s;
  if (!s.dipaco.executor_hosts.empty()) y << YAML::Key << "executors" << YAML::Value << YAML::Flow << s.dipaco.executor_hosts;
  y << YAML::EndMap;
  y << YAML::Key << "failures" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "seed" << YAML::Value << s.failures.seed;
  y << YAML::Key << "preemption" << YAML::Value << YAML::BeginMap;
  if (std::isfinite(s.failures.mtbf_s)) y << YAML::Key << "mtbf_hours" << YAML::Value << s.failures.mtbf_s / 3600.0;
  else y << YAML::Key << "mtbf_hours" << YAML::Value << "inf";
  y << YAML::Key << "mttr_hours" << YAML::Value << s.failures.mttr_s / 3600.0;
  y << YAML::Key << "distribution" << YAML::Value << (s.failures.weibull ? "weibull" : "exponential");
  y << YAML::Key << "weibull_shape" << YAML::Value << s.failures.weibull_shape;
  y << YAML::Key << "scope" << YAML::Value << (s.failures.per_datacentre ? "datacentre" : "host");
  y << YAML::EndMap;
  if (!std::isnan(s.failures.backup_mtbf_s)) {
    y << YAML::Key << "backup_preemption" << YAML::Value << YAML::BeginMap;
    if (std::isfinite(s.failures.backup_mtbf_s)) y << YAML::Key << "mtbf_hours" << YAML::Value << s.failures.backup_mtbf_s / 3600.0;
    else y << YAML::Key << "mtbf_hours" << YAML::Value << "inf";
    y << YAML::Key << "mttr_hours" << YAML::Value << s.failures.backup_mttr_s / 3600.0;
    y << YAML::EndMap;
  }
  if (!s.failures.outages.empty()) {
    y << YAML::Key << "outages" << YAML::Value << YAML::BeginSeq;
    for (const auto& o : s.failures.outages) {
      y << YAML::Flow << YAML::BeginMap << YAML::Key << "datacentre" << YAML::Value << o.datacentre << YAML::Key << "at_hours"
        << YAML::Value << o.at_s / 3600.0 << YAML::Key << "for_hours";
      if (std::isfinite(o.duration_s)) y << YAML::Value << o.duration_s / 3600.0;
      else y << YAML::Value << "inf";
      y << YAML::EndMap;
    }
    y << YAML::EndSeq;
  }
  if (!s.failures.traces.empty()) {
    y << YAML::Key << "traces" << YAML::Value << YAML::BeginSeq;
    for (const auto& tr : s.failures.traces)
      y << YAML::Flow << YAML::BeginMap << YAML::Key << "host" << YAML::Value << tr.host << YAML::Key << "file" << YAML::Value
        << tr.file.string() << YAML::EndMap;
    y << YAML::EndSeq;
  }
  y << YAML::Key << "executors_fail" << YAML::Value << s.failures.executors_fail;
  y << YAML::Key << "drop_probability" << YAML::Value << s.failures.drop_probability;
  y << YAML::Key << "heartbeat_s" << YAML::Value << s.failures.heartbeat_s;
  y << YAML::Key << "stall_hours" << YAML::Value << s.failures.stall_s / 3600.0;
  y << YAML::Key << "horizon_hours" << YAML::Value << s.failures.horizon_s / 3600.0;
  y << YAML::EndMap;
  y << YAML::Key << "checkpoints" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "storage" << YAML::Value << s.checkpoints.storage;
  y << YAML::Key << "module_every_phases" << YAML::Value << s.checkpoints.module_every_phases;
  y << YAML::Key << "inner_every_steps" << YAML::Value << s.checkpoints.inner_every_steps;
  y << YAML::EndMap;
  y << YAML::Key << "cost" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "mfu" << YAML::Value << s.cost.mfu;
  y << YAML::Key << "params" << YAML::Value << s.cost.params;
  y << YAML::Key << "tokens_per_step" << YAML::Value << s.cost.tokens_per_step;
  y << YAML::Key << "bytes_per_param" << YAML::Value << s.cost.bytes_per_param;
  y << YAML::Key << "layers" << YAML::Value << s.cost.layers;
  y << YAML::Key << "d_model" << YAML::Value << s.cost.d_model;
  y << YAML::Key << "seq_len" << YAML::Value << s.cost.seq_len;
  y << YAML::EndMap;
  if (s.target_val_loss) y << YAML::Key << "target_val_loss" << YAML::Value << *s.target_val_loss;
  y << YAML::Key << "trace" << YAML::Value << (s.trace ? "on" : "off");
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

int Scenario::pretrain_steps() const {
  if (init.pretrain_steps_set || algorithm.name != Algorithm::Dipaco) return init.pretrain_steps;
  return dipaco.base_steps;
}

}  // namespace dipaco::sim
