#include "reports/scenario_diff.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace dipaco::reports {

namespace {

std::string flow(const YAML::Node& node) {
  YAML::Emitter e;
  // Nested too: a block sequence of flow maps must still come out as one line.
  e.SetSeqFormat(YAML::Flow);
  e.SetMapFormat(YAML::Flow);
  e << node;
  return e.c_str();
}

void flatten(const YAML::Node& node, const std::string& prefix, Settings& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (node.IsScalar()) {
    out[prefix] = node.Scalar();
  } else if (node.IsNull()) {
    out[prefix] = "null";
  } else {
    out[prefix] = flow(node);  // sequences and empty maps
  }
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) parts.push_back(key.substr(start, dot - start));
  parts.push_back(key.substr(start));
  return parts;
}

std::string last_components(const std::vector<std::string>& parts, size_t n) {
  std::string s;
  for (size_t i = parts.size() - std::min(n, parts.size()); i < parts.size(); ++i) s += (s.empty() ? "" : ".") + parts[i];
  return s;
}

}  // namespace

Settings flatten_yaml(const std::string& text) {
  try {
    const YAML::Node root = YAML::Load(text);
    Settings out;
    if (root.IsNull()) return out;
    if (!root.IsMap()) throw std::runtime_error("expected a YAML map of scenario keys");
    flatten(root, "", out);
    return out;
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::vector<std::string> differing_keys(const std::vector<Settings>& runs, const std::vector<bool>& complete,
                                        const std::vector<std::string>& first) {
  std::set<std::string> all;
  for (const auto& r : runs)
    for (const auto& kv : r) all.insert(kv.first);
  std::set<std::string> differ;
  for (const auto& key : all) {
    std::set<std::string> values;
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto it = runs[i].find(key);
      if (it != runs[i].end()) values.insert(it->second);
      else if (i < complete.size() && complete[i]) values.insert(std::string("\x01") + "absent");  // cannot collide with a YAML value
    }
    if (values.size() > 1) differ.insert(key);
  }
  std::vector<std::string> ordered;
  for (const auto& k : first)
    if (differ.count(k) && k != "seed" && std::find(ordered.begin(), ordered.end(), k) == ordered.end()) ordered.push_back(k);
  for (const auto& k : differ)
    if (k != "seed" && std::find(ordered.begin(), ordered.end(), k) == ordered.end()) ordered.push_back(k);
  if (differ.count("seed")) ordered.push_back("seed");
  return ordered;
}

std::map<std::string, std::string> short_key_names(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> parts;
  for (const auto& k : keys) parts.push_back(split_dots(k));
  std::vector<size_t> depth(keys.size(), 1);
  // Lengthen every name that collides with another until none does (full keys never collide).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < keys.size(); ++i)
      for (size_t j = 0; j < keys.size(); ++j) {
        if (i == j || last_components(parts[i], depth[i]) != last_components(parts[j], depth[j])) continue;
        if (depth[i] < parts[i].size()) ++depth[i], changed = true;
        if (depth[j] < parts[j].size()) ++depth[j], changed = true;
      }
  }
  std::map<std::string, std::string> names;
  for (size_t i = 0; i < keys.size(); ++i) names[keys[i]] = last_components(parts[i], depth[i]);
  return names;
}

std::vector<std::string> run_labels(const std::vector<Settings>& runs, const std::vector<std::string>& names,
                                    const std::vector<std::string>& keys) {
  if (runs.size() <= 1 || keys.empty() || keys.size() > kMaxLabelKeys) return names;
  const auto short_names = short_key_names(keys);
  std::vector<std::string> labels;
  for (const auto& r : runs) {
    std::string label;
    for (const auto& k : keys) {
      const auto it = r.find(k);
      label += (label.empty() ? "" : " ") + short_names.at(k) + "=" + (it == r.end() ? std::string("-") : it->second);
    }
    labels.push_back(label);
  }
  // Same settings in two directories (a run given twice, or also inside a sweep): name them too.
  std::map<std::string, int> count;
  for (const auto& l : labels) ++count[l];
  for (size_t i = 0; i < labels.size(); ++i)
    if (count[labels[i]] > 1) labels[i] += " (" + names[i] + ")";
  return labels;
}

}  // namespace dipaco::reports
