// `dipaco-sim inspect`: a DiPaCo scenario's structure and placement, without training or simulating:
// levels, modules and paths, which datacentre trains which path, where each executor runs, bytes per
// phase on each WAN link, and Graphviz files of modules<->paths and of the datacentres.
#pragma once

#include <filesystem>
#include <iosfwd>

#include "sim/run/run_state.hpp"
#include "sim/run/run_context.hpp"

namespace dipaco::sim {

void write_inspection(const RunContext& ctx, const RunState& state, const std::filesystem::path& out_dir, std::ostream& out);

}  // namespace dipaco::sim
