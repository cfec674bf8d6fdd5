// The training precision (scenario key `precision`) and what `auto` means on this CPU.
#pragma once

#include <string>

#include "engine/train/cpu_features.hpp"

namespace dipaco::engine {

enum class Precision { Fp32, Bf16, Auto };

std::string to_string(Precision p);

struct PrecisionChoice {
  Precision precision = Precision::Fp32;  // Fp32 or Bf16, never Auto
  std::string reason;                     // why, for the log and summary.json
  std::string error;                      // non-empty: the request cannot run on this CPU
};

// bf16 needs bf16 matrix instructions (AMX or AVX512_BF16): without them oneDNN has nothing faster
// than fp32 to run it on, and mixed precision only adds casts. `auto` takes bf16 only where it was measured faster than fp32 (AMX), and bf16 was
// measured within fp32's seed-to-seed spread (README "Performance").
PrecisionChoice resolve_precision(Precision requested, const CpuFeatures& cpu);

}  // namespace dipaco::engine
