#include "bench/torch_ops.hpp"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace dipaco::bench {

void set_threads(int threads) { torch::set_num_threads(threads); }
int threads() { return torch::get_num_threads(); }

std::shared_ptr<void> profile_to(const std::string& chrome_trace_file) {
  return std::make_shared<torch::autograd::profiler::RecordProfile>(chrome_trace_file);
}

GemmResult gemm(int n, int reps, bool bf16) {
  torch::manual_seed(n);
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
  auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype), c = torch::empty({n, n}, dtype);
  torch::mm_out(c, a, b);  // warm-up: BLAS thread start, page faults of c
  std::vector<double> times;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  GemmResult r;
  r.n = n;
  r.best_s = times.front();
  r.median_s = times[times.size() / 2];
  r.gflops = 2.0 * n * n * static_cast<double>(n) / r.best_s / 1e9;
  return r;
}

}  // namespace dipaco::bench
