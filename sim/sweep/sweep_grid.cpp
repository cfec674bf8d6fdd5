#include "sim/sweep/sweep_grid.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/strict_yaml.hpp"

namespace dipaco::sim {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A YAML value as the text --set reads back: scalars as written, the rest in flow style.
std::string yaml_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// Directory names keep letters, digits and . _ + - =; any run of other characters (/, spaces,
// brackets, commas) becomes one _.
std::string file_safe(const std::string& s) {
  std::string out;
  bool replaced = false;
  for (const char c : s) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || std::string("._+-=").find(c) != std::string::npos;
    if (keep) out += c;
    else if (!replaced) out += '_';
    replaced = !keep;
  }
  return out;
}

}  // namespace

GridAxis parse_grid_argument(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ScenarioError(fmt::format("--grid '{}': expected key=value1,value2,... (example: --grid algorithm.tau=10,50,200)", arg));
  GridAxis axis{trim(arg.substr(0, eq)), {}};
  std::string current;
  int depth = 0;
  char quote = 0;
  for (const char c : arg.substr(eq + 1) + ",") {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      if (trim(current).empty())
        throw ScenarioError(fmt::format("--grid '{}': an empty value (values are separated by single commas)", arg));
      axis.values.push_back(trim(current));
      current.clear();
      continue;
    }
    current += c;
  }
  if (quote != 0 || depth != 0) throw ScenarioError(fmt::format("--grid '{}': unbalanced quotes or brackets", arg));
  return axis;
}

void read_sweep_section(const std::filesystem::path& scenario, std::vector<GridAxis>& axes, int& repeat) {
  const std::string file = scenario.string();
  YAML::Node root = load_strict_yaml_file(scenario);
  if (!root.IsMap() || !root["sweep"] || root["sweep"].IsNull()) return;
  const YAML::Node sweep = root["sweep"];
  auto fail = [&](const YAML::Node& at, const std::string& key, const std::string& msg) {
    throw ScenarioError(fmt::format("{}:{}: key '{}': {}", file, at.Mark().line + 1, key, msg));
  };
  if (!sweep.IsMap()) fail(sweep, "sweep", "expected a mapping with grid: and repeat:");
  for (const auto& kv : sweep) {
    const auto key = kv.first.as<std::string>();
    if (key == "repeat") {
      int n = 0;
      try {
        n = kv.second.as<int>();
      } catch (const YAML::Exception&) {
        fail(kv.second, "sweep.repeat", "expected a whole number of seeds per grid point");
      }
      if (n < 1 || n > 10000) fail(kv.second, "sweep.repeat", fmt::format("{} is out of range [1, 10000]", n));
      repeat = n;
    } else if (key == "grid") {
      if (!kv.second.IsMap()) fail(kv.second, "sweep.grid", "expected a mapping of dotted scenario keys to lists of values");
      for (const auto& g : kv.second) {
        GridAxis axis{g.first.as<std::string>(), {}};
        if (g.second.IsSequence()) {
          for (const auto& v : g.second) axis.values.push_back(yaml_text(v));
        } else if (g.second.IsScalar()) {
          axis.values.push_back(g.second.Scalar());
        }
        if (axis.values.empty()) fail(g.second, "sweep.grid." + axis.key, "expected a non-empty list of values");
        axes.push_back(std::move(axis));
      }
    } else {
      fail(kv.first, "sweep." + key, "unknown key (known here: grid, repeat)");
    }
  }
}

std::vector<GridAxis> merge_axes(const std::vector<GridAxis>& from_file, const std::vector<GridAxis>& from_command_line) {
  std::set<std::string> given;
  for (const auto& a : from_command_line)
    if (!given.insert(a.key).second) throw ScenarioError(fmt::format("--grid {}: the key is given twice (list all its values in one --grid)", a.key));
  std::vector<GridAxis> out;
  for (const auto& a : from_file)
    if (!given.count(a.key)) out.push_back(a);
  out.insert(out.end(), from_command_line.begin(), from_command_line.end());
  return out;
}

std::string short_key(const std::vector<GridAxis>& axes, size_t axis) {
  auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  const std::string mine = last(axes[axis].key);
  for (size_t i = 0; i < axes.size(); ++i)
    if (i != axis && last(axes[i].key) == mine) return axes[axis].key;
  return mine;
}

std::vector<SweepPoint> expand_sweep(const SweepSpec& spec) {
  bool seed_axis = false;
  std::set<std::string> seen;
  for (const auto& a : spec.axes) {
    if (!seen.insert(a.key).second) throw ScenarioError(fmt::format("sweep grid: key '{}' appears twice", a.key));
    if (a.key == "sweep" || a.key.rfind("sweep.", 0) == 0)
      throw ScenarioError(fmt::format("sweep grid: key '{}': the sweep section itself cannot be swept", a.key));
    seed_axis = seed_axis || a.key == "seed";
  }
  if (seed_axis && spec.repeat > 1)
    throw ScenarioError("sweep grid: 'seed' is swept and --repeat is above 1; use one or the other");
  const Scenario base = load_scenario(spec.scenario, spec.overrides);

  size_t combinations = 1;
  for (const auto& a : spec.axes) {
    combinations *= a.values.size();
    if (combinations > 100000) throw ScenarioError("sweep grid: more than 100000 grid points; split the sweep");
  }
  const size_t total = combinations * static_cast<size_t>(spec.repeat);
  const int width = std::max(3, static_cast<int>(std::to_string(total - 1).size()));
  std::vector<SweepPoint> points;
  for (size_t c = 0; c < combinations; ++c) {
    std::vector<std::string> values(spec.axes.size());
    size_t rest = c;
    for (size_t i = spec.axes.size(); i-- > 0;) {  // the last axis varies fastest
      values[i] = spec.axes[i].values[rest % spec.axes[i].values.size()];
      rest /= spec.axes[i].values.size();
    }
    for (int r = 0; r < spec.repeat; ++r) {
      SweepPoint p;
      p.index = static_cast<int>(points.size());
      p.values = values;
      p.overrides = spec.overrides;
      std::string label;
      for (size_t i = 0; i < spec.axes.size(); ++i) {
        p.overrides.push_back(spec.axes[i].key + "=" + values[i]);
        label += "-" + short_key(spec.axes, i) + "=" + values[i];
      }
      if (!seed_axis) p.overrides.push_back(fmt::format("seed={}", base.seed + static_cast<uint64_t>(r)));
      try {
        p.seed = load_scenario(spec.scenario, p.overrides).seed;
      } catch (const ScenarioError& e) {
        std::string point;
        for (size_t i = 0; i < spec.axes.size(); ++i) point += (i ? ", " : "") + spec.axes[i].key + "=" + values[i];
        throw ScenarioError(fmt::format("sweep grid point {} ({}): {}", p.index, point.empty() ? "no grid" : point, e.what()));
      }
      if (!seed_axis) label += fmt::format("-seed={}", p.seed);
      p.name = file_safe(fmt::format("{:0{}d}{}", p.index, width, label));
      points.push_back(std::move(p));
    }
  }
  return points;
}

}  // namespace dipaco::sim
