// Which scenario settings differ between the runs of a report, and the short names that label
// the runs in legends and tables ("tau=10 mtbf_hours=2 seed=1").
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "reports/report_inputs.hpp"

namespace dipaco::reports {

// A resolved scenario.yaml as dotted keys: maps nest ("failures.preemption.mtbf_hours"), sequences
// stay one value in flow style ("[a, b]"). Throws std::runtime_error with yaml-cpp's line on bad YAML.
Settings flatten_yaml(const std::string& text);

// Keys whose values are not all the same. A run without scenario.yaml (`complete` false) only
// counts for the keys it has; a complete run lacking a key counts as a different value. Order:
// `first` (the sweeps' keys) in their order, then the others alphabetically, "seed" last.
std::vector<std::string> differing_keys(const std::vector<Settings>& runs, const std::vector<bool>& complete,
                                        const std::vector<std::string>& first = {});

// Last component of each dotted key, or as many trailing components as it takes to be unique.
std::map<std::string, std::string> short_key_names(const std::vector<std::string>& keys);

// Beyond this many differing keys the runs are different scenarios, and "k=v" labels would be too
// long for a legend: they are labelled by name.
constexpr size_t kMaxLabelKeys = 4;

// One legend label per run, "short=value" for each key, followed by " (name)" where two runs would
// get the same label; the names instead when there is one run, no differing key, or more than
// kMaxLabelKeys.
std::vector<std::string> run_labels(const std::vector<Settings>& runs, const std::vector<std::string>& names,
                                    const std::vector<std::string>& keys);

}  // namespace dipaco::reports
