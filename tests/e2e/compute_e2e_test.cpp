// End to end, through dipaco-sim as a user runs it: which BLAS kernel trains (a user's own
// OPENBLAS_CORETYPE is kept; a kernel weaker than the CPU allows is replaced by running again),
// and bf16 mixed precision gives the same bytes at any thread count.
#include <gtest/gtest.h>

#include <regex>

#include "e2e_support.hpp"
#include "engine/train/blas_kernel.hpp"  // best_kernel_for: the table under test
#include "engine/train/cpu_features.hpp"

using namespace e2e;

namespace {

const std::string kTiny = kSource + "/tests/scenarios/tiny-diloco.yaml";
const std::string kTinyTimingOnly = kTiny + " --set training=off --no-report";
// Training on, but only one short round: the start-up log names the kernel only when training.
const std::string kTinyShort = kTiny + " --set algorithm.outer_steps=1 --set algorithm.tau=2 --no-report";

std::string json_string(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": \"([^\"]*)\""))) return "<no " + key + ">";
  return m[1];
}

// Whether dipaco-sim trains with OpenBLAS (libblas.so.3 may be the reference BLAS): its summary says.
bool openblas() {
  const auto dir = out_dir("which-blas");
  const auto r = run("run " + kTinyTimingOnly + " --out " + dir.string());
  return r.rc == 0 && json_string(slurp(dir / "summary.json"), "blas").rfind("OpenBLAS", 0) == 0;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Compute, AUsersOwnKernelIsKept) {
  if (!openblas()) GTEST_SKIP() << "the BLAS is not OpenBLAS";
  const auto dir = out_dir("user-kernel");
  // Prescott (SSE3) exists on every x86-64 CPU and is weaker than what any recent one allows.
  const auto r = run("run " + kTinyShort + " --out " + dir.string(), "-u DIPACO_BLAS_REPLACED OPENBLAS_CORETYPE=Prescott");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto s = slurp(dir / "summary.json");
  EXPECT_EQ(json_string(s, "blas_kernel"), "Prescott") << s;
  EXPECT_EQ(json_string(s, "blas_kernel_set_by"), "user") << s;
  EXPECT_EQ(count(r.output, "OpenBLAS kernel Prescott (OPENBLAS_CORETYPE set by the user"), 1u) << r.output;
  EXPECT_EQ(count(r.output, "ran again"), 0u) << r.output;
}

TEST(Compute, AWeakerKernelIsReplacedByRunningOnceMore) {
  if (!openblas()) GTEST_SKIP() << "the BLAS is not OpenBLAS";
  const std::string best = dipaco::engine::best_kernel_for(dipaco::engine::cpu_features());
  if (best.empty()) GTEST_SKIP() << "OpenBLAS has nothing better than Prescott for this CPU";
  const auto dir = out_dir("replaced-kernel");
  // The test hook stands in for a CPU OpenBLAS does not know (it falls back to Prescott).
  const auto r = run("run " + kTinyShort + " --out " + dir.string(),
                     "-u OPENBLAS_CORETYPE -u DIPACO_BLAS_REPLACED DIPACO_BLAS_ASSUME_CHOSEN=Prescott");
  ASSERT_EQ(r.rc, 0) << r.output;
  // One line in the start-up log says so, once.
  EXPECT_EQ(count(r.output, "OpenBLAS kernel " + best + " (chosen by dipaco, which ran again with OPENBLAS_CORETYPE set: "
                            "OpenBLAS had chosen Prescott)"), 1u) << r.output;
  const auto s = slurp(dir / "summary.json");
  EXPECT_EQ(json_string(s, "blas_kernel"), best) << s;
  EXPECT_EQ(json_string(s, "blas_kernel_set_by"), "dipaco") << s;
  EXPECT_EQ(json_string(s, "blas_kernel_replaced"), "Prescott") << s;
}

TEST(Compute, LibTorchIsLoadedOnlyWhenSomethingTrains) {
  // The dynamic loader's own log (LD_DEBUG=files) lists every library the process opens.
  auto loads_torch = [](const std::string& args, const std::string& name) {
    const auto dir = out_dir(name);
    const auto r = run("run " + args + " --out " + dir.string(), "LD_DEBUG=files");
    EXPECT_EQ(r.rc, 0) << r.output;
    return r.output.find("libtorch_cpu.so") != std::string::npos;
  };
  EXPECT_FALSE(loads_torch(kTinyTimingOnly, "lazy-timing-only"));
  EXPECT_TRUE(loads_torch(kTinyShort, "lazy-training"));
  // And --help, or a bad flag, answers without it.
  const auto help = run("--help", "LD_DEBUG=files");
  EXPECT_EQ(help.rc, 0);
  EXPECT_EQ(help.output.find("libtorch_cpu.so"), std::string::npos);
}

TEST(Compute, Bf16GivesIdenticalMetricsForAnyThreadCount) {
  const auto& cpu = dipaco::engine::cpu_features();
  if (!cpu.amx_bf16 && !cpu.avx512_bf16) GTEST_SKIP() << "no bf16 instructions: precision bf16 is refused here";
  const auto a = out_dir("bf16-a"), b = out_dir("bf16-b"), fp = out_dir("bf16-fp32");
  ASSERT_EQ(run("run " + kTiny + " --set precision=bf16 --no-report --threads 1 --out " + a.string()).rc, 0);
  ASSERT_EQ(run("run " + kTiny + " --set precision=bf16 --no-report --threads 2 --out " + b.string()).rc, 0);
  ASSERT_EQ(run("run " + kTiny + " --set precision=fp32 --no-report --threads 2 --out " + fp.string()).rc, 0);
  const auto ma = slurp(a / "metrics.csv");
  ASSERT_FALSE(ma.empty());
  EXPECT_EQ(ma, slurp(b / "metrics.csv"));
  EXPECT_NE(ma, slurp(fp / "metrics.csv"));  // bf16 really ran
  const auto s = slurp(a / "summary.json");
  EXPECT_EQ(json_string(s, "precision"), "bf16");
  EXPECT_EQ(json_string(s, "precision_requested"), "bf16");
}

TEST(Compute, PrecisionIsCheckedAndReported) {
  const auto dir = out_dir("precision");
  auto r = run("run " + kTinyTimingOnly + " --set precision=fp16 --out " + dir.string());
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("precision"), std::string::npos) << r.output;
  r = run("run " + kTinyTimingOnly + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto s = slurp(dir / "summary.json");
  EXPECT_EQ(json_string(s, "precision_requested"), "auto");
  const auto ran = json_string(s, "precision");
  EXPECT_TRUE(ran == "fp32" || ran == "bf16") << s;
  EXPECT_EQ(json_string(s, "cpu"), dipaco::engine::cpu_features().model);
}

TEST(Compute, SyncBaselineGivesIdenticalMetricsForAnyThreadCount) {
  // The sync baseline's k shards are k gradient jobs on the pool, summed in shard order.
  const auto a = out_dir("sync-a"), b = out_dir("sync-b");
  const std::string sync = " --set algorithm.name=sync --set precision=fp32 --no-report";
  ASSERT_EQ(run("run " + kTiny + sync + " --threads 1 --out " + a.string()).rc, 0);
  ASSERT_EQ(run("run " + kTiny + sync + " --threads 2 --out " + b.string()).rc, 0);
  const auto ma = slurp(a / "metrics.csv");
  ASSERT_FALSE(ma.empty());
  EXPECT_EQ(ma, slurp(b / "metrics.csv"));
}
