#include "engine/train/cpu_features.hpp"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace dipaco::engine {
namespace {

struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

uint64_t xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool bit(unsigned reg, int n) { return (reg >> n) & 1u; }

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(" \0", std::string::npos, 2);
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

CpuFeatures read_cpu() {
  CpuFeatures f;
  const Regs v = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &v.b, 4);
  std::memcpy(vendor + 4, &v.d, 4);
  std::memcpy(vendor + 8, &v.c, 4);
  f.vendor = vendor;
  if (cpuid(0x80000000).a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r, 16);
    }
    f.model = trim(brand);
  }
  const Regs l1 = cpuid(1);
  // The OS saves a register file only if it enabled it in XCR0: SSE/AVX (bits 1-2), the AVX-512
  // opmask and upper ZMM state (bits 5-7), the AMX tile config and data (bits 17-18).
  const bool osxsave = bit(l1.c, 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;
  f.avx = os_avx && bit(l1.c, 28);
  if (v.a >= 7) {
    const Regs l7 = cpuid(7, 0);
    f.avx2 = f.avx && bit(l7.b, 5) && bit(l1.c, 12);  // AVX2 and FMA3
    f.avx512 = os_avx512 && bit(l7.b, 16) && bit(l7.b, 28) && bit(l7.b, 30) && bit(l7.b, 17) && bit(l7.b, 31);
    f.amx_bf16 = os_amx && bit(l7.d, 22) && bit(l7.d, 24);  // AMX-BF16 and AMX-TILE
    if (l7.a >= 1) f.avx512_bf16 = f.avx512 && bit(cpuid(7, 1).a, 5);
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures cpu = read_cpu();
  return cpu;
}

std::string describe(const CpuFeatures& cpu) {
  std::string s = cpu.avx512 ? "AVX-512" : cpu.avx2 ? "AVX2" : cpu.avx ? "AVX" : "SSE only";
  if (cpu.avx512_bf16) s += ", AVX512_BF16";
  if (cpu.amx_bf16) s += ", AMX";
  return s;
}

}  // namespace dipaco::engine
