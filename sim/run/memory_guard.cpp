#include "sim/run/memory_guard.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "engine/modules/paths.hpp"

namespace dipaco::sim {

MemoryEstimate estimate_training_memory(const Scenario& s, int64_t params, int64_t replicas, int threads) {
  const double p = 4.0 * static_cast<double>(params);  // fp32
  const auto& m = s.model;
  MemoryEstimate e;
  e.params_bytes = p;
  if (s.algorithm.name == Algorithm::Dipaco) {
    // DiPaCo keeps each module once (engine::ModuleStore): its parameters and outer momentum, and
    // its AdamW moments with inner_state: module; per task only the moments with inner_state: path.
    // Trained paths wait for their executors, at most one per worker.
    const engine::PathLayout layout(m, engine::PathStructure{s.dipaco.levels, s.dipaco.share_embeddings});
    const double stored = 4.0 * static_cast<double>(layout.all_module_params());
    const double moments = s.dipaco.inner_state == InnerState::Module ? 2.0 * stored
                           : s.dipaco.inner_state == InnerState::Path ? static_cast<double>(replicas) * 2.0 * p
                                                                        : 0.0;
    e.state_bytes = 2.0 * stored + moments + static_cast<double>(s.workers()) * p + 4.0 * p;
  } else {
    // Between jobs: each replica's trained version (or own parameters) and its AdamW moments, and
    // the global model with its outer momentum and a snapshot per metrics row in flight.
    e.state_bytes = static_cast<double>(replicas) * 3.0 * p + 4.0 * p;
  }
  // A job: its model, gradients and both moments, plus activations. Per token, each block keeps
  // about 16 d_model values (attention, MLP of 4 d_model, norms, residuals) and heads × seq_len
  // attention weights; the logits and their gradient are 2 × vocab per token.
  const double tokens = static_cast<double>(s.inner.batch_size) * m.seq_len;
  const double per_token = m.blocks * (16.0 * m.d_model + static_cast<double>(m.heads) * m.seq_len) + 2.0 * m.vocab;
  e.jobs_bytes = threads * (4.0 * p + 4.0 * tokens * per_token);
  e.total_bytes = e.params_bytes + e.state_bytes + e.jobs_bytes;
  return e;
}

double available_memory_bytes() {
  double available = std::numeric_limits<double>::infinity();
  std::ifstream info("/proc/meminfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("MemAvailable:", 0) == 0) available = std::stod(line.substr(13)) * 1024.0;  // kB
  std::ifstream cgroup("/sys/fs/cgroup/memory.max"), used("/sys/fs/cgroup/memory.current");
  std::string max, current;
  if (cgroup >> max && max != "max" && used >> current) available = std::min(available, std::stod(max) - std::stod(current));
  return available;
}

void check_memory(const Scenario& s, const MemoryEstimate& needed, double available) {
  if (const char* limit = std::getenv("DIPACO_MEMORY_LIMIT_BYTES"); limit != nullptr && *limit != '\0') available = std::atof(limit);
  if (!(needed.total_bytes > available)) return;
  const double gb = 1e9;
  throw ScenarioError(fmt::format(
      "{}: key 'model': training needs about {:.1f} GB ({:.1f} GB of parameters, {:.1f} GB of replica and optimizer state, {:.1f} GB "
      "for the jobs in flight) but {:.1f} GB is available; use a smaller model (model.d_model, model.blocks, model.vocab), a smaller "
      "inner_optimizer.batch_size, fewer workers or --threads, or training: off for timing only",
      s.file.string(), needed.total_bytes / gb, needed.params_bytes / gb, needed.state_bytes / gb, needed.jobs_bytes / gb, available / gb));
}

}  // namespace dipaco::sim
