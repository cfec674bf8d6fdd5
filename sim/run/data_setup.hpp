// The scenario's data: prepared (or loaded from the token cache) with progress on the terminal,
// and the data commands `dipaco-sim data prepare` and `dipaco-sim data stats`.
#pragma once

#include <iosfwd>

#include "engine/data/dataset.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

engine::DatasetSpec dataset_spec(const Scenario& s, int threads);

// Bad or missing input becomes a ScenarioError naming the scenario file. `progress` prints a
// progress line on stderr (a \r line on a terminal, a line per stage otherwise).
engine::Dataset load_dataset(const Scenario& s, int threads, bool progress);

// Documents and tokens per domain and split, then `samples` decoded training sequences.
void print_data_stats(const Scenario& s, const engine::Dataset& data, int samples, std::ostream& out);

}  // namespace dipaco::sim
