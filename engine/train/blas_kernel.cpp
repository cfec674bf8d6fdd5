#include "engine/train/blas_kernel.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace dipaco::engine {
namespace {

// Set for the re-executed process (and inherited by its children): which kernel OpenBLAS had
// chosen before we replaced it. The second only for the process we re-executed, to log once
// and never loop.
constexpr const char* kReplacedVar = "DIPACO_BLAS_REPLACED";
constexpr const char* kReexecVar = "DIPACO_BLAS_REEXECUTED";
// For tests only: act as if OpenBLAS had chosen this kernel by itself.
constexpr const char* kAssumeVar = "DIPACO_BLAS_ASSUME_CHOSEN";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// OpenBLAS's symbols, if the system BLAS is OpenBLAS (else libblas.so.3 may be netlib's). LibTorch
// links libblas.so.3 but is itself loaded only when something trains (engine/train/trainer.cpp), so the
// library is loaded here, early, as LibTorch will find it: the kernel is fixed at this first load.
std::string openblas_string(const char* symbol) {
  static void* const blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_GLOBAL);
  using Fn = char* (*)();
  auto fn = blas ? reinterpret_cast<Fn>(dlsym(blas, symbol)) : nullptr;
  const char* s = fn ? fn() : nullptr;
  return s ? std::string(s) : std::string();
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

int kernel_isa_rank(const std::string& core) {
  // Kernel names of OpenBLAS 0.3.21's x86-64 DYNAMIC_ARCH list (driver/others/dynamic.c).
  static const std::map<std::string, int> rank = {
      {"katmai", 0},      {"coppermine", 0},   {"northwood", 0},   {"prescott", 0},       {"banias", 0},
      {"atom", 0},        {"core2", 0},        {"penryn", 0},      {"dunnington", 0},     {"nehalem", 0},
      {"athlon", 0},      {"opteron", 0},      {"opteron_sse3", 0}, {"barcelona", 0},     {"nano", 0},
      {"bobcat", 0},      {"sandybridge", 1},  {"bulldozer", 1},   {"piledriver", 1},     {"steamroller", 1},
      {"excavator", 1},   {"haswell", 2},      {"zen", 2},         {"skylakex", 3},       {"cooperlake", 3},
      {"sapphirerapids", 3}};
  const auto it = rank.find(lower(core));
  return it == rank.end() ? -1 : it->second;
}

std::string best_kernel_for(const CpuFeatures& cpu) {
  // Cooperlake and SapphireRapids add only bf16 routines (sbgemm) that LibTorch does not call; their
  // sgemm is SkylakeX's (measured the same on a Sapphire Rapids Xeon).
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2) return "Haswell";
  if (cpu.avx) return "Sandybridge";
  return "";
}

KernelDecision decide_kernel(const std::string& chosen, const CpuFeatures& cpu, bool user_set_coretype,
                             bool already_reexecuted) {
  KernelDecision d;
  if (chosen.empty() || user_set_coretype || already_reexecuted) return d;  // not OpenBLAS, or not ours to change
  const std::string best = best_kernel_for(cpu);
  if (best.empty() || kernel_isa_rank(chosen) >= kernel_isa_rank(best)) return d;
  d.reexecute = true;
  d.coretype = best;
  return d;
}

void select_blas_kernel(char** argv) {
  // Silent on success: errors of bad input must stay one line. The run's start-up log and
  // summary.json say which kernel trains and who chose it (blas_kernel()).
  if (!env(kReexecVar).empty()) {
    unsetenv(kReexecVar);
    return;
  }
  // The test hook stands in for a CPU that OpenBLAS does not know (tests/e2e/compute_e2e_test.cpp).
  const std::string assumed = env(kAssumeVar);
  const std::string chosen = assumed.empty() ? openblas_string("openblas_get_corename") : assumed;
  const auto d = decide_kernel(chosen, cpu_features(), !env("OPENBLAS_CORETYPE").empty(), false);
  if (!d.reexecute) return;
  setenv("OPENBLAS_CORETYPE", d.coretype.c_str(), 1);
  setenv(kReplacedVar, chosen.c_str(), 1);
  setenv(kReexecVar, "1", 1);
  unsetenv(kAssumeVar);
  execv("/proc/self/exe", argv);
  // Could not run again (no /proc?): carry on with OpenBLAS's own choice, and say so.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kReplacedVar);
  unsetenv(kReexecVar);
  std::fprintf(stderr, "dipaco: warning: OpenBLAS chose its %s kernel on a CPU with %s; could not re-execute with "
               "OPENBLAS_CORETYPE=%s, so training runs slower (set it yourself)\n",
               chosen.c_str(), describe(cpu_features()).c_str(), d.coretype.c_str());
}

BlasKernel blas_kernel() {
  BlasKernel k;
  k.library = openblas_string("openblas_get_config");
  k.kernel = openblas_string("openblas_get_corename");
  if (k.library.empty()) return k;
  const std::string replaced = env(kReplacedVar);
  const bool user = !env("OPENBLAS_CORETYPE").empty();
  k.set_by = !user ? "openblas" : replaced.empty() ? "user" : "dipaco";
  if (k.set_by == "dipaco") k.replaced = replaced;
  return k;
}

}  // namespace dipaco::engine
