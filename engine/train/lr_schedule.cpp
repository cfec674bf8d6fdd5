#include <algorithm>
#include <cmath>

#include "engine/train/config.hpp"

namespace dipaco::engine {

double inner_lr_at(const InnerOptConfig& cfg, int64_t step) {
  if (cfg.warmup_steps > 0 && step < cfg.warmup_steps)
    return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(cfg.total_steps - cfg.warmup_steps, 1));
  const double progress = std::clamp(static_cast<double>(step - cfg.warmup_steps) / span, 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * cosine);
}

}  // namespace dipaco::engine
