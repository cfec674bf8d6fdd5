// What the CPU can do, read with cpuid (and xgetbv: the OS must also save the wide registers).
// Torch-free and BLAS-free: the BLAS kernel choice and the training precision both start here.
#pragma once

#include <string>

namespace dipaco::engine {

struct CpuFeatures {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string model;   // the brand string, e.g. "AMD EPYC 9B45"
  bool avx = false;
  bool avx2 = false;   // with FMA3
  bool avx512 = false;  // F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels need
  bool avx512_bf16 = false;
  bool amx_bf16 = false;  // AMX tiles with bf16 (Sapphire Rapids and later)
};

// The CPU this process runs on (read once).
const CpuFeatures& cpu_features();

// "AVX-512, AVX512_BF16, AMX" or similar, for logs and reports.
std::string describe(const CpuFeatures& cpu);

}  // namespace dipaco::engine
