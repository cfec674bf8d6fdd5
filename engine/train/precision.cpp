#include "engine/train/precision.hpp"

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
                  ") has no bf16 matrix instructions (AMX or AVX512_BF16), so bf16 would gain nothing over fp32: use "
                  "precision: fp32 or auto";
        return c;
      }
      c.precision = Precision::Bf16;
      c.reason = "requested (" + units + ")";
      return c;
    case Precision::Auto:
      // Measured (README "Performance"): bf16 trains as well as fp32 (within fp32's seed-to-seed
      // spread); on AVX512_BF16 without AMX (an AMD EPYC, Zen 5) the quickstart ran only 3 % faster
      // in bf16 than in fp32, within noise, so auto takes bf16 only with AMX's tile units.
      if (cpu.amx_bf16) {
        c.precision = Precision::Bf16;
        c.reason = "auto: the CPU has AMX";
      } else if (cpu.avx512_bf16) {
        c.reason = "auto: AVX512_BF16 without AMX, where bf16 gained too little over fp32";
      } else {
        c.reason = "auto: no AMX or AVX512_BF16 on this CPU";
      }
      return c;
  }
  return c;
}

}  // namespace dipaco::engine
