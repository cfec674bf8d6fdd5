// The trace files a platform's XML names (bandwidth_file=, state_file=, latency_file=, speed_file=):
// read and checked before SimGrid loads the platform, because SimGrid aborts the process on a
// missing or malformed profile; then kept, so that the run knows which links can fail and when a
// link is down for good. Plain data: no SimGrid.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dipaco::sim {

// One profile in SimGrid's (deterministic) format: "DATE VALUE" lines with non-decreasing dates,
// '#' or '%' comments, and optionally "PERIODICITY P" (the dates repeat every P seconds) or
// "LOOPAFTER L" (the next repetition starts L seconds after the last date).
struct Profile {
  std::vector<std::pair<double, double>> points;  // (date, value) of the first repetition
  double period = -1.0;                           // > 0: repeats with this period; else plays once
  // The value in force at `time`, or `before` (the XML's own value) before the first date.
  double value_at(double time, double before) const;
  // Seconds in [0, until) with value 0 (a state profile's down time); the XML's state is on.
  double zero_seconds(double until) const;
  // When the value drops to 0 for good: the start of the final zeros of a profile that plays once,
  // or the first date of a repeating one that is all zeros; infinity otherwise.
  double zero_for_good_at() const;
};

// Parses a profile's text. `what` names it in errors ("platform.xml:12: link 'wan' state_file
// 'x.txt'"); `attribute` decides which values are valid (state: 0 or 1; bandwidth, speed: > 0;
// latency: >= 0). Throws ScenarioError naming `what`, the line and the fix.
Profile parse_profile(const std::string& text, const std::string& attribute, const std::string& what);

struct PlatformTrace {
  std::string element;    // the XML element: link, host, ...
  std::string id;         // its id
  std::string attribute;  // bandwidth_file, state_file, ...
  std::string written;    // the path as the XML writes it
  std::filesystem::path file;  // where SimGrid will open it
  int line = 0;                // in the XML
  Profile profile;
};

// A <cluster> element, for the checks ns-3 needs (it wires a cluster as one shared backbone).
struct PlatformCluster {
  std::string id;
  int line = 0;
  bool has_backbone = false;  // bb_bw given
  std::string topology;       // as written; empty: FLAT
};

struct PlatformTraces {
  std::vector<PlatformTrace> traces;
  std::vector<PlatformCluster> clusters;  // every <cluster>, whatever its traces
  // The trace of `attribute` on link `id`, or null.
  const PlatformTrace* link(const std::string& id, const std::string& attribute) const;
  size_t links_with(const std::string& attribute) const;
};

// Finds and checks every *_file attribute of `xml`. Relative paths resolve as SimGrid resolves
// them: the current directory first, then the XML file's directory. Throws ScenarioError (one
// line, naming the XML file, its line, the element and the fix) for unreadable or malformed files,
// and for a file named twice with the same spelling (SimGrid refuses to define a profile twice).
PlatformTraces scan_platform_traces(const std::filesystem::path& xml);

}  // namespace dipaco::sim
