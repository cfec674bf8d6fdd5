#include "reports/metrics_csv.hpp"

#include <fmt/format.h>

#include <cmath>

namespace dipaco::reports {

std::string metrics_csv_header(bool staleness) {
  return std::string("sim_time_s,outer_step,path,shard_size,inner_steps,tokens,train_loss,val_loss,val_perplexity,wan_bytes") +
         (staleness ? ",staleness\n" : "\n");
}

std::string render_metrics_csv(const std::vector<MetricsRow>& rows) {
  bool staleness = false;
  for (const auto& r : rows) staleness = staleness || r.staleness.has_value();
  std::string out = metrics_csv_header(staleness);
  // Fixed formats: the same values always print as the same bytes.
  auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.6f}", *v) : std::string(); };
  for (const auto& r : rows) {
    const std::optional<double> ppl = r.val_loss ? std::optional<double>(std::exp(*r.val_loss)) : std::nullopt;
    out += fmt::format("{:.6f},{},{},{},{},{},{},{},{},{:.0f}", r.sim_time_s, r.outer_step,
                       r.path < 0 ? std::string("all") : std::to_string(r.path), r.shard_size, r.inner_steps, r.tokens,
                       opt(r.train_loss), opt(r.val_loss), opt(ppl), r.wan_bytes);
    out += staleness ? "," + opt(r.staleness) + "\n" : "\n";
  }
  return out;
}

}  // namespace dipaco::reports
