// Every scenario key, declared once (scenario_keys.cpp: describe). Reading a scenario file
// (load_scenario) and writing the resolved one (scenario_to_yaml) are two visitors that walk the
// same declarations; a key's default is the initial value of its member in scenario.hpp. Rules
// between keys sit next to the keys they relate, and only the reader checks them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

// The names of an enumeration's values in a scenario file. Several names may share a value
// (aliases); the first one is the name written back.
template <class E>
using Names = std::vector<std::pair<std::string, E>>;

class KeyVisitor {
 public:
  virtual ~KeyVisitor() = default;
  virtual bool reading() const = 0;

  // A mapping whose keys `body` declares.
  virtual void section(const std::string& key, const std::function<void()>& body) = 0;
  // A list of mappings: the reader sets `n` from the file and calls `resize` before the items;
  // `item(i)` declares item i's keys. `expected` shows the form in an error.
  virtual void sequence(const std::string& key, size_t& n, const std::function<void()>& resize, const std::function<void(size_t)>& item,
                        const std::string& expected) = 0;
  // A list of host names; `one_allowed`: a single name stands for a list of one.
  virtual void names(const std::string& key, std::vector<std::string>& v, const std::string& expected, bool one_allowed = false) = 0;

  virtual void integer(const std::string& key, int& v, int min, int max = std::numeric_limits<int>::max()) = 0;
  virtual void integer64(const std::string& key, int64_t& v, int64_t min) = 0;  // 150e6 is allowed
  virtual void unsigned64(const std::string& key, uint64_t& v) = 0;
  virtual void real(const std::string& key, double& v, double min, double max, bool min_inclusive = true) = 0;
  // A quantity written in units of `unit` (3600: hours, held in seconds). When `may_be_inf`, an
  // infinite value (never, unlimited) is allowed: read as inf, .inf, never or `infinite`, and
  // written as `infinite`.
  virtual void scaled(const std::string& key, double& v, double unit, double min, double max, bool min_inclusive, bool may_be_inf,
                      const std::string& infinite = "inf") = 0;
  virtual void flag(const std::string& key, bool& v) = 0;  // true or false
  virtual void text(const std::string& key, std::string& v) = 0;
  // A file or folder: relative paths are read relative to the scenario file; written as held.
  virtual void path(const std::string& key, std::filesystem::path& v) = 0;
  template <class E>
  void choice(const std::string& key, E& v, const Names<E>& names) {
    std::vector<std::string> all;
    size_t index = names.size();
    for (size_t i = 0; i < names.size(); ++i) {
      all.push_back(names[i].first);
      if (index == names.size() && names[i].second == v) index = i;
    }
    choice_index(key, index, all);
    v = names[index].second;
  }
  // placement.workers: a list of host names, one per worker, or {count: N} (the hosts are picked
  // from the platform once it is loaded; `count` 0: listed by name).
  virtual void hosts_or_count(const std::string& key, std::vector<std::string>& hosts, int& count) = 0;

  // Reader only.
  virtual bool has(const std::string& key) = 0;  // the key is present (and not null) here
  virtual void ignore(const std::string& key) = 0;  // a key read elsewhere (the sweep section)
  // Fails at `key` (of this mapping) with `message` unless `ok`.
  virtual void require(bool ok, const std::string& key, const std::string& message) = 0;
  // Runs `f` only while reading: defaults that depend on keys read before, derived members.
  void when_reading(const std::function<void()>& f) {
    if (reading()) f();
  }

 protected:
  virtual void choice_index(const std::string& key, size_t& index, const std::vector<std::string>& names) = 0;
};

// Declares every key of `s` to `v`, in the order of the file.
void describe(Scenario& s, KeyVisitor& v);

// The scenario's enumerations by name (first name: the one written).
const Names<Algorithm>& algorithm_names();
const Names<NetworkModel>& network_model_names();
const Names<Sharding>& sharding_names();
const Names<RoutingKind>& routing_names();
const Names<InnerState>& inner_state_names();
const Names<PhasePolicy>& phase_policy_names();

}  // namespace dipaco::sim
