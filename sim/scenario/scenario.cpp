// Scenario files: the strict reader (Section: unknown keys, ranges, where an error is) and the
// writer of the resolved scenario, both walking the one list of keys in scenario_keys.cpp.
#include "sim/scenario/scenario.hpp"

#include "sim/scenario/scenario_keys.hpp"
#include "sim/scenario/strict_yaml.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdlib>
#include <limits>
#include <set>

namespace dipaco::sim {

namespace {
template <class E>
const char* name_of(const Names<E>& names, E v) {
  for (const auto& [name, value] : names)
    if (value == v) return name.c_str();
  return "?";
}
}  // namespace

const char* to_string(Algorithm a) { return name_of(algorithm_names(), a); }
const char* to_string(InnerState i) { return name_of(inner_state_names(), i); }
const char* to_string(RoutingKind r) { return name_of(routing_names(), r); }
const char* to_string(PhasePolicy p) { return name_of(phase_policy_names(), p); }
const char* to_string(NetworkModel m) { return name_of(network_model_names(), m); }
const char* to_string(Sharding s) { return name_of(sharding_names(), s); }

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

  std::string text(const std::string& key, const std::string& fallback) { return get<std::string>(key, fallback, "a string"); }

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

  const YAML::Node& node() const { return node_; }

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
    check_strict_yaml(assignment.substr(eq + 1), fmt::format("{} (--set {})", file, key));
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

namespace {

// Reads the keys describe() declares from the file's YAML, each section strictly (Section).
class Reader : public KeyVisitor {
 public:
  Reader(Section top, const std::filesystem::path& file, const std::string& name, const std::set<std::string>& overridden)
      : file_(file), name_(name), overridden_(overridden) {
    stack_.push_back(std::move(top));
  }
  void finish() { stack_.back().finish(); }

  bool reading() const override { return true; }
  void section(const std::string& key, const std::function<void()>& body) override {
    stack_.push_back(here().child(key));
    body();
    stack_.back().finish();
    stack_.pop_back();
  }
  void sequence(const std::string& key, size_t& n, const std::function<void()>& resize, const std::function<void(size_t)>& item,
                const std::string& expected) override {
    const YAML::Node list = here().raw(key);
    if (!list || list.IsNull()) return;
    if (!list.IsSequence()) here().fail(list, key, expected);
    n = list.size();
    resize();
    for (size_t i = 0; i < n; ++i) {
      stack_.push_back(Section(list[i], fmt::format("{}[{}]", here().full(key), i), name_, overridden_));
      item(i);
      stack_.back().finish();
      stack_.pop_back();
    }
  }
  void names(const std::string& key, std::vector<std::string>& v, const std::string& expected, bool one_allowed) override {
    const YAML::Node list = here().raw(key);
    if (!list || list.IsNull()) return;
    v.clear();
    if (one_allowed && list.IsScalar()) {
      v.push_back(list.as<std::string>());
      return;
    }
    if (!list.IsSequence()) here().fail(list, key, expected);
    for (const auto& h : list) {
      if (!h.IsScalar()) here().fail(h, key, "entries must be host names");
      v.push_back(h.as<std::string>());
    }
  }
  void hosts_or_count(const std::string& key, std::vector<std::string>& hosts, int& count) override {
    const YAML::Node workers = here().raw(key);
    if (workers && workers.IsMap()) {  // {count: N}: the hosts are picked from the platform
      auto w = here().child(key);
      if (!w.has("count")) here().fail(workers, key, "a map needs 'count' ({count: 1024}), or give a list of host names");
      count = w.integer("count", 1, 1, 1 << 20);
      w.finish();
      return;
    }
    if (!workers || !workers.IsSequence() || workers.size() == 0)
      here().fail(workers, key, "is required: a non-empty list of host names, one per worker, or {count: N}");
    names(key, hosts, "", false);
  }
  void integer(const std::string& key, int& v, int min, int max) override { v = here().integer(key, v, min, max); }
  void integer64(const std::string& key, int64_t& v, int64_t min) override { v = here().integer64(key, v, min); }
  void unsigned64(const std::string& key, uint64_t& v) override {
    v = static_cast<uint64_t>(here().integer64(key, static_cast<int64_t>(v), 0));
  }
  void real(const std::string& key, double& v, double min, double max, bool min_inclusive) override {
    v = here().real(key, v, min, max, min_inclusive);
  }
  void scaled(const std::string& key, double& v, double unit, double min, double max, bool min_inclusive, bool may_be_inf,
              const std::string& infinite) override {
    if (!here().has(key)) return;
    const YAML::Node value = here().raw(key);
    if (may_be_inf && value.IsScalar()) {
      const std::string s = value.Scalar();
      if (s == "inf" || s == ".inf" || s == "never" || s == infinite) {
        v = std::numeric_limits<double>::infinity();
        return;
      }
    }
    v = here().real(key, v / unit, min, max, min_inclusive) * unit;
  }
  void flag(const std::string& key, bool& v) override { v = here().get<bool>(key, v, "true or false"); }
  void text(const std::string& key, std::string& v) override { v = here().text(key, v); }
  void path(const std::string& key, std::filesystem::path& v) override {
    if (!here().has(key)) return;
    v = here().text(key, "");
    if (v.is_relative() && !v.empty()) v = file_.parent_path() / v;
  }
  bool has(const std::string& key) override { return here().has(key); }
  void ignore(const std::string& key) override { here().has(key); }
  void require(bool ok, const std::string& key, const std::string& message) override {
    if (ok) return;
    // At the key's line; when the key is absent, at its mapping's, or the nearest one in the file.
    if (here().has(key)) here().fail(here().raw(key), key, message);
    for (auto s = stack_.rbegin(); s != stack_.rend(); ++s)
      if (s->node().Mark().line >= 0) here().fail(s->node(), key, message);
    here().fail(here().node(), key, message);
  }

