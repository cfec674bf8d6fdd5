// Which OpenBLAS kernel trains. Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernel when it
// loads, from a CPU table older than many machines: on a Sapphire Rapids Xeon it falls back to the
// SSE3 `Prescott` kernel (29 against 150 GFLOP/s), on a Zen 5 EPYC to `Haswell` (AVX2). It reads
// OPENBLAS_CORETYPE only at load time, so the fix is to run the process again with it set.
#pragma once

#include <string>

#include "engine/train/cpu_features.hpp"

namespace dipaco::engine {

// The widest vector ISA an OpenBLAS kernel (a name openblas_get_corename() returns, any case) uses:
// 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512; -1 for a name not in the table.
int kernel_isa_rank(const std::string& core);

// The best OpenBLAS kernel for a CPU, as an OPENBLAS_CORETYPE value; "" when OpenBLAS has nothing
// better than its SSE kernels for it.
std::string best_kernel_for(const CpuFeatures& cpu);

// What to do at start-up, given the kernel OpenBLAS chose by itself. Pure, for unit tests.
struct KernelDecision {
  bool reexecute = false;
  std::string coretype;  // OPENBLAS_CORETYPE for the second run
};
KernelDecision decide_kernel(const std::string& chosen, const CpuFeatures& cpu, bool user_set_coretype,
                             bool already_reexecuted);

struct BlasKernel {
  std::string library;  // openblas_get_config(), or "" when the BLAS is not OpenBLAS
  std::string kernel;   // the kernel in use (openblas_get_corename())
  std::string set_by;   // "openblas" (its own choice), "user" (OPENBLAS_CORETYPE) or "dipaco"
  std::string replaced;  // with set_by "dipaco": the kernel OpenBLAS had chosen by itself
};

// Call first in main(), before any thread starts. If OpenBLAS chose a kernel weaker than the CPU
// allows and the user did not set OPENBLAS_CORETYPE, re-executes the process once with it set
// (and does not return). Prints nothing unless that fails: blas_kernel() tells what happened, for
// the run's log line and summary.json.
void select_blas_kernel(char** argv);

// The kernel this process computes with, and who chose it.
BlasKernel blas_kernel();

}  // namespace dipaco::engine
