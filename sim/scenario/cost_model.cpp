#include "sim/scenario/cost_model.hpp"

#include <algorithm>

namespace dipaco::sim {

double training_flops_per_token(int64_t params, int layers, int seq_len, int d_model) {
  return 6.0 * static_cast<double>(params) + 6.0 * layers * static_cast<double>(seq_len) * d_model;
}

CostModel make_cost_model(const Scenario& s, int64_t trained_params) {
  CostModel c;
  const auto& a = s.cost;
  const bool as_if = a.params > 0 || a.tokens_per_step > 0 || a.layers > 0 || a.d_model > 0 || a.seq_len > 0;
  c.source = as_if ? "as-if" : "trained-model";
  c.params = a.params > 0 ? a.params : trained_params;
  c.tokens_per_step = a.tokens_per_step > 0 ? a.tokens_per_step
                                            : static_cast<int64_t>(s.inner.batch_size) * s.model.seq_len;
  c.layers = a.layers > 0 ? a.layers : s.model.blocks;
  c.d_model = a.d_model > 0 ? a.d_model : s.model.d_model;
  c.seq_len = a.seq_len > 0 ? a.seq_len : s.model.seq_len;
  c.bytes_per_param = a.bytes_per_param;
  c.mfu = a.mfu;
  c.flops_per_step = training_flops_per_token(c.params, c.layers, c.seq_len, c.d_model) * static_cast<double>(c.tokens_per_step);
  c.message_bytes = static_cast<double>(c.params) * c.bytes_per_param;
  if (a.layers > 0 && a.d_model > 0 && c.params > 0)
    c.block_share = std::min(1.0 / s.model.blocks, 12.0 * a.d_model * static_cast<double>(a.d_model) * a.layers /
                                                       (static_cast<double>(s.model.blocks) * static_cast<double>(c.params)));
  const auto format = s.communication.outer_gradient;
  if (format != engine::GradientFormat::Fp32) c.gradient_wire_factor = engine::bytes_per_value(format) / c.bytes_per_param;
  return c;
}

}  // namespace dipaco::sim