 protected:
  void choice_index(const std::string& key, size_t& index, const std::vector<std::string>& names) override {
    if (!here().has(key)) return;
    const std::string v = here().text(key, "");
    const auto it = std::find(names.begin(), names.end(), v);
    if (it == names.end()) {
      auto sorted = names;
      std::sort(sorted.begin(), sorted.end());
      here().fail(here().raw(key), key, fmt::format("unknown value '{}' (choose one of: {})", v, fmt::join(sorted, ", ")));
    }
    index = static_cast<size_t>(it - names.begin());
  }

 private:
  Section& here() { return stack_.back(); }
  std::filesystem::path file_;
  const std::string& name_;  // the file's name, as the sections quote it
  const std::set<std::string>& overridden_;
  std::vector<Section> stack_;
};

// Writes the keys describe() declares, every one with its resolved value.
class Writer : public KeyVisitor {
 public:
  Writer() { y_ << YAML::BeginMap; }
  std::string yaml() {
    y_ << YAML::EndMap;
    return std::string(y_.c_str()) + "\n";
  }

  bool reading() const override { return false; }
  void section(const std::string& key, const std::function<void()>& body) override {
    y_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    body();
    y_ << YAML::EndMap;
  }
  void sequence(const std::string& key, size_t& n, const std::function<void()>&, const std::function<void(size_t)>& item,
                const std::string&) override {
    if (n == 0) return;
    y_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (size_t i = 0; i < n; ++i) {
      y_ << YAML::Flow << YAML::BeginMap;
      item(i);
      y_ << YAML::EndMap;
    }
    y_ << YAML::EndSeq;
  }
  void names(const std::string& key, std::vector<std::string>& v, const std::string&, bool) override {
    if (!v.empty()) y_ << YAML::Key << key << YAML::Value << YAML::Flow << v;
  }
  void hosts_or_count(const std::string& key, std::vector<std::string>& hosts, int& count) override {
    if (count > 0) y_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "count" << YAML::Value << count << YAML::EndMap;
    else y_ << YAML::Key << key << YAML::Value << YAML::Flow << hosts;
  }
  void integer(const std::string& key, int& v, int, int) override { y_ << YAML::Key << key << YAML::Value << v; }
  void integer64(const std::string& key, int64_t& v, int64_t) override { y_ << YAML::Key << key << YAML::Value << v; }
  void unsigned64(const std::string& key, uint64_t& v) override { y_ << YAML::Key << key << YAML::Value << v; }
  void real(const std::string& key, double& v, double, double, bool) override { y_ << YAML::Key << key << YAML::Value << v; }
  void scaled(const std::string& key, double& v, double unit, double, double, bool, bool, const std::string& infinite) override {
    y_ << YAML::Key << key << YAML::Value;
    if (std::isfinite(v)) y_ << v / unit;
    else y_ << infinite;
  }
  void flag(const std::string& key, bool& v) override { y_ << YAML::Key << key << YAML::Value << v; }
  void text(const std::string& key, std::string& v) override { y_ << YAML::Key << key << YAML::Value << v; }
  void path(const std::string& key, std::filesystem::path& v) override { y_ << YAML::Key << key << YAML::Value << v.string(); }
  bool has(const std::string&) override { return true; }
  void ignore(const std::string&) override {}
  void require(bool, const std::string&, const std::string&) override {}

 protected:
  void choice_index(const std::string& key, size_t& index, const std::vector<std::string>& names) override {
    y_ << YAML::Key << key << YAML::Value << names.at(index);
  }

 private:
  YAML::Emitter y_;
};

}  // namespace

Scenario load_scenario(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  const std::string name = file.string();
  YAML::Node root = load_strict_yaml_file(file);
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap())  // found by tests/fuzz/fuzz_scenario: --set and the reader index into the root
    throw ScenarioError(fmt::format("{}:{}: a scenario is a mapping of keys (seed:, platform:, ...), not a {}", name, root.Mark().line + 1,
                                    root.IsSequence() ? "list" : "single value"));
  std::set<std::string> overridden;
  for (const auto& o : overrides) overridden.insert(apply_override(root, name, o));

  Scenario s;
  s.file = file;
  Reader reader(Section(root, "", name, overridden), file, name, overridden);
  describe(s, reader);
  reader.finish();
  return s;
}

std::string scenario_to_yaml(const Scenario& s) {
  Scenario copy = s;
  // The platform as an absolute path: the resolved scenario is read from another folder.
  copy.platform = std::filesystem::absolute(s.platform).lexically_normal();
  Writer writer;
  describe(copy, writer);
  return writer.yaml();
}

int Scenario::pretrain_steps() const {
  if (init.pretrain_steps_set || algorithm.name != Algorithm::Dipaco) return init.pretrain_steps;
  return dipaco.base_steps;
}

}  // namespace dipaco::sim
