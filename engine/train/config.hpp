// Plain configuration structs shared by the engine and the simulator. Torch-free.
#pragma once

#include <cstdint>

#include "engine/modules/quantize.hpp"

namespace dipaco::engine {

// A decoder-only transformer with pre-LN blocks and learned positions.
struct ModelConfig {
  int vocab = 256;
  int d_model = 64;
  int heads = 4;
  int blocks = 2;
  int seq_len = 64;
};

// Inner AdamW with linear warm-up then cosine decay to min_lr_ratio * lr over total_steps.
struct InnerOptConfig {
  double lr = 3e-3;
  int64_t warmup_steps = 20;
  int64_t total_steps = 1000;
  double min_lr_ratio = 0.1;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double grad_clip = 1.0;  // global L2 norm; <= 0 disables clipping
  int batch_size = 16;     // sequences per step per shard
  bool cuda = false;       // inner steps on the first CUDA device (scenario key device: cuda); else the CPU
  bool bf16 = false;       // mixed precision: matmuls and attention in bf16, all else fp32 (scenario key precision)
  // Several shards (synchronous DP): each shard's gradient as the all-reduce sends it
  // (communication.outer_gradient), rounded before the average.
  GradientFormat gradient_format = GradientFormat::Fp32;
};

// Learning rate at a global inner step (0-based). Pure, so it is unit-testable without torch.
double inner_lr_at(const InnerOptConfig& cfg, int64_t step);

}  // namespace dipaco::engine
