// summary.json's observability fields: energy (sim/platform/energy.hpp), per-datacentre utilisation and
// time to a target validation loss.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/metrics_csv.hpp"
#include "reports/summary_json.hpp"
#include "sim/platform/energy.hpp"
#include "sim/run/run_context.hpp"

namespace dipaco::sim {

// energy_j (null if unknown), energy_at_s, energy_j_per_datacentre and, if any,
// energy_hosts_without_wattage.
void add_energy(reports::JsonObject& j, const std::optional<EnergyReading>& energy);

// Compute utilisation per datacentre: the compute seconds of the workers whose host is in that
// datacentre over (wall × those workers). `worker_datacentres[w]` is worker w's datacentre.
std::map<std::string, double> utilisation_per_datacentre(const std::vector<double>& compute_seconds,
                                                         const std::vector<std::string>& worker_datacentres, double wall);

// The simulated time of the first row whose val_loss is at most `target`; empty if no target, no
// loss (timing-only runs) or never reached. `rows` are whole-model rows in time order.
std::optional<double> time_to_target(const std::vector<reports::MetricsRow>& rows, std::optional<double> target);

// Every observability field, appended to summary.json. `rows` are the whole-model metrics rows
// and `wall` the end of training.
void add_observability(reports::JsonObject& j, const RunContext& ctx, const std::vector<reports::MetricsRow>& rows,
                       double wall, const std::optional<EnergyReading>& energy);

}  // namespace dipaco::sim
