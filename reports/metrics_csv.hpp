// metrics.csv: one row per evaluation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dipaco::reports {

struct MetricsRow {
  double sim_time_s = 0.0;
  int outer_step = 0;
  int path = -1;               // -1: the whole model (DiPaCo: routed over all paths); else one path's row
  int64_t shard_size = 0;      // sequences in the path's training shard (path rows)
  int64_t inner_steps = 0;  // per worker
  int64_t tokens = 0;       // trained tokens, all workers together
  std::optional<double> train_loss;  // absent before the first step and without training
  std::optional<double> val_loss;    // absent without training
  double wan_bytes = 0.0;            // bytes that crossed between datacentres so far
  // Asynchronous DiLoCo: the mean staleness (versions of θ applied between the θ a round trained
  // from and its outer gradient) of the outer gradients applied since the row before. The column
  // is written only when some row has it.
  std::optional<double> staleness;
};

std::string metrics_csv_header(bool staleness = false);
std::string render_metrics_csv(const std::vector<MetricsRow>& rows);

}  // namespace dipaco::reports
