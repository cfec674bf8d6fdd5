// Simulated cost of training: flops per inner step and bytes per parameter message. Either the
// model that really trains, or a declared larger "as-if" model (e.g. 150M-parameter paths).
#pragma once

#include <cstdint>
#include <string>

#include "engine/train/config.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

struct CostModel {
  std::string source;  // "trained-model" or "as-if"
  int64_t params = 0;
  int64_t tokens_per_step = 0;  // per worker
  int layers = 0;
  int d_model = 0;
  int seq_len = 0;
  int bytes_per_param = 4;
  double mfu = 0.4;
  double flops_per_step = 0.0;  // model flops of one inner step on one worker (fwd + bwd)
  double message_bytes = 0.0;   // one full copy of the parameters
  // Bytes of an outer gradient (sync: a gradient) on the wire per byte of parameters: 1 in fp32
  // (as bytes_per_param), else the format's bytes per value, block scales included, / bytes_per_param.
  double gradient_wire_factor = 1.0;
  // As-if with cost.layers and cost.d_model: the share of the parameters in each block of the
  // trained model, which stands for layers / model.blocks layers of 12·d_model² parameters each (the
  // rest is embeddings). 0: the trained model's own proportions.
  double block_share = 0.0;

  // Flops the host must execute for `steps` inner steps: model flops / MFU.
  double host_flops(int64_t steps) const { return flops_per_step * static_cast<double>(steps) / mfu; }
};

// Training flops per token: 6N for the weights plus 6·L·T·d for attention scores (Kaplan et al.).
double training_flops_per_token(int64_t params, int layers, int seq_len, int d_model);

// `trained_params` is the real model's parameter count.
CostModel make_cost_model(const Scenario& s, int64_t trained_params);

}  // namespace dipaco::sim
