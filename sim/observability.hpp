// summary.json's observability fields: energy (sim/energy.hpp), and more to come.
#pragma once

#include <optional>
#include <vector>

#include "reports/metrics_csv.hpp"
#include "reports/summary_json.hpp"
#include "sim/energy.hpp"
#include "sim/run_context.hpp"

namespace dipaco::sim {

// energy_j (null if unknown), energy_at_s, energy_j_per_datacentre and, if any,
// energy_hosts_without_wattage.
void add_energy(reports::JsonObject& j, const std::optional<EnergyReading>& energy);

// Every observability field, appended to summary.json. `rows` are the whole-model metrics rows
// and `wall` the end of training.
void add_observability(reports::JsonObject& j, const RunContext& ctx, const std::vector<reports::MetricsRow>& rows,
                       double wall, const std::optional<EnergyReading>& energy);

}  // namespace dipaco::sim
