#include "sim/platform/link_traces.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Calls f(date, value) for each change of the profile with date < until, in order.
template <class F>
void for_each_event(const Profile& p, double until, F&& f) {
  if (p.points.empty()) return;
  for (double shift = 0.0;; shift += p.period) {
    for (const auto& [date, value] : p.points) {
      if (date + shift >= until) return;
      f(date + shift, value);
    }
    if (p.period <= 0) return;
  }
}

bool parse_number(const std::string& token, double& out) {
  try {
    size_t used = 0;
    out = std::stod(token, &used);
    return used == token.size() && std::isfinite(out);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

double Profile::value_at(double time, double before) const {
  double v = before;
  for_each_event(*this, std::nextafter(time, kInf), [&](double, double value) { v = value; });
  return v;
}

double Profile::zero_seconds(double until) const {
  double down = 0.0, since = -1.0;
  for_each_event(*this, until, [&](double date, double value) {
    if (value == 0.0 && since < 0) since = date;
    if (value != 0.0 && since >= 0) down += date - since, since = -1.0;
  });
  if (since >= 0) down += until - since;
  return down;
}

double Profile::zero_for_good_at() const {
  if (points.empty() || points.back().second != 0.0) return kInf;
  if (period > 0) {  // repeating: down for good only if it never comes back up
    for (const auto& pt : points)
      if (pt.second != 0.0) return kInf;
    return points.front().first;
  }
  double at = points.back().first;  // the start of the final run of zeros
  for (auto it = points.rbegin(); it != points.rend() && it->second == 0.0; ++it) at = it->first;
  return at;
}

Profile parse_profile(const std::string& text, const std::string& attribute, const std::string& what) {
  Profile p;
  std::istringstream in(text);
  std::string line;
  double loop_after = -1.0, periodicity = -1.0;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#' || line[first] == '%') continue;
    std::istringstream fields(line);
    std::vector<std::string> t;
    for (std::string w; fields >> w;) t.push_back(w);
    if (t.empty()) continue;  // only other whitespace (\v, \f): a blank line (found by fuzz_trace_profile)
    const auto bad = [&](const std::string& why) {
      return ScenarioError(fmt::format("{}, line {}: {} (got '{}')", what, number, why, line.substr(first)));
    };
    double a = 0.0, b = 0.0;
    if (t[0] == "PERIODICITY" || t[0] == "LOOPAFTER") {
      if (t.size() != 2 || !parse_number(t[1], a) || a < 0) throw bad(t[0] + " takes one number of seconds >= 0");
      (t[0] == "PERIODICITY" ? periodicity : loop_after) = a;
      continue;
    }
    if (t[0] == "STOCHASTIC" || t[0] == "DET" || t[0] == "NORM" || t[0] == "UNIF" || t[0] == "EXP")
      throw bad("stochastic profiles are not supported (a run must follow from its inputs): write the dates out");
    if (t.size() != 2 || !parse_number(t[0], a) || !parse_number(t[1], b)) throw bad("expected 'DATE VALUE' (two numbers)");
    if (a < 0 || (!p.points.empty() && a < p.points.back().first)) throw bad("dates must be >= 0 and in non-decreasing order");
    if (attribute == "state_file" && b != 0.0 && b != 1.0) throw bad("a state is 0 (off) or 1 (on)");
    if ((attribute == "bandwidth_file" || attribute == "speed_file" || attribute == "availability_file") && !(b > 0))
      throw bad("the value must be > 0 (model a cut with a state_file instead)");
    if (attribute == "latency_file" && b < 0) throw bad("a latency must be >= 0");
    p.points.emplace_back(a, b);
  }
  if (p.points.empty()) throw ScenarioError(fmt::format("{}: no 'DATE VALUE' line (remove the attribute, or add the changes)", what));
  if (periodicity >= 0 && loop_after >= 0) throw ScenarioError(fmt::format("{}: give PERIODICITY or LOOPAFTER, not both", what));
  const double last = p.points.back().first;
  if (periodicity >= 0 && periodicity < last)
    throw ScenarioError(fmt::format("{}: PERIODICITY {} is shorter than the last date {}", what, periodicity, last));
  if (periodicity >= 0) p.period = periodicity;
  if (loop_after >= 0) p.period = last + loop_after;  // SimGrid starts the next repetition loop_after after the last date
  if (periodicity >= 0 || loop_after >= 0) {
    if (!(p.period > 0)) throw ScenarioError(fmt::format("{}: a repeating profile needs a period > 0 (it would repeat forever at one date)", what));
  }
  return p;
}

const PlatformTrace* PlatformTraces::link(const std::string& id, const std::string& attribute) const {
  for (const auto& t : traces)
    if (t.element == "link" && t.id == id && t.attribute == attribute) return &t;
  return nullptr;
}

size_t PlatformTraces::links_with(const std::string& attribute) const {
  size_t n = 0;
  for (const auto& t : traces) n += t.element == "link" && t.attribute == attribute;
  return n;
}

PlatformTraces scan_platform_traces(const std::filesystem::path& xml) {
  std::ifstream in(xml);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  // Blank out comments, keeping their newlines so that line numbers stay right.
  for (size_t open = text.find("<!--"); open != std::string::npos; open = text.find("<!--", open)) {
    const size_t close = text.find("-->", open);
    const size_t end = close == std::string::npos ? text.size() : close + 3;
    for (size_t i = open; i < end; ++i)
      if (text[i] != '\n') text[i] = ' ';
  }
  PlatformTraces out;
  std::map<std::string, std::string> named;  // written path -> where first named
  static const std::regex tag(R"re(<([A-Za-z_][\w-]*)\b([^>]*)>)re");
  static const std::regex attr(R"re(([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'))re");
  for (std::sregex_iterator it(text.begin(), text.end(), tag), end; it != end; ++it) {
    const std::string element = (*it)[1], attrs = (*it)[2];
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + it->position(0), '\n'));
    std::string id;
    std::vector<std::pair<std::string, std::string>> files;
    PlatformCluster cluster{"", line, false, ""};
    for (std::sregex_iterator a(attrs.begin(), attrs.end(), attr); a != end; ++a) {
      const std::string name = (*a)[1];
      const std::string value = (*a)[2].matched ? (*a)[2].str() : (*a)[3].str();
      if (name == "id") id = value;
      if (name == "bb_bw") cluster.has_backbone = !value.empty();
      if (name == "topology") cluster.topology = value;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, "_file") == 0 && !value.empty()) files.emplace_back(name, value);
    }
    if (element == "cluster") {
      cluster.id = id;
      out.clusters.push_back(cluster);
    }
    for (const auto& [attribute, written] : files) {
      PlatformTrace t{element, id, attribute, written, {}, line, {}};
      const std::string what = fmt::format("{}:{}: {} '{}' {} '{}'", xml.string(), line, element, id, attribute, written);
      const auto [first, fresh] = named.emplace(written, what);
      if (!fresh)
        throw ScenarioError(fmt::format("{}: this file is already named at {} (SimGrid defines a profile once per file name: "
                                        "give each element its own copy)", what, first->second));
      // SimGrid 3.32 opens an absolute path and then reopens the same stream along its search
      // path, which fails: absolute paths abort the load.
      const std::filesystem::path p(written);
      if (p.is_absolute())
        throw ScenarioError(fmt::format("{}: SimGrid 3.32 cannot open absolute trace paths: give the path relative to the platform file",
                                        what));
      // Its search path: the current directory, then the XML's directory.
      const std::vector<std::filesystem::path> candidates{p, xml.parent_path() / p};
      for (const auto& c : candidates)
        if (std::ifstream(c)) {
          t.file = c;
          break;
        }
      if (t.file.empty())
        throw ScenarioError(fmt::format("{}: cannot read '{}' (relative paths are looked up in the current directory, then next to "
                                        "the platform file): fix the path or add the file", what, (xml.parent_path() / p).string()));
      std::ifstream f(t.file);
      std::stringstream content;
      content << f.rdbuf();
      t.profile = parse_profile(content.str(), attribute, what);
      out.traces.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace dipaco::sim
