// The few LibTorch calls the benchmark makes itself, behind a torch-free interface.
#pragma once

#include <memory>
#include <string>

namespace dipaco::bench {

// Intra-op threads of the calling thread (torch::set_num_threads); train_inner computes with them.
void set_threads(int threads);
int threads();

// Records every ATen operator of the calling thread into a Chrome trace (LibTorch's legacy
// autograd profiler) until the returned guard is destroyed.
std::shared_ptr<void> profile_to(const std::string& chrome_trace_file);

// C = A·B of square n×n matrices through torch::mm (into a preallocated C), after one warm-up
// product: the best of `reps` timed products. fp32 goes to OpenBLAS; bf16 to oneDNN, which uses
// AMX or AVX512_BF16 where the CPU has them (and emulates bf16, slowly, where it has not).
struct GemmResult {
  int n = 0;
  double best_s = 0.0;
  double median_s = 0.0;
  double gflops = 0.0;  // 2n³ / best_s
};
GemmResult gemm(int n, int reps, bool bf16 = false);

}  // namespace dipaco::bench
