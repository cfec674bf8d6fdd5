#include "engine/precision.hpp"

namespace dipaco::engine {

std::string to_string(Precision p) {
  switch (p) {
    case Precision::Fp32: return "fp32";
    case Precision::Bf16: return "bf16";
    case Precision::Auto: return "auto";
  }
  return "?";
}

PrecisionChoice resolve_precision(Precision requested, const CpuFeatures& cpu) {
  const bool bf16_units = cpu.amx_bf16 || cpu.avx512_bf16;
  const std::string units = cpu.amx_bf16 ? "AMX" : "AVX512_BF16";
  PrecisionChoice c;
  switch (requested) {
    case Precision::Fp32:
      c.reason = "requested";
      return c;
    case Precision::Bf16:
      if (!bf16_units) {
        c.error = "bf16, but this CPU (" + (cpu.model.empty() ? std::string("unknown model") : cpu.model) + ", " + describe(cpu) +
                  ") has no bf16 matrix instructions (AMX or AVX512_BF16), so bf16 would be emulated and slower than fp32: use "
                  "precision: fp32 or auto";
        return c;
      }
      c.precision = Precision::Bf16;
      c.reason = "requested (" + units + ")";
      return c;
    case Precision::Auto:
      if (bf16_units) {
        c.precision = Precision::Bf16;
        c.reason = "auto: the CPU has " + units;
      } else {
        c.reason = "auto: no AMX or AVX512_BF16 on this CPU";
      }
      return c;
  }
  return c;
}

}  // namespace dipaco::engine
